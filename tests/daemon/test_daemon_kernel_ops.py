"""InstallChild -> the exact XFRM states and policies the daemon installs."""

from __future__ import annotations

from xfrmctl.daemon.kernel_ops import child_policies, child_states, ip_protocol, kernel_reqid
from xfrmctl.keying import transforms as t
from xfrmctl.keying.ikev2.actions import IkeSaRef, InstallChild, Lifetime
from xfrmctl.keying.ikev2.ts import TrafficSelector
from xfrmctl.netlink.codec import (
    Algo,
    AuthTruncAlgo,
    Encap,
    LifetimeCfg,
    ReplayEsn,
    Selector,
    Tmpl,
    XfrmPolicy,
    XfrmState,
)
from xfrmctl.netlink.constants import (
    XFRM_INF,
    XFRM_STATE_AF_UNSPEC,
    XFRM_STATE_NOPMTUDISC,
    XFRMCTL_REQID_MIN,
)

ANY = (TrafficSelector.any(4),)


def install(**kw: object) -> InstallChild:
    base: dict[str, object] = dict(
        ike_sa=IkeSaRef(1, 2), child="vpn1", unique_id=1, reqid=3, protocol=3, mode="tunnel",
        spi_in=0xC0000001, spi_out=0xC0000002, local="192.0.2.1", remote="192.0.2.2",
        encr=t.AES128_CBC, integ=t.HMAC_SHA2_256_128,
        encr_key_in=b"\x01" * 16, integ_key_in=b"\x02" * 32,
        encr_key_out=b"\x03" * 16, integ_key_out=b"\x04" * 32,
        esn=False, replay_window=64, local_ts=ANY, remote_ts=ANY, if_id=1,
        encap=(4500, 4500), lifetime=Lifetime(3000, 3600), initiator=True, dh_group=None,
    )  # fmt: skip
    base.update(kw)
    return InstallChild(**base)  # type: ignore[arg-type]


def test_cbc_hmac_natt_pair() -> None:
    inbound, outbound = child_states(install())
    lft = LifetimeCfg(soft_add_expires_seconds=3000, hard_add_expires_seconds=3600)
    common = dict(
        family=2, proto=50, mode=1, reqid=XFRMCTL_REQID_MIN + 3, flags=XFRM_STATE_NOPMTUDISC,
        lft=lft, if_id=1,
    )  # fmt: skip
    assert inbound == XfrmState(
        daddr="192.0.2.1", spi=0xC0000001, saddr="192.0.2.2", replay_window=0,
        crypt=Algo("cbc(aes)", b"\x01" * 16),
        auth_trunc=AuthTruncAlgo("hmac(sha256)", b"\x02" * 32, 128),
        encap=Encap(2, 4500, 4500, "0.0.0.0"), replay_esn=ReplayEsn.for_window(64),
        **common,  # type: ignore[arg-type]
    )  # fmt: skip
    assert outbound == XfrmState(
        daddr="192.0.2.2", spi=0xC0000002, saddr="192.0.2.1", replay_window=0,
        crypt=Algo("cbc(aes)", b"\x03" * 16),
        auth_trunc=AuthTruncAlgo("hmac(sha256)", b"\x04" * 32, 128),
        encap=Encap(2, 4500, 4500, "0.0.0.0"),
        **common,  # type: ignore[arg-type]
    )  # fmt: skip
    assert lft.soft_byte_limit == XFRM_INF


def test_gcm_copy_df_small_window() -> None:
    inbound, _ = child_states(
        install(encr=t.AES256_GCM_16, integ=None, encr_key_in=b"\x05" * 36, encap=None,
                replay_window=32),
        df_bit="copy",
    )  # fmt: skip
    assert inbound.aead is not None
    assert (inbound.aead.name, inbound.aead.key, inbound.aead.icv_len) == (
        "rfc4106(gcm(aes))", b"\x05" * 36, 128
    )  # fmt: skip
    assert (inbound.crypt, inbound.auth_trunc, inbound.encap) == (None, None, None)
    assert (inbound.flags, inbound.replay_window, inbound.replay_esn) == (0, 32, None)


def test_route_based_policies() -> None:
    pols = child_policies(local="192.0.2.1", remote="192.0.2.2", reqid=kernel_reqid(3),
                          if_id=1, local_ts=ANY, remote_ts=ANY)  # fmt: skip
    sel = Selector.between("0.0.0.0/0", "0.0.0.0/0")
    out_t = Tmpl(daddr="192.0.2.2", saddr="192.0.2.1", reqid=XFRMCTL_REQID_MIN + 3)
    in_t = Tmpl(daddr="192.0.2.1", saddr="192.0.2.2", reqid=XFRMCTL_REQID_MIN + 3)
    prio = 0x58000 + 0x400
    assert pols == [
        XfrmPolicy(sel=sel, dir=1, priority=prio, tmpls=(out_t,), if_id=1),
        XfrmPolicy(sel=sel, dir=0, priority=prio, tmpls=(in_t,), if_id=1),
        XfrmPolicy(sel=sel, dir=2, priority=prio, tmpls=(in_t,), if_id=1),
    ]


def test_proxy_identity_policies_prefer_longer_prefixes() -> None:
    lts = (TrafficSelector.from_network("198.18.1.0/24"),)
    rts = (TrafficSelector.from_network("198.18.2.0/24"),)
    [out, inb, fwd] = child_policies(local="192.0.2.1", remote="192.0.2.2", reqid=5,
                                     if_id=None, local_ts=lts, remote_ts=rts)  # fmt: skip
    assert (out.sel.src, out.sel.dst) == ("198.18.1.0/24", "198.18.2.0/24")
    assert (inb.sel.src, inb.sel.dst) == ("198.18.2.0/24", "198.18.1.0/24")
    assert out.priority == 0x58000 + 0x400 - 48 and fwd.dir == 2 and out.if_id is None


def test_protocol_numbers() -> None:
    assert (ip_protocol(3), ip_protocol(2)) == (50, 51)


def test_a_child_with_another_inner_family_takes_af_unspec() -> None:
    """IPv4 and IPv6 inner traffic over one IPv6 (or IPv4) outer pair: the kernel must leave the
    SA's selector unset, or the other family's packets find no SA."""
    both = (TrafficSelector.any(6), TrafficSelector.any(4))
    v6 = install(local="2001:db8::1", remote="2001:db8::2", encap=None,
                 local_ts=both, remote_ts=both)  # fmt: skip
    assert [s.flags for s in child_states(v6)] == [
        XFRM_STATE_NOPMTUDISC | XFRM_STATE_AF_UNSPEC] * 2  # fmt: skip
    only_v6 = (TrafficSelector.any(6),)
    v4_outer = install(local_ts=only_v6, remote_ts=only_v6, encap=None)
    assert [s.flags for s in child_states(v4_outer)] == [
        XFRM_STATE_NOPMTUDISC | XFRM_STATE_AF_UNSPEC] * 2  # fmt: skip
    same = install(local="2001:db8::1", remote="2001:db8::2", encap=None,
                   local_ts=only_v6, remote_ts=only_v6)  # fmt: skip
    assert [s.flags for s in child_states(same)] == [XFRM_STATE_NOPMTUDISC] * 2
    transport = install(mode="transport", local_ts=only_v6, remote_ts=only_v6, encap=None)
    assert [s.flags for s in child_states(transport)] == [XFRM_STATE_NOPMTUDISC] * 2
