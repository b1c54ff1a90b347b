"""Rekey without a traffic gap: the responder of a child rekey keeps sending on the old SA until
the old SA is deleted, because the initiator installs its new inbound SA only when the answer
arrives. Its new outbound SA is installed right before the old one goes, or once `ike
install-interval` has passed if the old one stays."""

from __future__ import annotations

import asyncio
from pathlib import Path

from daemon_harness import (  # type: ignore[import-not-found, unused-ignore]
    VPN1,
    VPN1_B,
    A,
    B,
    Wire,
    config,
    make_daemon,
    seed,
    until,
)
from daemon_harness import fake_kernel as kernel

from xfrmctl.daemon.runtime import Daemon
from xfrmctl.keying.ikev2.actions import Endpoint

# the timer of install-interval never runs out within a test: switches come from the old SA's
# deletion, or from switch_due_outbounds called with an explicit time
VPN1_B_WAIT = {**VPN1_B, "install-interval": 10}


async def sas(d: Daemon) -> set[tuple[str, int]]:
    return {(s.daddr, s.spi) for s in await kernel(d).list_sas()}


def test_rekey_responder_switches_outbound_when_the_old_sa_goes(tmp_path: Path) -> None:
    async def main() -> None:
        wire = Wire()
        a = make_daemon(tmp_path, "a", A, config(local=A, remote=B, vpns={"vpn1": VPN1}), wire)
        b = make_daemon(tmp_path, "b", B, config(local=B, remote=A, vpns={"vpn1": VPN1_B_WAIT},
                                                 establish="on-traffic"), wire)  # fmt: skip
        await seed(a, A)
        await seed(b, B)
        await b.start()
        await a.start()
        await until(lambda: bool(a.store.vpns["vpn1"].children and b.store.vpns["vpn1"].children))
        [old_a] = a.store.vpns["vpn1"].children.values()
        old = {(A, old_a.spi_in), (B, old_a.spi_out)}
        assert await sas(b) == old

        # hold b's answers: the rekey stops between b's answer and a's receipt of it
        held: list[tuple[bytes, Endpoint, Endpoint]] = []
        deliver = wire.deliver

        def hold(data: bytes, local: Endpoint, remote: Endpoint) -> None:
            if local[0] == B:
                held.append((data, local, remote))
            else:
                deliver(data, local, remote)

        wire.deliver = hold
        assert a.engine is not None
        a._enqueue(a.engine.v2.rekey_child(old_a.unique_id, a.now()))
        await until(lambda: len(b.store.vpns["vpn1"].children) == 2 and bool(held))
        await b.wait_idle()
        new_b = next(c for c in b.store.vpns["vpn1"].children.values()
                     if c.spi_in != old_a.spi_out)  # fmt: skip
        # b: the new inbound SA is there, its new outbound one is not; the old pair stays
        assert await sas(b) == old | {(B, new_b.spi_in)}

        wire.deliver = deliver
        for data, local, remote in held:
            deliver(data, local, remote)
        new = {(B, new_b.spi_in), (A, new_b.spi_out)}
        for _ in range(5000):
            if await sas(b) == new and await sas(a) == new:
                break
            await asyncio.sleep(0)
        assert await sas(b) == new
        assert await sas(a) == new
        assert list(b.store.vpns["vpn1"].children) == [new_b.unique_id]
        assert b._deferred_out == {}
        await a.shutdown()
        await b.shutdown()

    asyncio.run(main())


def test_a_rekey_replaced_before_its_outbound_switch_leaves_nothing(tmp_path: Path) -> None:
    """The new SA is deleted while its outbound half still waits: that half is never
    installed, and a shutdown leaves no SA behind."""

    async def main() -> None:
        wire = Wire()
        a = make_daemon(tmp_path, "a", A, config(local=A, remote=B, vpns={"vpn1": VPN1}), wire)
        b = make_daemon(tmp_path, "b", B, config(local=B, remote=A, vpns={"vpn1": VPN1_B_WAIT},
                                                 establish="on-traffic"), wire)  # fmt: skip
        await seed(a, A)
        await seed(b, B)
        await b.start()
        await a.start()
        await until(lambda: bool(a.store.vpns["vpn1"].children and b.store.vpns["vpn1"].children))
        [old_a] = a.store.vpns["vpn1"].children.values()
        deliver = wire.deliver

        def drop_b(data: bytes, local: Endpoint, remote: Endpoint) -> None:
            if local[0] != B:  # a never hears b's answer
                deliver(data, local, remote)

        wire.deliver = drop_b
        assert a.engine is not None and b.engine is not None
        a._enqueue(a.engine.v2.rekey_child(old_a.unique_id, a.now()))
        await until(lambda: len(b.store.vpns["vpn1"].children) == 2)
        await b.wait_idle()
        [new_uid] = b._deferred_out
        wire.deliver = deliver
        b._enqueue(b.engine.delete_child(new_uid, b.now()))
        await until(lambda: new_uid not in b.store.vpns["vpn1"].children)
        await b.wait_idle()
        assert b._deferred_out == {}
        assert await sas(b) == {(A, old_a.spi_in), (B, old_a.spi_out)}
        await b.shutdown()
        assert await sas(b) == set()
        await a.shutdown()

    asyncio.run(main())


