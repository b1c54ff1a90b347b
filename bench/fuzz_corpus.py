"""Write the fuzzing seed corpus `tests/fuzz/corpus/`: real IKE datagrams, one file each.

Sources: the strongSwan 5.9 exchanges captured in the lab (`tests/keying/data/*.json`), and
engine-against-engine runs of every exchange both IKE versions have (IKE_SA_INIT, IKE_AUTH,
CREATE_CHILD_SA for child and IKE rekeys, INFORMATIONAL liveness and deletes, NAT-T; IKEv1 main,
aggressive and quick mode, with PFS, DPD and deletes). Deterministic: rerunning gives the same
files. Run: `python bench/fuzz_corpus.py` from the repository root.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fuzz.harness import CORPUS  # noqa: E402
from tests.keying.ikev1 import conftest as v1net  # noqa: E402
from tests.keying.ikev2 import conftest as v2net  # noqa: E402
from xfrmctl.keying.ikev1.settings import ExchangeMode  # noqa: E402
from xfrmctl.keying.ikev2.identity import Identity  # noqa: E402


def _v2_runs() -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for name, kw in (
        ("ikev2-psk", {}),
        ("ikev2-pfs-modp", {"a_kw": {"ike": "aes128-sha256-modp2048", "pfs": "modp2048"},
                            "b_kw": {"ike": "aes128-sha256-modp2048", "pfs": "modp2048"}}),
        ("ikev2-nat", {"nat_a": True, "b_kw": {"remote": None}}),
    ):  # fmt: skip
        net = v2net.pair(seed=name, **kw)
        net.feed(net.a, net.a.engine.initiate("to-b", "net", net.now))
        net.run()
        (s,) = net.a.engine.sessions.values()
        uid = next(iter(s.children))
        net.feed(net.a, net.a.engine.rekey_child(uid, net.now))
        net.run()
        net.feed(net.a, net.a.engine.liveness_check(s.ref, net.now))
        net.run()
        net.feed(net.b, net.b.engine.rekey_ike(next(iter(net.b.engine.sessions.values())).ref,
                                               net.now))  # fmt: skip
        net.run()
        (s,) = net.a.engine.sessions.values()
        net.feed(net.a, net.a.engine.delete_ike(s.ref, net.now))
        net.run()
        out[name] = net.sent
    return out


def _v1_runs() -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for name, kw in (
        ("ikev1-main", {}),
        ("ikev1-main-pfs", {"a_kw": {"pfs": "modp1024"}, "b_kw": {"pfs": "modp1024"}}),
        ("ikev1-aggressive", {"a_kw": {"mode": ExchangeMode.AGGRESSIVE},
                              "b_kw": {"mode": ExchangeMode.AGGRESSIVE}}),
        ("ikev1-nat", {"nat_a": True, "b_kw": {"remote": v1net.NAT_PUBLIC,
                                               "remote_id": Identity.parse(v1net.A_ADDR)}}),
    ):  # fmt: skip
        net = v1net.pair(seed=name, **kw)
        net.feed(net.a, net.a.engine.initiate("to-b", "vpn", net.now))
        net.run()
        (c,) = net.a.installed().values()
        net.feed(net.a, net.a.engine.rekey_child(c.unique_id, net.now))
        net.run()
        sa = next(s for s in net.a.engine.sas.values() if s.established)
        net.feed(net.a, net.a.engine.liveness_check(sa.ref, net.now))
        net.run()
        net.feed(net.a, net.a.engine.delete_ike(sa.ref, net.now))
        net.run()
        out[name] = net.sent
    return out


def main() -> None:
    CORPUS.mkdir(parents=True, exist_ok=True)
    for old in CORPUS.glob("*.bin"):
        old.unlink()
    written = 0
    for vector in sorted((ROOT / "tests" / "keying" / "data").glob("strongswan-*.json")):
        messages = json.loads(vector.read_text())["messages"]
        for i, hexed in enumerate(messages):
            (CORPUS / f"ikev2-{vector.stem}-{i:02d}.bin").write_bytes(bytes.fromhex(hexed))
            written += 1
    for runs in (_v2_runs(), _v1_runs()):
        for name, packets in runs.items():
            for i, pkt in enumerate(packets):
                (CORPUS / f"{name}-{i:02d}-{pkt.src}.bin").write_bytes(pkt.data)
                written += 1
    print(f"{written} datagrams written to {CORPUS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
