"""xfrm interfaces (``st0.N``), VTI, addresses and routes through pyroute2's rtnetlink API.

Routes are installed with protocol ``RTPROT_XFRMCTL`` so they are recognised (and flushed) after
a crash. The route watch is a plain rtnetlink multicast socket (IPv4 and IPv6 route groups)
whose messages pyroute2's ``rtmsg`` decodes; it reports routes from every source, because NHTB
must follow routes that FRR or an operator add via ``st0.N`` as well as ours.
"""

from __future__ import annotations

import contextlib
import errno
import ipaddress
from collections.abc import AsyncIterator
from typing import Any

from pyroute2 import AsyncIPRoute
from pyroute2.netlink.exceptions import NetlinkError as Pr2NetlinkError
from pyroute2.netlink.rtnl.rtmsg import rtmsg

from xfrmctl.netlink.codec import frame
from xfrmctl.netlink.constants import AF_INET6, RTPROT_XFRMCTL
from xfrmctl.netlink.errors import NetlinkError, error_for
from xfrmctl.netlink.nlsocket import EventsLost, XfrmSocket, open_netlink
from xfrmctl.netlink.port import LinkInfo, RouteEvent, RouteInfo

NETLINK_ROUTE = 0
RTNLGRP_IPV4_ROUTE = 7
RTNLGRP_IPV6_ROUTE = 11
RTM_NEWROUTE = 24
RTM_DELROUTE = 25
RTNH_F_ONLINK = 4
IFF_UP = 1
_NAME_CACHE = 65536  # device names a route event watcher remembers by index


def _err(exc: Pr2NetlinkError, what: str) -> NetlinkError:
    return error_for(int(exc.code), what)


def _link_info(msg: Any) -> LinkInfo:
    linkinfo = msg.get_attr("IFLA_LINKINFO")
    kind = "unknown"
    data: Any = None
    if linkinfo is not None:
        kind = linkinfo.get_attr("IFLA_INFO_KIND") or "unknown"
        data = linkinfo.get_attr("IFLA_INFO_DATA")
    if_id = link = ikey = okey = None
    local = remote = None
    if data is not None and kind == "xfrm":
        if_id = data.get_attr("IFLA_XFRM_IF_ID")
        link = data.get_attr("IFLA_XFRM_LINK") or None
    elif data is not None and kind in ("vti", "vti6"):
        link = data.get_attr("IFLA_VTI_LINK") or None
        local = data.get_attr("IFLA_VTI_LOCAL")
        remote = data.get_attr("IFLA_VTI_REMOTE")
        ikey = data.get_attr("IFLA_VTI_IKEY")
        okey = data.get_attr("IFLA_VTI_OKEY")
    return LinkInfo(
        name=msg.get_attr("IFLA_IFNAME"),
        index=msg["index"],
        kind=kind,
        up=bool(msg["flags"] & IFF_UP),
        mtu=msg.get_attr("IFLA_MTU") or 0,
        if_id=if_id,
        link=link,
        local=local,
        remote=remote,
        ikey=ikey,
        okey=okey,
    )


def route_info(msg: Any) -> RouteInfo:
    """RouteInfo of a pyroute2 ``rtmsg`` (dump entry or event)."""
    family = msg["family"]
    dst = msg.get_attr("RTA_DST") or ("::" if family == AF_INET6 else "0.0.0.0")  # noqa: S104
    table = msg.get_attr("RTA_TABLE") or msg["table"]
    return RouteInfo(
        dst=f"{dst}/{msg['dst_len']}",
        dev=str(msg.get_attr("RTA_OIF")) if msg.get_attr("RTA_OIF") is not None else None,
        via=msg.get_attr("RTA_GATEWAY"),
        table=table,
        metric=msg.get_attr("RTA_PRIORITY") or 0,
        proto=msg["proto"],
        onlink=bool(msg["flags"] & RTNH_F_ONLINK),
    )


