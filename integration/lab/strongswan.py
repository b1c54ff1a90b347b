"""A strongSwan (charon) peer in a network namespace, configured from Python data.

Each instance runs its own charon in a private mount namespace (tmpfs /run) with its own vici
socket and log, so several peers coexist in one VM. `swanctl --list-sas --raw` is parsed into
plain dicts so tests can assert on SA states and SPIs.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from integration.lab.netns import LabError, Netns, run
from integration.lab.procs import ProcessRegistry, Started


def render_conf(data: Mapping[str, Any], indent: int = 0) -> str:
    """Render nested dicts in strongSwan's config syntax (swanctl.conf / strongswan.conf)."""
    pad = "  " * indent
    out: list[str] = []
    for key, value in data.items():
        if value is None:  # a bare statement such as `include PATH`
            out.append(f"{pad}{key}")
        elif isinstance(value, Mapping):
            out.append(f"{pad}{key} {{")
            out.append(render_conf(value, indent + 1))
            out.append(f"{pad}}}")
        elif isinstance(value, (list, tuple)):
            out.append(f"{pad}{key} = {','.join(str(v) for v in value)}")
        else:
            out.append(f"{pad}{key} = {value}")
    return "\n".join(line for line in out if line)


_TOKEN = re.compile(r"\s*(\{|\}|\[|\]|[^\s{}\[\]=]+=(?:[^\s{}\[\]]*)|[^\s{}\[\]]+)")


def parse_raw(text: str) -> list[dict[str, Any]]:
    """Parse `swanctl --raw` output: one `NAME {..}` message per line, lists as `key=[a b]`."""
    messages: list[dict[str, Any]] = []
    for raw_line in text.splitlines():
        line = raw_line.strip()
        if not line:
            continue
        tokens = _TOKEN.findall(line)
        pos = 0
        # A message line starts with its name words (e.g. "list-sa event") before '{'.
        while pos < len(tokens) and tokens[pos] != "{":
            pos += 1
        if pos >= len(tokens):
            continue
        body, pos = _parse_section(tokens, pos + 1)
        messages.append(body)
    return messages


def _parse_section(tokens: list[str], pos: int) -> tuple[dict[str, Any], int]:
    out: dict[str, Any] = {}
    while pos < len(tokens):
        tok = tokens[pos]
        if tok == "}":
            return out, pos + 1
        if "=" in tok:
            key, _, value = tok.partition("=")
            if value == "" and pos + 1 < len(tokens) and tokens[pos + 1] == "[":
                items: list[str] = []
                pos += 2
                while pos < len(tokens) and tokens[pos] != "]":
                    items.append(tokens[pos])
                    pos += 1
                out[key] = items
                pos += 1
            else:
                out[key] = value
                pos += 1
        elif pos + 1 < len(tokens) and tokens[pos + 1] == "{":
            sub, pos = _parse_section(tokens, pos + 2)
            out[tok] = sub
        else:
            raise LabError(f"unexpected token {tok!r} in swanctl output")
    raise LabError("unterminated section in swanctl output")


