"""Cross-checks with iproute2 and kernel events, on the lab VM's kernel.

Each case installs the same SA (or policy) twice, in two fresh namespaces: once with ``ip xfrm``
and once through xfrmctl. Both must print identically in ``ip xfrm`` and read back identically
through xfrmctl, and the fields xfrmctl reads must be the ones it meant to install.
"""

from __future__ import annotations

import asyncio
import dataclasses
import subprocess
from typing import Any

import pytest

from tests.netlink.netlink_contract import REQID, out_policy
from tests.netlink.netlink_real import throwaway_netns
from xfrmctl.netlink.codec import (
    AeadAlgo,
    Algo,
    AuthTruncAlgo,
    Encap,
    LifetimeCfg,
    LifetimeCur,
    Mark,
    ReplayEsn,
    Selector,
    Tmpl,
    XfrmAcquire,
    XfrmExpire,
    XfrmPolicy,
    XfrmState,
)
from xfrmctl.netlink.constants import (
    AF_INET6,
    XFRM_SA_XFLAG_DONT_ENCAP_DSCP,
    XFRM_STATE_AF_UNSPEC,
    XFRM_STATE_ESN,
    XFRM_STATE_NOPMTUDISC,
    XfrmMsg,
)
from xfrmctl.netlink.kernel import NetlinkKernel
from xfrmctl.netlink.port import XfrmEvent

K16, K20, K32, K36 = bytes(range(16)), bytes(range(20)), bytes(range(32)), bytes(range(36))
V4 = ["src", "192.0.2.1", "dst", "192.0.2.2"]
V6 = ["src", "2001:db8::1", "dst", "2001:db8::2"]
GCM_IP = ["aead", "rfc4106(gcm(aes))", "0x" + K20.hex(), "128"]


def sa(v6: bool = False, **kw: Any) -> XfrmState:
    base: dict[str, Any] = dict(
        daddr="2001:db8::2" if v6 else "192.0.2.2",
        saddr="2001:db8::1" if v6 else "192.0.2.1",
        family=AF_INET6 if v6 else 2,
        spi=0x1001,
        reqid=REQID,
        aead=AeadAlgo("rfc4106(gcm(aes))", K20, 128),
    )
    base.update(kw)
    return XfrmState(**base)


def ip_sa(addrs: list[str], *rest: str, mode: str = "tunnel") -> list[str]:
    return [*addrs, "proto", "esp", "spi", "0x1001", "reqid", str(REQID), "mode", mode, *rest]


STATE_CASES: list[tuple[str, list[str], XfrmState]] = [
    ("aes-gcm-ipv4-tunnel", ip_sa(V4, *GCM_IP), sa()),
    (
        "aes-cbc-hmac-sha256",
        ip_sa(
            V4,
            "enc",
            "cbc(aes)",
            "0x" + K16.hex(),
            "auth-trunc",
            "hmac(sha256)",
            "0x" + K32.hex(),
            "128",
        ),
        sa(
            aead=None,
            crypt=Algo("cbc(aes)", K16),
            auth_trunc=AuthTruncAlgo("hmac(sha256)", K32, 128),
        ),
    ),
    (
        "chacha20-poly1305-ipv6-transport",
        ip_sa(
            V6,
            "aead",
            "rfc7539esp(chacha20,poly1305)",
            "0x" + K36.hex(),
            "128",
            "sel",
            "src",
            "2001:db8::1/128",
            "dst",
            "2001:db8::2/128",
            mode="transport",
        ),
        sa(
            True,
            mode=0,
            aead=AeadAlgo("rfc7539esp(chacha20,poly1305)", K36, 128),
            sel=Selector.between("2001:db8::1/128", "2001:db8::2/128"),
        ),
    ),
    (
        "aes-cbc-ipv6-tunnel",
        ip_sa(
            V6,
            "enc",
            "cbc(aes)",
            "0x" + K32.hex(),
            "auth-trunc",
            "hmac(sha256)",
            "0x" + K32.hex(),
            "128",
        ),
        sa(
            True,
            aead=None,
            crypt=Algo("cbc(aes)", K32),
            auth_trunc=AuthTruncAlgo("hmac(sha256)", K32, 128),
        ),
    ),
    (
        "esp-in-udp",
        ip_sa(V4, *GCM_IP, "encap", "espinudp", "4500", "4500", "0.0.0.0"),
        sa(encap=Encap(2, 4500, 4500)),
    ),
    (
        "if-id-and-marks",
        ip_sa(
            V4,
            *GCM_IP,
            "if_id",
            "7",
            "mark",
            "5",
            "mask",
            "0xff",
            "output-mark",
            "0x10",
            "mask",
            "0xff",
        ),
        sa(if_id=7, mark=Mark(5, 0xFF), set_mark=0x10, set_mark_mask=0xFF),
    ),
    (
        "esn-replay-window-1024",
        ip_sa(V4, *GCM_IP, "flag", "esn", "replay-window", "1024"),
        sa(flags=XFRM_STATE_ESN, replay_esn=ReplayEsn.for_window(1024)),
    ),
    (
        "byte-and-time-lifetimes",
        ip_sa(
            V4,
            *GCM_IP,
            "limit",
            "byte-soft",
            "900000",
            "limit",
            "byte-hard",
            "1000000",
            "limit",
            "time-soft",
            "3000",
            "limit",
            "time-hard",
            "3600",
        ),
        sa(
            lft=LifetimeCfg(
                soft_byte_limit=900000,
                hard_byte_limit=1000000,
                soft_add_expires_seconds=3000,
                hard_add_expires_seconds=3600,
            )
        ),
    ),
    (
        "flags-and-extra-flags",
        ip_sa(
            V4,
            *GCM_IP,
            "flag",
            "af-unspec",
            "flag",
            "nopmtudisc",
            "extra-flag",
            "dont-encap-dscp",
            "replay-window",
            "32",
        ),
        sa(
            flags=XFRM_STATE_AF_UNSPEC | XFRM_STATE_NOPMTUDISC,
            replay_window=32,
            extra_flags=XFRM_SA_XFLAG_DONT_ENCAP_DSCP,
        ),
    ),
]

