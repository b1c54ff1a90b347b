"""One model from three front ends, and conversions that round-trip."""

from __future__ import annotations

from pathlib import Path

from xfrmctl.config import load_file, load_text, to_curly, to_set, to_yaml


def test_set_curly_yaml_give_the_same_model(data_dir: Path) -> None:
    from_set = load_file(data_dir / "base.set")
    from_curly = load_file(data_dir / "base.conf")
    from_yaml = load_file(data_dir / "base.yaml")
    assert (from_set.format, from_curly.format, from_yaml.format) == ("set", "curly", "yaml")
    for result in (from_set, from_curly, from_yaml):
        assert result.diagnostics == []
    assert from_set.require() == from_curly.require() == from_yaml.require()


def test_round_trip_set_yaml_curly(data_dir: Path) -> None:
    original = load_file(data_dir / "base.conf")
    assert original.tree is not None
    set_text, redacted = to_set(original.tree, show_secrets=True)
    assert redacted == []
    from_set = load_text(set_text, "out.set")
    assert from_set.tree is not None
    yaml_text, _ = to_yaml(from_set.tree, show_secrets=True)
    from_yaml = load_text(yaml_text, "out.yaml")
    assert from_yaml.tree is not None
    curly_text, _ = to_curly(from_yaml.tree, show_secrets=True)
    from_curly = load_text(curly_text, "out.conf")
    assert original.require() == from_set.require() == from_yaml.require()
    assert from_curly.require() == original.require()
    # the writers are stable: writing the reloaded tree gives the same text
    assert to_set(from_set.tree, show_secrets=True)[0] == set_text


def test_set_output_is_normalised(data_dir: Path) -> None:
    result = load_file(data_dir / "base.conf")
    assert result.tree is not None
    text, redacted = to_set(result.tree)
    assert redacted == ["security ike policy IKEPOL pre-shared-key ascii-text"]
    assert text.splitlines()[:8] == [
        "set security ike proposal P1 authentication-method pre-shared-keys",
        "set security ike proposal P1 dh-group group14",
        "set security ike proposal P1 authentication-algorithm sha-256",
        "set security ike proposal P1 encryption-algorithm aes-256-cbc",
        "set security ike policy IKEPOL mode main",
        "set security ike policy IKEPOL proposals P1",
        "set security ike policy IKEPOL pre-shared-key ascii-text SECRET-DATA-REMOVED",
        "set security ike gateway GW ike-policy IKEPOL",
    ]
    assert "s3cret" not in text


def test_curly_output_layout(data_dir: Path) -> None:
    result = load_file(data_dir / "base.set")
    assert result.tree is not None
    text, _ = to_curly(result.tree)
    lines = text.splitlines()
    start = lines.index("    ipsec {")
    assert lines[start : start + 12] == [
        "    ipsec {",
        "        proposal P2 {",
        "            protocol esp;",
        "            authentication-algorithm hmac-sha-256-128;",
        "            encryption-algorithm aes-256-cbc;",
        "        }",
        "        policy IPSECPOL {",
        "            perfect-forward-secrecy {",
        "                keys group14;",
        "            }",
        "            proposals P2;",
        "        }",
    ]
    assert "            pre-shared-key ascii-text SECRET-DATA-REMOVED; ## SECRET-DATA" in lines
    assert lines[-14:] == [
        "interfaces {",
        "    st0 {",
        "        unit 0 {",
        "            family inet {",
        "                address 10.0.0.1/30;",
        "            }",
        "        }",
        "    }",
        "}",
        "routing-options {",
        "    static {",
        "        route 192.168.2.0/24 next-hop st0.0;",
        "    }",
        "}",
    ]


def test_placeholder_refuses_to_load(data_dir: Path) -> None:
    result = load_file(data_dir / "base.yaml")
    assert result.tree is not None
    text, _ = to_yaml(result.tree)
    reloaded = load_text(text, "out.yaml")
    assert [str(d) for d in reloaded.errors] == [
        "out.yaml:15: error: security ike policy IKEPOL pre-shared-key ascii-text: the key was "
        "removed by 'config convert' (run it with --show-secrets to keep keys); put the real "
        "key here"
    ]


def test_yaml_output_shape(data_dir: Path) -> None:
    result = load_file(data_dir / "base.set")
    assert result.tree is not None
    text, _ = to_yaml(result.tree, show_secrets=True)
    assert "      0:\n        family:\n          inet:\n            address:\n" in text
    assert "        lifetime-seconds" not in text  # defaults are not written
    assert "ascii-text: $9$" in text


def test_opaque_statements_survive_conversion() -> None:
    text = (
        "set security zones security-zone trust host-inbound-traffic system-services ike\n"
        "set security zones security-zone trust host-inbound-traffic system-services ping\n"
        'set system root-authentication encrypted-password "$6$abc"\n'
    )
    result = load_text(text, "t.set")
    assert result.tree is not None
    out, redacted = to_set(result.tree)
    assert out.splitlines() == [
        "set security zones security-zone trust host-inbound-traffic system-services ike",
        "set security zones security-zone trust host-inbound-traffic system-services ping",
        "set system root-authentication encrypted-password SECRET-DATA-REMOVED",
    ]
    assert redacted == ["system root-authentication encrypted-password"]
    yaml_text, _ = to_yaml(result.tree)
    assert "system-services:\n          - ike\n          - ping" in yaml_text