class _RouteEvents:
    def __init__(self, sock: XfrmSocket, links: Links) -> None:
        self._sock = sock
        self._links = links
        self._names: dict[int, str] = {}

    def __aiter__(self) -> _RouteEvents:
        return self

    async def __anext__(self) -> RouteEvent:
        while True:
            try:
                msg = await self._sock.next_event()
            except NetlinkError as exc:
                raise StopAsyncIteration from exc
            except EventsLost:  # overrun: routes are re-read by the consumer's own resync
                continue
            if msg.type not in (RTM_NEWROUTE, RTM_DELROUTE):
                continue
            try:
                m = rtmsg(frame(msg.type, msg.flags, msg.seq, msg.payload))
                m.decode()
                info = route_info(m)
            except Exception:  # noqa: S112 - a route message pyroute2 cannot decode is skipped
                continue
            if info.dev is not None and info.dev.isdigit():
                index = int(info.dev)
                if index not in self._names:
                    if len(self._names) >= _NAME_CACHE:
                        self._names.clear()
                    with contextlib.suppress(NetlinkError, Pr2NetlinkError):
                        name = await self._links._name_of(index)
                        if name is not None:
                            self._names[index] = name
                info = _with_dev(info, self._names.get(index, info.dev))
            return RouteEvent(msg.type == RTM_NEWROUTE, info)

    async def aclose(self) -> None:
        self._sock.close()


def _with_dev(r: RouteInfo, dev: str) -> RouteInfo:
    return RouteInfo(r.dst, dev, r.via, r.table, r.metric, r.proto, r.onlink)


