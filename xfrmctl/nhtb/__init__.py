"""Next-hop tunnel binding (NHTB): many VPNs on one multipoint ``st0`` unit (spec §3.1).

Pure, sans-IO: the daemon feeds events in and applies the ops that come out.

* ``table``: ``NhtbTable``, the Static (configured) and Auto (learned) bindings, and the records
  of ``show security ipsec next-hop-tunnels``.
* ``planner``: routes + table + VPN states -> the exact XFRM policy set (``plan``), and the
  batched ``KernelPort`` ops that take the installed set there (``diff``).
* ``sync``: ``NhtbSync``, the daemon's single entry point: events in, batched ops out.
* ``notify``: the private-use IKEv2 notify carrying a peer's tunnel-interface address.

Design and the choice of per-prefix policies: ``docs/nhtb.md``.
"""
