"""A dynamic responder peer (Junos `dynamic` gateway): one configuration, many initiators.

Initiators differ by identity (group IKE id: a common FQDN suffix) or share one identity
(shared IKE id: INITIAL_CONTACT of one user must not take the others' SAs down)."""

from typing import Any

from xfrmctl.keying.constants import IdType
from xfrmctl.keying.ikev2.actions import IkeDeleted, IkeEstablished, IkeFailed, InstallChild, Send
from xfrmctl.keying.ikev2.engine import Ikev2Engine
from xfrmctl.keying.ikev2.identity import Identity

HUB = "198.51.100.2"


def _hub(h: Any, remote_id: Identity, **kw: Any) -> Ikev2Engine:
    peer = h.psk_peer("dial", HUB, None, local_ts="10.2.0.0/16", remote_ts="10.0.0.0/8",
                      local_id=Identity(IdType.FQDN, b"hub.example.net"), remote_id=remote_id,
                      **kw)  # fmt: skip
    hub = Ikev2Engine([peer], h.Rng("hub"))
    hub.raise_internal_errors = True
    return hub


def _client(h: Any, i: int, ident: bytes) -> tuple[str, Ikev2Engine]:
    addr = f"192.0.2.{i + 10}"
    peer = h.psk_peer("hub", addr, HUB, local_ts=f"10.1.{i}.0/24", remote_ts="10.2.0.0/16",
                      local_id=Identity(IdType.FQDN, ident),
                      remote_id=Identity(IdType.FQDN, b"hub.example.net"))  # fmt: skip
    eng = Ikev2Engine([peer], h.Rng(f"client{i}"))
    eng.raise_internal_errors = True
    return addr, eng


def _run(hub: Ikev2Engine, clients: list[tuple[str, Ikev2Engine]]) -> tuple[list[Any], dict[str, list[Any]]]:  # noqa: E501
    """Every client initiates at once; datagrams are delivered until nothing is in flight."""
    hub_events: list[Any] = []
    client_events: dict[str, list[Any]] = {addr: [] for addr, _ in clients}
    by_addr = dict(clients)
    queue: list[tuple[str, Any]] = []
    for addr, eng in clients:
        queue += [(addr, a) for a in eng.initiate("hub", "net", 0.0)]
    while queue:
        who, act = queue.pop(0)
        if not isinstance(act, Send):
            (hub_events if who == "hub" else client_events[who]).append(act)
        elif who == "hub":
            out = by_addr[act.remote[0]].receive(act.data, act.remote, act.local, 0.0)
            queue += [(act.remote[0], a) for a in out]
        else:
            queue += [("hub", a) for a in hub.receive(act.data, act.remote, act.local, 0.0)]
    return hub_events, client_events


def test_group_ike_id_accepts_every_member_and_refuses_others(h: Any) -> None:
    hub = _hub(h, Identity(IdType.FQDN, b"*.example.net"))
    names = [b"ny.example.net", b"sf.example.net", b"lon.branch.example.net", b"example.net",
             b"ny.example.org"]  # fmt: skip
    clients = [_client(h, i, n) for i, n in enumerate(names)]
    hub_events, client_events = _run(hub, clients)
    up = [e for e in hub_events if isinstance(e, IkeEstablished)]
    assert sorted(e.remote_id for e in up) == [
        "lon.branch.example.net", "ny.example.net", "sf.example.net"
    ]  # fmt: skip
    assert {e.peer for e in up} == {"dial"}
    installed = [e for e in hub_events if isinstance(e, InstallChild)]
    assert sorted(str(e.remote_ts[0]) for e in installed) == [
        "10.1.0.0/24", "10.1.1.0/24", "10.1.2.0/24"
    ]  # fmt: skip
    refused = [e for e in hub_events if isinstance(e, IkeFailed)]
    assert sorted(e.detail for e in refused) == [
        "peer identified as example.net", "peer identified as ny.example.org"
    ]  # fmt: skip
    assert len([s for s in hub.sessions.values() if not s.closed]) == 3
    for addr in ("192.0.2.13", "192.0.2.14"):
        assert not [e for e in client_events[addr] if isinstance(e, IkeEstablished)]


def test_shared_ike_id_users_do_not_replace_each_other(h: Any) -> None:
    shared = Identity(IdType.FQDN, b"users.example.net")
    hub = _hub(h, shared, unique_ids=False)
    clients = [_client(h, i, b"users.example.net") for i in range(4)]
    hub_events, _ = _run(hub, clients)
    assert len([e for e in hub_events if isinstance(e, IkeEstablished)]) == 4
    assert not [e for e in hub_events if isinstance(e, IkeDeleted)]
    assert len([s for s in hub.sessions.values() if s.established and not s.closed]) == 4


def test_unique_ids_initial_contact_replaces_the_older_sa(h: Any) -> None:
    """The default: one identity is one peer, a restarted peer's old SA goes."""
    shared = Identity(IdType.FQDN, b"users.example.net")
    hub = _hub(h, shared)
    clients = [_client(h, i, b"users.example.net") for i in range(2)]
    hub_events, _ = _run(hub, clients)
    assert len([e for e in hub_events if isinstance(e, IkeEstablished)]) == 2
    assert len([e for e in hub_events if isinstance(e, IkeDeleted)]) == 1
    assert len([s for s in hub.sessions.values() if s.established and not s.closed]) == 1
