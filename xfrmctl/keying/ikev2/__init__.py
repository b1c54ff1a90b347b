"""IKEv2 (RFC 7296) as a sans-IO state machine.

`Ikev2Engine` (all IKE SAs of the daemon) and `Ikev2Session` (one IKE SA) take datagrams and `now`,
and return actions (`actions.py`) for the daemon to execute. Nothing here touches sockets, clocks or
global randomness: time is passed in, randomness comes from an injected `rng(n) -> bytes`.

How the daemon drives it (aioquic-style)::

    engine = Ikev2Engine(peers, rng=os.urandom, spi_allocator=..., wall_clock=...)
    actions = engine.initiate("gw1", "vpn1", now)            # establish-tunnels immediately
    actions = engine.acquire("gw1", "vpn1", now, local_ts=..., remote_ts=...)  # kernel ACQUIRE
    actions = engine.receive(datagram, local, remote, now)   # UDP 500/4500, non-ESP marker removed
    actions = engine.child_expired(spi, hard, now)           # kernel EXPIRE
    actions = engine.on_timer(now)                           # when engine.next_deadline() is due
    actions = engine.liveness_check(ike_sa_ref, now)         # DPD (xfrmctl.dpd decides when)
    actions = engine.peer_dead(ike_sa_ref, now)              # DPD's verdict: drop it, send nothing
    engine.last_authenticated_rx(ike_sa_ref)                 # DPD evidence, asked before probing
    engine.rekey_child / rekey_ike / delete_child / delete_ike  # operator commands

Actions: `Send` (transmit), `InstallChild` / `DeleteChild` (kernel SAs: install inbound before
outbound; a rekey's new SA always comes before the old one's delete), `IkeEstablished`,
`IkeRekeyed` (children now belong to the new IKE SA), `IkeFailed` / `IkeDeleted` / `ChildFailed`
(with a `Reason`), `PeerDead`, `LivenessResult`. `engine.counters` counts dropped and refused
packets by reason. NHTB: a child's `local_tunnel_addresses` are announced in the exchanges that
create or rekey it, and `InstallChild.peer_tunnel_addresses` reports the peer's (`tunnel_address`).

Modules: `settings` (typed engine configuration), `engine` (dispatch, cookies, half-open limits,
timer heap), `session` (one IKE SA: window, retransmission, task queue), one module per exchange
(`ike_init`, `ike_auth`, `child_create`, `ike_rekey`, `informational`), and the helpers `ts`
(traffic selectors, narrowing), `identity`, `proposals`, `cookies`, `msgid`, `retransmit`, `nat`,
`crypto` / `certauth` (keys and AUTH over the codec), `wire` (codec conversions),
`tunnel_address` (the NHTB notify in child exchanges).
"""
