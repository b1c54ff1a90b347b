"""Numeric values from the kernel's ``include/uapi/linux/xfrm.h`` (and a few from rtnetlink/in.h).

Names follow the header so a reader can grep the kernel for them. Values were checked against
the header as vendored by strongSwan (2025) and the layouts against x86_64 struct sizes.
"""

from __future__ import annotations

import enum
import socket

NETLINK_XFRM = 6
XFRM_INF = 2**64 - 1

AF_UNSPEC = 0
AF_INET = int(socket.AF_INET)
AF_INET6 = int(socket.AF_INET6)

IPPROTO_ESP = 50
IPPROTO_AH = 51
IPPROTO_COMP = 108

UDP_ENCAP_ESPINUDP_NON_IKE = 1
UDP_ENCAP_ESPINUDP = 2

# Netlink header flags and control messages (linux/netlink.h).
NLM_F_REQUEST = 0x01
NLM_F_MULTI = 0x02
NLM_F_ACK = 0x04
NLM_F_ECHO = 0x08
NLM_F_ROOT = 0x100
NLM_F_MATCH = 0x200
NLM_F_DUMP = NLM_F_ROOT | NLM_F_MATCH
NLM_F_REPLACE = 0x100
NLM_F_EXCL = 0x200
NLM_F_CREATE = 0x400
NLM_F_CAPPED = 0x100
NLM_F_ACK_TLVS = 0x200
NLMSG_NOOP = 1
NLMSG_ERROR = 2
NLMSG_DONE = 3
NLMSG_OVERRUN = 4
NLMSGERR_ATTR_MSG = 1
NLMSGERR_ATTR_OFFS = 2
NETLINK_ADD_MEMBERSHIP = 1
NETLINK_EXT_ACK = 11
NETLINK_GET_STRICT_CHK = 12
SOL_NETLINK = 270

# Route protocol number of the routes xfrmctl installs (rtm_protocol). 88 ("X") is not assigned
# in linux/rtnetlink.h nor in iproute2's rt_protos, and is distinct from FRR's 186-198 range, so
# routes of ours are recognised after a crash and never confused with a routing daemon's.
RTPROT_XFRMCTL = 88

# Ownership of XFRM objects after a crash: every SA the daemon installs uses a reqid in this
# range, and every policy it installs either carries a template with such a reqid or has its
# priority in the reserved band below. Anything else (hand-made states, other daemons) is never
# flushed by xfrmctl.
XFRMCTL_REQID_MIN = 0x58000000
XFRMCTL_REQID_MAX = 0x58FFFFFF
XFRMCTL_PRIORITY_MIN = 0x58000
XFRMCTL_PRIORITY_MAX = 0x58FFF


class XfrmMsg(enum.IntEnum):
    XFRM_MSG_NEWSA = 0x10
    XFRM_MSG_DELSA = 0x11
    XFRM_MSG_GETSA = 0x12
    XFRM_MSG_NEWPOLICY = 0x13
    XFRM_MSG_DELPOLICY = 0x14
    XFRM_MSG_GETPOLICY = 0x15
    XFRM_MSG_ALLOCSPI = 0x16
    XFRM_MSG_ACQUIRE = 0x17
    XFRM_MSG_EXPIRE = 0x18
    XFRM_MSG_UPDPOLICY = 0x19
    XFRM_MSG_UPDSA = 0x1A
    XFRM_MSG_POLEXPIRE = 0x1B
    XFRM_MSG_FLUSHSA = 0x1C
    XFRM_MSG_FLUSHPOLICY = 0x1D
    XFRM_MSG_NEWAE = 0x1E
    XFRM_MSG_GETAE = 0x1F
    XFRM_MSG_REPORT = 0x20
    XFRM_MSG_MIGRATE = 0x21
    XFRM_MSG_NEWSADINFO = 0x22
    XFRM_MSG_GETSADINFO = 0x23
    XFRM_MSG_NEWSPDINFO = 0x24
    XFRM_MSG_GETSPDINFO = 0x25
    XFRM_MSG_MAPPING = 0x26
    XFRM_MSG_SETDEFAULT = 0x27
    XFRM_MSG_GETDEFAULT = 0x28


