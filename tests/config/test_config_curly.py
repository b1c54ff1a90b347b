"""Junos curly-brace text: comments, inactive statements, quoting, lists, broken files."""

from __future__ import annotations

from xfrmctl.config import load_text


def messages(text: str, file: str = "t.conf") -> list[str]:
    return [str(d) for d in load_text(text, file, fmt="curly").diagnostics]


def test_comments_quotes_lists_and_inactive() -> None:
    text = """\
/* gateway
   block */
security {
    ike {
        gateway GW { # trailing comment
            ike-policy "IKE POL";
            address [ 198.51.100.2 198.51.100.3 ];
            inactive: dead-peer-detection {
                interval 20;
            }
            external-interface eth0;
            version v2-only;
        }
    }
}
"""
    result = load_text(text, "t.conf")
    assert result.format == "curly"
    assert [str(d) for d in result.diagnostics] == [
        "t.conf:6: error: security ike gateway GW ike-policy IKE POL: invalid IKE policy name: "
        "use up to 63 letters, digits and - _ . : @ / +",
        "t.conf:7: warning: security ike gateway GW address: not realised yet: backup gateways "
        "are not tried; only 198.51.100.2 is used",
        "t.conf:8: warning: security ike gateway GW dead-peer-detection: inactive, not applied",
    ]


def test_inactive_block_is_not_applied() -> None:
    text = """\
security {
    ipsec {
        inactive: vpn OLD {
            bind-interface st0.9;
        }
    }
}
"""
    result = load_text(text, "t.conf")
    assert result.require().vpns == {}


def test_truncated_file_names_the_open_block() -> None:
    text = """\
security {
    ike {
        proposal P1 {
            dh-group group14;
"""
    assert messages(text) == [
        "t.conf:3: error: security ike proposal P1: unexpected end of file: missing '}' for the "
        "block opened at line 3",
    ]


def test_missing_semicolon_before_brace() -> None:
    assert messages("security { ike { respond-bad-spi 3 }}") == [
        "t.conf:1: error: security ike respond-bad-spi 3: missing ';' before '}' (column 36)"
    ]


def test_statement_without_semicolon_at_eof() -> None:
    assert messages("routing-options static route 10.0.0.0/8 next-hop 10.1.1.1") == [
        "t.conf:1: error: routing-options static route 10.0.0.0/8 next-hop 10.1.1.1: "
        "unexpected end of file: missing ';'"
    ]


def test_stray_closing_brace() -> None:
    assert messages("}\n") == ["t.conf:1: error: unexpected '}' (column 1)"]


def test_unterminated_comment() -> None:
    assert messages("security {\n/* never closed\n") == [
        "t.conf:1: error: security: unexpected end of file: missing '}' for the block opened "
        "at line 1",
        "t.conf:2: error: unterminated comment '/*' (column 1)",
    ]


def test_empty_block_is_a_presence_statement() -> None:
    text = "security { ipsec { vpn V { vpn-monitor { } } } }"
    result = load_text(text, "t.conf")
    assert result.tree is not None
    security = result.tree.block("security")
    assert security is not None
    ipsec = security.block("ipsec")
    assert ipsec is not None
    assert ipsec.named("vpn")["V"].block("vpn-monitor") is not None


def test_junos_display_with_secret_comment() -> None:
    text = (
        'security { ike { policy P { pre-shared-key ascii-text "$9$LbHX-wg4Z"; ## SECRET-DATA\n'
        "proposal-set standard; } } }\n"
    )
    result = load_text(text, "t.conf")
    policy = result.require().ike_policies["P"]
    assert policy.pre_shared_key is not None
    assert policy.pre_shared_key.value == b"lc"
    assert "lc" not in repr(policy)


def test_configuration_groups_are_applied() -> None:
    text = """\
groups {
    vpn-defaults {
        security {
            ike {
                proposal P1 {
                    lifetime-seconds 3600;
                    dh-group group14;
                }
            }
        }
    }
    per-port {
        interfaces {
            <ge-*> {
                mtu 9000;
            }
        }
    }
    node0 {
        system {
            host-name a;
        }
    }
}
apply-groups [ vpn-defaults per-port "${node}" ];
security {
    ike {
        proposal P1 {
            lifetime-seconds 7200;
        }
        gateway G {
            apply-groups other;
        }
    }
}
"""
    result = load_text(text, "g.conf")
    assert result.tree is not None
    ike = result.tree.block("security")
    assert ike is not None
    proposal = ike.block("ike")
    assert proposal is not None
    p1 = proposal.named("proposal")["P1"]
    assert (p1.value("lifetime-seconds"), p1.value("dh-group")) == (7200, "group14")
    lines = [str(d) for d in result.diagnostics if "group" in str(d)]
    assert lines == [
        "g.conf:15: warning: groups per-port: statements with wildcards are not expanded; ignored",
        "g.conf:25: warning: apply-groups ${node}: cluster node groups are not expanded; ignored",
        "g.conf:32: warning: security ike gateway G apply-groups: apply-groups below the top "
        "level is not expanded; ignored",
    ]


def test_unknown_group() -> None:
    assert messages("apply-groups nope;") == [
        "t.conf:1: error: apply-groups nope: group 'nope' is not defined"
    ]
