"""Hostile input: whatever the bytes, the loaders report diagnostics and never raise."""

from __future__ import annotations

import tempfile
from pathlib import Path

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from xfrmctl.config import ConfigError, load_config, load_text
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


def test_yaml_alias_bomb_is_refused_quickly() -> None:
    lines = ["a0: &a0 {k0: x, k1: x, k2: x, k3: x, k4: x, k5: x, k6: x, k7: x, k8: x, k9: x}"]
    for i in range(1, 9):
        members = ", ".join(f"k{j}: *a{i - 1}" for j in range(10))
        lines.append(f"a{i}: &a{i} {{{members}}}")
    lines.append("security: *a8")
    result = load_text("\n".join(lines) + "\n", "bomb.yaml")
    assert [str(d) for d in result.errors] == ["bomb.yaml:1: error: more than 50000 statements"]


def test_deeply_nested_text_is_refused() -> None:
    deep = "security {" * 5000 + "}" * 5000
    result = load_text(deep, "deep.conf")
    assert [str(d) for d in result.errors] == ["deep.conf:1: error: blocks nested deeper than 64"]


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300), st.sampled_from(["yaml", "set", "curly"]))
def test_random_bytes_raise_only_config_error(data: bytes, fmt: str) -> None:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / f"c.{fmt}"
        path.write_bytes(data)
        try:
            config = load_config(path, fmt)
        except ConfigError as exc:
            assert exc.diagnostics
        else:
            assert config is not None
