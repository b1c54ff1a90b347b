"""Junos ``set`` commands (``load set`` format) into statements.

Understands ``set``, ``delete``, ``deactivate``/``activate`` and the ``edit``/``up``/``top``
context commands, so text pasted from ``show | display set`` or from a step-by-step procedure
loads as it would on the router.
"""

from __future__ import annotations

from xfrmctl.config.errors import Diagnostics, Location
from xfrmctl.config.lexer import Kind, Token, tokenize
from xfrmctl.config.statements import Statement, Word, drop_prefixed, make_list, shown


def _lines(tokens: list[Token]) -> list[list[Token]]:
    lines: list[list[Token]] = [[]]
    for token in tokens:
        if token.kind is Kind.NEWLINE:
            lines.append([])
        else:
            lines[-1].append(token)
    return [line for line in lines if line]


def _words(tokens: list[Token], diags: Diagnostics) -> list[Word] | None:
    words: list[Word] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token.kind is Kind.WORD:
            words.append(Word(token.text, token.location))
        elif token.kind is Kind.LBRACKET:
            members: list[Word] = []
            i += 1
            while i < len(tokens) and tokens[i].kind is Kind.WORD:
                members.append(Word(tokens[i].text, tokens[i].location))
                i += 1
            if i >= len(tokens) or tokens[i].kind is not Kind.RBRACKET:
                diags.error(
                    token.location,
                    "",
                    f"missing ']' after the list at column {token.location.column}",
                )
                return None
            if not members:
                diags.error(token.location, "", "empty list '[ ]'")
                return None
            words.append(make_list(members, token.location))
        else:
            diags.error(
                token.location,
                "",
                f"unexpected '{token.text}' in a set command (column {token.location.column})",
            )
            return None
        i += 1
    return words


def _insert(
    statements: list[Statement], words: tuple[str, ...], location: Location, diags: Diagnostics
) -> list[Statement]:
    """``insert PATH KEYWORD NAME before|after KEYWORD OTHER``: reorder named entries
    (security policies are matched top-down, so their order matters)."""
    if len(words) < 5 or words[-3] not in ("before", "after"):
        diags.error(location, "", "expected 'insert PATH before|after KEYWORD NAME'")
        return statements
    path, where, target = words[:-3], words[-3], (*words[:-5], *words[-2:])
    n, m = len(path), len(target)
    moving = [s for s in statements if tuple(w.text for w in s.words[:n]) == path]
    others = [s for s in statements if tuple(w.text for w in s.words[:n]) != path]
    positions = [i for i, s in enumerate(others) if tuple(w.text for w in s.words[:m]) == target]
    if not moving or not positions:
        missing = " ".join(path if not moving else target)  # names only, never keys
        diags.error(location, missing, "no such statement to insert relative to")
        return statements
    at = positions[0] if where == "before" else positions[-1] + 1
    return [*others[:at], *moving, *others[at:]]


def parse_set(text: str, file: str, diags: Diagnostics) -> tuple[list[Statement], list[str]]:
    """Statements of a ``set`` file, and the paths of inactive (deactivated) statements."""
    statements: list[Statement] = []
    inactive: dict[tuple[str, ...], tuple[Location, str]] = {}
    context: list[Word] = []
    for line in _lines(tokenize(text, file, diags)):
        words = _words(line, diags)
        if not words:
            continue
        command, rest = words[0], words[1:]
        location = command.location
        full = (*context, *rest)
        path = tuple(w.text for w in full)
        if command.text == "set":
            if not rest:
                diags.error(location, "", "'set' needs a statement")
                continue
            statements.append(Statement(full, location))
        elif command.text == "delete":
            statements = drop_prefixed(statements, path)
        elif command.text == "deactivate":
            inactive[path] = (location, shown(full))
        elif command.text == "activate":
            inactive.pop(path, None)
        elif command.text == "insert":
            statements = _insert(statements, path, location, diags)
        elif command.text == "edit":
            context = list(full)
        elif command.text == "top":
            context = []
        elif command.text == "up":
            count = int(rest[0].text) if rest and rest[0].text.isdigit() else 1
            context = context[: max(0, len(context) - count)]
        else:
            diags.error(
                location,
                "",
                f"unknown command '{command.text}'; expected set, delete, deactivate, "
                "activate, insert, edit, up or top",
            )
    dropped: list[str] = []
    for path, (location, where) in inactive.items():
        before = len(statements)
        statements = drop_prefixed(statements, path)
        if len(statements) != before:
            dropped.append(where)
            diags.warning(location, where, "inactive (deactivated), not applied")
    return statements, dropped
