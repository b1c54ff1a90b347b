"""Junos command grammar: keyword prefixes, aliases, options, and the error messages."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xfrmctl.cli.commands import COMMAND_TREE, CommandSyntaxError, Node, leaves, parse_command
from xfrmctl.state.query import (
    QUERY_TYPES,
    ClearIkeSa,
    ClearIpsecSa,
    ClearIpsecStatistics,
    RequestSystemReload,
    ShowIkeSa,
    ShowIpsecInactiveTunnels,
    ShowIpsecNextHopTunnels,
    ShowIpsecSa,
    ShowIpsecStatistics,
)


def test_tree_paths_are_the_query_commands():
    found = {path: leaf.query for path, leaf in leaves()}
    assert {q.command: q for q in QUERY_TYPES} == found


@pytest.mark.parametrize(
    ("line", "query"),
    [
        ("show security ipsec security-associations detail", ShowIpsecSa(level="detail")),
        ("sh sec ips sa det", ShowIpsecSa(level="detail")),
        ("show security ipsec sa", ShowIpsecSa()),
        ("show security ipsec sa brief family inet6", ShowIpsecSa(level="brief", family="inet6")),
        ("show security ipsec sa index 131073", ShowIpsecSa(index=131073)),
        ("show security ipsec sa vpn-name vpn-hub", ShowIpsecSa(vpn_name="vpn-hub")),
        ("show security ipsec sa fpc 6 pic 1 kmd-instance all", ShowIpsecSa()),
        ("show security ike sa", ShowIkeSa()),
        ("show security ike security-associations", ShowIkeSa()),
        ("sh sec ike sec", ShowIkeSa()),
        (
            "show security ike sa 1.1.1.2 index 8 detail family inet",
            ShowIkeSa(peer="1.1.1.2", index=8, level="detail", family="inet"),
        ),
        ("show security ike sa 1111::1112", ShowIkeSa(peer="1111::1112")),
        ("show security ike sa fam inet6", ShowIkeSa(family="inet6")),
        ("show security ipsec statistics index 16384", ShowIpsecStatistics(index=16384)),
        ("show security ipsec st", ShowIpsecStatistics()),
        ("show security ipsec inactive-tunnels", ShowIpsecInactiveTunnels()),
        ("sho sec ipsec in vpn-name v1", ShowIpsecInactiveTunnels(vpn_name="v1")),
        (
            "show security ipsec inactive-tunnels detail vpn-name v1",
            ShowIpsecInactiveTunnels(level="detail", vpn_name="v1"),
        ),
        (
            "show security ipsec next-hop-tunnels interface-name st0.0",
            ShowIpsecNextHopTunnels(interface_name="st0.0"),
        ),
        ("clear security ike security-associations", ClearIkeSa()),
        ("clear security ike sa 1.1.1.2 port 19405", ClearIkeSa(peer="1.1.1.2", port=19405)),
        ("clear security ike sa index 8", ClearIkeSa(index=8)),
        ("clear security ike sa family inet6", ClearIkeSa(family="inet6")),
        ("clear security ike sa fpc 5 pic 0 kmd-instance all", ClearIkeSa()),
        ("clear security ipsec sa index 8", ClearIpsecSa(index=8)),
        ("cl sec ipsec sec family inet6", ClearIpsecSa(family="inet6")),
        ("clear security ipsec statistics", ClearIpsecStatistics()),
        ("clear security ipsec statistics index 1", ClearIpsecStatistics(index=1)),
        ("request system reload", RequestSystemReload()),
        ("req sys rel", RequestSystemReload()),
    ],
)
def test_parse(line, query):
    assert parse_command(line.split()) == query


def test_query_args_are_what_the_daemon_receives():
    query = parse_command(["show", "security", "ike", "sa", "1111:0::1112", "detail"])
    assert query.command == ("show", "security", "ike", "security-associations")
    assert query.to_args() == {"peer": "1111::1112", "level": "detail"}


def _error(line: str) -> str:
    with pytest.raises(CommandSyntaxError) as info:
        parse_command(line.split())
    return info.value.render()


def test_ambiguous_keyword_names_word_and_candidates():
    assert _error("show security ipsec s") == (
        "show security ipsec s\n"
        "                    ^\n"
        "'s' is ambiguous.\n"
        "Possible completions:\n"
        "  security-associations  Show IPsec security associations\n"
        "  statistics             Show IPsec statistics"
    )


def test_unknown_keyword_lists_every_completion():
    assert _error("show security ipsec foo") == (
        "show security ipsec foo\n"
        "                    ^\n"
        "syntax error, expecting <command>: foo\n"
        "Possible completions:\n"
        "  inactive-tunnels       Show configured IPsec VPNs that are not up\n"
        "  next-hop-tunnels       Show next-hop tunnel bindings\n"
        "  security-associations  Show IPsec security associations\n"
        "  statistics             Show IPsec statistics"
    )


def test_incomplete_command():
    assert _error("show security") == (
        "show security\n"
        "              ^\n"
        "syntax error, expecting <command>.\n"
        "Possible completions:\n"
        "  ike                  Show Internet Key Exchange information\n"
        "  ipsec                Show IP Security information"
    )


def test_unknown_option_lists_the_options():
    assert _error("show security ike sa bogus") == (
        "show security ike sa bogus\n"
        "                     ^\n"
        "syntax error, expecting <option>: bogus\n"
        "Possible completions:\n"
        "  <peer>               Peer address\n"
        "  brief                Display brief output\n"
        "  detail               Display detail output\n"
        "  family               Address family of the peer (inet or inet6)\n"
        "  fpc                  FPC slot (accepted, no filter on Linux)\n"
        "  index                Index of the IKE SA or tunnel\n"
        "  kmd-instance         KMD instance (accepted, no filter)\n"
        "  pic                  PIC slot (accepted, no filter on Linux)"
    )


def test_option_value_errors():
    assert _error("show security ipsec sa index x").splitlines()[1:] == [
        "                             ^",
        "invalid value for index: 'x' (expecting a number)",
    ]
    assert _error("show security ipsec sa index ²").splitlines()[2] == (
        "invalid value for index: '²' (expecting a number)"
    )
    assert _error("show security ipsec sa index").splitlines()[2] == (
        "syntax error, expecting <int> after index."
    )
    assert _error("show security ipsec sa family ipx").splitlines()[2:] == [
        "invalid value for family: 'ipx'",
        "Possible completions:",
        "  inet",
        "  inet6",
    ]
    assert _error("show security ipsec sa index 0").splitlines()[2] == (
        "error: index 0 out of range (1..4294967295)"
    )
    assert _error("clear security ike sa port 70000").splitlines()[2] == (
        "error: port 70000 out of range (1..65535)"
    )


def test_conflicting_options():
    assert _error("show security ipsec sa brief detail").splitlines()[2] == (
        "syntax error: detail conflicts with an earlier option"
    )
    assert _error("show security ipsec sa index 1 index 2").splitlines()[2] == (
        "syntax error: index conflicts with an earlier option"
    )


def test_empty_command():
    assert _error("").splitlines()[2] == "syntax error, expecting <command>."


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_every_unambiguous_prefix_parses_like_the_full_keyword(data):
    path, leaf = data.draw(st.sampled_from(leaves()))
    words = []
    node = COMMAND_TREE
    for keyword in path:
        siblings = [k for k in node.children if k != keyword]
        shortest = next(
            n
            for n in range(1, len(keyword) + 1)
            if not any(s.startswith(keyword[:n]) for s in siblings)
            and not any(
                a.startswith(keyword[:n]) for s in siblings for a in node.children[s].aliases
            )
        )
        words.append(keyword[: data.draw(st.integers(shortest, len(keyword)))])
        child = node.children[keyword]
        if isinstance(child, Node):
            node = child
    assert parse_command(words) == leaf.query()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=12), max_size=7))
def test_any_words_parse_or_raise_the_syntax_error(words):
    try:
        parse_command(words)
    except CommandSyntaxError as exc:
        assert exc.render().startswith(" ".join(words) + "\n")
