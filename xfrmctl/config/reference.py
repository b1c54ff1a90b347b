"""A readable reference of the grammar: every statement, its values, range and default.

Printed by ``xfrmctl config schema``; generated from the grammar table itself, so it cannot
drift from what the loaders accept. The same hierarchy is the YAML schema (keys as shown,
``NAME`` entries as mapping keys).
"""

from __future__ import annotations

from xfrmctl.config.grammar import ROOT, Container, Flag, Leaf, Named, Node, Opaque


def _leaf_text(keyword: str, leaf: Leaf) -> str:
    value = f"<{leaf.value.describe()}>"
    if leaf.multi:
        value = f"[ {value} ... ]"
    if leaf.bare is not None:
        value = f"[{value}]"
    notes = []
    if leaf.default is not None:
        notes.append(f"default {leaf.value.render(leaf.default)}")
    if leaf.bare is not None:
        notes.append(f"without a value: {leaf.bare}")
    if leaf.max_items is not None:
        notes.append(f"at most {leaf.max_items}")
    if leaf.secret:
        notes.append("secret")
    comment = f"  # {'; '.join(notes)}" if notes else ""
    return f"{keyword} {value};{comment}"


def _lines(container: Container, depth: int, out: list[str]) -> None:
    pad = "    " * depth
    if container.positional is not None:
        out.append(f"{pad}<{container.positional.describe()}>;")
    for keyword, node in container.children.items():
        _node(keyword, node, depth, out)


def _node(keyword: str, node: Node, depth: int, out: list[str]) -> None:
    pad = "    " * depth
    if isinstance(node, Leaf):
        out.append(pad + _leaf_text(keyword, node))
    elif isinstance(node, Flag):
        out.append(f"{pad}{keyword};")
    elif isinstance(node, Opaque):
        out.append(f"{pad}{keyword} ...;  # ignored: {node.reason}")
    elif isinstance(node, Named):
        key = f"<{node.key.describe()}>"
        if node.only is not None:
            only = " | ".join(sorted(node.only))
            out.append(f"{pad}{keyword} ({only}) {{")
            _lines(node.body, depth + 1, out)
            out.append(f"{pad}}}")
            if node.other is not None:
                out.append(f"{pad}{keyword} {key} ...;  # other names: {node.other.reason}")
            return
        out.append(f"{pad}{keyword} {key} {{")
        _lines(node.body, depth + 1, out)
        out.append(f"{pad}}}")
    else:
        choice = "  # one of" if node.choice else ""
        if not node.children and node.positional is None:
            out.append(f"{pad}{keyword};")
            return
        out.append(f"{pad}{keyword} {{{choice}")
        _lines(node, depth + 1, out)
        out.append(f"{pad}}}")


def grammar_reference(path: tuple[str, ...] = ()) -> str:
    """The hierarchy under `path` (keywords only, e.g. ``("security", "ike")``)."""
    container: Container = ROOT
    for keyword in path:
        node = container.children.get(keyword)
        if isinstance(node, Named):
            container = node.body
        elif isinstance(node, Container):
            container = node
        else:
            raise KeyError(keyword)
    out: list[str] = []
    _lines(container, 0, out)
    return "\n".join(out) + "\n"
