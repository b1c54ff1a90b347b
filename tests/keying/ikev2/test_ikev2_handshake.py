from xfrmctl.keying.ikev2.actions import IkeEstablished, InstallChild


def test_psk_handshake_installs_mirrored_child(h):
    net = h.pair()
    net.feed(net.a, net.a.engine.initiate("to-b", "net", net.now))
    net.run()
    ea = net.a.of(IkeEstablished)
    eb = net.b.of(IkeEstablished)
    assert len(ea) == 1 and len(eb) == 1
    assert ea[0].ike_sa == eb[0].ike_sa
    assert ea[0].initiator and not eb[0].initiator
    assert ea[0].remote_id == h.B_ADDR and eb[0].remote_id == h.A_ADDR
    assert ea[0].encr.name == "aes256gcm16" and ea[0].prf.name == "prfsha256"
    assert not ea[0].nat_local and not ea[0].nat_remote
    ca = net.a.of(InstallChild)
    cb = net.b.of(InstallChild)
    assert len(ca) == 1 and len(cb) == 1
    assert h.mirrored(ca[0], cb[0])
    assert ca[0].encap is None and ca[0].if_id == 7
    assert [str(t) for t in ca[0].local_ts] == ["10.1.0.0/16"]
    assert [str(t) for t in cb[0].local_ts] == ["10.2.0.0/16"]
    assert len(ca[0].encr_key_in) == 36  # AES-256 key + 4-byte salt
