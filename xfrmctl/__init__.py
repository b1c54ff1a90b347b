"""xfrmctl: Junos SRX-style route-based IPsec for Linux routers.

A sans-IO IKE keying core (``keying``), liveness timers (``dpd``) and next-hop tunnel binding
(``nhtb``) are driven by an asyncio daemon (``daemon``) that programs the kernel's XFRM layer
through ``netlink``. Operators configure it in YAML or Junos syntax (``config``) and read its
state with Junos-style ``show`` commands (``cli``).
"""

__version__ = "0.1.0"
