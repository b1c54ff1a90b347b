"""Hostile input: whatever the bytes, the loaders report diagnostics and never raise."""

from __future__ import annotations

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from xfrmctl.config import load_text
from xfrmctl.config.grammar import ROOT

KEYWORDS = sorted({*ROOT.children, "security", "ike", "ipsec", "gateway", "vpn", "proposal",
                   "policy", "address", "st0", "unit", "family", "inet", "next-hop-tunnel",
                   "route", "next-hop", "ipsec-vpn", "bind-interface", "st0.0", "{", "}", ";",
                   "[", "]", '"', "inactive:", "set", "delete", "edit", "up", "top",
                   "deactivate", "10.0.0.1", "10.0.0.0/8", "$9$LbHX-wg4Z", "#", "/*", "*/",
                   ":", "-", "\n", " ", "0", "999999999999", "ge-0/0/0.0", "pre-shared-key",
                   "ascii-text", "hexadecimal", "interface-map", "xfrmctl"})  # fmt: skip

junos_like = st.lists(st.sampled_from(KEYWORDS), max_size=60).map(" ".join)


def _no_crash(text: str, fmt: str) -> None:
    result = load_text(text, "f", fmt=fmt)
    assert (result.config is None) == bool(result.errors)
    for diagnostic in result.diagnostics:
        str(diagnostic)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300), st.sampled_from(["yaml", "set", "curly"]))
def test_random_text(text: str, fmt: str) -> None:
    _no_crash(text, fmt)


@settings(max_examples=300, deadline=None)
@given(junos_like, st.sampled_from(["yaml", "set", "curly"]))
def test_junos_like_word_soup(text: str, fmt: str) -> None:
    _no_crash(text, fmt)


yaml_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.sampled_from(KEYWORDS),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(KEYWORDS), children, max_size=4)
    ),
    max_leaves=30,
)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(KEYWORDS), yaml_values, max_size=4))
def test_random_yaml_structures(data: dict[str, object]) -> None:
    _no_crash(yaml.safe_dump(data), "yaml")
