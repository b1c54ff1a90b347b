"""The YAML schema: hyphenated Junos keys, named objects as mappings, typed errors with lines."""

from __future__ import annotations

from pathlib import Path

from xfrmctl.config import detect_format, load_file, load_text


def messages(text: str) -> list[str]:
    return [str(d) for d in load_text(text, "c.yaml").diagnostics]


def test_type_error_list_for_a_single_value() -> None:
    text = """\
security:
  ike:
    proposal:
      P1:
        lifetime-seconds: [300, 400]
"""
    assert (
        "c.yaml:5: error: security ike proposal P1 lifetime-seconds: takes one value, not a list"
        in messages(text)
    )


def test_type_error_mapping_for_a_number() -> None:
    text = """\
security:
  ike:
    proposal:
      P1:
        lifetime-seconds:
          long: 1
"""
    assert (
        "c.yaml:6: error: security ike proposal P1 lifetime-seconds long: expected a number in "
        "range 180..86400"
    ) in messages(text)


def test_boolean_for_a_value_is_missing_value() -> None:
    text = "security:\n  ike:\n    gateway:\n      G:\n        nat-keepalive: true\n"
    assert (
        "c.yaml:5: error: security ike gateway G nat-keepalive: missing value (a number in "
        "range 1..300)"
    ) in messages(text)
    # respond-bad-spi without a value means the Junos default of 5 responses
    result = load_text("security:\n  ike:\n    respond-bad-spi: true\n", "c.yaml")
    assert result.require().respond_bad_spi == 5


def test_flags_true_and_false() -> None:
    text = """\
security:
  ike:
    gateway:
      G:
        no-nat-traversal: true
        general-ikeid: false
"""
    result = load_text(text, "c.yaml")
    assert result.tree is not None
    gateway = result.tree.block("security")
    assert gateway is not None
    ike = gateway.block("ike")
    assert ike is not None
    block = ike.named("gateway")["G"]
    assert block.flag("no-nat-traversal") and not block.flag("general-ikeid")


def test_invalid_yaml_reports_position() -> None:
    assert messages("security:\n  ike: [unclosed\n") == [
        "c.yaml:3: error: invalid YAML: expected ',' or ']', but got '<stream end>'"
    ]


def test_top_level_must_be_a_mapping() -> None:
    assert messages("- a\n- b\n") == ["c.yaml:1: error: expected a mapping at the top of the file"]


def test_scalar_document() -> None:
    assert messages("hello\n") == ["c.yaml:1: error: expected a mapping at the top of the file"]


def test_integer_keys_for_units() -> None:
    text = """\
interfaces:
  st0:
    unit:
      7:
        multipoint: true
        if-id: 4242
        family:
          inet:
            address: [10.1.0.1/24]
            next-hop-tunnel:
              10.1.0.2:
                ipsec-vpn: V
"""
    result = load_text(text, "c.yaml")
    unit = result.tree
    assert unit is not None
    config = load_text(text, "c.yaml").config
    # V is not defined, so the model is refused; the unit itself parsed fine
    assert config is None
    assert [str(d) for d in result.errors] == [
        "c.yaml:12: error: interfaces st0 unit 7 family inet next-hop-tunnel 10.1.0.2 ipsec-vpn: "
        "VPN 'V' is not defined"
    ]


def test_format_detection() -> None:
    assert detect_format("security:\n  ike: {}\n", "x.conf") == "yaml"
    assert detect_format("---\nsecurity: {ike: {}}\n", "x") == "yaml"
    assert detect_format("# comment\nset security ike respond-bad-spi 3\n", "x") == "set"
    assert detect_format("/* c */\nsecurity {\n}\n", "x") == "curly"
    assert detect_format("inactive: security { }", "x") == "curly"
    assert detect_format("", "x.set") == "set"


def test_byte_order_mark_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "bom.set"
    path.write_bytes(b"\xef\xbb\xbfset security ike respond-bad-spi 3\n")
    assert load_file(path).require().respond_bad_spi == 3
