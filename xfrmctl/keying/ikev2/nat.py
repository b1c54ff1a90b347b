"""NAT detection (RFC 7296 2.23): SHA-1(SPIi | SPIr | IP | port) in NAT_DETECTION_* notifies.

A mismatch of the peer's DESTINATION_IP hash with our own address means we are behind a NAT;
no SOURCE_IP hash matching the packet's source means the peer is. Either moves IKE to port 4500
and ESP into UDP.
"""

from __future__ import annotations

import functools
import hashlib
import ipaddress

NAT_T_PORT = 4500


@functools.lru_cache(maxsize=4096)
def _packed(address: str) -> bytes:
    """Parsing the same few addresses for every IKE_SA_INIT showed in the profile."""
    return ipaddress.ip_address(address).packed


def nat_hash(spi_i: int, spi_r: int, address: str, port: int) -> bytes:
    ip = _packed(address)
    data = spi_i.to_bytes(8, "big") + spi_r.to_bytes(8, "big") + ip + port.to_bytes(2, "big")
    return hashlib.sha1(data, usedforsecurity=False).digest()


def forced_hash(spi_i: int, spi_r: int, address: str, port: int, rng_bytes: bytes) -> bytes:
    """A hash that can never match, to pretend a NAT (strongSwan's `encap=yes`)."""
    return hashlib.sha1(
        rng_bytes + nat_hash(spi_i, spi_r, address, port), usedforsecurity=False
    ).digest()


def behind_nat(received: list[bytes], spi_i: int, spi_r: int, address: str, port: int) -> bool:
    """True when none of the received hashes match (address, port); no hashes means no NAT-D."""
    if not received:
        return False
    mine = nat_hash(spi_i, spi_r, address, port)
    return mine not in received
