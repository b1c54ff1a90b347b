"""An in-memory kernel with the kernel's XFRM, link and route rules, for tests of the daemon.

Rules modelled on net/xfrm (Linux 6.1): an SA is identified by (daddr, SPI, protocol) and a
lookup matches when ``(request mark & SA mark mask) == SA mark value``; a duplicate SA is EEXIST,
a missing one ESRCH. A policy is identified by (dir, type, if_id, selector, mark) -- priority is
not part of its identity; a duplicate is EEXIST, a missing one ENOENT. Unknown algorithm names
are ENOSYS, wrong key or ICV sizes EINVAL. ALLOCSPI creates a larval SA that UPDSA fills in.
Policy indexes follow the kernel's generator (``dir | 8*n``). The clock and the RNG are injected.

Policies are indexed by that identity (a dict, like the kernel's hash tables), so an insert, a
lookup or a delete costs the same with 10 policies or 10,000; the priority-ordered view the
lookups and dumps walk is rebuilt only after a change.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import enum
import errno
import ipaddress
import operator
import random
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from typing import Any, Generic, TypeVar, cast

from xfrmctl.netlink.codec import (
    AeadAlgo,
    Algo,
    AuthTruncAlgo,
    LifetimeCfg,
    LifetimeCur,
    Mark,
    ReplayState,
    SaCounters,
    Selector,
    XfrmAcquire,
    XfrmExpire,
    XfrmMapping,
    XfrmPolicy,
    XfrmPolicyId,
    XfrmSaId,
    XfrmState,
    addr_family,
    canon_addr,
)
from xfrmctl.netlink.constants import (
    AF_INET,
    AF_INET6,
    AF_UNSPEC,
    IPPROTO_AH,
    IPPROTO_COMP,
    IPPROTO_ESP,
    RTPROT_XFRMCTL,
    XFRM_STATE_AF_UNSPEC,
    XFRM_STATE_ESN,
    XfrmMode,
    XfrmMsg,
)
from xfrmctl.netlink.errors import NetlinkError, XfrmInvalid, error_for
from xfrmctl.netlink.kernel_algos import AEAD_BY_NAME, AUTH_BY_NAME, CRYPT_BY_NAME
from xfrmctl.netlink.port import (
    AddPolicy,
    AddSa,
    DeleteSa,
    EventsDropped,
    KernelEvent,
    KernelOp,
    LinkInfo,
    PolicyFilter,
    RouteEvent,
    RouteInfo,
    SaFilter,
    XfrmEvent,
    XfrmEventMessage,
    mark_value,
    owned_policy,
    owned_sa,
)

E = TypeVar("E")
XFRM_ACQ_EXPIRES = 30
_MODES = {XfrmMode.XFRM_MODE_TRANSPORT, XfrmMode.XFRM_MODE_TUNNEL, XfrmMode.XFRM_MODE_BEET}


class _Subscription(Generic[E]):
    """An async iterator fed by the fake; registered at creation so nothing is missed."""

    def __init__(self, owner: list[_Subscription[E]]) -> None:
        self._queue: asyncio.Queue[E] = asyncio.Queue()
        self._owner = owner
        owner.append(self)

    def put(self, item: E) -> None:
        self._queue.put_nowait(item)

    def __aiter__(self) -> _Subscription[E]:
        return self

    async def __anext__(self) -> E:
        return await self._queue.get()

    def close(self) -> None:
        if self in self._owner:
            self._owner.remove(self)


class _SaTable:
    """The SAs in the order they were added, found by (daddr, SPI, protocol) in O(1): a hub's
    fake kernel holds tens of thousands, and every install looks for a duplicate first."""

    def __init__(self) -> None:
        self._order: dict[int, XfrmState] = {}  # serial -> SA
        self._serial: dict[int, int] = {}  # id(SA) -> serial
        self._by_id: dict[tuple[str, int, int], dict[int, XfrmState]] = {}
        self._next = 0

    def __iter__(self) -> Iterator[XfrmState]:
        return iter(list(self._order.values()))

    def __len__(self) -> int:
        return len(self._order)

    def candidates(self, dst: str, spi: int, proto: int) -> Iterable[XfrmState]:
        return self._by_id.get((dst, spi, proto), {}).values()

    def _put(self, serial: int, sa: XfrmState) -> None:
        self._order[serial] = sa
        self._serial[id(sa)] = serial
        self._by_id.setdefault((sa.daddr, sa.spi, sa.proto), {})[serial] = sa

    def _drop(self, sa: XfrmState) -> int:
        serial = self._serial.pop(id(sa))
        key = (sa.daddr, sa.spi, sa.proto)
        group = self._by_id[key]
        del group[serial]
        if not group:
            del self._by_id[key]
        return serial

    def append(self, sa: XfrmState) -> None:
        self._next += 1
        self._put(self._next, sa)

    def replace(self, old: XfrmState, new: XfrmState) -> None:
        """`new` takes `old`'s place in the order."""
        serial = self._drop(old)
        self._put(serial, new)

    def remove(self, sa: XfrmState) -> None:
        del self._order[self._drop(sa)]


