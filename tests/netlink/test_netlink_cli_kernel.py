"""``xfrmctl kernel sa`` / ``kernel policy``: exact table lines, JSON, and keys only on request."""

from __future__ import annotations

import json
from typing import Any

import pytest
from typer.testing import CliRunner

from xfrmctl.cli import kernel as kernel_cli
from xfrmctl.cli.main import app
from xfrmctl.netlink.codec import (
    AeadAlgo,
    Algo,
    AuthTruncAlgo,
    Encap,
    LifetimeCur,
    Mark,
    ReplayEsn,
    Selector,
    Tmpl,
    XfrmPolicy,
    XfrmState,
)
from xfrmctl.netlink.port import PolicyFilter, SaFilter

SAS = [
    XfrmState(
        daddr="192.0.2.2",
        spi=0x1001,
        saddr="192.0.2.1",
        reqid=7,
        if_id=1,
        mark=Mark(5, 0xFF),
        flags=128,
        replay_esn=ReplayEsn.for_window(1024),
        aead=AeadAlgo("rfc4106(gcm(aes))", bytes.fromhex("00" * 19 + "ff"), 128),
        encap=Encap(2, 4500, 4500),
        curlft=LifetimeCur(1200, 10, 0, 0),
    ),
    XfrmState(
        daddr="2001:db8::1",
        spi=0x2002,
        saddr="2001:db8::2",
        family=10,
        reqid=8,
        mode=0,
        crypt=Algo("cbc(aes)", bytes(16)),
        auth=Algo("hmac(sha256)", bytes(32)),
        auth_trunc=AuthTruncAlgo("hmac(sha256)", bytes(32), 128),
    ),
]
POLICIES = [
    XfrmPolicy(
        Selector.between("198.18.1.0/24", "198.18.2.0/24"),
        dir=1,
        priority=100,
        index=9,
        if_id=1,
        tmpls=(Tmpl(daddr="192.0.2.2", saddr="192.0.2.1", reqid=7),),
    ),
    XfrmPolicy(Selector.between("0.0.0.0/0", "0.0.0.0/0"), dir=0, action=1, index=16),
]


def test_sa_table() -> None:
    assert kernel_cli.render_sa_table(SAS).splitlines() == [
        "Source       Destination  SPI         Proto  Mode       Reqid  If-id  Mark      "
        "Algorithms                     Bytes  Packets",
        "192.0.2.1    192.0.2.2    0x00001001  esp    tunnel     7      1      0x5/0xff  "
        "rfc4106(gcm(aes))/160/128      1200   10",
        "2001:db8::2  2001:db8::1  0x00002002  esp    transport  8      -      -         "
        "cbc(aes)/128 hmac(sha256)/128  0      0",
        "2 security associations",
    ]


def test_sa_table_keys_only_on_request() -> None:
    assert "ff" not in kernel_cli.render_sa_table(SAS).split("\n", 1)[1].replace("0xff", "")
    lines = kernel_cli.render_sa_table(SAS, show_keys=True).splitlines()
    assert lines[3:8] == [
        "keys of 192.0.2.2 spi 0x00001001:",
        "  aead rfc4106(gcm(aes)) 0x" + "00" * 19 + "ff",
        "keys of 2001:db8::1 spi 0x00002002:",
        "  enc cbc(aes) 0x" + "00" * 16,
        "  auth hmac(sha256) 0x" + "00" * 32,
    ]


def test_policy_table() -> None:
    assert kernel_cli.render_policy_table(POLICIES).splitlines() == [
        "Source         Destination    Dir  Priority  Action  If-id  Mark  Index  Template",
        "198.18.1.0/24  198.18.2.0/24  out  100       allow   1      -     9      "
        "esp tunnel 192.0.2.1->192.0.2.2 reqid 7",
        "0.0.0.0/0      0.0.0.0/0      in   0         block   -      -     16     -",
        "2 policies",
    ]


@pytest.fixture
def fake_reads(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    seen: list[Any] = []

    async def read_sas(netns: str | None, f: SaFilter) -> list[XfrmState]:
        seen.append((netns, f))
        return [s for s in SAS if f.accepts(s)]

    async def read_policies(netns: str | None, f: PolicyFilter) -> list[XfrmPolicy]:
        seen.append((netns, f))
        return [p for p in POLICIES if f.accepts(p)]

    monkeypatch.setattr(kernel_cli, "read_sas", read_sas)
    monkeypatch.setattr(kernel_cli, "read_policies", read_policies)
    return seen


def test_sa_json_hides_keys(fake_reads: list[Any]) -> None:
    result = CliRunner().invoke(app, ["kernel", "sa", "--json", "--netns", "lab1"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert fake_reads[0][0] == "lab1"
    assert data[0]["aead"] == {"name": "rfc4106(gcm(aes))", "key_bits": 160, "icv_bits": 128}
    assert (data[0]["replay_window"], data[0]["flags"], data[0]["mark"]) == (
        1024,
        ["esn"],
        {"value": 5, "mask": 255},
    )
    assert data[0]["encap"] == {"type": 2, "sport": 4500, "dport": 4500}
    assert data[1]["auth"] == {"name": "hmac(sha256)", "key_bits": 256, "trunc_bits": 128}
    assert data[0]["lifetime"]["hard_bytes"] is None


def test_sa_json_with_keys_and_filter(fake_reads: list[Any]) -> None:
    result = CliRunner().invoke(app, ["kernel", "sa", "--json", "--show-keys", "--reqid", "8"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [d["spi"] for d in data] == ["0x00002002"]
    assert data[0]["enc"]["key"] == "00" * 16


def test_policy_command(fake_reads: list[Any]) -> None:
    result = CliRunner().invoke(app, ["kernel", "policy", "--json", "--if-id", "1"])
    assert result.exit_code == 0, result.output
    assert [p["dir"] for p in json.loads(result.stdout)] == ["out"]
    result = CliRunner().invoke(app, ["kernel", "policy"])
    assert result.stdout.splitlines()[-1] == "2 policies"
