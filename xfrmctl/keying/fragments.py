"""IKEv2 message fragmentation (RFC 7383): splitting into SKF datagrams and bounded reassembly.

Each fragment is protected on its own, so the receiver verifies every fragment (``sk``) before it
is stored: unauthenticated garbage never occupies reassembly memory. The ``Reassembler`` bounds
what authenticated peers can make us hold (fragments per message, bytes per message, concurrent
messages, age) and follows RFC 7383 2.6.2 for changing totals: a retransmission with *more*
fragments (the sender lowered its fragment size after PMTU trouble) restarts reassembly, a fragment
claiming *fewer* is dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from xfrmctl.keying.constants import IKE_HEADER_SIZE, HeaderFlag
from xfrmctl.keying.dh import Rng
from xfrmctl.keying.errors import ParseError
from xfrmctl.keying.message import IkeHeader, Message
from xfrmctl.keying.payloads import Payload, encode_payloads, parse_payloads
from xfrmctl.keying.sk import DecryptedFragment, SkKeys, protect_fragment

SKF_HEADER_SIZE = 8  # generic header + fragment number + total fragments
MAX_FRAGMENTS = 0xFFFF


def fragment_payload_capacity(keys: SkKeys, max_size: int) -> int:
    """Largest chunk of inner payload bytes that keeps one SKF datagram within ``max_size``."""
    avail = max_size - IKE_HEADER_SIZE - SKF_HEADER_SIZE - keys.encr.iv_size - keys.icv_size
    if not keys.encr.aead:
        avail -= avail % keys.encr.block_size  # ciphertext is whole blocks
    return avail - 1  # the pad length octet


def fragment_message(
    header: IkeHeader, payloads: Sequence[Payload], keys: SkKeys, rng: Rng, max_size: int
) -> list[bytes]:
    """Split and protect a message into SKF datagrams of at most ``max_size`` bytes each.

    ``max_size`` is the IKE message size (without IP/UDP headers or the non-ESP marker).
    """
    capacity = fragment_payload_capacity(keys, max_size)
    if capacity < 1:
        raise ValueError(f"fragment size {max_size} leaves no room for payload data")
    first, inner = encode_payloads(payloads)
    chunks = [inner[i : i + capacity] for i in range(0, len(inner), capacity)] or [b""]
    if len(chunks) > MAX_FRAGMENTS:
        raise ValueError("message needs more than 65535 fragments")
    return [
        protect_fragment(header, first, n, len(chunks), chunk, keys=keys, rng=rng)
        for n, chunk in enumerate(chunks, start=1)
    ]


@dataclass
class _Pending:
    started: float
    total: int
    header: IkeHeader
    first_payload: int = 0
    chunks: dict[int, bytes] = field(default_factory=dict, repr=False)
    size: int = 0


_Key = tuple[bytes, bytes, int, bool]


class Reassembler:
    """Collects verified fragments per (IKE SPIs, message id, direction) until complete."""

    def __init__(
        self,
        *,
        max_fragments: int = 64,
        max_message_size: int = 64 * 1024,
        max_pending: int = 4,
        timeout: float = 30.0,
    ) -> None:
        self.max_fragments = max_fragments
        self.max_message_size = max_message_size
        self.max_pending = max_pending
        self.timeout = timeout
        self._pending: dict[_Key, _Pending] = {}
        self.dropped = 0  # fragments discarded (duplicates, stale totals, limits)

    @property
    def pending(self) -> int:
        return len(self._pending)

    def next_deadline(self) -> float | None:
        if not self._pending:
            return None
        return min(p.started for p in self._pending.values()) + self.timeout

    def expire(self, now: float) -> int:
        """Forget reassemblies older than the timeout; returns how many were dropped."""
        old = [k for k, p in self._pending.items() if now - p.started >= self.timeout]
        for k in old:
            del self._pending[k]
        return len(old)

    def add(self, fragment: DecryptedFragment, now: float) -> Message | None:
        """Store a verified fragment; the reassembled (protected) Message once complete.

        Raises ParseError when the fragment breaks a limit (the message is abandoned) or the
        reassembled payloads are malformed.
        """
        self.expire(now)
        hdr = fragment.header
        key: _Key = (hdr.spi_i, hdr.spi_r, hdr.message_id, bool(hdr.flags & HeaderFlag.RESPONSE))
        if fragment.total > self.max_fragments:
            self._pending.pop(key, None)
            raise ParseError(f"message in {fragment.total} fragments exceeds the limit")
        if not 1 <= fragment.number <= fragment.total:
            raise ParseError(f"invalid fragment number {fragment.number} of {fragment.total}")
        pending = self._pending.get(key)
        if pending is not None and fragment.total < pending.total:
            self.dropped += 1  # stale fragment of an earlier, coarser transmission
            return None
        if pending is None or fragment.total > pending.total:
            if pending is None and len(self._pending) >= self.max_pending:
                self.dropped += 1
                return None
            pending = _Pending(now, fragment.total, hdr)
            self._pending[key] = pending
        if fragment.number in pending.chunks:
            self.dropped += 1
            return None
        pending.size += len(fragment.plaintext)
        if pending.size > self.max_message_size:
            del self._pending[key]
            raise ParseError(f"reassembled message exceeds {self.max_message_size} bytes")
        pending.chunks[fragment.number] = fragment.plaintext
        if fragment.number == 1:
            pending.first_payload = fragment.first_payload
            pending.header = hdr
        if len(pending.chunks) < pending.total:
            return None
        del self._pending[key]
        inner = b"".join(pending.chunks[n] for n in range(1, pending.total + 1))
        payloads = parse_payloads(pending.first_payload, inner, inner=True)
        return Message(pending.header, payloads, protected=True)
