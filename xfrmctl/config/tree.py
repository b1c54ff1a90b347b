"""Walk statements through the grammar into a validated tree of typed values.

The tree keeps what was configured (not defaults) in grammar order, with the location of every
statement; the model (`build.py`) and the writers (`emit.py`) both read it.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import TypeAlias

from xfrmctl.config.errors import Diagnostics, Location
from xfrmctl.config.grammar import Container, Flag, Leaf, Named, Opaque
from xfrmctl.config.statements import Statement, Word
from xfrmctl.config.values import ParseContext, ValueProblem, ValueType


@dataclass
class Value:
    value: object
    location: Location


@dataclass
class FlagSet:
    location: Location


@dataclass
class OpaqueStatement:
    words: tuple[str, ...]
    location: Location


@dataclass
class OpaqueItems:
    """Statements accepted under an `Opaque` node, kept so ``convert`` can write them back."""

    node: Opaque
    statements: list[OpaqueStatement] = field(default_factory=list)


@dataclass
class NamedItems:
    node: Named
    entries: dict[object, Block] = field(default_factory=dict)
    opaque: dict[str, OpaqueItems] = field(default_factory=dict)
    """Entries whose key is outside ``node.only`` (``interfaces ge-0/0/0``)."""


@dataclass
class Block:
    schema: Container
    location: Location
    path: tuple[str, ...] = ()
    items: dict[str, Item] = field(default_factory=dict)
    positional: Value | None = None

    # -- reading helpers used by the model builder -------------------------------------------

    def has(self, keyword: str) -> bool:
        return keyword in self.items

    def value(self, keyword: str) -> object:
        """The configured value, else the grammar's default (None when there is none)."""
        item = self.items.get(keyword)
        if isinstance(item, Value):
            return item.value
        node = self.schema.children[keyword]
        assert isinstance(node, Leaf), keyword
        return node.default

    def values(self, keyword: str) -> list[object]:
        item = self.items.get(keyword)
        if isinstance(item, list):
            return [v.value for v in item]
        return []

    def flag(self, keyword: str) -> bool:
        return isinstance(self.items.get(keyword), FlagSet)

    def block(self, keyword: str) -> Block | None:
        item = self.items.get(keyword)
        return item if isinstance(item, Block) else None

    def named(self, keyword: str) -> dict[object, Block]:
        item = self.items.get(keyword)
        return item.entries if isinstance(item, NamedItems) else {}

    def location_of(self, keyword: str) -> Location:
        item = self.items.get(keyword)
        if isinstance(item, Value | FlagSet | Block):
            return item.location
        if isinstance(item, list) and item:
            return item[0].location
        if isinstance(item, NamedItems) and item.entries:
            return next(iter(item.entries.values())).location
        return self.location

    def path_text(self, *more: str) -> str:
        return " ".join((*self.path, *more))


Item: TypeAlias = Value | list[Value] | FlagSet | Block | NamedItems | OpaqueItems


def new_root(schema: Container, file: str) -> Block:
    return Block(schema, Location(file, 0))


