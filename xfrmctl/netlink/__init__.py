"""The daemon's road to the kernel: XFRM codec, async netlink socket, links/routes, KernelPort.

* ``codec``: typed XFRM messages (``XfrmState``, ``XfrmPolicy``, ``XfrmAcquire``...) and their
  exact wire layout; malformed bytes raise ``XfrmParseError`` only.
* ``nlsocket``: ``XfrmSocket``, asyncio request/ACK, batched writes, dumps and multicast events,
  opened inside a named network namespace by a short-lived ``setns`` thread.
* ``port``: the ``KernelPort`` protocol the daemon programs against, its filters and batch
  operations, and how ownership is recognised after a crash (reqid range and priority band in
  ``constants``; routes carry protocol ``RTPROT_XFRMCTL`` = 88).
* ``kernel``: ``NetlinkKernel``, the KernelPort on the real kernel; ``links`` does xfrm
  interfaces, VTI, addresses and routes through pyroute2.
* ``fake``: ``FakeKernel``, the in-memory KernelPort with the kernel's rules, for tests.
"""
