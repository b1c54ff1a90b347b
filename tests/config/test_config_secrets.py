"""Secrets: Junos $9$ decoding and encoding, and keys kept out of every message and repr."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xfrmctl.config import load_text
from xfrmctl.config.secrets import (
    Secret,
    SecretFormatError,
    junos9_decode,
    junos9_encode,
)


def test_known_vector() -> None:
    assert junos9_decode("$9$LbHX-wg4Z") == "lc"


def test_encode_is_stable_and_decodes() -> None:
    encoded = junos9_encode("juniper123")
    assert encoded.startswith("$9$")
    assert encoded == junos9_encode("juniper123")
    assert junos9_decode(encoded) == "juniper123"


@settings(max_examples=200)
@given(st.text(alphabet=st.characters(min_codepoint=1, max_codepoint=255), max_size=64))
def test_round_trip(plain: str) -> None:
    assert junos9_decode(junos9_encode(plain)) == plain


@pytest.mark.parametrize("bad", ["$9$", "$9$@@@", "plain", "$9$Q"])
def test_malformed(bad: str) -> None:
    with pytest.raises(SecretFormatError):
        junos9_decode(bad)


def test_secret_repr_hides_key() -> None:
    secret = Secret("ascii-text", "topsecret")
    assert "topsecret" not in repr(secret)
    assert "topsecret" not in str(secret)
    assert secret.value == b"topsecret"


def test_bad_hex_key_message_does_not_show_the_key() -> None:
    text = "set security ike policy P pre-shared-key hexadecimal zz1234\n"
    lines = [str(d) for d in load_text(text, "k.set").diagnostics]
    assert lines[0] == (
        "k.set:1: error: security ike policy P pre-shared-key hexadecimal: expected an even "
        "number of hexadecimal digits"
    )
    assert all("zz1234" not in line for line in lines)


def test_manual_key_length_checked_without_showing_key() -> None:
    text = """\
set interfaces st0 unit 0
set security ipsec vpn M bind-interface st0.0
set security ipsec vpn M manual gateway 192.0.2.9
set security ipsec vpn M manual external-interface eth0
set security ipsec vpn M manual spi 300
set security ipsec vpn M manual protocol esp
set security ipsec vpn M manual encryption algorithm 3des-cbc
set security ipsec vpn M manual encryption key ascii-text "shortkey"
set security ipsec vpn M manual authentication algorithm hmac-sha1-96
set security ipsec vpn M manual authentication key hexadecimal \
00112233445566778899aabbccddeeff00112233
"""
    result = load_text(text, "m.set")
    errors = [str(d) for d in result.errors]
    assert errors == [
        "m.set:8: error: security ipsec vpn M manual encryption key: 3des-cbc needs a key of "
        "24 ASCII characters, got 8"
    ]
    assert all("shortkey" not in str(d) for d in result.diagnostics)


def test_unquoted_key_with_spaces_is_not_echoed() -> None:
    text = "set security ike policy P pre-shared-key ascii-text my secret words\n"
    lines = [str(d) for d in load_text(text, "k.set").diagnostics]
    assert lines[0] == (
        "k.set:1: error: security ike policy P pre-shared-key ascii-text: unexpected words "
        "after the key (quote the key)"
    )
    assert all(
        "secret" not in line and "words" not in line.split(":", 3)[-1][-6:] for line in lines
    )


def test_broken_curly_statement_with_key_is_not_echoed() -> None:
    text = 'security { ike { policy P { pre-shared-key ascii-text "hunter2" } } }'
    lines = [str(d) for d in load_text(text, "k.conf").diagnostics]
    assert lines == [
        "k.conf:1: error: security ike policy P pre-shared-key ascii-text <secret>: missing ';' "
        "before '}' (column 65)"
    ]


def test_deactivated_key_is_not_echoed() -> None:
    text = 'deactivate security ike policy P pre-shared-key ascii-text "hunter2"\n'
    text = 'set security ike policy P pre-shared-key ascii-text "hunter2"\n' + text
    lines = [str(d) for d in load_text(text, "k.set").diagnostics]
    assert all("hunter2" not in line for line in lines)
