"""Write a loaded configuration back as ``set`` commands, curly text, YAML or JSON.

The writers read the validated tree (not the model), so the output keeps exactly what was
configured, normalised: grammar order inside each block (spec §4.9), Junos interface names
replaced by their Linux names, values in canonical form, inactive statements gone. Keys are
written (as Junos ``$9$`` strings) only when asked; otherwise a placeholder that refuses to load.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

import yaml

from xfrmctl.config.grammar import Leaf, Named
from xfrmctl.config.lexer import CURLY_PREFIXES
from xfrmctl.config.secrets import PLACEHOLDER, SECRET_KEYWORDS, Secret, junos9_encode
from xfrmctl.config.tree import Block, FlagSet, NamedItems, OpaqueItems, Value

_HASHED = re.compile(r"\$[1569]\$")
_NEEDS_QUOTES = re.compile(r'[\s{}\[\];"#\\]|^$|^/\*')


@dataclass
class Node:
    """One output statement: words, and children when it opens a block."""

    words: list[str]
    children: list[Node] | None = None
    secret: bool = False
    scalar: object = None
    """The value as YAML should carry it (int stays int), for leaf statements."""
    positional: bool = False
    collection: tuple[str, ...] | None = None
    """For an entry of a named collection (``address 10.0.0.1/24``, ``unit 0``): the words
    before its name."""

    @property
    def bare_entry(self) -> bool:
        """A collection entry with nothing but its name."""
        return (
            self.collection is not None
            and self.children == []
            and len(self.words) == len(self.collection) + 1
        )


@dataclass
class Writer:
    show_secrets: bool = False
    redacted: list[str] = field(default_factory=list)
    """Paths of keys replaced by the placeholder."""

    # -- tree -> nodes ------------------------------------------------------------------------

    def nodes(self, block: Block) -> list[Node]:
        out: list[Node] = []
        schema = block.schema
        if block.positional is not None and schema.positional is not None:
            text = schema.positional.render(block.positional.value)
            out.append(Node([text], scalar=text, positional=True))
        for keyword in schema.children:
            item = block.items.get(keyword)
            if item is None:
                continue
            node = schema.children[keyword]
            path = (*block.path, keyword)
            if isinstance(item, Value):
                assert isinstance(node, Leaf)
                out.append(self._leaf(keyword, node, item, path))
            elif isinstance(item, list):
                assert isinstance(node, Leaf)
                texts = [node.value.render(v.value) for v in item]
                word = texts[0] if len(texts) == 1 else "[ " + " ".join(map(_quote, texts)) + " ]"
                out.append(
                    Node(
                        [keyword, word],
                        scalar=[_scalar(v.value, t) for v, t in zip(item, texts, strict=True)],
                    )
                )
            elif isinstance(item, FlagSet):
                out.append(Node([keyword]))
            elif isinstance(item, Block):
                children = self.nodes(item)
                if item.schema.inline and len(children) == 1:
                    only = children[0]
                    out.append(
                        Node([keyword, *only.words], only.children, only.secret, only.scalar)
                    )
                else:
                    out.append(Node([keyword], children))
            elif isinstance(item, NamedItems):
                assert isinstance(node, Named)
                head = [] if node.grouped else [keyword]
                entries: list[Node] = []
                for key, entry in item.entries.items():
                    words = [*head, node.key.render(key)]
                    children = self.nodes(entry)
                    if len(children) == 1 and children[0].positional:
                        # `address sunnyvale 10.10.10.0/24;` on one line, as Junos shows it
                        only = children[0]
                        entries.append(
                            Node([*words, *only.words], scalar=only.scalar, collection=tuple(head))
                        )
                    elif node.merge_child and len(children) == 1:
                        # `from-zone trust to-zone untrust {`, `route P next-hop X;`
                        only = children[0]
                        entries.append(
                            Node(
                                [*words, *only.words],
                                only.children,
                                only.secret,
                                only.scalar,
                                collection=tuple(head),
                            )
                        )
                    else:
                        entries.append(Node(words, children, collection=tuple(head)))
                for key_text, opaque in item.opaque.items():
                    entries.extend(self._opaque([*head, key_text], opaque, path))
                out.extend([Node([keyword], entries)] if node.grouped and entries else entries)
            else:
                assert isinstance(item, OpaqueItems)
                out.extend(self._opaque([keyword], item, path))
        return out

    def _leaf(self, keyword: str, node: Leaf, item: Value, path: tuple[str, ...]) -> Node:
        if isinstance(item.value, Secret):
            if self.show_secrets:
                text = junos9_encode(item.value.text)
            else:
                text = PLACEHOLDER
                self.redacted.append(" ".join(path))
            return Node([keyword, text], secret=True, scalar=text)
        text = node.value.render(item.value)
        return Node([keyword, text], scalar=_scalar(item.value, text))

    def _opaque(self, head: list[str], items: OpaqueItems, path: tuple[str, ...]) -> list[Node]:
        out = []
        for statement in items.statements:
            words = list(statement.words)
            for i, word in enumerate(words):
                previous = words[i - 1] if i else head[-1]
                if (previous in SECRET_KEYWORDS or _HASHED.match(word)) and not self.show_secrets:
                    words[i] = PLACEHOLDER
                    self.redacted.append(" ".join((*path, *words[:i])))
            out.append(Node([*head, *words], scalar=None))
        return out


def _scalar(value: object, text: str) -> object:
    return value if isinstance(value, int) and not isinstance(value, bool) else text


def _quote(word: str) -> str:
    if word.startswith("[ ") and word.endswith(" ]"):
        return word
    if _NEEDS_QUOTES.search(word) or word.startswith("$") or word in CURLY_PREFIXES:
        return '"' + word.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return word


# -- writers -----------------------------------------------------------------------------------


def to_set(root: Block, show_secrets: bool = False) -> tuple[str, list[str]]:
    writer = Writer(show_secrets)
    lines: list[str] = []

    def flatten(nodes: list[Node], prefix: list[str]) -> None:
        for n in nodes:
            words = [*prefix, *n.words]
            if n.children:
                flatten(n.children, words)
            else:
                lines.append("set " + " ".join(_quote(w) for w in words))

    flatten(writer.nodes(root), [])
    return "\n".join(lines) + ("\n" if lines else ""), writer.redacted


def to_curly(root: Block, show_secrets: bool = False) -> tuple[str, list[str]]:
    writer = Writer(show_secrets)
    lines: list[str] = []

    def render(nodes: list[Node], depth: int) -> None:
        pad = "    " * depth
        for n in nodes:
            head = " ".join(_quote(w) for w in n.words)
            if n.children:
                lines.append(f"{pad}{head} {{")
                render(n.children, depth + 1)
                lines.append(f"{pad}}}")
            else:
                lines.append(f"{pad}{head};" + (" ## SECRET-DATA" if n.secret else ""))

    render(writer.nodes(root), 0)
    return "\n".join(lines) + ("\n" if lines else ""), writer.redacted


def to_yaml(root: Block, show_secrets: bool = False) -> tuple[str, list[str]]:
    writer = Writer(show_secrets)
    data = _yaml_mapping(writer.nodes(root))
    if not data:
        return "{}\n", writer.redacted
    text = yaml.safe_dump(data, sort_keys=False, default_flow_style=False, allow_unicode=True)
    return text, writer.redacted


def to_json(root: Block, show_secrets: bool = False) -> tuple[str, list[str]]:
    """The YAML form's data as JSON (which is YAML: `config check` and the daemon read it),
    for tools that hold configuration as JSON (the Ansible modules, APIs)."""
    writer = Writer(show_secrets)
    data = _yaml_mapping(writer.nodes(root))
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n", writer.redacted


def _key(word: str) -> object:
    """Unit numbers as YAML integers; anything else (``007`` included) stays a string."""
    return int(word) if word.isdigit() and str(int(word)) == word and len(word) < 10 else word


def _yaml_value(nodes: list[Node]) -> object:
    if len(nodes) == 1 and nodes[0].positional and nodes[0].children is None:
        return nodes[0].scalar
    if nodes and all(n.bare_entry and n.collection == () for n in nodes):
        return [_key(n.words[0]) for n in nodes]  # grouped: `interfaces: [ge-0/0/3.0]`
    mapping = _yaml_mapping(nodes)
    return mapping if mapping else True


def _yaml_mapping(nodes: list[Node]) -> dict[object, object]:
    out: dict[object, object] = {}
    # Collections whose entries are all bare (interface addresses, zone members) read best as
    # a list: `address: [10.0.0.1/24]`.
    entries: dict[tuple[str, ...], list[Node]] = {}
    for n in nodes:
        if n.collection:
            entries.setdefault(n.collection, []).append(n)
    as_list = {c for c, group in entries.items() if all(e.bare_entry for e in group)}
    listed: set[tuple[str, ...]] = set()
    for n in nodes:
        if n.collection in as_list:
            assert n.collection is not None
            if n.collection not in listed:
                listed.add(n.collection)
                names = [_key(e.words[-1]) for e in entries[n.collection]]
                _put(out, list(n.collection), names)
            continue
        if n.children is not None:
            _put(out, n.words, _yaml_value(n.children))
        elif len(n.words) == 1:
            _put(out, n.words, True)
        else:
            value = n.scalar if n.scalar is not None else n.words[-1]
            _put(out, n.words[:-1], value, repeatable=n.scalar is None)
    return out


def _put(
    out: dict[object, object], path: list[str], value: object, repeatable: bool = False
) -> None:
    """Set `value` at `path`, merging blocks; repeated opaque statements become a list."""
    target = out
    for word in path[:-1]:
        current = target.get(_key(word))
        if isinstance(current, dict):
            target = current
            continue
        fresh: dict[object, object] = {} if current in (None, True) else {str(current): True}
        target[_key(word)] = fresh
        target = fresh
    key = _key(path[-1])
    existing = target.get(key)
    if isinstance(existing, dict) and isinstance(value, dict):
        existing.update(value)
    elif isinstance(existing, dict):
        existing[str(value)] = True
    elif existing is not None and existing is not True and repeatable:
        target[key] = [*existing, value] if isinstance(existing, list) else [existing, value]
    else:
        target[key] = value
