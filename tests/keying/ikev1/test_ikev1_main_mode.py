from xfrmctl.keying.ikev1.settings import ExchangeMode
from xfrmctl.keying.ikev2.actions import IkeEstablished, InstallChild


def test_main_mode_psk_and_quick_mode_install_mirrored_sas(v1):
    net = v1.pair()
    net.feed(net.a, net.a.engine.initiate("to-b", "vpn", net.now))
    net.run()
    ea, eb = net.a.of(IkeEstablished), net.b.of(IkeEstablished)
    assert len(ea) == 1 and len(eb) == 1
    assert ea[0].ike_sa == eb[0].ike_sa
    assert ea[0].initiator and not eb[0].initiator
    assert ea[0].remote_id == v1.B_ADDR and eb[0].remote_id == v1.A_ADDR
    assert (ea[0].encr.name, ea[0].prf.name, ea[0].dh_group.name) == ("3des", "prfsha1", "modp1024")
    assert ea[0].lifetime_seconds == 1800
    assert ea[0].auth_method == "pre-shared-keys"
    ca, cb = net.a.of(InstallChild), net.b.of(InstallChild)
    assert len(ca) == 1 and len(cb) == 1
    assert v1.mirrored(ca[0], cb[0])
    assert ca[0].encr.name == "3des" and ca[0].integ.name == "sha1"
    assert len(ca[0].encr_key_in) == 24 and len(ca[0].integ_key_in) == 20
    assert [str(t) for t in ca[0].local_ts] == ["10.1.0.0/16"]
    assert ca[0].encap is None and ca[0].dh_group is None
    # 6 main mode messages + 3 quick mode messages
    assert len(net.sent) == 9


def test_aggressive_mode_psk(v1):
    net = v1.pair(a_kw={"mode": ExchangeMode.AGGRESSIVE}, b_kw={"mode": ExchangeMode.AGGRESSIVE})
    net.feed(net.a, net.a.engine.initiate("to-b", "vpn", net.now))
    net.run()
    assert len(net.a.of(IkeEstablished)) == 1 and len(net.b.of(IkeEstablished)) == 1
    ca, cb = net.a.of(InstallChild), net.b.of(InstallChild)
    assert len(ca) == 1 and v1.mirrored(ca[0], cb[0])


def test_modern_suite_with_pfs(v1):
    kw = {"ike": "aes256-sha256-modp2048", "esp": "aes256-sha256", "pfs": "modp2048"}
    net = v1.pair(a_kw=dict(kw), b_kw=dict(kw))
    net.feed(net.a, net.a.engine.initiate("to-b", "vpn", net.now))
    net.run()
    ca, cb = net.a.of(InstallChild), net.b.of(InstallChild)
    assert len(ca) == 1 and v1.mirrored(ca[0], cb[0])
    assert ca[0].dh_group == 14 and ca[0].encr.name == "aes256"
    assert len(ca[0].encr_key_in) == 32 and len(ca[0].integ_key_in) == 32
