"""The lab lifetime floor: only `xfrmctl daemon --lab-lifetime-floor` accepts lifetimes below the
Junos minimum of 180 s; the configuration checks stay as they are for everyone else."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from daemon_harness import (  # type: ignore[import-not-found, unused-ignore]
    VPN1,
    VPN1_B,
    A,
    B,
    Wire,
    config,
    seed,
    until,
)
from typer.testing import CliRunner

from xfrmctl.cli.daemon_cmd import LAB_LIFETIME_FLOOR_MIN
from xfrmctl.cli.main import app
from xfrmctl.config import load_text
from xfrmctl.daemon.runtime import Daemon, ReloadRefused
from xfrmctl.keying.ikev2.settings import MIN_LIFETIME_SECONDS
from xfrmctl.netlink.fake import FakeKernel


def short_lifetimes(text: str, ike: int = 60, child: int = 30) -> str:
    data = json.loads(text)
    for p in data["security"]["ike"]["proposal"].values():
        p["lifetime-seconds"] = ike
    for p in data["security"]["ipsec"]["proposal"].values():
        p["lifetime-seconds"] = child
    return json.dumps(data, indent=1)


TEXT = short_lifetimes(config(local=A, remote=B, vpns={"vpn1": VPN1}))


def errors(floor: int | None) -> list[str]:
    result = load_text(TEXT, "a.yaml", lifetime_floor=floor)
    return [d.message for d in result.errors]


def test_the_junos_minimum_holds_without_the_floor() -> None:
    msgs = errors(None)
    assert len(msgs) == 2, msgs
    assert all("out of range 180..86400" in m for m in msgs), msgs


def test_the_floor_lowers_the_minimum_and_only_to_itself() -> None:
    assert errors(30) == []
    msgs = errors(45)  # the 30 s child lifetime is still below a 45 s floor
    assert len(msgs) == 1 and "out of range 45..86400" in msgs[0], msgs


def test_config_check_has_no_floor(tmp_path: Path) -> None:
    path = tmp_path / "a.yaml"
    path.write_text(TEXT)
    result = CliRunner().invoke(app, ["config", "check", str(path)])
    assert result.exit_code == 1
    assert "out of range 180..86400" in result.output


def test_the_lab_floor_is_the_engines_floor() -> None:
    assert LAB_LIFETIME_FLOOR_MIN == MIN_LIFETIME_SECONDS


@pytest.mark.parametrize("value", ["5", "180"])
def test_the_daemon_option_is_bounded(tmp_path: Path, value: str) -> None:
    path = tmp_path / "a.yaml"
    path.write_text(TEXT)
    result = CliRunner().invoke(
        app, ["daemon", "--config", str(path), "--fake-kernel", "--lab-lifetime-floor", value]
    )
    assert result.exit_code == 2
    assert "--lab-lifetime-floor" in result.output


def test_a_daemon_without_the_floor_refuses_short_lifetimes(tmp_path: Path) -> None:
    path = tmp_path / "a.yaml"
    path.write_text(TEXT)

    async def main() -> None:
        d = Daemon(str(path), FakeKernel(), socket_path=str(tmp_path / "a.sock"))
        with pytest.raises(ReloadRefused, match=r"a\.yaml:\d+: .*out of range 180\.\.86400"):
            await d.start()

    asyncio.run(main())


def test_a_lab_daemon_installs_short_lifetimes(tmp_path: Path) -> None:
    """Child SAs of 30 s: hard 30 s, soft at half the lifetime (spec §3.5's window, scaled)."""

    async def main() -> None:
        wire = Wire()
        daemons = []
        for name, local, remote, vpn, establish in (
            ("b", B, A, VPN1_B, "on-traffic"),
            ("a", A, B, VPN1, "immediately"),
        ):
            text = config(local=local, remote=remote, vpns={"vpn1": vpn}, establish=establish)
            path = tmp_path / f"{name}.yaml"
            path.write_text(short_lifetimes(text))
            d = Daemon(str(path), FakeKernel(), socket_path=str(tmp_path / f"{name}.sock"),
                       lifetime_floor=30)  # fmt: skip
            wire.attach(local, d)
            await seed(d, local)
            await d.start()
            daemons.append(d)
        b, a = daemons
        await until(lambda: bool(a.store.vpns["vpn1"].children))
        assert isinstance(a.kernel, FakeKernel)
        sas = await a.kernel.list_sas()
        assert len(sas) == 2
        for sa in sas:
            assert sa.lft.hard_add_expires_seconds == 30
            assert 14 <= sa.lft.soft_add_expires_seconds <= 16
        [ike] = a.store.snapshot(a.now(), a.wall_offset, {}).ike_security_associations
        assert ike.lifetime == 60
        await a.shutdown()
        await b.shutdown()

    asyncio.run(main())


def test_the_floor_lowers_the_idle_time_minimum_too() -> None:
    data = json.loads(config(local=A, remote=B, vpns={"vpn1": VPN1}))
    data["security"]["ipsec"]["vpn"]["vpn1"]["ike"]["idle-time"] = 15
    text = json.dumps(data)
    [problem] = load_text(text, "a.yaml").errors
    assert "idle-time 15: out of range 60..999999" in str(problem)
    assert load_text(text, "a.yaml", lifetime_floor=20).errors[0].message.endswith(
        "out of range 20..999999"
    )
    result = load_text(text, "a.yaml", lifetime_floor=15)
    assert result.errors == []
    assert result.require().vpns["vpn1"].ike.idle_time == 15  # type: ignore[union-attr]
