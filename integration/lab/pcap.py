"""Read the UDP datagrams of a lab capture (classic pcap, Ethernet or Linux cooked)."""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass
from pathlib import Path

_LINKTYPE_ETHERNET = 1
_LINKTYPE_LINUX_SLL = 113


@dataclass(frozen=True)
class Datagram:
    src: str
    sport: int
    dst: str
    dport: int
    payload: bytes


def udp_datagrams(path: Path) -> list[Datagram]:
    data = path.read_bytes()
    if len(data) < 24:
        return []
    magic = data[:4]
    endian = {b"\xd4\xc3\xb2\xa1": "<", b"\xa1\xb2\xc3\xd4": ">"}.get(magic)
    if endian is None:
        raise ValueError(f"{path}: not a classic pcap file")
    linktype = struct.unpack(endian + "I", data[20:24])[0]
    out: list[Datagram] = []
    pos = 24
    while pos + 16 <= len(data):
        incl = struct.unpack(endian + "I", data[pos + 8 : pos + 12])[0]
        frame = data[pos + 16 : pos + 16 + incl]
        pos += 16 + incl
        dgram = _udp(frame, linktype)
        if dgram:
            out.append(dgram)
    return out


def _udp(frame: bytes, linktype: int) -> Datagram | None:
    if linktype == _LINKTYPE_ETHERNET:
        ethertype, l3 = struct.unpack("!H", frame[12:14])[0], frame[14:]
    elif linktype == _LINKTYPE_LINUX_SLL:
        ethertype, l3 = struct.unpack("!H", frame[14:16])[0], frame[16:]
    else:
        return None
    if ethertype == 0x0800 and len(l3) >= 20 and l3[9] == 17:
        ihl = (l3[0] & 0x0F) * 4
        src, dst = str(ipaddress.IPv4Address(l3[12:16])), str(ipaddress.IPv4Address(l3[16:20]))
        l4 = l3[ihl:]
    elif ethertype == 0x86DD and len(l3) >= 40 and l3[6] == 17:
        src, dst = str(ipaddress.IPv6Address(l3[8:24])), str(ipaddress.IPv6Address(l3[24:40]))
        l4 = l3[40:]
    else:
        return None
    sport, dport, length = struct.unpack("!HHH", l4[:6])
    return Datagram(src, sport, dst, dport, l4[8:length])
