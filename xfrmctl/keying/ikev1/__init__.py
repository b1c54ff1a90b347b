"""IKEv1 (RFC 2408/2409) as a sans-IO engine beside the IKEv2 one.

The daemon holds one `Ikev1Engine` next to its `Ikev2Engine` and dispatches each datagram by the
ISAKMP header's version octet (0x10 here, 0x20 for IKEv2). The driving API and the actions are the
IKEv2 engine's (`xfrmctl.keying.ikev2.actions`): `receive(datagram, local, remote, now)`,
`initiate(peer, child, now)`, `acquire(...)`, `child_expired(spi, hard, now)`, `rekey_child`,
`delete_child`, `rekey_ike`, `delete_ike`, `liveness_check(ref, now)` (R-U-THERE, RFC 3706),
`next_deadline()` and `on_timer(now)`.

Differences the daemon should know:

* Phase-2 SAs outlive their ISAKMP SA (spec §3.5): `IkeDeleted`/`IkeRekeyed` never imply a
  `DeleteChild`; a phase-2 rekey starts a new phase 1 when none is up. `PeerDead` (DPD give-up)
  removes everything of that peer.
* Configuration is `settings.Ikev1PeerConfig` (exchange mode, phase-1 suites with lifetimes,
  NAT-T, DPD vendor ID); children, authentication and identities are the IKEv2 types.
* `IkeEstablished.integ` is the HMAC that matches the negotiated phase-1 hash (IKEv1 has no
  separate integrity transform); the exchange mode is the peer configuration's `mode`.
"""

from xfrmctl.keying.ikev1.engine import EngineError, Ikev1Engine
from xfrmctl.keying.ikev1.settings import ExchangeMode, Ikev1PeerConfig, Phase1Proposal

__all__ = ["EngineError", "ExchangeMode", "Ikev1Engine", "Ikev1PeerConfig", "Phase1Proposal"]
