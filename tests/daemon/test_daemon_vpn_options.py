"""Per-VPN options from the configuration to the exact kernel objects: df-bit, anti-replay and
its window, lifetime-kilobytes (spec §2.6, §2.8, §2.11)."""

from __future__ import annotations

from pathlib import Path

import pytest

from xfrmctl.config import load_text
from xfrmctl.daemon.kernel_ops import child_states
from xfrmctl.daemon.mapping import VpnPlan, build_plan
from xfrmctl.keying import transforms as t
from xfrmctl.keying.ikev2.actions import IkeSaRef, InstallChild, Lifetime
from xfrmctl.keying.ikev2.child import child_lifetimes
from xfrmctl.keying.ikev2.ts import TrafficSelector
from xfrmctl.netlink.codec import LifetimeCfg, ReplayEsn
from xfrmctl.netlink.constants import XFRM_INF, XFRM_STATE_NOPMTUDISC

DATA = Path(__file__).parent.parent / "config" / "data"
ANY = (TrafficSelector.any(4),)


def plan_of(extra: str) -> VpnPlan:
    text = (DATA / "base.set").read_text() + extra
    result = load_text(text, "o.set")
    assert result.errors == [], [str(d) for d in result.errors]
    return build_plan(result.require(), {"eth0": ("198.51.100.1/24",)}).vpns["VPN1"]


def installed(vpn: VpnPlan) -> InstallChild:
    """What the engine would install for `vpn` (lifetimes from its child config, no jitter)."""
    soft, hard, soft_bytes, hard_bytes = child_lifetimes(vpn.child, lambda n: b"\x00" * n)
    return InstallChild(
        ike_sa=IkeSaRef(1, 2), child=vpn.name, unique_id=1, reqid=1, protocol=3,
        mode="tunnel", spi_in=0xC0000001, spi_out=0xC0000002, local="198.51.100.1",
        remote="198.51.100.2", encr=t.AES256_CBC, integ=t.HMAC_SHA2_256_128,
        encr_key_in=b"\x01" * 32, integ_key_in=b"\x02" * 32, encr_key_out=b"\x03" * 32,
        integ_key_out=b"\x04" * 32, esn=False, replay_window=vpn.child.replay_window,
        local_ts=ANY, remote_ts=ANY, if_id=vpn.if_id, encap=None,
        lifetime=Lifetime(soft, hard, soft_bytes=soft_bytes, hard_bytes=hard_bytes),
        initiator=True, dh_group=None,
    )  # fmt: skip


def test_defaults_clear_df_window_64_no_volume_limit() -> None:
    vpn = plan_of("")
    inbound, outbound = child_states(installed(vpn), df_bit=vpn.df_bit)
    assert inbound.flags == outbound.flags == XFRM_STATE_NOPMTUDISC
    assert (inbound.replay_window, inbound.replay_esn) == (0, ReplayEsn.for_window(64))
    assert (outbound.replay_window, outbound.replay_esn) == (0, None)
    assert (inbound.lft.soft_byte_limit, inbound.lft.hard_byte_limit) == (XFRM_INF, XFRM_INF)


def test_df_bit_copy_leaves_the_inner_df() -> None:
    vpn = plan_of("set security ipsec vpn VPN1 df-bit copy\n")
    inbound, outbound = child_states(installed(vpn), df_bit=vpn.df_bit)
    assert inbound.flags == outbound.flags == 0


def test_no_anti_replay_and_window_size() -> None:
    vpn = plan_of("set security ipsec vpn VPN1 ike no-anti-replay\n")
    inbound, _ = child_states(installed(vpn), df_bit=vpn.df_bit)
    assert (vpn.child.replay_window, inbound.replay_window, inbound.replay_esn) == (0, 0, None)
    vpn = plan_of("set security ipsec vpn VPN1 ike anti-replay-window-size 1024\n")
    inbound, _ = child_states(installed(vpn), df_bit=vpn.df_bit)
    assert inbound.replay_esn == ReplayEsn.for_window(1024)
    assert inbound.replay_esn.bmp == (0,) * 32


def test_lifetime_kilobytes_become_byte_limits() -> None:
    vpn = plan_of("set security ipsec proposal P2 lifetime-kilobytes 1000\n")
    assert vpn.child.lifetime_kilobytes == 1000
    inbound, outbound = child_states(installed(vpn), df_bit=vpn.df_bit)
    hard = 1000 * 1024
    soft = int(hard * (1 - vpn.child.rekey_margin))
    assert inbound.lft == outbound.lft == LifetimeCfg(
        soft_byte_limit=soft, hard_byte_limit=hard, soft_add_expires_seconds=int(
            3600 * (1 - vpn.child.rekey_margin)), hard_add_expires_seconds=3600)  # fmt: skip


@pytest.mark.parametrize(
    ("statement", "message"),
    [
        ("set security ipsec proposal P2 lifetime-kilobytes 63", "out of range 64..1048576"),
        ("set security ipsec vpn VPN1 ike anti-replay-window-size 32", "out of range 64..4096"),
        ("set security ipsec vpn VPN1 ike idle-time 59", "out of range 60..999999"),
        ("set security ipsec vpn VPN1 ike install-interval 11", "out of range 0..10"),
        ("set security ike gateway GW nat-keepalive 301", "out of range 1..300"),
        ("set security flow tcp-mss ipsec-vpn mss 63", "out of range 64..65535"),
    ],
)
def test_ranges(statement: str, message: str) -> None:
    text = (DATA / "base.set").read_text() + statement + "\n"
    errors = [d.message for d in load_text(text, "o.set").errors]
    assert errors and message in errors[0], errors


def test_install_interval_default_1_and_configured() -> None:
    assert plan_of("").install_interval == 1
    assert plan_of("set security ipsec vpn VPN1 ike install-interval 0\n").install_interval == 0
    assert plan_of("set security ipsec vpn VPN1 ike install-interval 10\n").install_interval == 10
