"""Manual-key VPNs (spec §2.9): the exact XFRM states and policies a route-based manual VPN
installs, `Type: manual` in the snapshot, a reload that changes the key, and a clean shutdown."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from daemon_harness import A, B, Wire, seed  # type: ignore[import-not-found, unused-ignore]

from xfrmctl.cli.render.ipsec import render_ipsec_sa_detail, render_ipsec_sa_list
from xfrmctl.config import load_text
from xfrmctl.daemon import kernel_ops
from xfrmctl.daemon.mapping import build_plan
from xfrmctl.daemon.runtime import Daemon
from xfrmctl.netlink.codec import Algo, AuthTruncAlgo, LifetimeCfg, Selector, Tmpl
from xfrmctl.netlink.constants import (
    AF_INET,
    IPPROTO_AH,
    IPPROTO_ESP,
    XFRM_STATE_NOPMTUDISC,
    XFRMCTL_REQID_MAX,
    XfrmDir,
)
from xfrmctl.netlink.fake import FakeKernel
from xfrmctl.state.query import IpsecSaView

ENC_KEY = "00112233445566778899aabbccddeeff"
AUTH_KEY = "0123456789abcdef" * 4
MANUAL = f"""\
set interfaces st0 unit 0 family inet address 198.18.255.1/30
set security ipsec vpn M bind-interface st0.0
set security ipsec vpn M manual gateway {B}
set security ipsec vpn M manual external-interface eth0
set security ipsec vpn M manual spi 4660
set security ipsec vpn M manual protocol esp
set security ipsec vpn M manual encryption algorithm aes-128-cbc key hexadecimal {ENC_KEY}
set security ipsec vpn M manual authentication algorithm hmac-sha-256-128 key hexadecimal {AUTH_KEY}
set routing-options static route 198.18.2.0/24 next-hop st0.0
"""
REQID = XFRMCTL_REQID_MAX  # the first tunnel ID's manual reqid


def make(tmp: Path, text: str) -> Daemon:
    path = tmp / "m.set"
    path.write_text(text)
    daemon = Daemon(str(path), FakeKernel(), socket_path=str(tmp / "m.sock"))
    Wire().attach(A, daemon)
    return daemon


def test_manual_plan_and_kernel_objects() -> None:
    config = load_text(MANUAL, "m.set").require()
    plan = build_plan(config, {"eth0": (f"{A}/24",)})
    assert plan.unusable == {} and plan.vpns == {} and plan.peers == ()
    m = plan.manual["M"]
    assert (m.local_address, m.remote_address, m.spi, m.protocol, m.if_id, m.inner_versions) == (
        A, B, 4660, "esp", 1, (4,)
    )  # fmt: skip
    assert [i.underlying for i in plan.interfaces] == ["eth0"]
    inbound, outbound = kernel_ops.manual_states(m, REQID)
    for sa, (src, dst) in ((inbound, (B, A)), (outbound, (A, B))):
        assert (sa.saddr, sa.daddr, sa.spi, sa.proto, sa.reqid, sa.if_id) == (
            src, dst, 4660, IPPROTO_ESP, REQID, 1
        )  # fmt: skip
        assert sa.crypt == Algo("cbc(aes)", bytes.fromhex(ENC_KEY))
        assert sa.auth_trunc == AuthTruncAlgo("hmac(sha256)", bytes.fromhex(AUTH_KEY), 128)
        assert (sa.replay_window, sa.replay_esn, sa.lft) == (0, None, LifetimeCfg())
        assert sa.flags == XFRM_STATE_NOPMTUDISC  # df-bit clear, the default
    out_tmpl = Tmpl(daddr=B, saddr=A, family=AF_INET, reqid=REQID, mode=1)
    in_tmpl = Tmpl(daddr=A, saddr=B, family=AF_INET, reqid=REQID, mode=1)
    any4 = Selector.between("0.0.0.0/0", "0.0.0.0/0")
    assert [(p.sel, p.dir, p.tmpls, p.if_id) for p in kernel_ops.manual_policies(m, REQID)] == [
        (any4, XfrmDir.XFRM_POLICY_OUT, (out_tmpl,), 1),
        (any4, XfrmDir.XFRM_POLICY_IN, (in_tmpl,), 1),
        (any4, XfrmDir.XFRM_POLICY_FWD, (in_tmpl,), 1),
    ]


def test_manual_ah_and_df_copy() -> None:
    text = (
        MANUAL.replace("protocol esp", "protocol ah")
        .replace(f"set security ipsec vpn M manual encryption algorithm aes-128-cbc key "
                 f"hexadecimal {ENC_KEY}\n", "")
        + "set security ipsec vpn M df-bit copy\n"
    )  # fmt: skip
    result = load_text(text, "m.set")
    assert result.diagnostics == []
    m = build_plan(result.require(), {"eth0": (f"{A}/24",)}).manual["M"]
    inbound, _ = kernel_ops.manual_states(m, REQID)
    assert (inbound.proto, inbound.crypt, inbound.flags) == (IPPROTO_AH, None, 0)
    assert {t.proto for p in kernel_ops.manual_policies(m, REQID) for t in p.tmpls or ()} == {
        IPPROTO_AH
    }


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (f"key hexadecimal {ENC_KEY}", "key hexadecimal 0011", "aes-128-cbc needs a key of 32 "
         "hexadecimal digits, got 4"),
        ("spi 4660", "spi 255", "out of range 256..16639"),
    ],
)  # fmt: skip
def test_manual_keys_and_spi_are_validated(old: str, new: str, message: str) -> None:
    result = load_text(MANUAL.replace(old, new), "m.set")
    assert any(message in d.message for d in result.errors), [str(d) for d in result.errors]


def test_daemon_installs_shows_rekeys_and_removes_a_manual_vpn(tmp_path: Path) -> None:
    async def main() -> None:
        daemon = make(tmp_path, MANUAL)
        await seed(daemon, A)
        await daemon.start()
        kernel = daemon.kernel
        assert isinstance(kernel, FakeKernel)
        sas = await kernel.list_sas()
        assert sorted((s.daddr, s.spi, s.reqid) for s in sas) == [(A, 4660, REQID),
                                                                   (B, 4660, REQID)]  # fmt: skip
        policies = await kernel.list_policies()
        assert sorted(p.dir for p in policies) == sorted(
            [XfrmDir.XFRM_POLICY_OUT, XfrmDir.XFRM_POLICY_IN, XfrmDir.XFRM_POLICY_FWD]
        )
        [tunnel] = daemon.store.snapshot(daemon.now(), daemon.wall_offset, {}).tunnels
        assert (tunnel.vpn_name, tunnel.version, tunnel.local_gateway, tunnel.remote_gateway,
                tunnel.bind_interface) == ("M", "-", A, B, "st0.0")  # fmt: skip
        assert [(s.direction, s.spi, s.type, s.protocol, s.algorithm, s.hard_lifetime_remaining,
                 s.anti_replay) for s in tunnel.sas] == [
            ("inbound", 4660, "manual", "ESP", "ESP:aes-128/sha256", None, False),
            ("outbound", 4660, "manual", "ESP", "ESP:aes-128/sha256", None, False),
        ]  # fmt: skip
        view = IpsecSaView(total_active_tunnels=1, tunnels=(tunnel,))
        assert render_ipsec_sa_list(view)[2] == (
            "  <131073 ESP:aes-128/sha256 1234     unlim/ unlim -   root 0     192.0.2.2"
        )
        detail = render_ipsec_sa_detail(view)
        assert "  Version: -" in detail
        assert detail.count("    Mode: Tunnel(0 0), Type: manual, State: installed") == 2
        assert detail.count("    Anti-replay service: disabled, Replay window size: 0") == 2
        # a new key: the states are replaced, nothing else stays behind
        new_key = "ff" * 16
        (tmp_path / "m.set").write_text(MANUAL.replace(ENC_KEY, new_key))
        assert await daemon.reload() == "reloaded: 0 added, 0 removed, 1 renegotiated, 0 kept"
        sas = await kernel.list_sas()
        assert sorted((s.daddr, s.crypt) for s in sas) == [
            (A, Algo("cbc(aes)", bytes.fromhex(new_key))),
            (B, Algo("cbc(aes)", bytes.fromhex(new_key))),
        ]
        assert len(await kernel.list_policies()) == 3
        # removed from the file: gone from the kernel and from show
        (tmp_path / "m.set").write_text(
            "\n".join(line for line in MANUAL.splitlines() if "vpn M" not in line) + "\n"
        )
        await daemon.reload()
        assert await kernel.list_sas() == [] and await kernel.list_policies() == []
        assert daemon.store.snapshot(daemon.now(), daemon.wall_offset, {}).tunnels == ()
        (tmp_path / "m.set").write_text(MANUAL)
        await daemon.reload()
        assert len(await kernel.list_sas()) == 2
        await daemon.shutdown()
        assert await kernel.list_sas() == [] and await kernel.list_policies() == []

    asyncio.run(main())


def test_manual_ipv6_outer_and_inner() -> None:
    text = (
        MANUAL.replace(f"manual gateway {B}", "manual gateway 2001:db8::2")
        .replace("family inet address 198.18.255.1/30", "family inet6 address 2001:db8:ff::1/64")
        .replace("routing-options static route 198.18.2.0/24",
                 "routing-options rib inet6.0 static route 2001:db8:2::/64")
    )
    config = load_text(text, "m6.set").require()
    m = build_plan(config, {"eth0": ("fe80::1/64", "2001:db8::1/64")}).manual["M"]
    assert (m.local_address, m.remote_address, m.inner_versions) == (
        "2001:db8::1", "2001:db8::2", (6,)
    )  # fmt: skip
    inbound, outbound = kernel_ops.manual_states(m, REQID)
    assert (inbound.family, inbound.saddr, inbound.daddr) == (10, "2001:db8::2", "2001:db8::1")
    assert (outbound.saddr, outbound.daddr) == ("2001:db8::1", "2001:db8::2")
    [out_policy, _, _] = kernel_ops.manual_policies(m, REQID)
    assert out_policy.sel == Selector.between("::/0", "::/0")
    assert out_policy.tmpls == (
        Tmpl(daddr="2001:db8::2", saddr="2001:db8::1", family=10, reqid=REQID, mode=1),
    )
    no_v6 = build_plan(config, {"eth0": ("192.0.2.1/24",)})
    assert no_v6.unusable == {"M": "vpn M: no IPv6 address on eth0"}
