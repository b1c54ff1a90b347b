"""The codec modules together: an IKE_SA_INIT / IKE_AUTH exchange built and checked by hand.

No state machine: this proves that what one side encodes, protects and signs, the other side
decodes, verifies and derives identically (the engine in ``ikev2`` builds on exactly this).
"""

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from xfrmctl.keying import auth, certs
from xfrmctl.keying import transforms as tr
from xfrmctl.keying.constants import (
    AuthMethod,
    CertEncoding,
    ExchangeType,
    HeaderFlag,
    IdType,
    NotifyType,
    ProtocolId,
)
from xfrmctl.keying.dh import dh_group
from xfrmctl.keying.fragments import Reassembler, fragment_message
from xfrmctl.keying.keys import derive_child_keys, derive_ike_keys
from xfrmctl.keying.message import IkeHeader, Message, parse_header, parse_message
from xfrmctl.keying.payloads import (
    AuthPayload,
    CertPayload,
    IdiPayload,
    IdrPayload,
    KePayload,
    NoncePayload,
    NotifyPayload,
    SaPayload,
    SaProposal,
    SaTransform,
)
from xfrmctl.keying.sk import protect, sk_keys, unprotect, unprotect_fragment


def rng_from(seed: bytes) -> Callable[[int], bytes]:
    counter = [0]

    def rng(n: int) -> bytes:
        out = b""
        while len(out) < n:
            counter[0] += 1
            out += hashlib.sha256(seed + counter[0].to_bytes(4, "big")).digest()
        return out[:n]

    return rng


PROPOSAL = tr.parse_proposal("aes256-sha256-x25519")
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def sa_payload(p: tr.Proposal) -> SaPayload:
    return SaPayload((SaProposal(1, ProtocolId.IKE, b"", tuple(
        SaTransform.make(t.type, t.ike_id, t.key_bits) for t in p.transforms())),))  # fmt: skip


def responder_cert() -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate, x509.Certificate]:
    ca_key = ec.generate_private_key(ec.SECP256R1())
    key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "VPN CA")])

    def build(subject: x509.Name, pub: ec.EllipticCurvePublicKey, ca: bool) -> x509.Certificate:
        b = (x509.CertificateBuilder().subject_name(subject).issuer_name(ca_name).public_key(pub)
             .serial_number(x509.random_serial_number()).not_valid_before(T0)
             .not_valid_after(T0 + timedelta(days=30)))  # fmt: skip
        b = b.add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        if not ca:
            b = b.add_extension(
                x509.SubjectAlternativeName([x509.DNSName("hub.example.net")]), critical=False
            )
        return b.sign(ca_key, hashes.SHA256())

    ca = build(ca_name, ca_key.public_key(), True)
    leaf = build(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hub")]), key.public_key(),
                 False)  # fmt: skip
    return key, leaf, ca


