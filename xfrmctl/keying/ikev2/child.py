"""Child SAs as the engine tracks them, and their turning into InstallChild/DeleteChild actions."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from xfrmctl.keying.constants import ProtocolId
from xfrmctl.keying.ikev2.actions import DeleteChild, IkeSaRef, InstallChild, Lifetime, Reason
from xfrmctl.keying.ikev2.proposals import Chosen
from xfrmctl.keying.ikev2.settings import ChildConfig, Mode, Rng
from xfrmctl.keying.ikev2.ts import TrafficSelector
from xfrmctl.nhtb.notify import TunnelAddress


class ChildState(Enum):
    INSTALLED = "installed"
    REKEYING = "rekeying"  # our CREATE_CHILD_SA with REKEY_SA for it is outstanding
    REKEYED = "rekeyed"  # replaced; waiting for its delete
    DELETING = "deleting"  # our delete for it is outstanding


@dataclass
class ChildSa:
    config: ChildConfig
    unique_id: int
    reqid: int
    spi_in: int
    spi_out: int
    chosen: Chosen
    mode: Mode
    local_ts: tuple[TrafficSelector, ...]
    remote_ts: tuple[TrafficSelector, ...]
    initiator: bool  # we initiated the exchange that created it
    created: float
    rekey_at: float | None
    expire_at: float
    soft_seconds: int
    soft_bytes: int
    hard_bytes: int
    dh_group: int | None
    encr_key_in: bytes = field(repr=False, default=b"")
    integ_key_in: bytes = field(repr=False, default=b"")
    encr_key_out: bytes = field(repr=False, default=b"")
    integ_key_out: bytes = field(repr=False, default=b"")
    state: ChildState = ChildState.INSTALLED
    rekey_of: int | None = None
    peer_refuses_tfc: bool = False
    peer_tunnel_addresses: tuple[TunnelAddress, ...] = ()  # learned in its creating exchange

    @property
    def name(self) -> str:
        return self.config.name


def child_lifetimes(config: ChildConfig, rng: Rng) -> tuple[int, int, int, int]:
    """(soft seconds, hard seconds, soft bytes, hard bytes); soft = hard minus margin and jitter."""
    hard = config.lifetime_seconds
    jitter = int.from_bytes(rng(2), "big") / 65535.0 * config.rekey_jitter
    soft = max(1, int(hard * (1.0 - config.rekey_margin - jitter)))
    hard_bytes = config.lifetime_kilobytes * 1024
    soft_bytes = int(hard_bytes * (1.0 - config.rekey_margin - jitter)) if hard_bytes else 0
    return soft, hard, soft_bytes, hard_bytes


def install_action(
    child: ChildSa, ike: IkeSaRef, *, local: str, remote: str, encap: tuple[int, int] | None
) -> InstallChild:
    encr = child.chosen.encr
    assert encr is not None
    return InstallChild(
        ike_sa=ike,
        child=child.name,
        unique_id=child.unique_id,
        reqid=child.reqid,
        protocol=int(ProtocolId.ESP),
        mode=child.mode.value,
        spi_in=child.spi_in,
        spi_out=child.spi_out,
        local=local,
        remote=remote,
        encr=encr,
        integ=child.chosen.integ,
        encr_key_in=child.encr_key_in,
        integ_key_in=child.integ_key_in,
        encr_key_out=child.encr_key_out,
        integ_key_out=child.integ_key_out,
        esn=child.chosen.esn_enabled,
        replay_window=child.config.replay_window,
        local_ts=child.local_ts,
        remote_ts=child.remote_ts,
        if_id=child.config.if_id,
        encap=encap,
        lifetime=Lifetime(
            soft_seconds=child.soft_seconds,
            hard_seconds=child.config.lifetime_seconds,
            soft_bytes=child.soft_bytes,
            hard_bytes=child.hard_bytes,
        ),
        initiator=child.initiator,
        dh_group=child.dh_group,
        tfc_padding=child.config.tfc_padding and not child.peer_refuses_tfc,
        rekey_of=child.rekey_of,
        peer_tunnel_addresses=child.peer_tunnel_addresses,
    )


def delete_action(
    child: ChildSa, ike: IkeSaRef, *, local: str, remote: str, reason: Reason
) -> DeleteChild:
    return DeleteChild(
        ike_sa=ike,
        child=child.name,
        unique_id=child.unique_id,
        protocol=int(ProtocolId.ESP),
        spi_in=child.spi_in,
        spi_out=child.spi_out,
        local=local,
        remote=remote,
        reason=reason,
    )