class XfrmAttr(enum.IntEnum):
    XFRMA_UNSPEC = 0
    XFRMA_ALG_AUTH = 1
    XFRMA_ALG_CRYPT = 2
    XFRMA_ALG_COMP = 3
    XFRMA_ENCAP = 4
    XFRMA_TMPL = 5
    XFRMA_SA = 6
    XFRMA_POLICY = 7
    XFRMA_SEC_CTX = 8
    XFRMA_LTIME_VAL = 9
    XFRMA_REPLAY_VAL = 10
    XFRMA_REPLAY_THRESH = 11
    XFRMA_ETIMER_THRESH = 12
    XFRMA_SRCADDR = 13
    XFRMA_COADDR = 14
    XFRMA_LASTUSED = 15
    XFRMA_POLICY_TYPE = 16
    XFRMA_MIGRATE = 17
    XFRMA_ALG_AEAD = 18
    XFRMA_KMADDRESS = 19
    XFRMA_ALG_AUTH_TRUNC = 20
    XFRMA_MARK = 21
    XFRMA_TFCPAD = 22
    XFRMA_REPLAY_ESN_VAL = 23
    XFRMA_SA_EXTRA_FLAGS = 24
    XFRMA_PROTO = 25
    XFRMA_ADDRESS_FILTER = 26
    XFRMA_PAD = 27
    XFRMA_OFFLOAD_DEV = 28
    XFRMA_SET_MARK = 29
    XFRMA_SET_MARK_MASK = 30
    XFRMA_IF_ID = 31
    XFRMA_MTIMER_THRESH = 32
    XFRMA_SA_DIR = 33
    XFRMA_NAT_KEEPALIVE_INTERVAL = 34


class XfrmNlGroup(enum.IntEnum):
    XFRMNLGRP_ACQUIRE = 1
    XFRMNLGRP_EXPIRE = 2
    XFRMNLGRP_SA = 3
    XFRMNLGRP_POLICY = 4
    XFRMNLGRP_AEVENTS = 5
    XFRMNLGRP_REPORT = 6
    XFRMNLGRP_MIGRATE = 7
    XFRMNLGRP_MAPPING = 8


class XfrmMode(enum.IntEnum):
    XFRM_MODE_TRANSPORT = 0
    XFRM_MODE_TUNNEL = 1
    XFRM_MODE_ROUTEOPTIMIZATION = 2
    XFRM_MODE_IN_TRIGGER = 3
    XFRM_MODE_BEET = 4


class XfrmDir(enum.IntEnum):
    XFRM_POLICY_IN = 0
    XFRM_POLICY_OUT = 1
    XFRM_POLICY_FWD = 2


class XfrmAction(enum.IntEnum):
    XFRM_POLICY_ALLOW = 0
    XFRM_POLICY_BLOCK = 1


class XfrmShare(enum.IntEnum):
    XFRM_SHARE_ANY = 0
    XFRM_SHARE_SESSION = 1
    XFRM_SHARE_USER = 2
    XFRM_SHARE_UNIQUE = 3


XFRM_POLICY_TYPE_MAIN = 0
XFRM_POLICY_TYPE_SUB = 1

# xfrm_usersa_info.flags
XFRM_STATE_NOECN = 1
XFRM_STATE_DECAP_DSCP = 2
XFRM_STATE_NOPMTUDISC = 4
XFRM_STATE_WILDRECV = 8
XFRM_STATE_ICMP = 16
XFRM_STATE_AF_UNSPEC = 32
XFRM_STATE_ALIGN4 = 64
XFRM_STATE_ESN = 128

# XFRMA_SA_EXTRA_FLAGS
XFRM_SA_XFLAG_DONT_ENCAP_DSCP = 1
XFRM_SA_XFLAG_OSEQ_MAY_WRAP = 2

# xfrm_userpolicy_info.flags
XFRM_POLICY_LOCALOK = 1
XFRM_POLICY_ICMP = 2

# xfrm_aevent_id.flags
XFRM_AE_RTHR = 1
XFRM_AE_RVAL = 2
XFRM_AE_LVAL = 4
XFRM_AE_ETHR = 8
XFRM_AE_CR = 16
XFRM_AE_CE = 32
XFRM_AE_CU = 64

# XFRM_MSG_NEWSADINFO / NEWSPDINFO attribute ids (their own attribute spaces).
XFRMA_SAD_CNT = 1
XFRMA_SAD_HINFO = 2
XFRMA_SPD_INFO = 1
XFRMA_SPD_HINFO = 2
XFRMA_SPD_IPV4_HTHRESH = 3
XFRMA_SPD_IPV6_HTHRESH = 4

XFRM_OFFLOAD_IPV6 = 1
XFRM_OFFLOAD_INBOUND = 2