def test_ike_sa_init_and_ike_auth_between_two_sides():
    rng_i, rng_r = rng_from(b"initiator"), rng_from(b"responder")
    spi_i, spi_r = rng_i(8), rng_r(8)
    group = dh_group(31)

    # --- IKE_SA_INIT request
    kp_i, ni = group.generate(rng_i), rng_i(32)
    req_hdr = IkeHeader(spi_i, bytes(8), 0, ExchangeType.IKE_SA_INIT, HeaderFlag.INITIATOR, 0)
    init_req = Message(req_hdr, (sa_payload(PROPOSAL), KePayload(31, kp_i.public),
                                 NoncePayload(ni))).encode()  # fmt: skip

    # --- responder: decode, choose, answer
    got = parse_message(init_req)
    assert parse_header(init_req).spi_i == spi_i
    offered = got.get(SaPayload)
    assert offered is not None
    chosen = [tr.by_ike_id(t.type, t.id, t.key_length) for t in offered.proposals[0].transforms]
    assert tr.make_proposal(ProtocolId.IKE, chosen) == PROPOSAL
    ke, nonce = got.get(KePayload), got.get(NoncePayload)
    assert ke is not None and nonce is not None
    kp_r, nr = group.generate(rng_r), rng_r(32)
    resp_hdr = IkeHeader(spi_i, spi_r, 0, ExchangeType.IKE_SA_INIT, HeaderFlag.RESPONSE, 0)
    init_resp = Message(resp_hdr, (sa_payload(PROPOSAL), KePayload(31, kp_r.public),
                                   NoncePayload(nr))).encode()  # fmt: skip
    keys_r = derive_ike_keys(tr.PRF_HMAC_SHA2_256, tr.AES256_CBC, tr.HMAC_SHA2_256_128,
                             nonce.data, nr, kp_r.shared_secret(ke.data), spi_i, spi_r)  # fmt: skip

    # --- initiator: keys from the response
    resp = parse_message(init_resp)
    ke_r, nonce_r = resp.get(KePayload), resp.get(NoncePayload)
    assert ke_r is not None and nonce_r is not None
    keys_i = derive_ike_keys(tr.PRF_HMAC_SHA2_256, tr.AES256_CBC, tr.HMAC_SHA2_256_128, ni,
                             nonce_r.data, kp_i.shared_secret(ke_r.data), spi_i,
                             resp.header.spi_r)  # fmt: skip
    assert keys_i == keys_r

    # --- IKE_AUTH request with PSK, protected
    psk = b"correct horse battery staple"
    idi = IdiPayload(IdType.FQDN, b"spoke1.example.net")
    octets_i = auth.signed_octets(init_req, nr, keys_i.prf, keys_i.sk_pi, idi)
    auth_req = protect(
        IkeHeader(spi_i, spi_r, 0, ExchangeType.IKE_AUTH, HeaderFlag.INITIATOR, 1),
        [idi, AuthPayload(AuthMethod.SHARED_KEY_MIC,
                          auth.psk_auth_data(keys_i.prf, psk, octets_i)),
         NotifyPayload(NotifyType.INITIAL_CONTACT)],
        sk_keys(keys_i, sender_is_initiator=True), rng_i,
    )  # fmt: skip

    # --- responder verifies the PSK AUTH
    plain = unprotect(auth_req, sk_keys(keys_r, sender_is_initiator=True))
    got_id, got_auth = plain.get(IdiPayload), plain.get(AuthPayload)
    assert got_id == idi and got_auth is not None and plain.notify(NotifyType.INITIAL_CONTACT)
    auth.verify_psk(keys_r.prf, psk, auth.signed_octets(init_req, nr, keys_r.prf, keys_r.sk_pi,
                                                        got_id), got_auth.data)  # fmt: skip

    # --- responder answers with a certificate and an RFC 7427 signature, fragmented
    key, leaf, ca = responder_cert()
    idr = IdrPayload(IdType.FQDN, b"hub.example.net")
    octets_r = auth.signed_octets(init_resp, nonce.data, keys_r.prf, keys_r.sk_pr, idr)
    datagrams = fragment_message(
        IkeHeader(spi_i, spi_r, 0, ExchangeType.IKE_AUTH, HeaderFlag.RESPONSE, 1),
        [idr, CertPayload(CertEncoding.X509_SIGNATURE, certs.certificate_der(leaf)),
         AuthPayload(AuthMethod.DIGITAL_SIGNATURE,
                     auth.sign(AuthMethod.DIGITAL_SIGNATURE, key, octets_r))],
        sk_keys(keys_r, sender_is_initiator=False), rng_r, 400,
    )  # fmt: skip
    assert len(datagrams) > 1

    # --- initiator reassembles (reversed order), validates the chain and the signature
    reassembler = Reassembler()
    done = [reassembler.add(unprotect_fragment(d, sk_keys(keys_i, sender_is_initiator=False)),
                            10.0) for d in reversed(datagrams)]  # fmt: skip
    answer = done[-1]
    assert answer is not None and answer.protected
    cert_p, auth_p, id_p = answer.get(CertPayload), answer.get(AuthPayload), answer.get(IdrPayload)
    assert cert_p is not None and auth_p is not None and id_p is not None
    peer = certs.parse_cert_payload(cert_p.encoding, cert_p.data)[0]
    assert certs.TrustStore([ca]).verify(peer, now=T0 + timedelta(days=1)) == [peer, ca]
    assert certs.matches_identity(peer, id_p.id_type, id_p.data)
    scheme = auth.verify_signature(
        auth_p.method, peer.public_key(),  # type: ignore[arg-type]
        auth.signed_octets(init_resp, ni, keys_i.prf, keys_i.sk_pr, id_p), auth_p.data,
        allowed_hashes=auth.SUPPORTED_HASHES,
    )  # fmt: skip
    assert scheme.name == "ecdsa-sha256"

    # --- first child SA keys agree (nonces of IKE_SA_INIT, no PFS)
    esp = tr.parse_proposal("aes128gcm16", ProtocolId.ESP)
    child_i = derive_child_keys(keys_i.prf, keys_i.sk_d, esp.encryption[0], None, ni, nr)
    child_r = derive_child_keys(keys_r.prf, keys_r.sk_d, esp.encryption[0], None, ni, nr)
    assert child_i == child_r and len(child_i.encr_i) == 20
