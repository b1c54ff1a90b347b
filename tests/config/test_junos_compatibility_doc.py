"""docs/junos-compatibility.md is kept honest: every statement of the grammar is listed, a
statement marked "not realised" is exactly one `config check` warns about (`support.py`), with
the same reason, and an "ignored" one is a statement the grammar accepts and ignores."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from xfrmctl.config import grammar as g
from xfrmctl.config import load_text
from xfrmctl.config.support import NOT_REALISED

DOC = Path(__file__).parents[2] / "docs" / "junos-compatibility.md"
ROW = re.compile(r"^\| `([^`]+)` \| (applied|partly|not realised|refused|ignored) \| (.*) \|$")
STATUSES = ("applied", "partly", "not realised", "refused", "ignored")


Words = tuple[str, ...]


def grammar_paths(node: g.Node, path: Words = ()) -> Iterator[tuple[Words, g.Node]]:
    """(path with `*` for names, node) of every statement and block the grammar knows."""
    if path:
        yield path, node
    if isinstance(node, g.Container):
        for keyword, child in node.children.items():
            yield from grammar_paths(child, (*path, keyword))
    elif isinstance(node, g.Named):
        yield from grammar_paths(node.body, (*path, "*"))


def leaves(node: g.Node) -> list[tuple[str, ...]]:
    out = []
    for path, item in grammar_paths(node):
        if not isinstance(item, g.Container | g.Named) or (
            isinstance(item, g.Container) and not item.children
        ):
            out.append(path)
    return out


def rows() -> dict[tuple[str, ...], tuple[str, str]]:
    found: dict[tuple[str, ...], tuple[str, str]] = {}
    for line in DOC.read_text().splitlines():
        match = ROW.match(line)
        if match:
            path = tuple(match.group(1).split())
            assert path not in found, f"listed twice: {match.group(1)}"
            found[path] = (match.group(2), match.group(3))
    return found


NODES = dict(grammar_paths(g.ROOT))


def test_the_doc_lists_only_statements_the_grammar_knows() -> None:
    unknown = [" ".join(p) for p in rows() if p not in NODES]
    assert unknown == []


def test_every_statement_is_covered_by_a_row() -> None:
    listed = rows()
    missing = [
        " ".join(p)
        for p in leaves(g.ROOT)
        if not any(p[: len(r)] == r for r in listed)
    ]
    assert missing == []


def test_not_realised_rows_are_exactly_the_warned_statements_with_their_reason() -> None:
    listed = rows()
    for pattern, reason in NOT_REALISED.items():
        assert pattern in listed, f"not in the doc: {' '.join(pattern)}"
        status, notes = listed[pattern]
        assert status == "not realised", " ".join(pattern)
        assert reason in notes.replace("\\|", "|"), " ".join(pattern)
    marked = {p for p, (status, _) in listed.items() if status == "not realised"}
    assert marked == set(NOT_REALISED)


def test_ignored_rows_carry_the_reason_config_check_prints() -> None:
    for path, (status, notes) in rows().items():
        node = NODES[path]
        if isinstance(node, g.Opaque):
            assert status == "ignored", " ".join(path)
            assert node.reason in notes, " ".join(path)
        else:
            assert status != "ignored", f"{' '.join(path)}: only opaque statements are ignored"


@pytest.mark.parametrize(
    ("text", "warning"),
    [
        (
            "set security policies from-zone a to-zone b policy p then deny",
            "security policies from-zone a to-zone b policy p then deny",
        ),
        (
            "set security policies default-policy deny-all",
            "security policies default-policy deny-all",
        ),
    ],
)
def test_filtering_statements_are_reported(text: str, warning: str) -> None:
    result = load_text(text + "\n", "f.set")
    assert [(d.path, d.message) for d in result.warnings] == [
        (warning, f"not realised yet: {NOT_REALISED[_pattern(warning)]}")
    ]


def _pattern(path: str) -> tuple[str, ...]:
    words = path.split()
    for pattern in NOT_REALISED:
        pairs = zip(pattern, words, strict=False)
        if len(pattern) == len(words) and all(p in ("*", w) for p, w in pairs):
            return pattern
    raise KeyError(path)