class TreeBuilder:
    """Applies statements one by one; a later statement overrides an earlier one (Junos ``set``)."""

    def __init__(self, root: Block, ctx: ParseContext, diags: Diagnostics) -> None:
        self.root = root
        self.ctx = ctx
        self.diags = diags
        self._opaque_warned: set[tuple[str, ...]] = set()
        self.failed: set[str] = set()
        """Paths of statements refused here; checks stay quiet about them being missing."""

    def apply(self, statement: Statement) -> None:
        self._walk(self.root, list(statement.words), statement.location)

    # The walk consumes words left to right; leaves may be chained on one line
    # (``dead-peer-detection interval 10 threshold 3``) as Junos allows.
    def _walk(self, block: Block, words: list[Word], location: Location) -> None:
        schema = block.schema
        if not words and not block.items and block.location.line == 0:
            block.location = location
        while words:
            word = words.pop(0)
            node = schema.children.get(word.text)
            if node is None or word.is_list:
                if schema.positional is not None and not word.is_list:
                    where = block.path_text(word.text)
                    parsed = self._parse(schema.positional, word, where)
                    if parsed is None:
                        self.failed.add(where)
                    else:
                        block.positional = Value(parsed, word.location)
                    continue
                self._unknown(block, word)
                return
            path = (*block.path, word.text)
            if isinstance(node, Flag):
                self._choose(block, word.text)
                block.items[word.text] = FlagSet(word.location)
            elif isinstance(node, Leaf):
                self._leaf(block, node, word, words, path)
            elif isinstance(node, Container):
                self._choose(block, word.text)
                child = block.items.get(word.text)
                if not isinstance(child, Block):
                    child = Block(node, word.location, path)
                    block.items[word.text] = child
                self._walk(child, words, word.location)
                return
            elif isinstance(node, Named):
                self._named(block, node, word, words, path)
                return
            else:
                self._opaque(block, node, word, words, path)
                return

    def _choose(self, block: Block, keyword: str) -> None:
        if block.schema.choice:
            for other in [k for k in block.items if k != keyword]:
                del block.items[other]

    def _leaf(
        self, block: Block, node: Leaf, word: Word, words: list[Word], path: tuple[str, ...]
    ) -> None:
        shown = " ".join(path)
        sibling_next = bool(words) and words[0].text in block.schema.children
        if not words or (node.bare is not None and sibling_next and not words[0].is_list):
            if node.bare is not None:
                self._choose(block, word.text)
                block.items[word.text] = Value(node.bare, word.location)
                return
            self.diags.error(word.location, shown, f"missing value ({node.value.describe()})")
            self.failed.add(shown)
            words.clear()
            return
        value_word = words.pop(0)
        members = list(value_word.items) if value_word.items is not None else [value_word]
        if value_word.is_list and not node.multi:
            self.diags.error(value_word.location, shown, "takes one value, not a list")
            return
        parsed: list[Value] = []
        for member in members:
            where = shown if node.secret else f"{shown} {member.text}"
            result = self._parse(node.value, member, where)
            if result is not None:
                parsed.append(Value(result, member.location))
        if len(parsed) != len(members):
            self.failed.add(shown)
            return
        if node.secret and words:
            # An unquoted key with spaces: never echo the rest of it as "unknown statement".
            self.diags.error(
                value_word.location, shown, "unexpected words after the key (quote the key)"
            )
            words.clear()
            return
        self._choose(block, word.text)
        if not node.multi:
            block.items[word.text] = parsed[0]
            return
        existing = block.items.get(word.text)
        current: list[Value] = existing if isinstance(existing, list) else []
        for value in parsed:
            if all(v.value != value.value for v in current):
                current.append(value)
        if node.max_items is not None and len(current) > node.max_items:
            self.diags.error(value_word.location, shown, f"at most {node.max_items} values allowed")
            del current[node.max_items :]
        block.items[word.text] = current

    def _named(
        self, block: Block, node: Named, word: Word, words: list[Word], path: tuple[str, ...]
    ) -> None:
        shown = " ".join(path)
        if not words:
            self.diags.error(word.location, shown, f"missing {node.key.describe()}")
            return
        key_word = words.pop(0)
        items = block.items.get(word.text)
        if not isinstance(items, NamedItems):
            items = NamedItems(node)
            block.items[word.text] = items
        keys = list(key_word.items) if key_word.items is not None else [key_word]
        if key_word.is_list and words:
            self.diags.error(key_word.location, shown, "a list of names cannot be followed by more")
            return
        for key in keys:
            if node.only is not None and key.text not in node.only:
                assert node.other is not None
                opaque = items.opaque.setdefault(key.text, OpaqueItems(node.other))
                self._record_opaque(opaque, (*path, key.text), words, key.location)
                continue
            parsed = self._parse(node.key, key, shown)
            if parsed is None:
                continue
            entry = items.entries.get(parsed)
            if entry is None:
                entry = Block(node.body, key.location, (*path, key.text))
                items.entries[parsed] = entry
            self._walk(entry, list(words), key.location)

    def _opaque(
        self, block: Block, node: Opaque, word: Word, words: list[Word], path: tuple[str, ...]
    ) -> None:
        items = block.items.get(word.text)
        if not isinstance(items, OpaqueItems):
            items = OpaqueItems(node)
            block.items[word.text] = items
        self._record_opaque(items, path, words, word.location)

    def _record_opaque(
        self, items: OpaqueItems, path: tuple[str, ...], words: list[Word], location: Location
    ) -> None:
        # `[ a b ]` at the end means one statement per member, as in Junos.
        tails: list[tuple[str, ...]] = [()]
        for w in words:
            members = [m.text for m in w.items] if w.items is not None else [w.text]
            if w.items is not None and w is words[-1]:
                tails = [(*t, m) for t in tails for m in members]
            else:
                tails = [(*t, *members) for t in tails]
        for tail in tails:
            self._add_opaque(items, OpaqueStatement(tail, location))
        # One warning per ignored hierarchy instance (e.g. each zone's host-inbound-traffic).
        if path not in self._opaque_warned:
            self._opaque_warned.add(path)
            self.diags.warning(location, " ".join(path), items.node.reason)
        words.clear()

    @staticmethod
    def _add_opaque(items: OpaqueItems, new: OpaqueStatement) -> None:
        """Keep the most specific statements: ``a b`` makes a bare ``a`` redundant."""
        n = len(new.words)
        for existing in items.statements:
            if existing.words[:n] == new.words:
                return
        items.statements = [e for e in items.statements if new.words[: len(e.words)] != e.words]
        items.statements.append(new)

    def _parse(self, value_type: ValueType, word: Word, shown: str) -> object | None:
        try:
            return value_type.parse(word.text, self.ctx)
        except ValueProblem as exc:
            self.diags.error(word.location, shown, str(exc))
            return None

    def _unknown(self, block: Block, word: Word) -> None:
        allowed = [k for k in block.schema.children if k]
        if block.schema.positional is not None:
            allowed.append(block.schema.positional.describe())
        where = block.path_text()
        what = f"unknown statement '{word.text}'" if not word.is_list else "unexpected list"
        close = difflib.get_close_matches(word.text, [k for k in block.schema.children if k], 1)
        if close and not word.is_list:
            what += f" (did you mean '{close[0]}'?)"
        hint = f"; expected one of: {', '.join(allowed)}" if allowed else ""
        self.diags.error(word.location, where, what + hint)