POLICY_CASES: list[tuple[str, list[str], XfrmPolicy]] = [
    (
        "ipv4-out-tunnel",
        [
            "src",
            "198.18.1.0/24",
            "dst",
            "198.18.2.0/24",
            "dir",
            "out",
            "priority",
            "100",
            "tmpl",
            *V4,
            "proto",
            "esp",
            "reqid",
            str(REQID),
            "mode",
            "tunnel",
        ],
        out_policy(),
    ),
    (
        "if-id-and-mark",
        [
            "src",
            "198.18.1.0/24",
            "dst",
            "198.18.2.0/24",
            "dir",
            "in",
            "priority",
            "100",
            "mark",
            "5",
            "mask",
            "0xff",
            "if_id",
            "7",
            "tmpl",
            *V4,
            "proto",
            "esp",
            "reqid",
            str(REQID),
            "mode",
            "tunnel",
        ],
        out_policy(dir=0, mark=Mark(5, 0xFF), if_id=7),
    ),
    (
        "ipv6-fwd",
        [
            "src",
            "2001:db8:1::/48",
            "dst",
            "2001:db8:2::/48",
            "dir",
            "fwd",
            "priority",
            "100",
            "tmpl",
            *V6,
            "proto",
            "esp",
            "reqid",
            str(REQID),
            "mode",
            "tunnel",
        ],
        out_policy("2001:db8:1::/48", "2001:db8:2::/48", dir=2),
    ),
    (
        "ipv4-transport-port",
        [
            "src",
            "192.0.2.1/32",
            "dst",
            "192.0.2.2/32",
            "proto",
            "tcp",
            "dport",
            "443",
            "dir",
            "out",
            "tmpl",
            "proto",
            "esp",
            "reqid",
            str(REQID),
            "mode",
            "transport",
        ],
        XfrmPolicy(
            Selector.between("192.0.2.1/32", "192.0.2.2/32", proto=6, dport=443),
            dir=1,
            tmpls=(Tmpl(reqid=REQID, mode=0),),
        ),
    ),
    (
        "block",
        ["src", "198.18.0.0/15", "dst", "0.0.0.0/0", "dir", "out", "action", "block"],
        XfrmPolicy(Selector.between("198.18.0.0/15", "0.0.0.0/0"), dir=1, action=1),
    ),
]


