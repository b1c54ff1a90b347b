"""IKE identities (RFC 7296 3.5): the ID payload's type and data, parsed from configuration text and
matched against what a peer sends.

Configuration text follows strongSwan conventions so operators can reuse their ids:
`192.0.2.1` / `2001:db8::1` (address), `vpn.example.com` or `@vpn.example.com` (FQDN, the `@`
forces FQDN), `user@example.com` (RFC822), `C=US, O=Example, CN=gw1` (DER_ASN1_DN, RDNs in the
order written, which is the DER order), `%any` (matches every id). `*` wildcards a leading label
of an FQDN or the local part of an RFC822 address, and a whole RDN value of a DN.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from cryptography import x509
from cryptography.x509.oid import NameOID, ObjectIdentifier

from xfrmctl.keying.constants import IdType


class IdentityError(ValueError):
    """Identity text that cannot be turned into an ID payload."""


# RDN attribute keywords accepted in DN identities, in the spellings strongSwan and OpenSSL print.
_DN_KEYWORDS: dict[str, ObjectIdentifier] = {
    "C": NameOID.COUNTRY_NAME,
    "ST": NameOID.STATE_OR_PROVINCE_NAME,
    "S": NameOID.STATE_OR_PROVINCE_NAME,
    "L": NameOID.LOCALITY_NAME,
    "O": NameOID.ORGANIZATION_NAME,
    "OU": NameOID.ORGANIZATIONAL_UNIT_NAME,
    "CN": NameOID.COMMON_NAME,
    "SN": NameOID.SURNAME,
    "GN": NameOID.GIVEN_NAME,
    "T": NameOID.TITLE,
    "DC": NameOID.DOMAIN_COMPONENT,
    "E": NameOID.EMAIL_ADDRESS,
    "EMAILADDRESS": NameOID.EMAIL_ADDRESS,
    "SERIALNUMBER": NameOID.SERIAL_NUMBER,
    "UID": NameOID.USER_ID,
}
_DN_NAMES: dict[ObjectIdentifier, str] = {
    NameOID.COUNTRY_NAME: "C",
    NameOID.STATE_OR_PROVINCE_NAME: "ST",
    NameOID.LOCALITY_NAME: "L",
    NameOID.ORGANIZATION_NAME: "O",
    NameOID.ORGANIZATIONAL_UNIT_NAME: "OU",
    NameOID.COMMON_NAME: "CN",
    NameOID.SURNAME: "SN",
    NameOID.GIVEN_NAME: "GN",
    NameOID.TITLE: "T",
    NameOID.DOMAIN_COMPONENT: "DC",
    NameOID.EMAIL_ADDRESS: "E",
    NameOID.SERIAL_NUMBER: "serialNumber",
    NameOID.USER_ID: "UID",
}


def _split_dn(text: str) -> list[tuple[str, str]]:
    parts: list[str] = []
    cur: list[str] = []
    escaped = False
    for ch in text:
        if escaped:
            cur.append(ch)
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch in ",/" and cur:
            parts.append("".join(cur))
            cur = []
        elif ch in ",/":
            continue
        else:
            cur.append(ch)
    if cur:
        parts.append("".join(cur))
    rdns: list[tuple[str, str]] = []
    for part in parts:
        key, sep, value = part.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise IdentityError(f"malformed distinguished name component {part.strip()!r}")
        rdns.append((key.strip(), value.strip()))
    return rdns


def _encode_dn(text: str) -> bytes:
    rdns = []
    for key, value in _split_dn(text):
        oid = _DN_KEYWORDS.get(key.upper())
        if oid is None:
            raise IdentityError(f"unknown distinguished name attribute {key!r}")
        try:
            rdns.append(x509.RelativeDistinguishedName([x509.NameAttribute(oid, value)]))
        except ValueError as exc:
            raise IdentityError(f"invalid value for {key}: {exc}") from exc
    return x509.Name(rdns).public_bytes()


def _der_read(data: bytes, pos: int) -> tuple[int, bytes, int]:
    """One DER TLV at pos: (tag, value, next position). Raises IdentityError when truncated."""
    if pos + 2 > len(data):
        raise IdentityError("truncated DER")
    tag = data[pos]
    length = data[pos + 1]
    pos += 2
    if length & 0x80:
        n = length & 0x7F
        if n == 0 or n > 3 or pos + n > len(data):
            raise IdentityError("bad DER length")
        length = int.from_bytes(data[pos : pos + n], "big")
        pos += n
    if pos + length > len(data):
        raise IdentityError("truncated DER")
    return tag, data[pos : pos + length], pos + length


def _decode_oid(body: bytes) -> str:
    if not body:
        raise IdentityError("empty OID")
    arcs = [body[0] // 40, body[0] % 40] if body[0] < 80 else [2, body[0] - 80]
    value = 0
    for byte in body[1:]:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            arcs.append(value)
            value = 0
    return ".".join(str(a) for a in arcs)


def decode_dn(der: bytes) -> list[tuple[str, str]]:
    """RDNs of a DER Name as (keyword or dotted OID, value), in DER order."""
    tag, body, end = _der_read(der, 0)
    if tag != 0x30 or end != len(der):
        raise IdentityError("a distinguished name is a DER SEQUENCE")
    result: list[tuple[str, str]] = []
    pos = 0
    while pos < len(body):
        tag, rdn_set, pos = _der_read(body, pos)
        if tag != 0x31:
            raise IdentityError("RDN is not a SET")
        inner = 0
        while inner < len(rdn_set):
            tag, atv, inner = _der_read(rdn_set, inner)
            if tag != 0x30:
                raise IdentityError("attribute is not a SEQUENCE")
            otag, oid_body, vpos = _der_read(atv, 0)
            if otag != 0x06:
                raise IdentityError("attribute type is not an OID")
            _vtag, value, vend = _der_read(atv, vpos)
            if vend != len(atv):
                raise IdentityError("trailing data in attribute")
            dotted = _decode_oid(oid_body)
            name = _DN_NAMES.get(ObjectIdentifier(dotted), dotted)
            text = value.decode("utf-8", "replace")
            result.append((name, text))
    return result


@dataclass(frozen=True)
class Identity:
    """An ID payload's content (type and data), or the `%any` wildcard (id_type None)."""

    id_type: IdType | None
    data: bytes = b""

    @classmethod
    def any(cls) -> Identity:
        return cls(None, b"")

    @property
    def is_any(self) -> bool:
        return self.id_type is None

    @classmethod
    def parse(cls, text: str) -> Identity:
        text = text.strip()
        if not text:
            raise IdentityError("empty identity")
        if text in ("%any", "%any6", "*"):
            return cls.any()
        if text.startswith("@"):
            fqdn = text.lstrip("@")
            if not fqdn:
                raise IdentityError("empty FQDN identity")
            return cls(IdType.FQDN, fqdn.encode())
        try:
            addr = ipaddress.ip_address(text)
        except ValueError:
            pass
        else:
            kind = IdType.IPV4_ADDR if addr.version == 4 else IdType.IPV6_ADDR
            return cls(kind, addr.packed)
        if "=" in text:
            return cls(IdType.DER_ASN1_DN, _encode_dn(text))
        if "@" in text:
            return cls(IdType.RFC822_ADDR, text.encode())
        return cls(IdType.FQDN, text.encode())

    @classmethod
    def for_address(cls, address: str) -> Identity:
        """The default identity of a gateway: its IP address (what Junos and strongSwan use)."""
        return cls.parse(address)

    def __str__(self) -> str:
        if self.id_type is None:
            return "%any"
        if self.id_type in (IdType.IPV4_ADDR, IdType.IPV6_ADDR):
            try:
                return str(ipaddress.ip_address(self.data))
            except ValueError:
                return self.data.hex()
        if self.id_type in (IdType.FQDN, IdType.RFC822_ADDR):
            return self.data.decode("utf-8", "replace")
        if self.id_type is IdType.DER_ASN1_DN:
            try:
                return ", ".join(f"{k}={v}" for k, v in decode_dn(self.data))
            except IdentityError:
                return self.data.hex()
        return self.data.hex()

    @property
    def kind(self) -> str:
        """A short type name for output (`ipv4`, `fqdn`, `rfc822`, `dn`, ...)."""
        names = {
            IdType.IPV4_ADDR: "ipv4_addr",
            IdType.IPV6_ADDR: "ipv6_addr",
            IdType.FQDN: "fqdn",
            IdType.RFC822_ADDR: "user_fqdn",
            IdType.DER_ASN1_DN: "distinguished_name",
            IdType.KEY_ID: "key_id",
        }
        return "any" if self.id_type is None else names.get(self.id_type, self.id_type.name.lower())

    def matches(self, received: Identity) -> bool:
        """Whether a peer's received id satisfies this configured id."""
        if self.id_type is None:
            return True
        if received.id_type != self.id_type:
            return False
        if self.id_type is IdType.FQDN:
            return _match_labels(self.data.decode("utf-8", "replace"), received.data)
        if self.id_type is IdType.RFC822_ADDR:
            mine = self.data.decode("utf-8", "replace")
            local, _, domain = mine.rpartition("@")
            theirs = received.data.decode("utf-8", "replace")
            tl, _, td = theirs.rpartition("@")
            return domain.lower() == td.lower() and local in ("*", tl)
        if self.id_type is IdType.DER_ASN1_DN:
            if self.data == received.data:
                return True
            try:
                mine_rdns = decode_dn(self.data)
                their_rdns = decode_dn(received.data)
            except IdentityError:
                return False
            if len(mine_rdns) != len(their_rdns):
                return False
            return all(
                mk == tk and mv in ("*", tv)
                for (mk, mv), (tk, tv) in zip(mine_rdns, their_rdns, strict=True)
            )
        return self.data == received.data


def _match_labels(pattern: str, received: bytes) -> bool:
    name = received.decode("utf-8", "replace").rstrip(".").lower()
    pattern = pattern.rstrip(".").lower()
    if pattern.startswith("*."):
        return name.endswith(pattern[1:]) and len(name) > len(pattern) - 1
    return name == pattern
