"""``KernelPort``: everything the daemon asks of the kernel, as one protocol.

Two implementations share it: :class:`xfrmctl.netlink.kernel.NetlinkKernel` (the real kernel)
and :class:`xfrmctl.netlink.fake.FakeKernel` (in memory, with the kernel's rules). Both raise
the same :mod:`xfrmctl.netlink.errors` classes, and one contract suite tests both.

Ownership after a crash: SAs with a reqid in ``XFRMCTL_REQID_MIN..MAX``, policies with a
template carrying such a reqid or a priority in ``XFRMCTL_PRIORITY_MIN..MAX``, routes with
protocol ``RTPROT_XFRMCTL``. ``flush_owned`` removes exactly those and nothing else.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeAlias

from xfrmctl.netlink.codec import (
    Mark,
    SaCounters,
    Selector,
    XfrmAcquire,
    XfrmExpire,
    XfrmFlushPolicy,
    XfrmFlushSa,
    XfrmMapping,
    XfrmPolExpire,
    XfrmPolicy,
    XfrmPolicyId,
    XfrmSaId,
    XfrmState,
)
from xfrmctl.netlink.constants import (
    IPPROTO_ESP,
    XFRMCTL_PRIORITY_MAX,
    XFRMCTL_PRIORITY_MIN,
    XFRMCTL_REQID_MAX,
    XFRMCTL_REQID_MIN,
    XfrmMode,
)
from xfrmctl.netlink.errors import NetlinkError


def owned_reqid(reqid: int) -> bool:
    return XFRMCTL_REQID_MIN <= reqid <= XFRMCTL_REQID_MAX


def owned_sa(sa: XfrmState) -> bool:
    return owned_reqid(sa.reqid)


def owned_policy(p: XfrmPolicy) -> bool:
    if XFRMCTL_PRIORITY_MIN <= p.priority <= XFRMCTL_PRIORITY_MAX:
        return True
    return any(owned_reqid(t.reqid) for t in p.tmpls or ())


def mark_value(mark: Mark | None) -> tuple[int, int]:
    return (mark.v, mark.m) if mark is not None else (0, 0)


@dataclass(frozen=True, slots=True)
class SaFilter:
    """Dump filter; the outer addresses and protocol are filtered by the kernel itself."""

    src: str | None = None
    dst: str | None = None
    proto: int | None = None
    reqid: int | None = None
    if_id: int | None = None
    mark: Mark | None = None
    owned_only: bool = False

    def accepts(self, sa: XfrmState) -> bool:
        if self.src is not None and sa.saddr != self.src:
            return False
        if self.dst is not None and sa.daddr != self.dst:
            return False
        if self.proto is not None and sa.proto != self.proto:
            return False
        if self.reqid is not None and sa.reqid != self.reqid:
            return False
        if self.if_id is not None and (sa.if_id or 0) != self.if_id:
            return False
        if self.mark is not None and mark_value(sa.mark) != mark_value(self.mark):
            return False
        return not self.owned_only or owned_sa(sa)


@dataclass(frozen=True, slots=True)
class PolicyFilter:
    dir: int | None = None
    reqid: int | None = None
    if_id: int | None = None
    mark: Mark | None = None
    owned_only: bool = False

    def accepts(self, p: XfrmPolicy) -> bool:
        if self.dir is not None and p.dir != self.dir:
            return False
        if self.reqid is not None and not any(t.reqid == self.reqid for t in p.tmpls or ()):
            return False
        if self.if_id is not None and (p.if_id or 0) != self.if_id:
            return False
        if self.mark is not None and mark_value(p.mark) != mark_value(self.mark):
            return False
        return not self.owned_only or owned_policy(p)


XfrmEventMessage: TypeAlias = (
    XfrmState
    | XfrmSaId
    | XfrmPolicy
    | XfrmPolicyId
    | XfrmAcquire
    | XfrmExpire
    | XfrmPolExpire
    | XfrmMapping
    | XfrmFlushSa
    | XfrmFlushPolicy
)


# Batched operations (``KernelPort.apply``): each succeeds or fails on its own.
@dataclass(frozen=True, slots=True)
class AddSa:
    sa: XfrmState
    update: bool = False


@dataclass(frozen=True, slots=True)
class DeleteSa:
    dst: str
    spi: int
    proto: int = IPPROTO_ESP
    mark: Mark | None = None


@dataclass(frozen=True, slots=True)
class AddPolicy:
    policy: XfrmPolicy
    update: bool = False


@dataclass(frozen=True, slots=True)
class DeletePolicy:
    sel: Selector
    dir: int
    mark: Mark | None = None
    if_id: int | None = None


KernelOp: TypeAlias = AddSa | DeleteSa | AddPolicy | DeletePolicy


@dataclass(frozen=True, slots=True)
class XfrmEvent:
    """One kernel notification: ``type`` is the XFRM_MSG_* value, ``message`` its payload.

    NEWSA/UPDSA carry an XfrmState, DELSA an XfrmSaId (with ``sa``), NEW/UPDPOLICY an
    XfrmPolicy, DELPOLICY an XfrmPolicyId, plus ACQUIRE, EXPIRE, POLEXPIRE, MAPPING and flushes.
    """

    type: int
    message: XfrmEventMessage


@dataclass(frozen=True, slots=True)
class EventsDropped:
    """The kernel dropped notifications; the consumer must resynchronise with dumps."""


@dataclass(frozen=True, slots=True)
class LinkInfo:
    name: str
    index: int
    kind: str
    up: bool
    mtu: int
    if_id: int | None = None
    link: int | None = None  # underlying device's ifindex (xfrm interface, VTI)
    local: str | None = None  # VTI
    remote: str | None = None
    ikey: int | None = None
    okey: int | None = None


@dataclass(frozen=True, slots=True)
class RouteInfo:
    dst: str  # prefix, e.g. "198.18.2.0/24"
    dev: str | None
    via: str | None = None
    table: int = 254
    metric: int = 0
    proto: int = 0
    onlink: bool = False


@dataclass(frozen=True, slots=True)
class RouteEvent:
    """A route appeared (``added``) or went away, from any source (config, FRR, ip route)."""

    added: bool
    route: RouteInfo


KernelEvent: TypeAlias = XfrmEvent | EventsDropped


class KernelPort(Protocol):
    """The daemon's whole view of the kernel (see module docstring for ownership)."""

    # ---- SAs
    async def alloc_spi(
        self,
        *,
        src: str,
        dst: str,
        reqid: int,
        proto: int = IPPROTO_ESP,
        mode: int = XfrmMode.XFRM_MODE_TUNNEL,
        spi_min: int = 0x100,
        spi_max: int = 0xFFFFFFFF,
        mark: Mark | None = None,
        if_id: int | None = None,
    ) -> int: ...

    async def add_sa(self, sa: XfrmState) -> None: ...

    async def update_sa(self, sa: XfrmState) -> None: ...

    async def delete_sa(
        self, dst: str, spi: int, proto: int = IPPROTO_ESP, *, mark: Mark | None = None
    ) -> None: ...

    async def get_sa(
        self, dst: str, spi: int, proto: int = IPPROTO_ESP, *, mark: Mark | None = None
    ) -> XfrmState: ...

    async def list_sas(self, filter: SaFilter | None = None) -> list[XfrmState]: ...

    async def sa_counters(self) -> list[SaCounters]: ...

    # ---- policies
    async def add_policy(self, policy: XfrmPolicy) -> None: ...

    async def update_policy(self, policy: XfrmPolicy) -> None: ...

    async def delete_policy(
        self, sel: Selector, dir: int, *, mark: Mark | None = None, if_id: int | None = None
    ) -> None: ...

    async def get_policy(
        self, sel: Selector, dir: int, *, mark: Mark | None = None, if_id: int | None = None
    ) -> XfrmPolicy: ...

    async def list_policies(self, filter: PolicyFilter | None = None) -> list[XfrmPolicy]: ...

    # ---- batches, ownership, events
    async def apply(self, ops: Sequence[KernelOp]) -> list[NetlinkError | None]: ...

    async def flush_owned(self) -> tuple[int, int]: ...

    def events(self) -> AsyncIterator[KernelEvent]: ...

    # ---- links, addresses, routes
    async def add_xfrm_interface(
        self, name: str, if_id: int, *, underlying: str | None = None, mtu: int | None = None
    ) -> LinkInfo: ...

    async def change_xfrm_interface(
        self,
        name: str,
        *,
        if_id: int | None = None,
        underlying: str | None = None,
        up: bool | None = None,
        mtu: int | None = None,
    ) -> LinkInfo: ...

    async def add_vti(
        self,
        name: str,
        *,
        local: str,
        remote: str,
        ikey: int,
        okey: int,
        underlying: str | None = None,
    ) -> LinkInfo: ...

    async def list_links(self, kind: str | None = None) -> list[LinkInfo]: ...

    async def delete_link(self, name: str) -> None: ...

    async def add_address(self, dev: str, prefix: str) -> None: ...

    async def delete_address(self, dev: str, prefix: str) -> None: ...

    async def list_addresses(self, dev: str) -> list[str]: ...

    async def add_route(
        self,
        dst: str,
        *,
        dev: str,
        via: str | None = None,
        table: int = 254,
        metric: int = 0,
        onlink: bool = False,
    ) -> None: ...

    async def delete_route(
        self, dst: str, *, dev: str | None = None, table: int = 254, metric: int = 0
    ) -> None: ...

    async def list_routes(
        self, *, table: int = 254, proto: int | None = None
    ) -> list[RouteInfo]: ...

    def route_events(self) -> AsyncIterator[RouteEvent]: ...

    async def close(self) -> None: ...