async def rekey_with_held_answers(
    tmp_path: Path, vpn_b: dict[str, object]
) -> tuple[Daemon, Daemon, Wire, list[tuple[bytes, Endpoint, Endpoint]], set[tuple[str, int]]]:
    """a rekeys the child; b has answered, a has not heard it yet. Returns the old SA pair."""
    wire = Wire()
    a = make_daemon(tmp_path, "a", A, config(local=A, remote=B, vpns={"vpn1": VPN1}), wire)
    b = make_daemon(tmp_path, "b", B, config(local=B, remote=A, vpns={"vpn1": vpn_b},
                                             establish="on-traffic"), wire)  # fmt: skip
    await seed(a, A)
    await seed(b, B)
    await b.start()
    await a.start()
    await until(lambda: bool(a.store.vpns["vpn1"].children and b.store.vpns["vpn1"].children))
    [old_a] = a.store.vpns["vpn1"].children.values()
    held: list[tuple[bytes, Endpoint, Endpoint]] = []
    deliver = wire.deliver

    def hold(data: bytes, local: Endpoint, remote: Endpoint) -> None:
        if local[0] == B:
            held.append((data, local, remote))
        else:
            deliver(data, local, remote)

    wire.deliver = hold
    assert a.engine is not None
    a._enqueue(a.engine.v2.rekey_child(old_a.unique_id, a.now()))
    await until(lambda: len(b.store.vpns["vpn1"].children) == 2 and bool(held))
    await b.wait_idle()
    wire.deliver = deliver
    return a, b, wire, held, {(A, old_a.spi_in), (B, old_a.spi_out)}


def test_install_interval_switches_outbound_while_the_old_sa_stays(tmp_path: Path) -> None:
    async def main() -> None:
        a, b, wire, held, old = await rekey_with_held_answers(
            tmp_path, {**VPN1_B, "install-interval": 3}
        )
        [(new_uid, deferred)] = b._deferred_out.items()
        new_b = b.store.vpns["vpn1"].children[new_uid]
        assert new_b.installed_at + 2 < deferred.at <= new_b.installed_at + 3
        await b.switch_due_outbounds(deferred.at - 0.5)
        assert await sas(b) == old | {(B, new_b.spi_in)}
        await b.switch_due_outbounds(deferred.at)
        # b sends on the new SA; the old pair stays until a deletes it
        assert await sas(b) == old | {(B, new_b.spi_in), (A, new_b.spi_out)}
        assert b._deferred_out == {}
        for data, local, remote in held:
            wire.deliver(data, local, remote)
        new = {(B, new_b.spi_in), (A, new_b.spi_out)}
        for _ in range(5000):
            if await sas(b) == new and await sas(a) == new:
                break
            await asyncio.sleep(0)
        assert await sas(b) == new
        assert await sas(a) == new
        await a.shutdown()
        await b.shutdown()

    asyncio.run(main())


def test_install_interval_0_switches_outbound_at_once(tmp_path: Path) -> None:
    async def main() -> None:
        a, b, _, _, old = await rekey_with_held_answers(tmp_path, {**VPN1_B, "install-interval": 0})
        new_b = next(c for c in b.store.vpns["vpn1"].children.values()
                     if (A, c.spi_out) not in old)  # fmt: skip
        assert b._deferred_out == {}
        assert await sas(b) == old | {(B, new_b.spi_in), (A, new_b.spi_out)}
        await a.shutdown()
        await b.shutdown()

    asyncio.run(main())
