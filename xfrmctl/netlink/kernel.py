"""``NetlinkKernel``: the KernelPort on the real kernel (XFRM over netlink, links via pyroute2)."""

from __future__ import annotations

import errno
from collections.abc import AsyncIterator, Sequence

from xfrmctl.netlink.codec import (
    AddressFilter,
    Mark,
    SaCounters,
    Selector,
    XfrmPolicy,
    XfrmPolicyDump,
    XfrmPolicyId,
    XfrmSaDump,
    XfrmSaId,
    XfrmSpiInfo,
    XfrmState,
    addr_family,
    decode_all,
    decode_counters,
    decode_payload,
    gc_paused,
)
from xfrmctl.netlink.constants import IPPROTO_ESP, NETLINK_XFRM, XfrmMode, XfrmMsg, XfrmNlGroup
from xfrmctl.netlink.errors import NetlinkError
from xfrmctl.netlink.links import Links
from xfrmctl.netlink.nlsocket import EventsLost, Request, XfrmSocket, open_netlink
from xfrmctl.netlink.port import (
    AddPolicy,
    AddSa,
    DeletePolicy,
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
    owned_policy,
    owned_reqid,
)

EVENT_GROUPS = (
    XfrmNlGroup.XFRMNLGRP_ACQUIRE,
    XfrmNlGroup.XFRMNLGRP_EXPIRE,
    XfrmNlGroup.XFRMNLGRP_SA,
    XfrmNlGroup.XFRMNLGRP_POLICY,
    XfrmNlGroup.XFRMNLGRP_MAPPING,
)


def sa_what(verb: str, sa: XfrmState) -> str:
    return f"{verb} SA {sa.saddr} -> {sa.daddr} spi 0x{sa.spi:08x} reqid {sa.reqid}"


def sa_hint(sa: XfrmState) -> str:
    """The algorithms of an SA as the kernel saw them, for an EINVAL/ENOSYS message."""
    parts = []
    if sa.aead is not None:
        parts.append(
            f"aead {sa.aead.name} ({len(sa.aead.key) * 8}-bit key, {sa.aead.icv_len}-bit ICV)"
        )
    if sa.crypt is not None:
        parts.append(f"enc {sa.crypt.name} ({len(sa.crypt.key) * 8}-bit key)")
    auth = sa.auth_trunc or sa.auth
    if auth is not None:
        parts.append(f"auth {auth.name} ({len(auth.key) * 8}-bit key)")
    return ", ".join(parts) or "no algorithm"


def policy_what(verb: str, sel: Selector, dir: int) -> str:
    return f"{verb} policy {sel.src} -> {sel.dst} dir {('in', 'out', 'fwd')[dir % 3]}"


class _Events:
    """Async iterator over one multicast socket (opened when the iterator is created)."""

    def __init__(self, sock: XfrmSocket) -> None:
        self._sock = sock

    def __aiter__(self) -> _Events:
        return self

    async def __anext__(self) -> KernelEvent:
        while True:
            try:
                msg = await self._sock.next_event()
            except EventsLost:
                return EventsDropped()
            except NetlinkError as exc:
                raise StopAsyncIteration from exc
            try:
                obj = decode_payload(msg.type, msg.flags, msg.payload)
            except ValueError:
                continue
            return XfrmEvent(msg.type, obj)  # type: ignore[arg-type]

    async def aclose(self) -> None:
        self._sock.close()


