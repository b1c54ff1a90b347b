"""Coverage-guided fuzzing of the IKE decoders and responders with atheris (libFuzzer).

The first input byte picks a target, the rest is its datagram:
  0  IKEv2 decoder            1  IKEv1 (ISAKMP) decoder
  2  IKEv2 responder, fresh   3  IKEv1 responder, fresh (main and aggressive mode peers)
  4  IKEv2 responder over an established IKE SA: byte 1 picks the exchange, byte 2 the first
     inner payload type, the rest is the plaintext payload chain, protected with the SA's keys
The invariants are `tests/fuzz/harness.py`'s: only the package's ParseError or a protocol
answer, well-formed replies, no tunnel and bounded state for garbage. A broken invariant is
written to the findings directory (one file per distinct traceback) and the run goes on.

    nice -n 19 timeout 2100 python bench/fuzz_ike.py --seconds 1800 --work /tmp/ikefuzz
    python -m coverage run --include='xfrmctl/keying/*' bench/fuzz_ike.py \
        --replay /tmp/ikefuzz/corpus && python -m coverage report

`--replay DIR` runs every input of a corpus once (no atheris needed) for coverage figures.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from xfrmctl.keying.dh import Rng
    from xfrmctl.keying.message import IkeHeader
    from xfrmctl.keying.payloads import Payload
    from xfrmctl.keying.sk import SkKeys

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

MODES = 5
INNER_EXCHANGES = (34, 35, 36, 37)  # IKE_SA_INIT, IKE_AUTH, CREATE_CHILD_SA, INFORMATIONAL


class Targets:
    def __init__(self, findings: Path | None) -> None:
        from tests.fuzz import harness  # noqa: PLC0415

        self.h = harness
        self.findings = findings
        self.seen: set[str] = set()
        self.execs = 0
        self.inner: Any = None

    def established(self) -> Any:
        if self.inner is None or not self.inner.usable:
            self.inner = self.h.EstablishedV2()
        return self.inner

    def run(self, data: bytes) -> None:
        self.execs += 1
        if not data:
            return
        mode, rest = data[0] % MODES, data[1:]
        try:
            if mode == 0:
                self.h.decode_v2(rest)
            elif mode == 1:
                self.h.decode_v1(rest)
            elif mode == 2:
                self.h.feed(self.h.responder_v2(), rest)
            elif mode == 3:
                self.h.feed(self.h.responder_v1(), rest)
            elif len(rest) >= 2:
                exchange = INNER_EXCHANGES[rest[0] % len(INNER_EXCHANGES)]
                self.established().request(exchange, rest[1], rest[2:])
        except Exception:  # a finding: recorded once per distinct place, the run goes on
            self.record(data)

    def record(self, data: bytes) -> None:
        tb = traceback.format_exc()
        frames = traceback.extract_tb(sys.exc_info()[2])
        where = "|".join(f"{f.filename}:{f.lineno}" for f in frames[-3:])
        key = hashlib.sha256(where.encode()).hexdigest()[:12]
        if key in self.seen:
            return
        self.seen.add(key)
        print(f"FINDING {key}: {tb.splitlines()[-1]}", file=sys.stderr, flush=True)
        if self.findings is not None:
            self.findings.mkdir(parents=True, exist_ok=True)
            (self.findings / f"{key}.bin").write_bytes(data)
            (self.findings / f"{key}.txt").write_text(tb)


def _inner_seeds() -> list[bytes]:
    """Plaintext payload chains of real protected requests (child and IKE rekeys, deletes,
    liveness), recorded from an engine-against-engine run."""
    from tests.keying.ikev2 import conftest as v2net  # noqa: PLC0415
    from xfrmctl.keying import payloads as pl  # noqa: PLC0415
    from xfrmctl.keying import sk  # noqa: PLC0415

    seen: list[bytes] = []
    real = sk.protect

    def spy(header: IkeHeader, payloads: Sequence[Payload], keys: SkKeys, rng: Rng) -> bytes:
        if not header.flags & 0x20:  # requests only
            first, inner = pl.encode_payloads(payloads)
            seen.append(bytes([4, INNER_EXCHANGES.index(header.exchange_type), first]) + inner)
        return real(header, payloads, keys, rng)

    sk.protect = spy
    try:
        net = v2net.pair(seed="seeds")
        net.feed(net.a, net.a.engine.initiate("to-b", "net", net.now))
        net.run()
        (s,) = net.a.engine.sessions.values()
        net.feed(net.a, net.a.engine.rekey_child(next(iter(s.children)), net.now))
        net.run()
        net.feed(net.a, net.a.engine.liveness_check(s.ref, net.now))
        net.run()
        net.feed(net.a, net.a.engine.rekey_ike(s.ref, net.now))
        net.run()
        (s,) = net.a.engine.sessions.values()
        net.feed(net.a, net.a.engine.delete_child(next(iter(s.children)), net.now))
        net.run()
        net.feed(net.a, net.a.engine.delete_ike(s.ref, net.now))
        net.run()
    finally:
        sk.protect = real
    return seen


def write_seeds(directory: Path) -> int:
    from tests.fuzz import harness  # noqa: PLC0415

    directory.mkdir(parents=True, exist_ok=True)
    n = 0
    for f in harness.corpus_files():
        data = f.read_bytes()
        modes = (1, 3) if harness.ike_version(data) == 1 else (0, 2)
        for m in modes:
            (directory / f"{m}-{f.stem}").write_bytes(bytes([m]) + data)
            n += 1
    for i, seed in enumerate(_inner_seeds()):
        (directory / f"4-inner-{i:02d}").write_bytes(seed)
        n += 1
    return n


def replay(directory: Path) -> None:
    targets = Targets(None)
    files = sorted(p for p in directory.iterdir() if p.is_file())
    for p in files:
        targets.run(p.read_bytes())
    print(f"replayed {len(files)} inputs, {len(targets.seen)} distinct findings")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("--work", type=Path, default=Path("/tmp/ikefuzz"))
    ap.add_argument("--replay", type=Path)
    args, rest = ap.parse_known_args()
    if args.replay is not None:
        replay(args.replay)
        return
    import atheris  # noqa: PLC0415

    with atheris.instrument_imports(include=["xfrmctl"]):  # before anything imports xfrmctl
        import xfrmctl.keying.ikev1.engine  # noqa: PLC0415
        import xfrmctl.keying.ikev2.engine  # noqa: F401, PLC0415
    corpus = args.work / "corpus"
    seeded = write_seeds(corpus)
    targets = Targets(args.work / "findings")
    started = time.monotonic()
    print(f"seed corpus: {seeded} inputs in {corpus}", flush=True)
    argv = [sys.argv[0], *rest, str(corpus), f"-max_total_time={args.seconds}",
            "-max_len=4096", "-timeout=20", "-print_final_stats=1"]  # fmt: skip
    atheris.Setup(argv, targets.run)
    try:
        atheris.Fuzz()
    finally:
        took = time.monotonic() - started
        print(f"executions {targets.execs} in {took:.0f} s, {len(targets.seen)} findings",
              flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
