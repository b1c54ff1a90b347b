"""IKE_AUTH (RFC 7296 1.2, 2.15): identities, AUTH, INITIAL_CONTACT and the first child SA.

AUTHENTICATION_FAILED both ways (2.21.2): a responder that cannot authenticate the initiator
answers with the notify and forgets the SA; an initiator that cannot authenticate the responder
tells it in a separate INFORMATIONAL (sent once) and fails.
"""

from __future__ import annotations

from xfrmctl.keying.constants import ExchangeType, NotifyType
from xfrmctl.keying.ikev2 import certauth, child_create, wire
from xfrmctl.keying.ikev2.actions import Reason
from xfrmctl.keying.ikev2.session import Ikev2Session, Task, notify_error
from xfrmctl.keying.ikev2.settings import ConfigError, PeerConfig


class IkeAuthTask(Task):
    exchange = ExchangeType.IKE_AUTH
    name = "ike_auth"

    def __init__(self) -> None:
        self.req: child_create.ChildRequest | None = None

    def build(self, s: Ikev2Session, now: float) -> list[wire.Payload] | None:
        assert s.crypto is not None
        if self.req is None and s.first_child is not None:
            self.req = s.first_child
        own = s.peer.own_id
        try:
            certs = certauth.cert_payloads(s.peer.auth)
            octets = s.crypto.signed_octets(s.init_request, s.nr, own, initiator=True)
            method, data = s.crypto.make_auth(s.peer.auth, octets, s.peer_hashes)
        except ConfigError as exc:
            s.fail(Reason.LOCAL_CONFIG, str(exc))
            return None
        out: list[wire.Payload] = [wire.id_payload(initiator=True, identity=own)]
        out += certs
        if s.peer.initial_contact and not s.ctx.has_other_sa(s):
            out.append(wire.notify(NotifyType.INITIAL_CONTACT))
        certreq = certauth.certreq_payload(s.peer.auth)
        if certreq is not None and s.peer.send_certreq:
            out.append(certreq)
        expected = s.peer.remote_id
        if expected is not None and not expected.is_any and "*" not in str(expected):
            out.append(wire.id_payload(initiator=False, identity=expected))
        s.auth_method = certauth.method_name(method)
        out.append(wire.auth(method, data))
        if self.req is not None:
            out += self.req.payloads(s, in_auth=True)
        return out

    def on_response(self, s: Ikev2Session, msg: wire.Inbound, now: float) -> None:
        if msg.notify(NotifyType.AUTHENTICATION_FAILED) is not None:
            s.fail(Reason.AUTHENTICATION_FAILED, "the peer rejected our authentication")
            return
        idr = msg.identity(initiator=False)
        auth = msg.auth()
        if idr is None or auth is None:
            error = msg.error_notify()
            s.fail(notify_error(error) if error else Reason.INVALID_SYNTAX, "no IDr/AUTH")
            return
        assert s.crypto is not None
        if not s.peer.expected_remote_id.matches(idr):
            _reject(s, Reason.IDENTITY_MISMATCH, f"peer identified as {idr}")
            return
        octets = s.crypto.signed_octets(s.init_response, s.ni, idr, initiator=False)
        why = s.crypto.verify_auth(s.peer.auth, auth, octets, identity=idr,
                                   peer_certs=msg.certs(), now=s.ctx.wall_clock(now))  # fmt: skip
        if why is not None:
            _reject(s, Reason.AUTHENTICATION_FAILED, f"responder {idr}: {why}")
            return
        s.peer_id = idr
        s.mark_established(now)
        if self.req is not None:
            req = self.req
            child_create.finish_initiator(
                s, req, msg, ni=s.ni, nr=s.nr, shared=None, in_auth=True, now=now
            )
        s.first_child = None

    def on_give_up(self, s: Ikev2Session, now: float) -> None:
        s.fail(Reason.PEER_NOT_RESPONDING, "no IKE_AUTH response")


def _reject(s: Ikev2Session, reason: Reason, detail: str) -> None:
    """Tell the responder we do not accept it (one unacknowledged INFORMATIONAL), then fail."""
    mid = s.window.allocate()
    payloads = [wire.notify(NotifyType.AUTHENTICATION_FAILED)]
    s.send(s.encode(ExchangeType.INFORMATIONAL, mid, response=False, payloads=payloads))
    s.window.response_done()
    s.fail(reason, detail)


def _pick_config(s: Ikev2Session, msg: wire.Inbound) -> PeerConfig | None:
    idi = msg.identity(initiator=True)
    idr = msg.identity(initiator=False)
    if idi is None:
        return None
    for peer in s.candidates:
        if not peer.expected_remote_id.matches(idi):
            continue
        if idr is not None and not idr.is_any and not peer.own_id.matches(idr):
            continue
        return peer
    return None


def respond(s: Ikev2Session, msg: wire.Inbound, now: float) -> list[wire.Payload]:
    assert s.crypto is not None
    idi = msg.identity(initiator=True)
    auth = msg.auth()
    if idi is None or auth is None:
        s.ctx.count("IKE_AUTH without IDi or AUTH")
        s.fail(Reason.INVALID_SYNTAX, "IKE_AUTH request without IDi or AUTH")
        return [wire.notify(NotifyType.INVALID_SYNTAX)]
    peer = _pick_config(s, msg)
    if peer is None:
        s.ctx.count("no peer configuration for the identity")
        s.fail(Reason.NO_MATCHING_PEER, f"peer identified as {idi}")
        return [wire.notify(NotifyType.AUTHENTICATION_FAILED)]
    s.peer = peer
    s.retrans.policy = peer.retransmit
    octets = s.crypto.signed_octets(s.init_request, s.nr, idi, initiator=True)
    why = s.crypto.verify_auth(peer.auth, auth, octets, identity=idi, peer_certs=msg.certs(),
                               now=s.ctx.wall_clock(now))  # fmt: skip
    if why is not None:
        s.ctx.count("authentication failed")
        s.fail(Reason.AUTHENTICATION_FAILED, f"initiator {idi}: {why}")
        return [wire.notify(NotifyType.AUTHENTICATION_FAILED)]
    s.peer_id = idi
    s.initial_contact_seen = msg.notify(NotifyType.INITIAL_CONTACT) is not None
    own = peer.own_id
    out: list[wire.Payload] = [wire.id_payload(initiator=False, identity=own)]
    try:
        out += certauth.cert_payloads(peer.auth)
        octets = s.crypto.signed_octets(s.init_response, s.ni, own, initiator=False)
        method, data = s.crypto.make_auth(peer.auth, octets, s.peer_hashes)
    except ConfigError as exc:
        s.ctx.count("local authentication configuration unusable")
        s.fail(Reason.LOCAL_CONFIG, str(exc))
        return [wire.notify(NotifyType.AUTHENTICATION_FAILED)]
    s.auth_method = certauth.method_name(method)
    out.append(wire.auth(method, data))
    s.mark_established(now)
    if msg.sa() is not None:
        result = child_create.answer_request(s, msg, ni=s.ni, nr=s.nr, in_auth=True, now=now)
        out += result.payloads
        if result.child is not None:
            s.install_child(result.child)
    return out
