"""Typed errors of the IKE codec and crypto layer.

A decoder lets nothing else escape, so the state machine can answer a malformed or hostile packet
with the notify carried here (or drop it) without guarding against arbitrary exceptions.
"""

from __future__ import annotations

from xfrmctl.keying.constants import NotifyType


class ParseError(ValueError):
    """Malformed wire data.

    ``notify`` is the IKEv2 error notify a responder should answer with (``None``: just drop);
    ``data`` is its notification data (e.g. the payload type for UNSUPPORTED_CRITICAL_PAYLOAD, the
    highest supported version for INVALID_MAJOR_VERSION).
    """

    def __init__(
        self,
        message: str,
        *,
        notify: NotifyType | None = NotifyType.INVALID_SYNTAX,
        data: bytes = b"",
    ) -> None:
        super().__init__(message)
        self.notify = notify
        self.data = data


class CryptoError(Exception):
    """Integrity check failure, invalid DH public value or bad signature."""


class UnknownTransform(KeyError):
    """A transform (by IKE id, name, Junos keyword or kernel name) the registry does not know."""

    def __str__(self) -> str:
        # KeyError quotes its argument; a readable message is more useful in config errors.
        return str(self.args[0]) if self.args else "unknown transform"


class ProposalSyntaxError(ValueError):
    """A strongSwan-style proposal string that does not describe a valid proposal."""


class CertificateError(CryptoError):
    """A certificate or CRL that cannot be parsed, does not chain to a trusted CA, or is revoked."""
