"""IKEv2 (RFC 7296) as a sans-IO state machine.

`Ikev2Engine` (all IKE SAs of the daemon) and `Ikev2Session` (one IKE SA) take datagrams and `now`,
and return actions (`actions.py`) for the daemon to execute. Nothing here touches sockets, clocks or
global randomness: time is passed in, randomness comes from an injected `rng(n) -> bytes`.
"""
