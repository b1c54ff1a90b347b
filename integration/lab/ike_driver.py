"""A minimal UDP driver for the IKEv1 engine (no daemon): the lab's interop harness.

Run inside a namespace as `python -P ike_driver.py CONFIG.json EVENTS.jsonl` (-P: this folder holds
a module named xfrmctl). It binds UDP 500 and
4500 on the configured address, feeds every datagram to `Ikev1Engine`, sends what the engine asks
(adding/stripping the non-ESP marker on 4500), runs its timers, and appends every other action to
the events file as one JSON object per line. Child keys are written in hex so the test can compare
them with the keys charon logs; the events file lives only in the lab's scratch folder.
"""

from __future__ import annotations

import json
import os
import select
import socket
import sys
import time
from dataclasses import fields, is_dataclass
from pathlib import Path
from typing import Any, TextIO

from xfrmctl.keying.constants import ProtocolId
from xfrmctl.keying.ikev1.engine import Ikev1Engine
from xfrmctl.keying.ikev1.settings import ExchangeMode, Ikev1PeerConfig, Phase1Proposal
from xfrmctl.keying.ikev2.actions import Action, Send
from xfrmctl.keying.ikev2.settings import ChildConfig, PskAuth
from xfrmctl.keying.ikev2.ts import TrafficSelector
from xfrmctl.keying.transforms import by_name, parse_proposal

NON_ESP_MARKER = b"\x00\x00\x00\x00"


def _jsonable(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.hex()
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _jsonable(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in value]
    if isinstance(value, int | float | str | bool) or value is None:
        return value
    return str(value)


def peer_from(cfg: dict[str, Any]) -> Ikev1PeerConfig:
    child = ChildConfig(
        name="net",
        local_ts=(TrafficSelector.from_network(cfg.get("local_ts", "0.0.0.0/0")),),
        remote_ts=(TrafficSelector.from_network(cfg.get("remote_ts", "0.0.0.0/0")),),
        proposals=(parse_proposal(cfg["esp"], ProtocolId.ESP),),
        pfs_group=by_name(cfg["pfs"]) if cfg.get("pfs") else None,
        lifetime_seconds=int(cfg.get("child_lifetime", 3600)),
    )
    return Ikev1PeerConfig(
        name="vpn",
        local_address=cfg["local"],
        remote_address=cfg["remote"],
        auth=PskAuth(cfg["psk"].encode()),
        proposals=(Phase1Proposal.parse(cfg["ike"], int(cfg.get("ike_lifetime", 28800))),),
        mode=ExchangeMode(cfg.get("mode", "main")),
        children=(child,),
    )


def main(config_path: str, events_path: str) -> int:
    cfg = json.loads(Path(config_path).read_text())
    conf = peer_from(cfg)
    engine = Ikev1Engine([conf], os.urandom)
    socks: dict[int, socket.socket] = {}
    for port in (500, 4500):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((conf.local_address, port))
        socks[port] = s
    with Path(events_path).open("a", buffering=1) as events:
        return _run(engine, conf, cfg, socks, events)


def _run(
    engine: Ikev1Engine,
    conf: Ikev1PeerConfig,
    cfg: dict[str, Any],
    socks: dict[int, socket.socket],
    events: TextIO,
) -> int:
    def emit(actions: list[Action]) -> None:
        for act in actions:
            if isinstance(act, Send):
                data = act.data
                if act.local[1] == 4500:
                    data = NON_ESP_MARKER + data
                socks[act.local[1]].sendto(data, act.remote)
            else:
                record = {"type": type(act).__name__, **_jsonable(act)}
                events.write(json.dumps(record) + "\n")

    events.write(json.dumps({"type": "ready"}) + "\n")
    if cfg.get("initiate"):
        emit(engine.initiate("vpn", "net", time.time()))
    deadline = time.monotonic() + float(cfg.get("run_seconds", 300))
    while time.monotonic() < deadline:
        nxt = engine.next_deadline()
        wait = 1.0 if nxt is None else max(0.0, min(1.0, nxt - time.time()))
        ready, _, _ = select.select(list(socks.values()), [], [], wait)
        for s in ready:
            data, addr = s.recvfrom(65535)
            port = s.getsockname()[1]
            if port == 4500:
                if not data.startswith(NON_ESP_MARKER):
                    continue  # ESP or a keepalive, not IKE
                data = data[4:]
            emit(engine.receive(data, (conf.local_address, port), (addr[0], addr[1]), time.time()))
        emit(engine.on_timer(time.time()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