def ip(ns: str, *args: str) -> str:
    done = subprocess.run(["ip", "-n", ns, *args], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def timeless(s: XfrmState) -> XfrmState:
    return dataclasses.replace(s, curlft=LifetimeCur())


@pytest.mark.parametrize(
    ("label", "ip_args", "state"), STATE_CASES, ids=[c[0] for c in STATE_CASES]
)
def test_state_matches_iproute2(label: str, ip_args: list[str], state: XfrmState) -> None:
    async def main() -> None:
        with throwaway_netns("xfrmctl-i") as by_ip, throwaway_netns("xfrmctl-x") as by_us:
            ip(by_ip, "xfrm", "state", "add", *ip_args)
            theirs = await NetlinkKernel.open(by_ip)
            ours = await NetlinkKernel.open(by_us)
            try:
                await ours.add_sa(state)
                assert ip(by_us, "xfrm", "state") == ip(by_ip, "xfrm", "state")
                a = await theirs.get_sa(state.daddr, state.spi, mark=state.mark)
                b = await ours.get_sa(state.daddr, state.spi, mark=state.mark)
                assert timeless(a) == timeless(b)
                for name in (
                    "aead",
                    "crypt",
                    "auth_trunc",
                    "encap",
                    "if_id",
                    "mark",
                    "lft",
                    "set_mark",
                    "set_mark_mask",
                    "reqid",
                    "mode",
                    "family",
                    "saddr",
                ):
                    assert getattr(b, name) == getattr(state, name), name
                assert b.flags & state.flags == state.flags
                if state.replay_esn is not None:
                    assert b.replay_esn == state.replay_esn
            finally:
                await theirs.close()
                await ours.close()

    asyncio.run(main())


@pytest.mark.parametrize(
    ("label", "ip_args", "policy"), POLICY_CASES, ids=[c[0] for c in POLICY_CASES]
)
def test_policy_matches_iproute2(label: str, ip_args: list[str], policy: XfrmPolicy) -> None:
    async def main() -> None:
        with throwaway_netns("xfrmctl-i") as by_ip, throwaway_netns("xfrmctl-x") as by_us:
            ip(by_ip, "xfrm", "policy", "add", *ip_args)
            theirs = await NetlinkKernel.open(by_ip)
            ours = await NetlinkKernel.open(by_us)
            try:
                await ours.add_policy(policy)
                assert ip(by_us, "xfrm", "policy") == ip(by_ip, "xfrm", "policy")
                [a] = await theirs.list_policies()
                [b] = await ours.list_policies()
                a.curlft = b.curlft = LifetimeCur()
                assert a == b
                assert (b.sel, b.dir, b.priority, b.action, b.if_id) == (
                    policy.sel,
                    policy.dir,
                    policy.priority,
                    policy.action,
                    policy.if_id,
                )
                assert [t.reqid for t in b.tmpls or ()] == [t.reqid for t in policy.tmpls or ()]
            finally:
                await theirs.close()
                await ours.close()

    asyncio.run(main())


async def wait_event(events: Any, want: int, timeout: float = 15.0) -> XfrmEvent:
    async def scan() -> XfrmEvent:
        async for ev in events:
            if isinstance(ev, XfrmEvent) and ev.type == want:
                return ev
        raise AssertionError("event stream ended")

    return await asyncio.wait_for(scan(), timeout)


def test_acquire_for_policy_without_state() -> None:
    async def main() -> None:
        with throwaway_netns("xfrmctl-a") as ns:
            ip(ns, "addr", "add", "192.0.2.1/24", "dev", "eth0")
            ip(ns, "addr", "add", "198.18.1.1/32", "dev", "lo")
            ip(ns, "route", "add", "198.18.2.0/24", "via", "192.0.2.2", "src", "198.18.1.1")
            k = await NetlinkKernel.open(ns)
            try:
                events = k.events()
                await k.add_policy(out_policy(if_id=None))
                subprocess.run(
                    [
                        "ip",
                        "netns",
                        "exec",
                        ns,
                        "ping",
                        "-c1",
                        "-W1",
                        "-I",
                        "198.18.1.1",
                        "198.18.2.1",
                    ],
                    capture_output=True,
                    check=False,
                    timeout=20,
                )
                ev = await wait_event(events, XfrmMsg.XFRM_MSG_ACQUIRE)
                acq = ev.message
                assert isinstance(acq, XfrmAcquire)
                assert (acq.sel.saddr, acq.sel.prefixlen_s) == ("198.18.1.1", 32)
                assert (acq.sel.daddr, acq.sel.prefixlen_d, acq.sel.proto) == ("198.18.2.1", 32, 1)
                assert (acq.daddr, acq.saddr) == ("192.0.2.2", "192.0.2.1")
                assert acq.tmpls is not None and acq.tmpls[0].reqid == REQID
                assert acq.policy.dir == 1
            finally:
                await k.close()

    asyncio.run(main())


def test_soft_then_hard_expire() -> None:
    async def main() -> None:
        with throwaway_netns("xfrmctl-e") as ns:
            k = await NetlinkKernel.open(ns)
            try:
                events = k.events()
                lft = LifetimeCfg(soft_add_expires_seconds=1, hard_add_expires_seconds=3)
                await k.add_sa(sa(lft=lft))
                soft = await wait_event(events, XfrmMsg.XFRM_MSG_EXPIRE)
                assert isinstance(soft.message, XfrmExpire) and not soft.message.hard
                assert soft.message.state.spi == 0x1001
                hard = await wait_event(events, XfrmMsg.XFRM_MSG_EXPIRE)
                assert isinstance(hard.message, XfrmExpire) and hard.message.hard
                assert await k.list_sas() == []
            finally:
                await k.close()

    asyncio.run(main())
