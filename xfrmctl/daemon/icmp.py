"""ICMP echo through a tunnel for VPN monitoring: the wire format and a raw-socket transport.

Each echo leaves through the VPN's st0 device (``SO_BINDTODEVICE``), so it is routed by the
tunnel's policies and not by the main table, as Junos' vpn-monitor sends it through st0. One raw
socket per (device, family) is opened on first use and read by the loop; a reply is reported
with its identifier and sequence, which `LivenessManager.echo_reply` matches.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
import struct
from collections.abc import Callable
from typing import Protocol

ICMP_ECHO_REPLY, ICMP_ECHO_REQUEST = 0, 8
ICMP6_ECHO_REQUEST, ICMP6_ECHO_REPLY = 128, 129
PAYLOAD = b"xfrmctl vpn-monitor"

ReplyHandler = Callable[[int, int], None]  # (identifier, sequence)


def checksum(data: bytes) -> int:
    """RFC 1071 Internet checksum."""
    if len(data) % 2:
        data += b"\0"
    total: int = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def encode_echo(ident: int, seq: int, *, v6: bool, payload: bytes = PAYLOAD) -> bytes:
    """An echo request; for ICMPv6 the kernel fills the checksum (it covers the pseudo-header)."""
    if not (0 <= ident <= 0xFFFF and 0 <= seq <= 0xFFFF):
        raise ValueError("ICMP identifier and sequence are 16-bit values")
    kind = ICMP6_ECHO_REQUEST if v6 else ICMP_ECHO_REQUEST
    head = struct.pack("!BBHHH", kind, 0, 0, ident, seq)
    if v6:
        return head + payload
    return struct.pack("!BBHHH", kind, 0, checksum(head + payload), ident, seq) + payload


def parse_reply(data: bytes, *, v6: bool) -> tuple[int, int] | None:
    """(identifier, sequence) of an echo reply; None for anything else or a malformed packet.

    An IPv4 raw socket delivers the IP header first; an ICMPv6 raw socket does not."""
    if not v6:
        if len(data) < 20 or data[0] >> 4 != 4:
            return None
        data = data[(data[0] & 0x0F) * 4 :]
    if len(data) < 8:
        return None
    kind, code, _, ident, seq = struct.unpack_from("!BBHHH", data)
    if kind != (ICMP6_ECHO_REPLY if v6 else ICMP_ECHO_REPLY) or code != 0:
        return None
    return ident, seq


class EchoTransport(Protocol):
    """What the daemon needs to send echoes; replies go to the handler given at creation."""

    def send(self, src: str, dst: str, ident: int, seq: int, device: str | None) -> None: ...

    def close(self) -> None: ...


class RawIcmp:
    """Raw ICMP sockets bound to devices, read by the event loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop, on_reply: ReplyHandler) -> None:
        self.loop = loop
        self.on_reply = on_reply
        self._socks: dict[tuple[str | None, str, bool], socket.socket] = {}

    def _socket(self, device: str | None, src: str, v6: bool) -> socket.socket:
        key = (device, src, v6)
        sock = self._socks.get(key)
        if sock is not None:
            return sock
        if v6:
            sock = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
        else:
            sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
        try:
            sock.setblocking(False)
            if device is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, device.encode())
            sock.bind((src, 0))
        except OSError:
            sock.close()
            raise
        self.loop.add_reader(sock.fileno(), self._readable, sock, v6)
        self._socks[key] = sock
        return sock

    def send(self, src: str, dst: str, ident: int, seq: int, device: str | None) -> None:
        v6 = ipaddress.ip_address(dst).version == 6
        sock = self._socket(device, src, v6)
        sock.sendto(encode_echo(ident, seq, v6=v6), (dst, 0))

    def _readable(self, sock: socket.socket, v6: bool) -> None:
        while True:
            try:
                data = sock.recv(65535)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            found = parse_reply(data, v6=v6)
            if found is not None:
                self.on_reply(*found)

    def close(self) -> None:
        for sock in self._socks.values():
            with contextlib.suppress(OSError, ValueError):
                self.loop.remove_reader(sock.fileno())
            sock.close()
        self._socks.clear()
