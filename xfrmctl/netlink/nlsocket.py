"""An asyncio netlink socket for NETLINK_XFRM: requests, batched writes, dumps and events.

Batching: a batch is written as few datagrams as possible, each holding up to ``window``
messages. Only the last message of a datagram asks for an ACK; the kernel processes messages
in order and answers every failed one with an NLMSG_ERROR carrying its sequence number, so the
final ACK proves that every earlier message without an error succeeded. This halves the
kernel's replies and is what makes installing faster than ``ip -batch`` (one request, one ACK,
one system call each).

Network namespaces: the socket is created in a short-lived thread that ``setns()``-es into
``/run/netns/NAME`` first. A netlink socket stays bound to the namespace it was created in, so
the daemon's own threads never change namespace (pyroute2's ``netns=`` forks a helper process
instead; a thread is cheaper and keeps one process).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import errno
import os
import socket
import threading
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, TypeAlias, TypeVar

from xfrmctl.netlink.codec import (
    S_NLMSGHDR,
    AnyXfrm,
    NlMsg,
    decode_error,
    decode_payload,
    frame,
)
from xfrmctl.netlink.constants import (
    NETLINK_EXT_ACK,
    NETLINK_XFRM,
    NLM_F_ACK,
    NLM_F_DUMP,
    NLM_F_REQUEST,
    NLMSG_DONE,
    NLMSG_ERROR,
    NLMSG_NOOP,
    NLMSG_OVERRUN,
    SOL_NETLINK,
)
from xfrmctl.netlink.errors import NetlinkError, XfrmParseError, error_for

T = TypeVar("T")
# Error texts are built only when the kernel refuses: a callable defers the formatting, which
# would otherwise cost more than encoding the message in a batch of thousands.
Text: TypeAlias = str | Callable[[], str | None]


def _text(t: Text | None) -> str | None:
    return t() if callable(t) else t


CLONE_NEWNET = 0x40000000
NETNS_RUN_DIR = "/run/netns"
_RCVBUF = 32 * 1024 * 1024
# One datagram: dump skbs are at most 32 KiB, replies and events far smaller. A larger buffer
# only costs an allocation and a shrinking copy per receive.
_RECV_SIZE = 65536
_SO_RCVBUFFORCE = 33
_SO_SNDBUFFORCE = 32


def _setns(path: str) -> None:
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            code = ctypes.get_errno()
            raise OSError(code, f"setns({path}): {os.strerror(code)}")
    finally:
        os.close(fd)


def netns_path(netns: str) -> str:
    return netns if netns.startswith("/") else os.path.join(NETNS_RUN_DIR, netns)


def run_in_netns(netns: str | None, fn: Callable[[], T]) -> T:
    """Run ``fn`` in a thread that first enters the named network namespace."""
    if netns is None:
        return fn()
    result: list[T] = []
    failure: list[BaseException] = []

    def target() -> None:
        try:
            _setns(netns_path(netns))
            result.append(fn())
        except BaseException as exc:  # handed to the caller's thread
            failure.append(exc)

    t = threading.Thread(target=target, name=f"netns-{netns}")
    t.start()
    t.join()
    if failure:
        raise failure[0]
    return result[0]


def open_netlink(
    protocol: int, groups: Iterable[int] = (), netns: str | None = None
) -> socket.socket:
    """A non-blocking netlink socket (in ``netns`` if given), joined to multicast ``groups``."""

    def make() -> socket.socket:
        sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, protocol)
        try:
            for forced, plain in (
                (_SO_RCVBUFFORCE, socket.SO_RCVBUF),
                (_SO_SNDBUFFORCE, socket.SO_SNDBUF),
            ):
                try:
                    sock.setsockopt(socket.SOL_SOCKET, forced, _RCVBUF)
                except OSError:  # without CAP_NET_ADMIN: as much as rmem_max allows
                    sock.setsockopt(socket.SOL_SOCKET, plain, _RCVBUF)
            with contextlib.suppress(OSError):
                sock.setsockopt(SOL_NETLINK, NETLINK_EXT_ACK, 1)
            sock.bind((0, 0))
            for g in groups:
                sock.setsockopt(SOL_NETLINK, 1, g)  # NETLINK_ADD_MEMBERSHIP
            sock.setblocking(False)
        except BaseException:
            sock.close()
            raise
        return sock

    return run_in_netns(netns, make)


@dataclass(slots=True)
class _Pending:
    """An outstanding request: a future to resolve, or (inside a batch) a result slot."""

    future: asyncio.Future[Any] | None
    what: Text
    hint: Text | None = None
    dump: bool = False
    reply: bool = False
    items: list[NlMsg] = field(default_factory=list)
    results: list[NetlinkError | None] | None = None
    index: int = 0
    payloads: list[bytes] | None = None  # dump_payloads: payloads of type ``want``
    want: int = -1


class Request(NamedTuple):
    """One message of a batch; ``what`` and ``hint`` go into the error if the kernel refuses."""

    msg_type: int
    message: AnyXfrm
    flags: int = 0
    what: Text = ""
    hint: Text | None = None


class EventsLost(Exception):
    """The kernel dropped multicast events (socket overrun): resynchronise with a dump."""


class XfrmSocket:
    """asyncio NETLINK_XFRM socket; one per role (requests, or events with ``groups``)."""

    def __init__(self, sock: socket.socket, *, window: int = 256) -> None:
        self._sock = sock
        self._loop = asyncio.get_running_loop()
        self._seq = 0
        self._pending: dict[int, _Pending] = {}
        self._events: deque[NlMsg | EventsLost] = deque()
        self._event_waiter: asyncio.Future[None] | None = None
        self._window = window
        self._closed = False
        self._loop.add_reader(sock.fileno(), self._on_readable)

    @classmethod
    async def open(
        cls, *, netns: str | None = None, groups: Iterable[int] = (), window: int = 256
    ) -> XfrmSocket:
        loop = asyncio.get_running_loop()
        gs = tuple(groups)
        if netns is None:
            sock = open_netlink(NETLINK_XFRM, gs)
        else:
            sock = await loop.run_in_executor(None, open_netlink, NETLINK_XFRM, gs, netns)
        return cls(sock, window=window)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._loop.remove_reader(self._sock.fileno())
        self._sock.close()
        exc = NetlinkError(errno.EBADF, "netlink socket closed")
        for p in self._pending.values():
            if p.future is not None and not p.future.done():
                p.future.set_exception(exc)
        self._pending.clear()
        if self._event_waiter is not None and not self._event_waiter.done():
            self._event_waiter.set_result(None)

    async def __aenter__(self) -> XfrmSocket:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()

    # ----------------------------------------------------------------- receiving

    def _on_readable(self) -> None:
        while True:
            try:
                data = self._sock.recv(_RECV_SIZE)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                if exc.errno == errno.ENOBUFS:
                    self._push_event(EventsLost("netlink receive buffer overrun"))
                    continue
                self.close()
                return
            if not data:
                return
            self._receive(data)

    def _receive(self, data: bytes) -> None:
        """Route each message of a datagram; dump payloads go straight to their list."""
        pending = self._pending
        unpack = S_NLMSGHDR.unpack_from
        offset, end = 0, len(data)
        while end - offset >= 16:
            length, mtype, flags, seq, pid = unpack(data, offset)
            if length < 16 or offset + length > end:
                return  # a malformed tail: nothing after it can be trusted
            p = pending.get(seq) if seq else None
            if p is not None and p.payloads is not None and mtype == p.want:
                p.payloads.append(data[offset + 16 : offset + length])
            else:
                self._dispatch(NlMsg(mtype, flags, seq, pid, data[offset + 16 : offset + length]))
            offset += (length + 3) & ~3

    def _dispatch(self, msg: NlMsg) -> None:
        p = self._pending.get(msg.seq) if msg.seq else None
        if p is None:
            if msg.type not in (NLMSG_ERROR, NLMSG_DONE, NLMSG_NOOP, NLMSG_OVERRUN):
                self._push_event(msg)
            return
        if msg.type == NLMSG_ERROR:
            err = decode_error(msg)
            del self._pending[msg.seq]
            failure: NetlinkError | None = None
            if err.error:
                what = _text(p.what) or f"message {err.request_type}"
                text = what if not err.ext_msg else f"{what} ({err.ext_msg})"
                failure = error_for(err.error, text, _text(p.hint) or err.ext_msg)
            fut = p.future
            if fut is None:
                if p.results is not None:
                    p.results[p.index] = failure
            elif not fut.done():
                if failure is None:
                    fut.set_result(p.items)
                else:
                    fut.set_exception(failure)
            return
        fut = p.future
        if msg.type == NLMSG_DONE:
            del self._pending[msg.seq]
            if fut is not None and not fut.done():
                fut.set_result(p.items)
            return
        p.items.append(msg)
        if p.reply and not p.dump:
            del self._pending[msg.seq]
            if fut is not None and not fut.done():
                fut.set_result(p.items)

    def _push_event(self, item: NlMsg | EventsLost) -> None:
        self._events.append(item)
        w = self._event_waiter
        if w is not None and not w.done():
            w.set_result(None)

    # ----------------------------------------------------------------- sending

    def _next_seq(self) -> int:
        self._seq = (self._seq % 0xFFFFFFFF) + 1
        return self._seq

    def _send(self, data: bytes) -> None:
        # Netlink sends to the kernel are synchronous: the kernel processes the messages
        # inside sendto(), so a non-blocking socket never returns EAGAIN here except when
        # the send buffer is exhausted, which the window prevents.
        self._sock.send(data)

    def _register(self, seq: int, p: _Pending) -> None:
        self._pending[seq] = p

    async def request(
        self,
        msg_type: int,
        message: AnyXfrm,
        *,
        flags: int = 0,
        what: str = "",
        hint: str | None = None,
    ) -> None:
        """Send one request and wait for its ACK; a kernel refusal raises a NetlinkError."""
        await self.batch([Request(msg_type, message, flags, what, hint)], raise_first=True)

    async def query(
        self, msg_type: int, message: AnyXfrm, *, what: str = "", hint: str | None = None
    ) -> NlMsg:
        """Send a GET-style request and return the single message the kernel answers with."""
        seq = self._next_seq()
        fut: asyncio.Future[list[NlMsg]] = self._loop.create_future()
        self._register(seq, _Pending(fut, what or f"message {msg_type}", hint, reply=True))
        self._send(frame(msg_type, NLM_F_REQUEST, seq, message.encode()))
        items = await fut
        if not items:
            raise NetlinkError(errno.EPROTO, f"{what}: empty reply")
        return items[0]

    async def dump_raw(self, msg_type: int, message: AnyXfrm, *, what: str = "") -> list[NlMsg]:
        """All messages of a dump (NLM_F_DUMP) up to NLMSG_DONE."""
        seq = self._next_seq()
        fut: asyncio.Future[list[NlMsg]] = self._loop.create_future()
        self._register(seq, _Pending(fut, what or f"dump {msg_type}", dump=True))
        self._send(frame(msg_type, NLM_F_REQUEST | NLM_F_DUMP, seq, message.encode()))
        return await fut

    async def dump_payloads(
        self, msg_type: int, message: AnyXfrm, want: int, *, what: str = ""
    ) -> list[bytes]:
        """The payloads of the dump's messages of type ``want`` (the fast path for big dumps)."""
        seq = self._next_seq()
        fut: asyncio.Future[list[NlMsg]] = self._loop.create_future()
        payloads: list[bytes] = []
        self._register(
            seq, _Pending(fut, what or f"dump {msg_type}", dump=True, payloads=payloads, want=want)
        )
        self._send(frame(msg_type, NLM_F_REQUEST | NLM_F_DUMP, seq, message.encode()))
        await fut
        return payloads

    async def batch(
        self, requests: Sequence[Request], *, raise_first: bool = False
    ) -> list[NetlinkError | None]:
        """Write many requests with few system calls; result i is request i's error or None."""
        results: list[NetlinkError | None] = [None] * len(requests)
        window = self._window
        for start in range(0, len(requests), window):
            chunk = requests[start : start + window]
            parts: list[bytes] = []
            seqs: list[int] = []
            last = len(chunk) - 1
            final: asyncio.Future[Any] = self._loop.create_future()
            for i, r in enumerate(chunk):
                seq = self._next_seq()
                what = r.what
                if i == last:
                    flags = NLM_F_REQUEST | r.flags | NLM_F_ACK
                    pending = _Pending(final, what, r.hint)
                else:
                    # No ACK asked: only a failure is answered, into this request's slot.
                    flags = NLM_F_REQUEST | r.flags
                    pending = _Pending(None, what, r.hint, results=results, index=start + i)
                self._pending[seq] = pending
                seqs.append(seq)
                parts.append(frame(r.msg_type, flags, seq, r.message.encode()))
            try:
                self._send(b"".join(parts))
            except OSError as exc:
                for seq in seqs:
                    self._pending.pop(seq, None)
                raise NetlinkError(exc.errno or errno.EIO, f"netlink send failed: {exc}") from exc
            try:
                await final
            except NetlinkError as exc:
                results[start + last] = exc
            finally:
                # Everything before the final ACK has been processed (errors already arrived).
                for seq in seqs:
                    self._pending.pop(seq, None)
            if raise_first:
                for r_err in results[start : start + len(chunk)]:
                    if r_err is not None:
                        raise r_err
        return results

    # ----------------------------------------------------------------- events

    async def next_event(self) -> NlMsg:
        """The next multicast message; raises EventsLost after an overrun."""
        while not self._events:
            if self._closed:
                raise NetlinkError(errno.EBADF, "netlink socket closed")
            self._event_waiter = self._loop.create_future()
            await self._event_waiter
            self._event_waiter = None
        item = self._events.popleft()
        if isinstance(item, EventsLost):
            raise item
        return item

    async def events(self) -> AsyncIterator[tuple[int, AnyXfrm]]:
        """Decoded multicast messages as (message type, object); malformed ones are skipped."""
        while not self._closed:
            msg = await self.next_event()
            try:
                yield msg.type, decode_payload(msg.type, msg.flags, msg.payload)
            except XfrmParseError:
                continue
