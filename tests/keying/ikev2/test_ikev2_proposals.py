from xfrmctl.keying.constants import ProtocolId
from xfrmctl.keying.ikev2.proposals import (
    Offered,
    accept_answer,
    match,
    select,
    strip_dh,
    with_pfs,
)
from xfrmctl.keying.transforms import by_name, parse_proposal


def ike(text: str):
    return parse_proposal(text)


def esp(text: str):
    return parse_proposal(text, ProtocolId.ESP)


def test_our_preference_wins():
    ours = [ike("aes256gcm16-prfsha384-ecp384"), ike("aes128-sha256-modp2048")]
    offered = [
        Offered(1, ike("aes128-sha256-modp2048")),
        Offered(2, ike("aes128gcm16-aes256gcm16-prfsha256-prfsha384-x25519-ecp384")),
    ]
    got = select(ours, offered)
    assert got is not None
    assert got.number == 2
    assert (got.encr, got.prf, got.dh, got.integ) == (
        by_name("aes256gcm16"),
        by_name("prfsha384"),
        by_name("ecp384"),
        None,
    )
    assert got.as_proposal().to_string() == "aes256gcm16-prfsha384-ecp384"


def test_no_common_proposal():
    assert (
        select([ike("aes256-sha256-modp2048")], [Offered(1, ike("aes128-sha1-modp1024"))]) is None
    )
    assert select([ike("aes256-sha256-modp2048")], [Offered(1, esp("aes256-sha256"))]) is None


def test_child_pfs_handling():
    ours_nopfs = [esp("aes128-sha256")]
    theirs_pfs = esp("aes128-sha256-modp2048")
    # in IKE_AUTH DH is ignored; in CREATE_CHILD_SA a peer demanding PFS we lack is refused
    assert match(ours_nopfs[0], theirs_pfs, with_dh=False) is not None
    assert match(ours_nopfs[0], theirs_pfs, with_dh=True) is None
    ours_pfs = with_pfs(ours_nopfs, by_name("modp2048"))
    got = match(ours_pfs[0], theirs_pfs, with_dh=True)
    assert got is not None and got.dh == by_name("modp2048") and not got.esn_enabled
    assert match(ours_pfs[0], esp("aes128-sha256"), with_dh=True) is None
    assert strip_dh(ours_pfs)[0].dh == ()
    assert with_pfs(ours_nopfs, None)[0].dh == ()


def test_esn_choice():
    got = match(esp("aes128-sha256-esn-noesn"), esp("aes128-sha256-noesn-esn"), with_dh=False)
    assert got is not None and got.esn_enabled
    assert match(esp("aes128-sha256-esn"), esp("aes128-sha256-noesn"), with_dh=False) is None


def test_accept_answer_must_be_single_and_offered():
    ours = [ike("aes256-aes128-sha256-modp2048-ecp256")]
    good = Offered(1, ike("aes128-sha256-ecp256"), b"")
    got = accept_answer(ours, good)
    assert got is not None and got.encr == by_name("aes128")
    assert accept_answer(ours, Offered(1, ike("aes128-aes256-sha256-ecp256"))) is None
    assert accept_answer(ours, Offered(1, ike("aes192-sha256-ecp256"))) is None
    child = [esp("aes128gcm16")]
    assert accept_answer(child, Offered(1, esp("aes128gcm16"), b"1234"), with_dh=False) is not None
