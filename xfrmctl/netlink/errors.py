"""Typed errors of the netlink layer.

The real socket and the in-memory fake raise the same classes, so callers (the daemon, tests)
handle "already there", "not there" and "refused" without looking at errno values.
"""

from __future__ import annotations

import errno
import os


class NetlinkError(Exception):
    """A kernel (or fake kernel) refused a request; ``code`` is the positive errno value."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    @property
    def errname(self) -> str:
        return errno.errorcode.get(self.code, str(self.code))


class XfrmExists(NetlinkError):
    """EEXIST: an SA (dst, spi, proto) or a policy (selector, dir, if_id, mark) is already there."""


class XfrmNotFound(NetlinkError):
    """ENOENT/ESRCH: the SA, policy, link or route asked for does not exist."""


class XfrmInvalid(NetlinkError):
    """EINVAL/ENOSYS/EPROTONOSUPPORT: a field or algorithm was refused; ``field`` names it."""

    def __init__(self, code: int, message: str, field: str | None = None) -> None:
        super().__init__(code, message)
        self.field = field


class XfrmParseError(ValueError):
    """Bytes from the kernel (or anywhere) that are not a well-formed XFRM netlink message."""


class XfrmEncodeError(ValueError):
    """A Python object that cannot be encoded (address of the wrong family, name too long...)."""


def error_for(code: int, message: str, field: str | None = None) -> NetlinkError:
    """The exception class for a kernel errno, with the message the caller composed."""
    text = f"{message}: {os.strerror(code)} ({errno.errorcode.get(code, code)})"
    if code == errno.EEXIST:
        return XfrmExists(code, text)
    if code in (errno.ENOENT, errno.ESRCH, errno.ENODEV, errno.EADDRNOTAVAIL):
        return XfrmNotFound(code, text)
    if code in (errno.EINVAL, errno.ENOSYS, errno.EPROTONOSUPPORT, errno.EOPNOTSUPP, errno.ERANGE):
        return XfrmInvalid(code, text, field)
    return NetlinkError(code, text)
