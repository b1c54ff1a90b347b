"""YAML configuration into statements.

The YAML schema mirrors the Junos hierarchy with the same hyphenated keywords: a mapping descends
one level, a scalar is the statement's value, a list is ``[ a b ]``, and ``true`` (or an empty
value) stands for a statement without value (``no-nat-traversal: true``). Named objects are
mappings keyed by name (``proposal: {P1: {...}}``).
"""

from __future__ import annotations

import yaml

from xfrmctl.config.errors import Diagnostics, Location
from xfrmctl.config.statements import Statement, Word, make_list


def _scalar_text(node: yaml.ScalarNode) -> str:
    if node.tag == "tag:yaml.org,2002:bool":
        return str(node.value).lower()
    return str(node.value)


MAX_STATEMENTS = 50_000
"""Far beyond any real configuration; stops alias bombs (``&a [*a, *a, ...]``) early."""


class _TooBig(Exception):
    pass


def parse_yaml(text: str, file: str, diags: Diagnostics) -> list[Statement]:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = Location(file, mark.line + 1, mark.column + 1) if mark else Location(file, 0)
        problem = getattr(exc, "problem", None) or str(exc)
        diags.error(where, "", f"invalid YAML: {problem}")
        return []
    if root is None:
        return []
    statements: list[Statement] = []
    if not isinstance(root, yaml.MappingNode):
        where = Location(file, root.start_mark.line + 1, root.start_mark.column + 1)
        diags.error(where, "", "expected a mapping at the top of the file")
        return []

    def loc(node: yaml.Node) -> Location:
        return Location(file, node.start_mark.line + 1, node.start_mark.column + 1)

    def walk(node: yaml.Node, prefix: tuple[Word, ...]) -> None:
        if len(statements) > MAX_STATEMENTS:
            raise _TooBig
        shown = " ".join(w.text for w in prefix)
        if isinstance(node, yaml.MappingNode):
            if not node.value and prefix:
                statements.append(Statement(prefix, prefix[-1].location))
            for key, value in node.value:
                if not isinstance(key, yaml.ScalarNode):
                    diags.error(loc(key), shown, "expected a keyword or name as mapping key")
                    continue
                walk(value, (*prefix, Word(_scalar_text(key), loc(key))))
        elif isinstance(node, yaml.SequenceNode):
            members: list[Word] = []
            for item in node.value:
                if not isinstance(item, yaml.ScalarNode):
                    diags.error(loc(item), shown, "expected a list of values, got a nested list")
                    return
                members.append(Word(_scalar_text(item), loc(item)))
            if not members:
                diags.error(loc(node), shown, "empty list")
                return
            statements.append(Statement((*prefix, make_list(members, loc(node))), loc(node)))
        elif isinstance(node, yaml.ScalarNode):
            if not prefix:
                diags.error(loc(node), "", "expected a mapping at the top of the file")
                return
            is_null = node.tag == "tag:yaml.org,2002:null"
            is_bool = node.tag == "tag:yaml.org,2002:bool"
            if is_null or (is_bool and node.value.lower() == "true"):
                statements.append(Statement(prefix, prefix[-1].location))
            elif is_bool:
                return  # `false`: the statement is absent
            else:
                statements.append(
                    Statement((*prefix, Word(_scalar_text(node), loc(node))), loc(node))
                )
        else:
            diags.error(loc(node), shown, "unsupported YAML node")

    try:
        walk(root, ())
    except _TooBig:
        diags.error(Location(file, 1), "", f"more than {MAX_STATEMENTS} statements")
        return []
    except RecursionError:
        diags.error(Location(file, 1), "", "nested too deeply")
        return []
    return statements