@dataclass
class StrongSwan:
    """One charon instance in `ns`, its files under `workdir`."""

    ns: Netns
    workdir: Path
    procs: ProcessRegistry
    connections: dict[str, Any] = field(default_factory=dict)
    secrets: dict[str, Any] = field(default_factory=dict)
    process: Started | None = None
    log_levels: dict[str, int] = field(default_factory=lambda: {"ike": 2, "knl": 2, "cfg": 2})
    charon_options: dict[str, Any] = field(default_factory=dict)  # more strongswan.conf charon.*

    @property
    def vici(self) -> str:
        return f"unix://{self.workdir}/charon.vici"

    @property
    def log(self) -> Path:
        return self.workdir / "charon.log"

    def write_config(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        conf = {
            "charon": {
                "load_modular": "yes",
                "install_routes": "no",
                "plugins": {
                    "include /etc/strongswan.d/charon/*.conf": None,
                    "vici": {"socket": self.vici},
                },
                "filelog": {
                    "lab": {
                        "path": str(self.log),
                        "time_format": "%T",
                        "default": 1,
                        "flush_line": "yes",  # tests read the log while charon runs
                        **self.log_levels,
                    }
                },
                **self.charon_options,
            }
        }
        (self.workdir / "strongswan.conf").write_text(render_conf(conf) + "\n")
        swanctl = {"connections": self.connections, "secrets": self.secrets}
        (self.workdir / "swanctl.conf").write_text(render_conf(swanctl) + "\n")

    def start(self, wait: float = 20.0) -> None:
        self.write_config()
        argv = self.ns.exec_argv(
            [
                "unshare",
                "-m",
                "sh",
                "-c",
                "mount -t tmpfs none /run && "
                f"STRONGSWAN_CONF={self.workdir}/strongswan.conf exec /usr/lib/ipsec/charon",
            ]
        )
        self.process = self.procs.start(
            f"charon-{self.ns.name}", argv, self.workdir / "charon.stdout"
        )
        deadline = time.monotonic() + wait
        while not (self.workdir / "charon.vici").exists():
            if self.process.proc.poll() is not None or time.monotonic() > deadline:
                raise LabError(
                    f"charon in {self.ns.name} did not start:\n"
                    + self.process.log.read_text(errors="replace")[-2000:]
                )
            time.sleep(0.2)

    def swanctl(self, *args: str, check: bool = True, timeout: float = 60.0) -> str:
        proc = run(["swanctl", *args, "--uri", self.vici], check=check, timeout=timeout)
        return proc.stdout

    def load(self) -> None:
        self.write_config()
        self.swanctl("--load-all", "--noprompt", "--file", str(self.workdir / "swanctl.conf"))

    def initiate(self, child: str, timeout: int = 60) -> str:
        return self.swanctl(
            "--initiate", "--child", child, "--timeout", str(timeout), timeout=timeout + 10
        )

    def list_sas(self) -> dict[str, Any]:
        """IKE SAs by connection name, each with its `child-sas` dict."""
        sas: dict[str, Any] = {}
        for message in parse_raw(self.swanctl("--list-sas", "--raw")):
            sas.update(message)
        return sas

    def wait_established(self, conn: str, child: str, timeout: float = 60.0) -> dict[str, Any]:
        """Poll until `conn` is ESTABLISHED with an INSTALLED child named `child`."""
        deadline = time.monotonic() + timeout
        last: dict[str, Any] = {}
        while time.monotonic() < deadline:
            last = self.list_sas()
            ike = last.get(conn)
            if ike and ike.get("state") == "ESTABLISHED":
                for sa in ike.get("child-sas", {}).values():
                    if sa.get("name") == child and sa.get("state") == "INSTALLED":
                        return dict(ike)
            time.sleep(0.5)
        raise LabError(f"{conn}/{child} not established in {self.ns.name} after {timeout}s: {last}")


LAB_PSK = "lab-only-secret-0123456789"


def route_based_connection(
    me: str,
    peer: str,
    *,
    start: bool,
    proposals: str = "aes256gcm16-prfsha256-x25519",
    esp_proposals: str = "aes256gcm16-x25519",
    if_id: int = 1,
    version: int = 2,
    aggressive: bool = False,
) -> dict[str, Any]:
    """A swanctl connection `vpn` with child `net`: PSK, 0/0 selectors, xfrm interface if_id."""
    return {
        "vpn": {
            "version": version,
            **({"aggressive": "yes"} if aggressive else {}),
            "local_addrs": me,
            "remote_addrs": peer,
            "proposals": proposals,
            "if_id_in": if_id,
            "if_id_out": if_id,
            "local": {"auth": "psk", "id": me},
            "remote": {"auth": "psk", "id": peer},
            "children": {
                "net": {
                    "local_ts": "0.0.0.0/0",
                    "remote_ts": "0.0.0.0/0",
                    "esp_proposals": esp_proposals,
                    "start_action": "start" if start else "none",
                }
            },
        }
    }


def psk_secrets(psk: str = LAB_PSK) -> dict[str, Any]:
    return {"ike-1": {"secret": psk}}
