"""The daemon's road to the kernel: XFRM codec, async netlink socket, links/routes, KernelPort."""