class NetlinkKernel:
    """KernelPort over NETLINK_XFRM and rtnetlink, optionally inside a network namespace."""

    def __init__(self, sock: XfrmSocket, links: Links, netns: str | None = None) -> None:
        self._sock = sock
        self._links = links
        self._netns = netns
        self._event_socks: list[XfrmSocket] = []

    @classmethod
    async def open(cls, netns: str | None = None, *, window: int = 256) -> NetlinkKernel:
        sock = await XfrmSocket.open(netns=netns, window=window)
        links = await Links.open(netns)
        return cls(sock, links, netns)

    async def close(self) -> None:
        self._sock.close()
        for s in self._event_socks:
            s.close()
        await self._links.close()

    # ------------------------------------------------------------------ SAs

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
        info = XfrmSpiInfo(
            XfrmState(
                daddr=dst,
                spi=0,
                saddr=src,
                family=addr_family(dst),
                proto=proto,
                mode=mode,
                reqid=reqid,
            ),
            spi_min,
            spi_max,
            mark=mark,
            if_id=if_id,
        )
        reply = await self._sock.query(
            XfrmMsg.XFRM_MSG_ALLOCSPI, info, what=f"allocate SPI {src} -> {dst} reqid {reqid}"
        )
        sa = decode_payload(reply.type, reply.flags, reply.payload)
        assert isinstance(sa, XfrmState)
        return sa.spi

    async def add_sa(self, sa: XfrmState) -> None:
        await self._sock.request(
            XfrmMsg.XFRM_MSG_NEWSA, sa, what=sa_what("add", sa), hint=sa_hint(sa)
        )

    async def update_sa(self, sa: XfrmState) -> None:
        await self._sock.request(
            XfrmMsg.XFRM_MSG_UPDSA, sa, what=sa_what("update", sa), hint=sa_hint(sa)
        )

    async def delete_sa(
        self, dst: str, spi: int, proto: int = IPPROTO_ESP, *, mark: Mark | None = None
    ) -> None:
        msg = XfrmSaId(dst, spi, addr_family(dst), proto, mark=mark)
        await self._sock.request(
            XfrmMsg.XFRM_MSG_DELSA, msg, what=f"delete SA {dst} spi 0x{spi:08x}"
        )

    async def get_sa(
        self, dst: str, spi: int, proto: int = IPPROTO_ESP, *, mark: Mark | None = None
    ) -> XfrmState:
        msg = XfrmSaId(dst, spi, addr_family(dst), proto, mark=mark)
        reply = await self._sock.query(
            XfrmMsg.XFRM_MSG_GETSA, msg, what=f"get SA {dst} spi 0x{spi:08x}"
        )
        sa = decode_payload(reply.type, reply.flags, reply.payload)
        assert isinstance(sa, XfrmState)
        return sa

    def _sa_dump_request(self, f: SaFilter) -> XfrmSaDump:
        req = XfrmSaDump(filter_proto=f.proto)
        if f.src is not None or f.dst is not None:
            fam = addr_family(f.src or f.dst or "")
            full = 128 if fam != 2 else 32
            any_addr = "::" if full == 128 else "0.0.0.0"  # noqa: S104 - a filter wildcard
            req.address_filter = AddressFilter(
                f.src or any_addr,
                f.dst or any_addr,
                fam,
                full if f.src else 0,
                full if f.dst else 0,
            )
        return req

    async def list_sas(self, filter: SaFilter | None = None) -> list[XfrmState]:
        f = filter or SaFilter()
        with gc_paused():
            payloads = await self._sock.dump_payloads(
                XfrmMsg.XFRM_MSG_GETSA,
                self._sa_dump_request(f),
                XfrmMsg.XFRM_MSG_NEWSA,
                what="dump SAs",
            )
            sas: list[XfrmState] = decode_all(XfrmState, payloads)
        return sas if filter is None else [sa for sa in sas if f.accepts(sa)]

    async def sa_counters(self) -> list[SaCounters]:
        with gc_paused():
            payloads = await self._sock.dump_payloads(
                XfrmMsg.XFRM_MSG_GETSA, XfrmSaDump(), XfrmMsg.XFRM_MSG_NEWSA, what="dump SAs"
            )
            return [decode_counters(p) for p in payloads]

    # ------------------------------------------------------------------ policies

    async def add_policy(self, policy: XfrmPolicy) -> None:
        await self._sock.request(
            XfrmMsg.XFRM_MSG_NEWPOLICY, policy, what=policy_what("add", policy.sel, policy.dir)
        )

    async def update_policy(self, policy: XfrmPolicy) -> None:
        await self._sock.request(
            XfrmMsg.XFRM_MSG_UPDPOLICY,
            policy,
            what=policy_what("update", policy.sel, policy.dir),
        )

    async def delete_policy(
        self, sel: Selector, dir: int, *, mark: Mark | None = None, if_id: int | None = None
    ) -> None:
        msg = XfrmPolicyId(sel, dir, mark=mark, if_id=if_id)
        await self._sock.request(
            XfrmMsg.XFRM_MSG_DELPOLICY, msg, what=policy_what("delete", sel, dir)
        )

    async def get_policy(
        self, sel: Selector, dir: int, *, mark: Mark | None = None, if_id: int | None = None
    ) -> XfrmPolicy:
        msg = XfrmPolicyId(sel, dir, mark=mark, if_id=if_id)
        reply = await self._sock.query(
            XfrmMsg.XFRM_MSG_GETPOLICY, msg, what=policy_what("get", sel, dir)
        )
        p = decode_payload(reply.type, reply.flags, reply.payload)
        assert isinstance(p, XfrmPolicy)
        return p

    async def list_policies(self, filter: PolicyFilter | None = None) -> list[XfrmPolicy]:
        f = filter or PolicyFilter()
        with gc_paused():
            payloads = await self._sock.dump_payloads(
                XfrmMsg.XFRM_MSG_GETPOLICY,
                XfrmPolicyDump(),
                XfrmMsg.XFRM_MSG_NEWPOLICY,
                what="dump policies",
            )
            pols: list[XfrmPolicy] = decode_all(XfrmPolicy, payloads)
        return pols if filter is None else [p for p in pols if f.accepts(p)]

    # ------------------------------------------------------------------ batches

    async def apply(self, ops: Sequence[KernelOp]) -> list[NetlinkError | None]:
        with gc_paused():
            return await self._sock.batch([_request(op) for op in ops])

    async def flush_owned(self) -> tuple[int, int]:
        pols = [p for p in await self.list_policies() if owned_policy(p)]
        # The counters view carries each SA's identity and reqid without decoding its keys.
        sas = [c for c in await self.sa_counters() if owned_reqid(c.reqid)]
        ops: list[KernelOp] = [DeletePolicy(p.sel, p.dir, p.mark, p.if_id) for p in pols]
        ops += [DeleteSa(c.daddr, c.spi, c.proto, c.mark) for c in sas]
        results = await self.apply(ops)
        for r in results:
            # Something else removed it meanwhile: the goal (gone) is reached.
            if r is not None and r.code not in (errno.ENOENT, errno.ESRCH):
                raise r
        await self._links.flush_owned_routes()
        return len(sas), len(pols)

    def events(self) -> AsyncIterator[KernelEvent]:
        raw = open_netlink(NETLINK_XFRM, EVENT_GROUPS, self._netns)
        sock = XfrmSocket(raw)
        self._event_socks.append(sock)
        return _Events(sock)

    # ------------------------------------------------------------------ links and routes

    async def add_xfrm_interface(
        self, name: str, if_id: int, *, underlying: str | None = None, mtu: int | None = None
    ) -> LinkInfo:
        return await self._links.add_xfrm_interface(name, if_id, underlying=underlying, mtu=mtu)

    async def change_xfrm_interface(
        self,
        name: str,
        *,
        if_id: int | None = None,
        underlying: str | None = None,
        up: bool | None = None,
        mtu: int | None = None,
    ) -> LinkInfo:
        return await self._links.change_xfrm_interface(
            name, if_id=if_id, underlying=underlying, up=up, mtu=mtu
        )

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
        return await self._links.add_vti(
            name, local=local, remote=remote, ikey=ikey, okey=okey, underlying=underlying
        )

    async def list_links(self, kind: str | None = None) -> list[LinkInfo]:
        return await self._links.list_links(kind)

    async def delete_link(self, name: str) -> None:
        await self._links.delete_link(name)

    async def add_address(self, dev: str, prefix: str) -> None:
        await self._links.add_address(dev, prefix)

    async def delete_address(self, dev: str, prefix: str) -> None:
        await self._links.delete_address(dev, prefix)

    async def list_addresses(self, dev: str) -> list[str]:
        return await self._links.list_addresses(dev)

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
        await self._links.add_route(
            dst, dev=dev, via=via, table=table, metric=metric, onlink=onlink
        )

    async def delete_route(
        self, dst: str, *, dev: str | None = None, table: int = 254, metric: int = 0
    ) -> None:
        await self._links.delete_route(dst, dev=dev, table=table, metric=metric)

    async def list_routes(self, *, table: int = 254, proto: int | None = None) -> list[RouteInfo]:
        return await self._links.list_routes(table=table, proto=proto)

    def route_events(self) -> AsyncIterator[RouteEvent]:
        return self._links.route_events()