class Links:
    """rtnetlink operations of the KernelPort, in one network namespace."""

    def __init__(self, ipr: Any, netns: str | None) -> None:
        self._ipr = ipr
        self._netns = netns
        self._watch: list[XfrmSocket] = []

    @classmethod
    async def open(cls, netns: str | None = None) -> Links:
        ipr = AsyncIPRoute(netns=netns) if netns else AsyncIPRoute()
        return cls(ipr, netns)

    async def close(self) -> None:
        for s in self._watch:
            s.close()
        self._ipr.close()

    async def _ask(self, **kw: Any) -> Any:
        """One RTM_GETLINK. pyroute2 takes the answer and leaves the kernel's ACK that follows it
        in the socket's queue of unsolicited messages, where nothing reads it; this socket only
        makes requests, so whatever is in that queue is such an ACK and is dropped. Left there,
        one stayed per request for the daemon's life and pinned about 1.3 KiB of heap each."""
        try:
            return await self._ipr.link("get", **kw)
        finally:
            stray = getattr(getattr(self._ipr, "msg_queue", None), "root", None)
            while stray is not None and not stray.empty():
                stray.get_nowait()
                stray.task_done()

    async def _index(self, name: str) -> int:
        """A device's index, asked for alone (pyroute2's link_lookup dumps every device: with
        hundreds of st0 units each address, route and interface change cost a full dump)."""
        try:
            msgs = await self._ask(ifname=name)
        except Pr2NetlinkError as exc:
            raise _err(exc, f"device {name}") from exc
        for msg in msgs:
            return int(msg["index"])
        raise error_for(errno.ENODEV, f"device {name}")

    async def _get(self, name: str) -> LinkInfo:
        try:
            msgs = await self._ask(ifname=name)
        except Pr2NetlinkError as exc:
            raise _err(exc, f"device {name}") from exc
        return _link_info(next(iter(msgs)))

    async def add_xfrm_interface(
        self, name: str, if_id: int, *, underlying: str | None = None, mtu: int | None = None
    ) -> LinkInfo:
        kw: dict[str, Any] = {"ifname": name, "kind": "xfrm", "xfrm_if_id": if_id}
        if underlying:
            kw["xfrm_link"] = await self._index(underlying)
        if mtu:
            kw["mtu"] = mtu
        try:
            await self._ipr.link("add", **kw)
        except Pr2NetlinkError as exc:
            raise _err(exc, f"add xfrm interface {name} if_id {if_id}") from exc
        return await self._get(name)

    async def change_xfrm_interface(
        self,
        name: str,
        *,
        if_id: int | None = None,
        underlying: str | None = None,
        up: bool | None = None,
        mtu: int | None = None,
    ) -> LinkInfo:
        index = await self._index(name)
        kw: dict[str, Any] = {"index": index}
        if if_id is not None or underlying is not None:
            kw["kind"] = "xfrm"
            if if_id is not None:
                kw["xfrm_if_id"] = if_id
            if underlying is not None:
                kw["xfrm_link"] = await self._index(underlying)
        if mtu is not None:
            kw["mtu"] = mtu
        if up is not None:
            kw["state"] = "up" if up else "down"
        try:
            await self._ipr.link("set", **kw)
        except Pr2NetlinkError as exc:
            raise _err(exc, f"change xfrm interface {name}") from exc
        return await self._get(name)

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
        kind = "vti6" if ":" in local else "vti"
        kw: dict[str, Any] = {
            "ifname": name,
            "kind": kind,
            "vti_local": local,
            "vti_remote": remote,
            "vti_ikey": ikey,
            "vti_okey": okey,
        }
        if underlying:
            kw["vti_link"] = await self._index(underlying)
        try:
            await self._ipr.link("add", **kw)
        except Pr2NetlinkError as exc:
            raise _err(exc, f"add {kind} {name}") from exc
        return await self._get(name)

    async def list_links(self, kind: str | None = None) -> list[LinkInfo]:
        out = []
        async for msg in await self._ipr.link("dump"):
            info = _link_info(msg)
            if kind is None or info.kind == kind:
                out.append(info)
        return out

    async def delete_link(self, name: str) -> None:
        index = await self._index(name)
        try:
            await self._ipr.link("del", index=index)
        except Pr2NetlinkError as exc:
            raise _err(exc, f"delete device {name}") from exc

    async def add_address(self, dev: str, prefix: str) -> None:
        iface = ipaddress.ip_interface(prefix)
        index = await self._index(dev)
        try:
            await self._ipr.addr(
                "add", index=index, address=str(iface.ip), prefixlen=iface.network.prefixlen
            )
        except Pr2NetlinkError as exc:
            raise _err(exc, f"add address {prefix} on {dev}") from exc

    async def delete_address(self, dev: str, prefix: str) -> None:
        iface = ipaddress.ip_interface(prefix)
        index = await self._index(dev)
        try:
            await self._ipr.addr(
                "del", index=index, address=str(iface.ip), prefixlen=iface.network.prefixlen
            )
        except Pr2NetlinkError as exc:
            raise _err(exc, f"delete address {prefix} on {dev}") from exc

    async def list_addresses(self, dev: str) -> list[str]:
        index = await self._index(dev)
        out = []
        async for msg in await self._ipr.addr("dump", index=index):
            out.append(f"{msg.get_attr('IFA_ADDRESS')}/{msg['prefixlen']}")
        return out

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
        net = ipaddress.ip_network(dst, strict=False)
        kw: dict[str, Any] = {
            "dst": str(net),
            "oif": await self._index(dev),
            "table": table,
            "proto": RTPROT_XFRMCTL,
        }
        if metric:
            kw["priority"] = metric
        if via:
            kw["gateway"] = via
        if onlink:
            kw["flags"] = RTNH_F_ONLINK
        try:
            await self._ipr.route("add", **kw)
        except Pr2NetlinkError as exc:
            raise _err(exc, f"add route {net} dev {dev}") from exc

    async def delete_route(
        self, dst: str, *, dev: str | None = None, table: int = 254, metric: int = 0
    ) -> None:
        net = ipaddress.ip_network(dst, strict=False)
        kw: dict[str, Any] = {"dst": str(net), "table": table}
        if dev:
            kw["oif"] = await self._index(dev)
        if metric:
            kw["priority"] = metric
        try:
            await self._ipr.route("del", **kw)
        except Pr2NetlinkError as exc:
            raise _err(exc, f"delete route {net}") from exc

    async def _names(self) -> dict[int, str]:
        return {link.index: link.name for link in await self.list_links()}

    async def _name_of(self, index: int) -> str | None:
        """One device's name, asked for alone: a route event on a new device must not cost a
        dump of every device (a hub creating hundreds of st0 units got one dump per unit)."""
        try:
            msgs = await self._ask(index=index)
        except Pr2NetlinkError:
            return None
        for msg in msgs:
            name = msg.get_attr("IFLA_IFNAME")
            return str(name) if name is not None else None
        return None

    async def list_routes(self, *, table: int = 254, proto: int | None = None) -> list[RouteInfo]:
        names = await self._names()
        out = []
        for family in (2, 10):
            async for msg in await self._ipr.route("dump", family=family, table=table):
                info = route_info(msg)
                if info.table != table or (proto is not None and info.proto != proto):
                    continue
                if info.dev is not None and info.dev.isdigit():
                    info = _with_dev(info, names.get(int(info.dev), info.dev))
                out.append(info)
        return out

    async def flush_owned_routes(self) -> int:
        n = 0
        for r in await self.list_routes(proto=RTPROT_XFRMCTL):
            try:
                await self.delete_route(r.dst, dev=r.dev, table=r.table, metric=r.metric)
                n += 1
            except NetlinkError:
                continue
        return n

    def route_events(self) -> AsyncIterator[RouteEvent]:
        raw = open_netlink(NETLINK_ROUTE, (RTNLGRP_IPV4_ROUTE, RTNLGRP_IPV6_ROUTE), self._netns)
        sock = XfrmSocket(raw)
        self._watch.append(sock)
        return _RouteEvents(sock, self)