def _fail(code: int, what: str, field: str | None = None) -> NetlinkError:
    return error_for(code, what, field)


_ATOMIC: frozenset[type] = frozenset({int, float, bool, str, bytes, type(None)})
_GETTERS: dict[type, Callable[[object], tuple[object, ...]]] = {}


def _copy(obj: E) -> E:
    """A snapshot for the caller: sub-structures are copied too, so neither side aliases.

    A structural copy of the codec's dataclasses, lists, tuples and dicts (scalars, bytes and
    enums are immutable and shared); `copy.deepcopy` for anything else. Four SA copies per
    child SA installed made deepcopy the fake kernel's main cost."""
    if isinstance(obj, XfrmPolicy):
        return cast(E, _copy_policy(obj))
    return cast(E, _deep(obj))


def _deep(obj: object) -> object:
    cls = type(obj)
    if cls in _ATOMIC or isinstance(obj, enum.Enum):
        return obj
    getter = _GETTERS.get(cls)
    if getter is None:
        if cls is list:
            return [_deep(x) for x in cast(list[object], obj)]
        if cls is tuple:
            items = cast(tuple[object, ...], obj)
            if all(type(x) in _ATOMIC for x in items):
                return items  # immutable all the way down: shared, as a copy would be equal
            return tuple(_deep(x) for x in items)
        if cls is dict:
            return {k: _deep(v) for k, v in cast(dict[object, object], obj).items()}
        if not dataclasses.is_dataclass(obj):
            return copy.deepcopy(obj)
        getter = _GETTERS[cls] = _fields_getter(cls)
    # The codec's records take their fields positionally: one constructor call instead of a
    # setattr per field (an SA has 37) halves the cost of a copy.
    return cls(*[v if type(v) in _ATOMIC else _deep(v) for v in getter(obj)])


def _fields_getter(cls: type) -> Callable[[object], tuple[object, ...]]:
    fields = dataclasses.fields(cls)
    if any(f.kw_only or not f.init for f in fields):
        raise TypeError(f"{cls.__name__}: fields not all positional")  # none in the codec
    names = [f.name for f in fields]
    if len(names) == 1:
        return lambda obj: (getattr(obj, names[0]),)
    return cast(Callable[[object], tuple[object, ...]], operator.attrgetter(*names))


def _copy_policy(p: XfrmPolicy) -> XfrmPolicy:
    """`_copy` of the most copied message, without `deepcopy`'s generic walk: every part of a
    policy is a flat record of scalars, so one level of copying is a full copy."""
    r = dataclasses.replace
    return r(
        p,
        sel=r(p.sel),
        lft=r(p.lft),
        curlft=r(p.curlft),
        tmpls=tuple(r(t) for t in p.tmpls) if p.tmpls is not None else None,
        mark=r(p.mark) if p.mark is not None else None,
    )


