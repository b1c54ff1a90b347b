"""Property: any configuration the grammar accepts survives every writer unchanged.

Statements are generated from the grammar table itself, with awkward values (quotes, braces,
hashes, keywords as text, keys), loaded, written as set/curly/YAML, and loaded again.
"""

from __future__ import annotations

import ipaddress

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xfrmctl.config import algorithms, load_text, to_curly, to_set, to_yaml
from xfrmctl.config import values as v
from xfrmctl.config.emit import _quote
from xfrmctl.config.grammar import ROOT, Container, Flag, Leaf, Named, Node, Opaque
from xfrmctl.config.secrets import PLACEHOLDER

NAMES = st.sampled_from(["a", "P1", "gw-1", "vpn_2", "x.y", "007", "set", "inactive:"])
TEXT = st.text(alphabet=st.sampled_from([*'ab {}[];#"\\/*$:=', "é"]), min_size=0, max_size=12)
IPV4 = st.integers(0, 2**32 - 1).map(lambda n: str(ipaddress.IPv4Address(n)))
IPV6 = st.integers(0, 2**128 - 1).map(lambda n: str(ipaddress.IPv6Address(n)))


def _not_placeholder(key: str) -> bool:
    return key != PLACEHOLDER


def value_strategy(value_type: object) -> st.SearchStrategy[str]:
    if isinstance(value_type, v.Int):
        return st.integers(value_type.low, value_type.high).map(str)
    if isinstance(value_type, v.Keyword):
        return st.sampled_from(value_type.words)
    if isinstance(value_type, v.Algorithm):
        return st.sampled_from(algorithms.keywords(value_type.kind))
    if isinstance(value_type, v.Name):
        return NAMES
    if isinstance(value_type, v.Text):
        return TEXT
    if isinstance(value_type, v.Address):
        return {"inet": IPV4, "inet6": IPV6}.get(value_type.family, IPV4 | IPV6)
    if isinstance(value_type, v.Prefix):
        fam = {"inet": IPV4.map(lambda a: a + "/24"), "inet6": IPV6.map(lambda a: a + "/64")}
        return fam.get(value_type.family, fam["inet"] | fam["inet6"])
    if isinstance(value_type, v.InterfaceAddress):
        return (
            IPV4.map(lambda a: a + "/30")
            if value_type.family == "inet"
            else IPV6.map(lambda a: a + "/64")
        )
    if isinstance(value_type, v.AddressOrHostname):
        return IPV4 | st.sampled_from(["peer.example.net", "vpn1.example.org"])
    if isinstance(value_type, v.Hostname):
        return st.sampled_from(["host.example.net", "a-b.example"])
    if isinstance(value_type, v.Interface | v.NextHop | v.ZoneInterface):
        return st.sampled_from(["eth0", "wan1", "st0.0", "st0.12", "ge-0/0/0.0"])
    if isinstance(value_type, v.LinuxInterface):
        return st.sampled_from(["eth0", "eth3"])
    if isinstance(value_type, v.JunosInterface):
        return st.sampled_from(["ge-0/0/0.0", "st0", "ge-0/0/3"])
    if isinstance(value_type, v.St0Ref):
        return st.integers(0, 20).map(lambda n: f"st0.{n}")
    if isinstance(value_type, v.SecretValue):
        if value_type.form == "hexadecimal":
            return st.binary(min_size=1, max_size=8).map(bytes.hex)
        keys = st.text(st.characters(min_codepoint=32, max_codepoint=255), min_size=1, max_size=10)
        return keys.filter(_not_placeholder)
    if isinstance(value_type, v.FilePath):
        return st.sampled_from(["/etc/xfrmctl/a.pem", "/tmp/b key.pem"])
    if isinstance(value_type, v.Size):
        return st.sampled_from(["10k", "128k", "1m", "1g"])
    raise AssertionError(f"no strategy for {value_type!r}")


def node_words(keyword: str, node: Node, depth: int) -> st.SearchStrategy[list[str]]:
    head = [keyword]
    if isinstance(node, Flag):
        return st.just(head)
    if isinstance(node, Leaf):
        values = value_strategy(node.value)
        if node.multi:
            return st.lists(values, min_size=1, max_size=3).map(
                lambda vs: [*head, OPEN, *vs, CLOSE] if len(vs) > 1 else [*head, vs[0]]
            )
        return values.map(lambda x: [*head, x])
    if isinstance(node, Opaque):
        return st.lists(st.sampled_from(["x", "y", "system-services", "ike"]), max_size=3).map(
            lambda ws: [*head, *ws]
        )
    if isinstance(node, Named):
        key = value_strategy(node.key)
        if node.only is not None:
            key = st.sampled_from(sorted(node.only))
        return st.tuples(key, container_words(node.body, depth + 1)).map(
            lambda kb: [*head, kb[0], *kb[1]]
        )
    return container_words(node, depth + 1).map(lambda rest: [*head, *rest])


def _deferred(keyword: str, node: Node, depth: int) -> st.SearchStrategy[list[str]]:
    return st.deferred(lambda: node_words(keyword, node, depth))


def container_words(container: Container, depth: int) -> st.SearchStrategy[list[str]]:
    options: list[st.SearchStrategy[list[str]]] = []
    if depth > 8 or not container.children:
        options.append(st.just([]))
    if container.positional is not None:
        options.append(value_strategy(container.positional).map(lambda x: [x]))
    if depth <= 8:
        for keyword, node in container.children.items():
            options.append(_deferred(keyword, node, depth))
    return st.one_of(options)


OPEN, CLOSE = "\x00[", "\x00]"  # list brackets, unlike a "[" value


def as_set_line(words: list[str]) -> str:
    return "set " + " ".join(w[1:] if w in (OPEN, CLOSE) else _quote(w) for w in words)


statements = st.lists(container_words(ROOT, 0).filter(bool), min_size=1, max_size=12)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(statements)
def test_every_writer_round_trips(lines: list[list[str]]) -> None:
    text = "\n".join(as_set_line(words) for words in lines) + "\n"
    first = load_text(text, "gen.set")
    assert first.tree is not None
    reference, _ = to_set(first.tree, show_secrets=True)
    for writer, name in ((to_set, "w.set"), (to_curly, "w.conf"), (to_yaml, "w.yaml")):
        written, _ = writer(first.tree, show_secrets=True)
        again = load_text(written, name)
        assert again.tree is not None, written
        rewritten = to_set(again.tree, show_secrets=True)[0]
        if writer is to_yaml:
            # YAML groups ignored (opaque) statements by keyword; their order carries nothing
            assert sorted(rewritten.splitlines()) == sorted(reference.splitlines()), written
        else:
            assert rewritten == reference, (name, written)
        if first.config is not None:  # refused statements are not written, so not re-refused
            assert again.config == first.config
