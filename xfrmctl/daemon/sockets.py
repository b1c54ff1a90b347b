"""The daemon's IKE sockets: UDP 500 and 4500 per address family, as charon opens them.

* Each socket carries a per-socket IPsec bypass policy (`IP_XFRM_POLICY` / `IPV6_XFRM_POLICY`,
  action allow, in and out), so the 0/0 policies of route-based VPNs never capture IKE itself.
* The 4500 socket is switched to `UDP_ENCAP_ESPINUDP`: the kernel takes ESP-in-UDP off it and
  hands us only datagrams starting with the 4-byte non-ESP marker, which we strip (and prepend on
  send). One-byte NAT keepalives (0xff) are dropped.
* One wildcard socket per port and family; the local address of each datagram comes from
  `IP_PKTINFO` / `IPV6_RECVPKTINFO`, and replies leave from it via the same ancillary data.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import socket
import struct
from collections.abc import Callable
from typing import Final

from xfrmctl.keying.ikev2.actions import Endpoint
from xfrmctl.netlink.codec import Selector, XfrmPolicy
from xfrmctl.netlink.constants import AF_INET, AF_INET6, UDP_ENCAP_ESPINUDP, XfrmDir

IP_PKTINFO: Final = 8
IP_XFRM_POLICY: Final = 17
IPV6_RECVPKTINFO: Final = 49
IPV6_PKTINFO: Final = 50
IPV6_XFRM_POLICY: Final = 35
SOL_UDP: Final = 17
UDP_ENCAP: Final = 100
NON_ESP_MARKER: Final = b"\x00\x00\x00\x00"
NAT_KEEPALIVE: Final = b"\xff"
MAX_DATAGRAM: Final = 65535

Receiver = Callable[[bytes, Endpoint, Endpoint], None]
"""Called with (IKE message, local endpoint, remote endpoint)."""


def bypass_policies(family: int) -> list[bytes]:
    """`xfrm_userpolicy_info` structs (allow, in and out) for the XFRM_POLICY socket option."""
    any_addr = "0.0.0.0" if family == AF_INET else "::"  # noqa: S104 - a selector, not a bind
    sel = Selector(daddr=any_addr, saddr=any_addr, family=family)
    return [
        XfrmPolicy(sel=sel, dir=int(d)).pack_fixed()
        for d in (XfrmDir.XFRM_POLICY_IN, XfrmDir.XFRM_POLICY_OUT)
    ]


def _canon(address: str) -> str:
    return str(ipaddress.ip_address(address))


class IkeSocket:
    """One UDP socket (a port and an address family) delivering IKE messages to `receiver`."""

    def __init__(
        self,
        family: int,
        port: int,
        receiver: Receiver,
        *,
        natt: bool,
        bind: str | None = None,
    ) -> None:
        self.family = family
        self.port = port
        self.natt = natt
        self.receiver = receiver
        self.bind_address = bind
        self.sock: socket.socket | None = None
        self.dropped = 0

    def open(self, loop: asyncio.AbstractEventLoop) -> None:
        sock = socket.socket(self.family, socket.SOCK_DGRAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if self.family == AF_INET:
                for policy in bypass_policies(AF_INET):
                    sock.setsockopt(socket.IPPROTO_IP, IP_XFRM_POLICY, policy)
                sock.setsockopt(socket.IPPROTO_IP, IP_PKTINFO, 1)
                host = self.bind_address or "0.0.0.0"  # noqa: S104 - IKE listens on all
            else:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                for policy in bypass_policies(AF_INET6):
                    sock.setsockopt(socket.IPPROTO_IPV6, IPV6_XFRM_POLICY, policy)
                sock.setsockopt(socket.IPPROTO_IPV6, IPV6_RECVPKTINFO, 1)
                host = self.bind_address or "::"
            if self.natt:
                sock.setsockopt(SOL_UDP, UDP_ENCAP, UDP_ENCAP_ESPINUDP)
            sock.bind((host, self.port))
            sock.setblocking(False)
        except OSError:
            sock.close()
            raise
        self.sock = sock
        if self.port == 0:
            self.port = sock.getsockname()[1]
        loop.add_reader(sock.fileno(), self._readable)

    def close(self, loop: asyncio.AbstractEventLoop) -> None:
        if self.sock is not None:
            loop.remove_reader(self.sock.fileno())
            self.sock.close()
            self.sock = None

    def _readable(self) -> None:
        sock = self.sock
        if sock is None:
            return
        for _ in range(64):  # bounded: other work gets its turn
            try:
                data, ancdata, _flags, addr = sock.recvmsg(MAX_DATAGRAM, 256)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                self.dropped += 1  # e.g. ICMP port unreachable reported on the socket
                continue
            local = self._local_address(ancdata)
            if local is None:
                self.dropped += 1
                continue
            if self.natt:
                if data[:4] != NON_ESP_MARKER:
                    self.dropped += data != NAT_KEEPALIVE
                    continue
                data = data[4:]
            self.receiver(data, (local, self.port), (_canon(addr[0]), int(addr[1])))

    def _local_address(self, ancdata: list[tuple[int, int, bytes]]) -> str | None:
        for level, kind, blob in ancdata:
            if level == socket.IPPROTO_IP and kind == IP_PKTINFO and len(blob) >= 12:
                return socket.inet_ntop(socket.AF_INET, blob[8:12])
            if level == socket.IPPROTO_IPV6 and kind == IPV6_PKTINFO and len(blob) >= 16:
                return _canon(socket.inet_ntop(socket.AF_INET6, blob[:16]))
        return None

    def send(self, data: bytes, local: str, remote: Endpoint, *, raw: bool = False) -> None:
        """Send from `local` (the IKE SA's address); errors are the caller's to log. `raw`: no
        non-ESP marker (a NAT keepalive)."""
        if self.sock is None:
            raise OSError("socket closed")
        payload = NON_ESP_MARKER + data if self.natt and not raw else data
        if self.family == AF_INET:
            info = struct.pack("@i4s4s", 0, socket.inet_pton(socket.AF_INET, local), bytes(4))
            anc = [(socket.IPPROTO_IP, IP_PKTINFO, info)]
        else:
            info = struct.pack("@16si", socket.inet_pton(socket.AF_INET6, local), 0)
            anc = [(socket.IPPROTO_IPV6, IPV6_PKTINFO, info)]
        self.sock.sendmsg([payload], anc, 0, remote)


@functools.lru_cache(maxsize=4096)
def _family(address: str) -> int:
    return AF_INET if ipaddress.ip_address(address).version == 4 else AF_INET6


class IkeSockets:
    """The set of IKE sockets: (family, natt) -> socket."""

    def __init__(self, receiver: Receiver, *, ike_port: int = 500, natt_port: int = 4500) -> None:
        self.receiver = receiver
        self.ike_port = ike_port
        self.natt_port = natt_port
        self.sockets: dict[tuple[int, bool], IkeSocket] = {}

    def open(self, loop: asyncio.AbstractEventLoop, families: tuple[int, ...]) -> None:
        for family in families:
            for natt, port in ((False, self.ike_port), (True, self.natt_port)):
                key = (family, natt)
                if key in self.sockets:
                    continue
                s = IkeSocket(family, port, self.receiver, natt=natt)
                s.open(loop)
                self.sockets[key] = s

    def close(self, loop: asyncio.AbstractEventLoop) -> None:
        for s in self.sockets.values():
            s.close(loop)
        self.sockets.clear()

    def send(self, data: bytes, local: Endpoint, remote: Endpoint) -> None:
        family = _family(local[0])
        natt = local[1] == self.natt_port or local[1] == 4500
        sock = self.sockets.get((family, natt))
        if sock is None:
            raise OSError(f"no IKE socket for {local[0]} port {local[1]}")
        sock.send(data, local[0], remote)

    def send_keepalive(self, local: Endpoint, remote: Endpoint) -> None:
        """RFC 3948 §2.3: the one-byte 0xff datagram that keeps a NAT mapping of 4500 open."""
        family = AF_INET if ipaddress.ip_address(local[0]).version == 4 else AF_INET6
        sock = self.sockets.get((family, True))
        if sock is None:
            raise OSError(f"no NAT-T socket for {local[0]}")
        sock.send(NAT_KEEPALIVE, local[0], remote, raw=True)