class FakeKernel:
    """In-memory ``KernelPort`` (one network namespace)."""

    def __init__(
        self,
        *,
        clock: Callable[[], float] = lambda: 0.0,
        rng: random.Random | None = None,
        devices: Sequence[str] = ("lo", "eth0"),
    ) -> None:
        self._clock = clock
        self._rng = rng or random.Random(0)  # noqa: S311 - deterministic test double
        self._sas = _SaTable()
        self._larval: set[tuple[str, int, int]] = set()
        self._soft_fired: set[tuple[str, int, int]] = set()
        self._policy_by_key: dict[tuple[object, ...], XfrmPolicy] = {}
        self._policy_seq: dict[tuple[object, ...], int] = {}  # insertion order on equal priority
        self._policy_indexes: set[int] = set()
        self._policy_order: list[XfrmPolicy] | None = []  # None: rebuild from the index
        self._next_policy_seq = 0
        self._idx_generator = 0
        self._subs: list[_Subscription[KernelEvent]] = []
        self._route_subs: list[_Subscription[RouteEvent]] = []
        self._links: dict[str, LinkInfo] = {}
        self._next_ifindex = 1
        self._addresses: dict[str, list[str]] = {}
        self._routes: list[RouteInfo] = []
        for name in devices:
            self._new_link(LinkInfo(name, 0, "loopback" if name == "lo" else "dummy", True, 1500))

    # ================================================================== helpers

    def _now(self) -> int:
        return int(self._clock())

    def _notify(self, msg_type: int, message: XfrmEventMessage) -> None:
        for s in list(self._subs):
            s.put(XfrmEvent(msg_type, message))

    def _find_sa(self, dst: str, spi: int, proto: int, mark: Mark | None) -> XfrmState | None:
        mv, mm = mark_value(mark)
        req = mv & mm
        for sa in self._sas.candidates(dst, spi, proto):
            if sa.spi == spi and sa.proto == proto and sa.daddr == dst:
                sv, sm = mark_value(sa.mark)
                if req & sm == sv:
                    return sa
        return None

    @staticmethod
    def _canon(addr: str) -> str:
        try:
            return canon_addr(addr)
        except ValueError as exc:
            raise XfrmInvalid(errno.EINVAL, f"bad address {addr!r}", "address") from exc

    # ================================================================== SAs

    def _validate_sa(self, sa: XfrmState) -> XfrmState:
        what = f"SA {sa.daddr} spi 0x{sa.spi:08x}"
        if sa.family not in (AF_INET, AF_INET6):
            raise XfrmInvalid(errno.EINVAL, f"{what}: bad family {sa.family}", "family")
        if sa.mode not in _MODES:
            raise XfrmInvalid(errno.EINVAL, f"{what}: bad mode {sa.mode}", "mode")
        if sa.proto not in (IPPROTO_ESP, IPPROTO_AH, IPPROTO_COMP):
            raise XfrmInvalid(errno.EINVAL, f"{what}: bad protocol {sa.proto}", "proto")
        out = _copy(sa)
        out.daddr = self._canon(sa.daddr)
        out.saddr = self._canon(sa.saddr)
        if out.proto == IPPROTO_ESP:
            if sa.aead is not None:
                if sa.crypt or sa.auth or sa.auth_trunc:
                    raise XfrmInvalid(errno.EINVAL, f"{what}: AEAD with cipher/auth", "aead")
                a = AEAD_BY_NAME.get(sa.aead.name)
                if a is None:
                    raise XfrmInvalid(
                        errno.ENOSYS, f"{what}: unknown AEAD {sa.aead.name}", sa.aead.name
                    )
                bits = len(sa.aead.key) * 8
                if a.key_bits is not None and bits not in a.key_bits:
                    raise XfrmInvalid(
                        errno.EINVAL, f"{what}: {a.name} key of {bits} bits", sa.aead.name
                    )
                if sa.aead.icv_len not in a.icv_bits:
                    raise XfrmInvalid(
                        errno.EINVAL, f"{what}: {a.name} ICV {sa.aead.icv_len}", sa.aead.name
                    )
                out.aead = AeadAlgo(a.name, sa.aead.key, sa.aead.icv_len)
            elif sa.crypt is None:
                raise XfrmInvalid(errno.EINVAL, f"{what}: ESP needs a cipher or AEAD", "crypt")
            if sa.comp is not None:
                raise XfrmInvalid(errno.EINVAL, f"{what}: ESP with compression", "comp")
        if sa.crypt is not None:
            c = CRYPT_BY_NAME.get(sa.crypt.name)
            if c is None:
                raise XfrmInvalid(
                    errno.ENOSYS, f"{what}: unknown cipher {sa.crypt.name}", sa.crypt.name
                )
            bits = len(sa.crypt.key) * 8
            if c.key_bits is not None and bits not in c.key_bits:
                raise XfrmInvalid(
                    errno.EINVAL, f"{what}: {c.name} key of {bits} bits", sa.crypt.name
                )
            out.crypt = Algo(c.name, sa.crypt.key)
        auth = sa.auth_trunc or sa.auth
        if auth is not None:
            h = AUTH_BY_NAME.get(auth.name)
            if h is None:
                raise XfrmInvalid(errno.ENOSYS, f"{what}: unknown integrity {auth.name}", auth.name)
            bits = len(auth.key) * 8
            if h.key_bits is not None and bits not in h.key_bits:
                raise XfrmInvalid(errno.EINVAL, f"{what}: {h.name} key of {bits} bits", auth.name)
            trunc = sa.auth_trunc.trunc_len if sa.auth_trunc else h.default_trunc_bits
            if trunc > h.full_bits:
                raise XfrmInvalid(errno.EINVAL, f"{what}: {h.name} truncated to {trunc}", auth.name)
            # The kernel reports both forms of the integrity algorithm.
            out.auth = Algo(h.name, auth.key)
            out.auth_trunc = AuthTruncAlgo(h.name, auth.key, trunc)
        if sa.flags & XFRM_STATE_ESN and sa.replay_esn is None:
            raise XfrmInvalid(errno.EINVAL, f"{what}: ESN without REPLAY_ESN_VAL", "replay_esn")
        if sa.replay_esn is not None:
            if sa.replay_esn.replay_window > sa.replay_esn.bmp_len * 32:
                raise XfrmInvalid(
                    errno.EINVAL, f"{what}: replay window exceeds its bitmap", "replay_esn"
                )
            out.replay = None
            esn = sa.replay_esn
            # The kernel allocates the bitmap itself and always reports all of it.
            out.replay_esn = dataclasses.replace(
                esn, bmp=esn.bmp or (0,) * esn.bmp_len, bmp_len=esn.bmp_len
            )
        else:
            out.replay = out.replay or ReplayState()  # `out` is a copy: nothing is shared
        if sa.encap is not None and sa.proto != IPPROTO_ESP:
            raise XfrmInvalid(errno.EINVAL, f"{what}: UDP encapsulation needs ESP", "encap")
        if out.mark is not None and out.mark.v == 0 and out.mark.m == 0:
            out.mark = None
        if out.if_id == 0:
            out.if_id = None
        if out.extra_flags == 0:
            out.extra_flags = None
        if out.sel.family == AF_UNSPEC and not out.flags & XFRM_STATE_AF_UNSPEC:
            out.sel.family = out.family  # as xfrm_state_construct() does
        out.curlft = LifetimeCur(0, 0, self._now(), 0)
        out.ltime = None
        out.lastused = None
        out.unknown = ()
        return out

    def _forget(self, sa: XfrmState) -> None:
        self._sas.remove(sa)
        self._larval.discard(sa.key)
        self._soft_fired.discard(sa.key)

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
    ) -> int:
        src, dst = self._canon(src), self._canon(dst)
        what = f"ALLOCSPI {src} -> {dst}"
        if spi_min > spi_max or proto not in (IPPROTO_ESP, IPPROTO_AH, IPPROTO_COMP):
            raise XfrmInvalid(errno.EINVAL, f"{what}: bad range or protocol", "spi")
        for _ in range(min(spi_max - spi_min + 1, 1 << 16)):
            spi = self._rng.randint(spi_min, spi_max)
            if self._find_sa(dst, spi, proto, mark) is None:
                break
        else:
            raise _fail(errno.ENOENT, f"{what}: no free SPI in range")
        fam = addr_family(dst)
        plen = 32 if fam == AF_INET else 128
        larval = XfrmState(
            daddr=dst,
            spi=spi,
            saddr=src,
            family=fam,
            proto=proto,
            mode=mode,
            reqid=reqid,
            sel=Selector(dst, src, family=AF_UNSPEC, prefixlen_d=plen, prefixlen_s=plen),
            lft=LifetimeCfg(hard_add_expires_seconds=XFRM_ACQ_EXPIRES),
            curlft=LifetimeCur(0, 0, self._now(), 0),
            replay=ReplayState(),
            mark=mark if mark is not None and (mark.v or mark.m) else None,
            if_id=if_id or None,
        )
        self._larval.add(larval.key)
        self._sas.append(larval)
        return spi

    async def add_sa(self, sa: XfrmState) -> None:
        new = self._validate_sa(sa)
        if self._find_sa(new.daddr, new.spi, new.proto, new.mark) is not None:
            raise _fail(errno.EEXIST, f"SA {new.daddr} spi 0x{new.spi:08x} exists")
        self._sas.append(new)
        self._notify(XfrmMsg.XFRM_MSG_NEWSA, _copy(new))

    async def update_sa(self, sa: XfrmState) -> None:
        new = self._validate_sa(sa)
        old = self._find_sa(new.daddr, new.spi, new.proto, new.mark)
        if old is None:
            raise _fail(errno.ESRCH, f"SA {new.daddr} spi 0x{new.spi:08x}")
        if old.key in self._larval:
            self._larval.discard(old.key)
            self._sas.replace(old, new)
        else:
            # A live SA keeps its keys; the kernel only takes new encap, lifetimes, selector.
            upd = _copy(old)
            upd.encap, upd.lft, upd.sel, upd.coaddr = new.encap, new.lft, new.sel, new.coaddr
            self._sas.replace(old, upd)
            new = upd
        self._notify(XfrmMsg.XFRM_MSG_UPDSA, _copy(new))

    async def delete_sa(
        self, dst: str, spi: int, proto: int = IPPROTO_ESP, *, mark: Mark | None = None
    ) -> None:
        sa = self._find_sa(self._canon(dst), spi, proto, mark)
        if sa is None:
            raise _fail(errno.ESRCH, f"SA {dst} spi 0x{spi:08x}")
        self._forget(sa)
        self._notify(
            XfrmMsg.XFRM_MSG_DELSA,
            XfrmSaId(sa.daddr, sa.spi, sa.family, sa.proto, sa=_copy(sa), mark=sa.mark),
        )

    async def get_sa(
        self, dst: str, spi: int, proto: int = IPPROTO_ESP, *, mark: Mark | None = None
    ) -> XfrmState:
        sa = self._find_sa(self._canon(dst), spi, proto, mark)
        if sa is None:
            raise _fail(errno.ESRCH, f"SA {dst} spi 0x{spi:08x}")
        return _copy(sa)

    async def list_sas(self, filter: SaFilter | None = None) -> list[XfrmState]:
        f = filter or SaFilter()
        return [_copy(sa) for sa in self._sas if f.accepts(sa)]

    async def sa_counters(self) -> list[SaCounters]:
        return [
            SaCounters(
                sa.daddr,
                sa.spi,
                sa.proto,
                sa.saddr,
                sa.reqid,
                sa.curlft.bytes,
                sa.curlft.packets,
                sa.curlft.add_time,
                sa.curlft.use_time,
                sa.lastused,
                sa.if_id,
                sa.mark,
            )
            for sa in self._sas
        ]

    # ================================================================== policies

    @staticmethod
    def _policy_key(
        sel: Selector, dir: int, mark: Mark | None, if_id: int | None
    ) -> tuple[object, ...]:
        return (dir, 0, if_id or 0, dataclasses.astuple(sel), mark_value(mark))

    def _find_policy(
        self, sel: Selector, dir: int, mark: Mark | None, if_id: int | None
    ) -> XfrmPolicy | None:
        return self._policy_by_key.get(self._policy_key(sel, dir, mark, if_id))

    @property
    def _policies(self) -> list[XfrmPolicy]:
        """Every policy in search order: priority (lower value first), insertion order on ties."""
        if self._policy_order is None:
            seq = self._policy_seq
            ordered = sorted(
                self._policy_by_key.items(), key=lambda kv: (kv[1].priority, seq[kv[0]])
            )
            self._policy_order = [p for _, p in ordered]
        return self._policy_order

    def _validate_policy(self, p: XfrmPolicy) -> XfrmPolicy:
        what = f"policy {p.sel.src} -> {p.sel.dst} dir {p.dir}"
        fam = p.sel.family
        limit = {AF_INET: 32, AF_INET6: 128}.get(fam)
        if limit is None:
            raise XfrmInvalid(errno.EINVAL, f"{what}: bad selector family {fam}", "sel.family")
        if p.sel.prefixlen_d > limit or p.sel.prefixlen_s > limit:
            raise XfrmInvalid(errno.EINVAL, f"{what}: prefix length too long", "sel.prefixlen")
        if p.dir not in (0, 1, 2):
            raise XfrmInvalid(errno.EINVAL, f"{what}: bad direction", "dir")
        if p.action not in (0, 1):
            raise XfrmInvalid(errno.EINVAL, f"{what}: bad action", "action")
        for t in p.tmpls or ():
            if t.mode not in _MODES:
                raise XfrmInvalid(errno.EINVAL, f"{what}: template mode {t.mode}", "tmpl.mode")
            if t.proto not in (IPPROTO_ESP, IPPROTO_AH, IPPROTO_COMP):
                raise XfrmInvalid(errno.EINVAL, f"{what}: template proto {t.proto}", "tmpl.proto")
        out = _copy(p)
        out.sel = Selector(
            **{
                **dataclasses.asdict(p.sel),
                "daddr": self._canon(p.sel.daddr),
                "saddr": self._canon(p.sel.saddr),
            }
        )
        out.tmpls = tuple(dataclasses.replace(t) for t in p.tmpls) if p.tmpls else None
        out.policy_type = 0
        if out.mark is not None and out.mark.v == 0 and out.mark.m == 0:
            out.mark = None
        if out.if_id == 0:
            out.if_id = None
        out.curlft = LifetimeCur(0, 0, self._now(), 0)
        out.lft = dataclasses.replace(p.lft)
        out.unknown = ()
        return out

    def _gen_index(self, dir: int) -> int:
        while True:
            idx = self._idx_generator | dir
            self._idx_generator += 8
            if idx == 0:
                idx = 8
            if idx not in self._policy_indexes:
                return idx

    async def add_policy(self, policy: XfrmPolicy) -> None:
        new = self._validate_policy(policy)
        if self._find_policy(new.sel, new.dir, new.mark, new.if_id) is not None:
            raise _fail(errno.EEXIST, f"policy {new.sel.src} -> {new.sel.dst} exists")
        new.index = self._gen_index(new.dir)
        self._insert_policy(new)
        self._notify(XfrmMsg.XFRM_MSG_NEWPOLICY, _copy(new))

    def _insert_policy(self, new: XfrmPolicy) -> None:
        key = self._policy_key(new.sel, new.dir, new.mark, new.if_id)
        self._policy_by_key[key] = new
        self._policy_seq[key] = self._next_policy_seq
        self._next_policy_seq += 1
        self._policy_indexes.add(new.index)
        self._policy_order = None

    def _remove_policy(self, old: XfrmPolicy) -> None:
        key = self._policy_key(old.sel, old.dir, old.mark, old.if_id)
        del self._policy_by_key[key]
        del self._policy_seq[key]
        self._policy_indexes.discard(old.index)
        self._policy_order = None

    async def update_policy(self, policy: XfrmPolicy) -> None:
        new = self._validate_policy(policy)
        old = self._find_policy(new.sel, new.dir, new.mark, new.if_id)
        if old is None:
            new.index = self._gen_index(new.dir)
        else:
            new.index = old.index
            self._remove_policy(old)
        self._insert_policy(new)
        self._notify(XfrmMsg.XFRM_MSG_UPDPOLICY, _copy(new))

    async def delete_policy(
        self, sel: Selector, dir: int, *, mark: Mark | None = None, if_id: int | None = None
    ) -> None:
        p = self._find_policy(self._canon_sel(sel), dir, mark, if_id)
        if p is None:
            raise _fail(errno.ENOENT, f"policy {sel.src} -> {sel.dst} dir {dir}")
        self._remove_policy(p)
        self._notify(
            XfrmMsg.XFRM_MSG_DELPOLICY,
            XfrmPolicyId(p.sel, p.dir, p.index, mark=p.mark, if_id=p.if_id, policy=_copy(p)),
        )

    def _canon_sel(self, sel: Selector) -> Selector:
        return dataclasses.replace(sel, daddr=self._canon(sel.daddr), saddr=self._canon(sel.saddr))

    async def get_policy(
        self, sel: Selector, dir: int, *, mark: Mark | None = None, if_id: int | None = None
    ) -> XfrmPolicy:
        p = self._find_policy(self._canon_sel(sel), dir, mark, if_id)
        if p is None:
            raise _fail(errno.ENOENT, f"policy {sel.src} -> {sel.dst} dir {dir}")
        return _copy(p)

    async def list_policies(self, filter: PolicyFilter | None = None) -> list[XfrmPolicy]:
        f = filter or PolicyFilter()
        return [_copy(p) for p in self._policies if f.accepts(p)]

    # ================================================================== batches, flush

    async def apply(self, ops: Sequence[KernelOp]) -> list[NetlinkError | None]:
        results: list[NetlinkError | None] = []
        for op in ops:
            try:
                if isinstance(op, AddSa):
                    await (self.update_sa(op.sa) if op.update else self.add_sa(op.sa))
                elif isinstance(op, DeleteSa):
                    await self.delete_sa(op.dst, op.spi, op.proto, mark=op.mark)
                elif isinstance(op, AddPolicy):
                    await (
                        self.update_policy(op.policy) if op.update else self.add_policy(op.policy)
                    )
                else:
                    await self.delete_policy(op.sel, op.dir, mark=op.mark, if_id=op.if_id)
                results.append(None)
            except NetlinkError as exc:
                results.append(exc)
        return results

    async def flush_owned(self) -> tuple[int, int]:
        sas = [sa for sa in self._sas if owned_sa(sa)]
        pols = [p for p in self._policies if owned_policy(p)]
        for p in pols:
            await self.delete_policy(p.sel, p.dir, mark=p.mark, if_id=p.if_id)
        for sa in sas:
            await self.delete_sa(sa.daddr, sa.spi, sa.proto, mark=sa.mark)
        for r in [r for r in self._routes if r.proto == RTPROT_XFRMCTL]:
            self._routes.remove(r)
            self._route_event(False, r)
        return len(sas), len(pols)

    def events(self) -> AsyncIterator[KernelEvent]:
        return _Subscription(self._subs)

    # ================================================================== kernel-side triggers

    def account(self, dst: str, spi: int, *, nbytes: int, packets: int = 1) -> None:
        """Traffic through an SA: counters grow, lastused moves, byte/packet limits may expire."""
        dst = self._canon(dst)
        sa = next((x for x in self._sas if x.daddr == dst and x.spi == spi), None)
        if sa is None:
            raise _fail(errno.ESRCH, f"SA {dst} spi 0x{spi:08x}")
        now = self._now()
        cur = sa.curlft
        # A new object: snapshots handed out earlier share the old one and must not change.
        sa.curlft = LifetimeCur(
            cur.bytes + nbytes, cur.packets + packets, cur.add_time, cur.use_time or now
        )
        sa.lastused = now
        self._check_limits(sa)

    def _check_limits(self, sa: XfrmState) -> None:
        cur, lft = sa.curlft, sa.lft
        now = self._now()
        hard = (
            cur.bytes >= lft.hard_byte_limit
            or cur.packets >= lft.hard_packet_limit
            or (lft.hard_add_expires_seconds and now >= cur.add_time + lft.hard_add_expires_seconds)
        )
        if hard:
            self._forget(sa)
            self._notify(XfrmMsg.XFRM_MSG_EXPIRE, XfrmExpire(_copy(sa), True, sa.mark, sa.if_id))
            return
        soft = (
            cur.bytes >= lft.soft_byte_limit
            or cur.packets >= lft.soft_packet_limit
            or (lft.soft_add_expires_seconds and now >= cur.add_time + lft.soft_add_expires_seconds)
        )
        if soft and sa.key not in self._soft_fired:
            self._soft_fired.add(sa.key)
            self._notify(XfrmMsg.XFRM_MSG_EXPIRE, XfrmExpire(_copy(sa), False, sa.mark, sa.if_id))

    def tick(self) -> None:
        """Run the SA timers at the injected clock's time (soft then hard EXPIRE)."""
        for sa in self._sas:
            self._check_limits(sa)

    def trigger_acquire(self, src: str, dst: str, *, proto: int = 0) -> XfrmAcquire:
        """A packet src->dst hits the first out policy with a template and no SA: ACQUIRE."""
        for p in self._policies:
            if p.dir != 1 or not p.tmpls or not _sel_match(p.sel, src, dst, proto):
                continue
            t = p.tmpls[0]
            if any(
                sa.daddr == t.daddr and sa.reqid == t.reqid and sa.key not in self._larval
                for sa in self._sas
            ):
                continue
            fam = addr_family(src)
            plen = 32 if fam == AF_INET else 128
            acq = XfrmAcquire(
                daddr=t.daddr,
                saddr=t.saddr,
                sel=Selector(dst, src, family=fam, prefixlen_d=plen, prefixlen_s=plen, proto=proto),
                policy=_copy(p),
                proto=t.proto,
                aalgos=t.aalgos,
                ealgos=t.ealgos,
                calgos=t.calgos,
                seq=self._rng.randint(1, 0xFFFFFFFF),
                tmpls=p.tmpls,
                policy_type=0,
                mark=p.mark,
                if_id=p.if_id,
            )
            self._notify(XfrmMsg.XFRM_MSG_ACQUIRE, acq)
            return acq
        raise _fail(errno.ENOENT, f"no out policy with a template matches {src} -> {dst}")

    def trigger_mapping(self, dst: str, spi: int, new_saddr: str, new_sport: int) -> None:
        """The peer behind NAT moved: a MAPPING event for an SA with UDP encapsulation."""
        sa = self._find_sa(self._canon(dst), spi, IPPROTO_ESP, None)
        if sa is None or sa.encap is None:
            raise _fail(errno.ESRCH, f"SA {dst} spi 0x{spi:08x} with encapsulation")
        self._notify(
            XfrmMsg.XFRM_MSG_MAPPING,
            XfrmMapping(
                sa.daddr,
                sa.spi,
                sa.family,
                sa.proto,
                sa.reqid,
                sa.saddr,
                new_saddr,
                sa.encap.sport,
                new_sport,
            ),
        )

    def drop_events(self) -> None:
        """Simulate a socket overrun on every subscriber."""
        for s in list(self._subs):
            s.put(EventsDropped())

    # ================================================================== links

    def _new_link(self, info: LinkInfo) -> LinkInfo:
        info = dataclasses.replace(info, index=self._next_ifindex)
        self._next_ifindex += 1
        self._links[info.name] = info
        self._addresses[info.name] = []
        return info

    def _link(self, name: str) -> LinkInfo:
        link = self._links.get(name)
        if link is None:
            raise _fail(errno.ENODEV, f"device {name}")
        return link

    async def add_xfrm_interface(
        self, name: str, if_id: int, *, underlying: str | None = None, mtu: int | None = None
    ) -> LinkInfo:
        if name in self._links:
            raise _fail(errno.EEXIST, f"device {name}")
        if not if_id:
            raise XfrmInvalid(
                errno.EINVAL, f"xfrm interface {name}: if_id must be non-zero", "if_id"
            )
        link = self._link(underlying).index if underlying else None
        return self._new_link(LinkInfo(name, 0, "xfrm", False, mtu or 1500, if_id, link))

    async def change_xfrm_interface(
        self,
        name: str,
        *,
        if_id: int | None = None,
        underlying: str | None = None,
        up: bool | None = None,
        mtu: int | None = None,
    ) -> LinkInfo:
        cur = self._link(name)
        if if_id is not None and not if_id:
            raise XfrmInvalid(
                errno.EINVAL, f"xfrm interface {name}: if_id must be non-zero", "if_id"
            )
        new = dataclasses.replace(
            cur,
            if_id=cur.if_id if if_id is None else if_id,
            link=cur.link if underlying is None else self._link(underlying).index,
            up=cur.up if up is None else up,
            mtu=cur.mtu if mtu is None else mtu,
        )
        self._links[name] = new
        return new

    async def add_vti(
        self,
        name: str,
        *,
        local: str,
        remote: str,
        ikey: int,
        okey: int,
        underlying: str | None = None,
    ) -> LinkInfo:
        if name in self._links:
            raise _fail(errno.EEXIST, f"device {name}")
        kind = "vti6" if addr_family(local) == AF_INET6 else "vti"
        link = self._link(underlying).index if underlying else None
        return self._new_link(
            LinkInfo(
                name,
                0,
                kind,
                False,
                1480,
                None,
                link,
                self._canon(local),
                self._canon(remote),
                ikey,
                okey,
            )
        )

    async def list_links(self, kind: str | None = None) -> list[LinkInfo]:
        return [link for link in self._links.values() if kind is None or link.kind == kind]

    async def delete_link(self, name: str) -> None:
        link = self._link(name)
        del self._links[name]
        del self._addresses[name]
        for r in [r for r in self._routes if r.dev == link.name]:
            self._routes.remove(r)
            self._route_event(False, r)

    async def add_address(self, dev: str, prefix: str) -> None:
        self._link(dev)
        iface = ipaddress.ip_interface(prefix)
        if str(iface) in self._addresses[dev]:
            raise _fail(errno.EEXIST, f"address {prefix} on {dev}")
        self._addresses[dev].append(str(iface))

    async def delete_address(self, dev: str, prefix: str) -> None:
        self._link(dev)
        text = str(ipaddress.ip_interface(prefix))
        if text not in self._addresses[dev]:
            raise _fail(errno.EADDRNOTAVAIL, f"address {prefix} on {dev}")
        self._addresses[dev].remove(text)

    async def list_addresses(self, dev: str) -> list[str]:
        self._link(dev)
        return list(self._addresses[dev])

    # ================================================================== routes

    def _route_event(self, added: bool, route: RouteInfo) -> None:
        for s in list(self._route_subs):
            s.put(RouteEvent(added, route))

    async def add_route(
        self,
        dst: str,
        *,
        dev: str,
        via: str | None = None,
        table: int = 254,
        metric: int = 0,
        onlink: bool = False,
    ) -> None:
        self._link(dev)
        net = str(ipaddress.ip_network(dst, strict=False))
        if via is not None and not onlink and not self._reachable(dev, via):
            raise _fail(errno.ENETUNREACH, f"route {net} via {via}: gateway not reachable")
        route = RouteInfo(net, dev, via, table, metric, RTPROT_XFRMCTL, onlink)
        self.inject_route(route)

    def _reachable(self, dev: str, via: str) -> bool:
        gw = ipaddress.ip_address(via)
        return any(gw in ipaddress.ip_interface(a).network for a in self._addresses[dev])

    def inject_route(self, route: RouteInfo) -> None:
        """A route from any source (FRR, ``ip route``); EEXIST like the kernel's."""
        for r in self._routes:
            if (r.dst, r.table, r.metric) == (route.dst, route.table, route.metric):
                raise _fail(errno.EEXIST, f"route {route.dst}")
        self._routes.append(route)
        self._route_event(True, route)

    async def delete_route(
        self, dst: str, *, dev: str | None = None, table: int = 254, metric: int = 0
    ) -> None:
        net = str(ipaddress.ip_network(dst, strict=False))
        for r in self._routes:
            if (r.dst, r.table, r.metric) == (net, table, metric) and dev in (None, r.dev):
                self._routes.remove(r)
                self._route_event(False, r)
                return
        raise _fail(errno.ESRCH, f"route {net}")

    async def list_routes(self, *, table: int = 254, proto: int | None = None) -> list[RouteInfo]:
        return [r for r in self._routes if r.table == table and (proto is None or r.proto == proto)]

    def route_events(self) -> AsyncIterator[RouteEvent]:
        return _Subscription(self._route_subs)

    async def close(self) -> None:
        self._subs.clear()
        self._route_subs.clear()


def _sel_match(sel: Selector, src: str, dst: str, proto: int) -> bool:
    if sel.family != addr_family(src):
        return False
    s = ipaddress.ip_address(src)
    d = ipaddress.ip_address(dst)
    if s not in ipaddress.ip_network(f"{sel.saddr}/{sel.prefixlen_s}", strict=False):
        return False
    if d not in ipaddress.ip_network(f"{sel.daddr}/{sel.prefixlen_d}", strict=False):
        return False
    return not sel.proto or sel.proto == proto


_Wrapped = TypeVar("_Wrapped")


class CountingKernel(Generic[_Wrapped]):
    """A kernel port that counts the calls made through it by method name: tests and
    benchmarks use it to prove how many kernel round trips a daemon makes."""

    def __init__(self, kernel: _Wrapped) -> None:
        self.kernel = kernel
        self.calls: Counter[str] = Counter()

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.kernel, name)
        if not callable(attr) or name.startswith("_"):
            return attr
        calls = self.calls

        def counted(*args: Any, **kwargs: Any) -> Any:
            calls[name] += 1
            return attr(*args, **kwargs)

        return counted
