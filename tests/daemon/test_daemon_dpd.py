"""Dead peer detection wired into the daemon: IKE SAs of gateways with `dead-peer-detection`
are registered with the `xfrmctl.dpd` manager; a probe is a real liveness exchange; a dead
verdict drops the IKE SA and its child SAs at once and the VPN renegotiates."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from daemon_harness import (  # type: ignore[import-not-found, unused-ignore]
    A,
    B,
    Wire,
    config,
    make_daemon,
    seed,
    until,
)

from xfrmctl.dpd import DownReason, PeerDead, ProbePeer
from xfrmctl.netlink.fake import FakeKernel

VPN_A = {"unit": 0, "address": "198.18.255.1/30", "route": "198.18.2.0/24"}
VPN_B = {"unit": 0, "address": "198.18.255.2/30", "route": "198.18.1.0/24"}


def with_dpd(text: str) -> str:
    data = json.loads(text)
    data["security"]["ike"]["gateway"]["GW"]["dead-peer-detection"] = {
        "always-send": None, "interval": 10, "threshold": 3,
    }  # fmt: skip
    return json.dumps(data)


def test_probe_and_dead_peer(tmp_path: Path) -> None:
    async def main() -> None:
        wire = Wire()
        text_a = with_dpd(config(local=A, remote=B, vpns={"vpn1": VPN_A}))
        a = make_daemon(tmp_path, "a", A, text_a, wire)
        b = make_daemon(tmp_path, "b", B, config(local=B, remote=A, vpns={"vpn1": VPN_B},
                                                 establish="on-traffic"), wire)  # fmt: skip
        await seed(a, A)
        await seed(b, B)
        await b.start()
        await a.start()
        await until(lambda: bool(a.store.vpns["vpn1"].children))
        [ref] = list(a._dpd_peers)
        assert a._dpd_peers == {ref: "GW"} and b._dpd_peers == {}
        assert a.dpd.next_deadline() is not None
        assert len(a.dpd.ledger.of_ike(ref)) == 2  # both SAs feed DPD evidence

        # always-send: a probe goes out even though the peer spoke within the interval
        # (IKE_AUTH); it is a real INFORMATIONAL exchange the peer answers
        sent = wire.sent
        a.dpd_actions([ProbePeer(ref, 1, a.now())])
        await until(lambda: wire.sent == sent + 2)
        # probe-idle-tunnel: the peer's latest message is the evidence, no probe
        with_mode = json.loads(text_a)
        with_mode["security"]["ike"]["gateway"]["GW"]["dead-peer-detection"] = {
            "probe-idle-tunnel": None, "interval": 10, "threshold": 3,
        }  # fmt: skip
        original = a.config
        Path(a.config_path).write_text(json.dumps(with_mode))
        a.config = a._load()
        sent = wire.sent
        a.dpd_actions([ProbePeer(ref, 1, a.now())])
        for _ in range(50):
            await asyncio.sleep(0)
        assert wire.sent == sent
        a.config = original
        # later, a probe is a real INFORMATIONAL exchange the peer answers
        answered = a.dpd.peers[ref].alive_at
        a.dpd_actions([ProbePeer(ref, 1, a.now() + 60)])  # no fresh evidence that late
        await until(lambda: a.dpd.peers[ref].alive_at > answered)  # LivenessResult(alive)
        assert wire.sent == sent + 2

        # the DPD timer: one counter dump, then the manager's verdict (a probe when idle)
        base = a.now()
        a.now = lambda: base + 25  # the interval has passed
        sent = wire.sent
        await a._dpd_tick()
        await until(lambda: wire.sent >= sent + 2)
        del a.now
        # the verdict "dead": IKE SA and child SAs go at once, the VPN renegotiates
        wire.cut = True
        a.dpd_actions([PeerDead(ref, DownReason.PEER_NOT_RESPONDING, a.now() + 60, 0.0)])
        await until(lambda: not a.store.vpns["vpn1"].children)
        kernel = a.kernel
        assert isinstance(kernel, FakeKernel)
        await until(lambda: not kernel._sas)
        assert a._dpd_peers == {}
        assert a.store.ike == {}
        assert "vpn1" in a._retry  # establish-tunnels immediately: next attempt scheduled
        # out of service: the route via st0.0 is withdrawn (a backup route would win)
        await until(lambda: kernel._routes == [])
        [inactive] = a.snapshot().inactive_tunnels
        assert inactive.tunnel_down_reason == "Peer is not responding"
        # the peer is back: renegotiated, the route restored
        wire.cut = False
        a._retry["vpn1"].at = a.now()
        a._on_timer()
        await until(lambda: bool(a.store.vpns["vpn1"].children))
        await until(lambda: [r.dst for r in kernel._routes] == ["198.18.2.0/24"])
        assert a._out_of_service == {}
        await a.shutdown()
        await b.shutdown()

    asyncio.run(main())


def test_idle_time_deletes_an_idle_child(tmp_path: Path) -> None:
    async def main() -> None:
        wire = Wire()
        data = json.loads(config(local=A, remote=B, vpns={"vpn1": VPN_A}, establish="on-traffic"))
        data["security"]["ipsec"]["vpn"]["vpn1"]["ike"]["idle-time"] = 60
        a = make_daemon(tmp_path, "a", A, json.dumps(data), wire)
        b = make_daemon(tmp_path, "b", B, config(local=B, remote=A, vpns={"vpn1": VPN_B},
                                                 establish="on-traffic"), wire)  # fmt: skip
        await seed(a, A)
        await seed(b, B)
        await b.start()
        await a.start()
        kernel = a.kernel
        assert isinstance(kernel, FakeKernel)
        kernel.trigger_acquire("198.18.1.1", "198.18.2.1")
        await until(lambda: bool(a.store.vpns["vpn1"].children))
        [uid] = a.store.vpns["vpn1"].children
        assert set(a.dpd.idle) == {uid} and a._dpd_peers == {}
        base = a.now()
        a.now = lambda: base + 30  # half the idle time: nothing yet
        await a._dpd_tick()
        assert a.store.vpns["vpn1"].children
        a.now = lambda: base + 61
        await a._dpd_tick()
        del a.now
        await until(lambda: not a.store.vpns["vpn1"].children and not b.store.vpns["vpn1"].children)
        assert await kernel.list_sas() == []
        assert a.dpd.idle == {}
        await a.shutdown()
        await b.shutdown()

    asyncio.run(main())
