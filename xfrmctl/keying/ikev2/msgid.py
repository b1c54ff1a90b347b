"""Message-ID bookkeeping for both directions of one IKE SA (RFC 7296 2.1, 2.2).

xfrmctl announces no SET_WINDOW_SIZE, so the window is 1 each way: one outstanding request of our
own, and the last response kept so a retransmitted request from the peer is answered identically
without being processed twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class RequestVerdict(Enum):
    NEW = "new"  # process it
    RETRANSMIT = "retransmit"  # answer from the cache
    OUT_OF_WINDOW = "out-of-window"  # drop


@dataclass
class MessageIdWindow:
    next_request_out: int = 0  # the ID our next request gets
    expected_request_in: int = 0  # the ID of the peer's next new request
    outstanding: int | None = None  # ID of our request awaiting a response
    cached_response_id: int | None = None
    cached_response: tuple[bytes, ...] = field(default=(), repr=False)

    def allocate(self) -> int:
        if self.outstanding is not None:
            raise RuntimeError("a request is already outstanding")
        mid = self.next_request_out
        self.outstanding = mid
        self.next_request_out = mid + 1
        return mid

    def response_matches(self, mid: int) -> bool:
        return self.outstanding is not None and mid == self.outstanding

    def response_done(self) -> None:
        self.outstanding = None

    def classify_request(self, mid: int) -> RequestVerdict:
        if mid == self.expected_request_in:
            return RequestVerdict.NEW
        if self.cached_response_id is not None and mid == self.cached_response_id:
            return RequestVerdict.RETRANSMIT
        return RequestVerdict.OUT_OF_WINDOW

    def request_answered(self, mid: int, response: tuple[bytes, ...]) -> None:
        self.expected_request_in = mid + 1
        self.cached_response_id = mid
        self.cached_response = response
