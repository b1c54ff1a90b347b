"""TCP MSS clamping (`security flow tcp-mss ipsec-vpn`): the exact nftables table, installed at
start, replaced or removed by a reload, removed at shutdown and by a start after a crash; and
the same script accepted by the real nft in a scratch network namespace."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from daemon_harness import (  # type: ignore[import-not-found, unused-ignore]
    VPN1,
    A,
    B,
    Wire,
    config,
    make_daemon,
    seed,
)

from xfrmctl.daemon.tcp_mss import MssClamp, NftError, install_script, removal_script

VPN2 = {"unit": 1, "address": "198.18.255.5/30", "route": "198.18.4.0/24",
        "proxy": ("198.18.3.0/24", "198.18.4.0/24")}  # fmt: skip

EXPECTED = """\
table inet xfrmctl_tcp_mss {}
delete table inet xfrmctl_tcp_mss
table inet xfrmctl_tcp_mss {
\tchain forward {
\t\ttype filter hook forward priority mangle; policy accept;
\t\toifname { "st0.0", "st0.1" } tcp flags & (syn | rst) == syn tcp option maxseg size > 1350 \
tcp option maxseg size set 1350
\t\tiifname { "st0.0", "st0.1" } tcp flags & (syn | rst) == syn tcp option maxseg size > 1350 \
tcp option maxseg size set 1350
\t}
\tchain output {
\t\ttype filter hook output priority mangle; policy accept;
\t\toifname { "st0.0", "st0.1" } tcp flags & (syn | rst) == syn tcp option maxseg size > 1350 \
tcp option maxseg size set 1350
\t}
\tchain input {
\t\ttype filter hook input priority mangle; policy accept;
\t\tiifname { "st0.0", "st0.1" } tcp flags & (syn | rst) == syn tcp option maxseg size > 1350 \
tcp option maxseg size set 1350
\t}
}
"""
REMOVE = "table inet xfrmctl_tcp_mss {}\ndelete table inet xfrmctl_tcp_mss\n"


class FakeNft:
    def __init__(self, fail: bool = False) -> None:
        self.scripts: list[str] = []
        self.fail = fail

    async def run(self, script: str) -> None:
        self.scripts.append(script)
        if self.fail:
            raise NftError("Error: Could not process rule: Operation not permitted")


def with_mss(text: str, mss: int | None) -> str:
    data = json.loads(text)
    if mss is not None:
        data["security"]["flow"] = {"tcp-mss": {"ipsec-vpn": {"mss": mss}}}
    return json.dumps(data)


def test_install_script_is_exact() -> None:
    assert install_script(MssClamp(1350, ("st0.0", "st0.1"))) == EXPECTED
    assert removal_script() == REMOVE


def test_daemon_installs_replaces_and_removes_the_table(tmp_path: Path) -> None:
    async def main() -> None:
        text = config(local=A, remote=B, vpns={"vpn1": VPN1, "vpn2": VPN2}, establish="on-traffic")
        daemon = make_daemon(tmp_path, "a", A, with_mss(text, 1350), Wire())
        nft = FakeNft()
        daemon.nft = nft
        await seed(daemon, A)
        await daemon.start()
        assert nft.scripts == [REMOVE, EXPECTED]  # the stale table of a crash goes first
        (tmp_path / "a.yaml").write_text(with_mss(text, 1200))
        await daemon.reload()
        assert nft.scripts[2:] == [EXPECTED.replace("1350", "1200")]
        (tmp_path / "a.yaml").write_text(text)
        await daemon.reload()
        assert nft.scripts[3:] == [REMOVE]
        (tmp_path / "a.yaml").write_text(with_mss(text, 1350))
        await daemon.reload()
        await daemon.shutdown()
        assert nft.scripts[4:] == [EXPECTED, REMOVE]

    asyncio.run(main())


def test_an_nft_failure_is_logged_and_the_daemon_runs(tmp_path: Path) -> None:
    async def main() -> None:
        text = config(local=A, remote=B, vpns={"vpn1": VPN1}, establish="on-traffic")
        daemon = make_daemon(tmp_path, "a", A, with_mss(text, 1350), Wire())
        daemon.nft = FakeNft(fail=True)
        await seed(daemon, A)
        await daemon.start()
        assert daemon._mss_clamp is None  # not installed: retried by the next reload
        await daemon.shutdown()

    asyncio.run(main())


NFT = shutil.which("nft")
UNSHARE = shutil.which("unshare")


@pytest.mark.skipif(
    os.geteuid() != 0 or NFT is None or UNSHARE is None, reason="needs root, nft and unshare"
)
def test_real_nft_accepts_the_table_in_a_scratch_namespace() -> None:
    assert NFT is not None and UNSHARE is not None
    script = install_script(MssClamp(1350, ("st0.0", "st0.1")))
    shell = f"{NFT} -f - && {NFT} list table inet xfrmctl_tcp_mss"
    listed = subprocess.run([UNSHARE, "-n", "sh", "-c", shell], input=script + script,
                            capture_output=True, text=True, timeout=30, check=True)  # fmt: skip
    rule = (
        '\t\t{} {{ "st0.0", "st0.1" }} tcp flags syn / syn,rst tcp option maxseg size > 1350 '
        "tcp option maxseg size set 1350\n"
    )
    assert listed.stdout == (
        "table inet xfrmctl_tcp_mss {\n"
        "\tchain forward {\n"
        "\t\ttype filter hook forward priority mangle; policy accept;\n"
        + rule.format("oifname")
        + rule.format("iifname")
        + "\t}\n\n"
        "\tchain output {\n"
        "\t\ttype filter hook output priority mangle; policy accept;\n"
        + rule.format("oifname")
        + "\t}\n\n"
        "\tchain input {\n"
        "\t\ttype filter hook input priority mangle; policy accept;\n"
        + rule.format("iifname")
        + "\t}\n"
        "}\n"
    )