def _request(op: KernelOp) -> Request:
    if isinstance(op, AddSa):
        t = XfrmMsg.XFRM_MSG_UPDSA if op.update else XfrmMsg.XFRM_MSG_NEWSA
        verb = "update" if op.update else "add"
        sa = op.sa
        return Request(t, sa, 0, lambda: sa_what(verb, sa), lambda: sa_hint(sa))
    if isinstance(op, DeleteSa):
        msg = XfrmSaId(op.dst, op.spi, addr_family(op.dst), op.proto, mark=op.mark)
        return Request(
            XfrmMsg.XFRM_MSG_DELSA, msg, 0, lambda: f"delete SA {op.dst} spi 0x{op.spi:08x}"
        )
    if isinstance(op, AddPolicy):
        t = XfrmMsg.XFRM_MSG_UPDPOLICY if op.update else XfrmMsg.XFRM_MSG_NEWPOLICY
        verb = "update" if op.update else "add"
        pol = op.policy
        return Request(t, pol, 0, lambda: policy_what(verb, pol.sel, pol.dir))
    msg_id = XfrmPolicyId(op.sel, op.dir, mark=op.mark, if_id=op.if_id)
    return Request(
        XfrmMsg.XFRM_MSG_DELPOLICY, msg_id, 0, lambda: policy_what("delete", op.sel, op.dir)
    )
