"""TCP MSS clamping on the tunnel devices (Junos `security flow tcp-mss ipsec-vpn mss N`).

The kernel has no per-SA MSS setting, so the daemon owns one nftables table, `inet
xfrmctl_tcp_mss`, whose rules lower the MSS option of TCP SYN and SYN-ACK segments entering or
leaving an st0 device to N (never raising it). The table is replaced as a whole in one `nft -f`
transaction, so a reload never leaves a half-written rule set, and deleted at shutdown and by a
start after a crash. Policy-based VPNs have no device and are not clamped.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from xfrmctl.config.model import Config

TABLE = "xfrmctl_tcp_mss"
FAMILY = "inet"  # one table for IPv4 and IPv6 inner traffic
NFT_TIMEOUT_SECONDS = 10.0

# (chain, netfilter hook, which device names the rule matches)
_CHAINS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("forward", ("oifname", "iifname")),  # routed traffic into and out of a tunnel
    ("output", ("oifname",)),  # connections this host opens through a tunnel
    ("input", ("iifname",)),  # connections to this host arriving through a tunnel
)


class NftError(RuntimeError):
    """nft refused or could not run; the message is its error output."""


class NftPort(Protocol):
    """Runs an nft script as one transaction (`nft -f -`)."""

    async def run(self, script: str) -> None: ...


@dataclass(frozen=True)
class MssClamp:
    mss: int
    devices: tuple[str, ...]


def clamp_for(config: Config) -> MssClamp | None:
    """The clamp the configuration asks for; None without tcp-mss or without st0 units."""
    if config.tcp_mss_ipsec_vpn is None or not config.st0_units:
        return None
    devices = tuple(unit.name for unit in config.st0_units.values())
    return MssClamp(config.tcp_mss_ipsec_vpn, devices)


def _rule(match: str, devices: Sequence[str], mss: int) -> str:
    names = ", ".join(f'"{d}"' for d in devices)
    return (
        f"{match} {{ {names} }} tcp flags & (syn | rst) == syn "
        f"tcp option maxseg size > {mss} tcp option maxseg size set {mss}"
    )


def removal_script() -> str:
    """Deletes the table; creating it first makes the delete succeed when it is absent."""
    return f"table {FAMILY} {TABLE} {{}}\ndelete table {FAMILY} {TABLE}\n"


def install_script(clamp: MssClamp) -> str:
    """The whole table, replacing any previous one in the same transaction."""
    lines = [removal_script().rstrip("\n"), f"table {FAMILY} {TABLE} {{"]
    for chain, matches in _CHAINS:
        lines.append(f"\tchain {chain} {{")
        lines.append(f"\t\ttype filter hook {chain} priority mangle; policy accept;")
        lines.extend(f"\t\t{_rule(m, clamp.devices, clamp.mss)}" for m in matches)
        lines.append("\t}")
    lines.append("}")
    return "\n".join(lines) + "\n"


class NftCommand:
    """The `nft` binary, fed the script on stdin."""

    def __init__(self, binary: str = "nft") -> None:
        self.binary = binary

    async def run(self, script: str) -> None:
        try:
            proc = await asyncio.create_subprocess_exec(
                self.binary, "-f", "-",
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )  # fmt: skip
        except OSError as exc:
            raise NftError(f"{self.binary}: {exc.strerror}") from None
        try:
            _, err = await asyncio.wait_for(proc.communicate(script.encode()), NFT_TIMEOUT_SECONDS)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise NftError(f"{self.binary} did not finish in {NFT_TIMEOUT_SECONDS:.0f} s") from None
        if proc.returncode != 0:
            raise NftError(err.decode(errors="replace").strip() or f"exit {proc.returncode}")
