"""The IKEv1 engine (through a bare UDP driver, no daemon) against a real strongSwan charon.

Main mode with a pre-shared key, both roles, the seed-000 suite (3DES/SHA1/group 2) and a modern
one (AES-256/SHA-256/group 14). charon must report the ISAKMP SA ESTABLISHED and the quick-mode
SA INSTALLED with the SPIs the engine chose, and the engine's child keys must equal the ones charon
logs at `chd = 4`.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from integration.lab.charonlog import binary_values, latest
from integration.lab.netns import LabError
from integration.lab.strongswan import LAB_PSK, psk_secrets, route_based_connection
from integration.lab.topology import Lab

DRIVER = Path(__file__).resolve().parent.parent / "lab" / "ike_driver.py"
SUITES = [("3des-sha1-modp1024", "3des-sha1"), ("aes256-sha256-modp2048", "aes256-sha256")]


def _events(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _wait_event(path: Path, kind: str, timeout: float = 90.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for e in _events(path):
            if e["type"] == kind:
                return e
        time.sleep(0.3)
    raise LabError(f"driver reported no {kind}: {_events(path)}")


@pytest.mark.parametrize("role", ["initiator", "responder"])
@pytest.mark.parametrize(("ike", "esp"), SUITES, ids=[s[0] for s in SUITES])
def test_ikev1_main_mode_psk_with_charon(lab: Lab, ike: str, esp: str, role: str) -> None:
    a, b = lab.netns("a"), lab.netns("b")
    lab.link(a, b, "192.0.2.1/24", "192.0.2.2/24")
    conn = route_based_connection(
        "192.0.2.2", "192.0.2.1", start=False, proposals=ike, esp_proposals=esp, version=1
    )
    conn["vpn"]["rekey_time"] = "1800s"
    charon = lab.strongswan(b, conn, psk_secrets(), log_levels={"ike": 4, "chd": 4})
    charon.load()

    work = lab.workdir / "driver"
    work.mkdir()
    cfg = {"local": "192.0.2.1", "remote": "192.0.2.2", "psk": LAB_PSK, "ike": ike, "esp": esp,
           "ike_lifetime": 1800, "initiate": role == "initiator", "run_seconds": 240}  # fmt: skip
    (work / "config.json").write_text(json.dumps(cfg))
    events = work / "events.jsonl"
    argv = a.exec_argv([sys.executable, "-P", str(DRIVER), str(work / "config.json"), str(events)])
    lab.procs.start("ikev1-driver", argv, work / "driver.log")
    _wait_event(events, "ready", timeout=60)
    if role == "responder":
        charon.initiate("net")

    sa = charon.wait_established("vpn", "net", timeout=120)
    assert sa["version"] == "1"
    assert (sa.get("initiator") == "yes") is (role == "responder")
    (child,) = sa["child-sas"].values()
    assert child["state"] == "INSTALLED"

    est = _wait_event(events, "IkeEstablished")
    assert est["initiator"] is (role == "initiator")
    inst = _wait_event(events, "InstallChild")
    assert f"{inst['spi_in']:08x}" == child["spi-out"]
    assert f"{inst['spi_out']:08x}" == child["spi-in"]

    assert charon.process is not None
    lab.procs.stop(charon.process)  # charon's file log is buffered: flushed when it exits
    logged = binary_values(charon.log)
    enc_i, enc_r = (
        latest(logged, "encryption initiator key"),
        latest(logged, "encryption responder key"),
    )
    int_i, int_r = (
        latest(logged, "integrity initiator key"),
        latest(logged, "integrity responder key"),
    )
    if role == "initiator":  # the "initiator key" protects the initiator's outbound SA
        mine = (
            inst["encr_key_out"],
            inst["integ_key_out"],
            inst["encr_key_in"],
            inst["integ_key_in"],
        )
    else:
        mine = (
            inst["encr_key_in"],
            inst["integ_key_in"],
            inst["encr_key_out"],
            inst["integ_key_out"],
        )
    assert mine == (enc_i.hex(), int_i.hex(), enc_r.hex(), int_r.hex())
