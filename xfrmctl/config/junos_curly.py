"""Junos curly-brace configuration text (``show configuration``) into statements."""

from __future__ import annotations

from xfrmctl.config.errors import Diagnostics
from xfrmctl.config.lexer import CURLY_PREFIXES, Kind, Token, tokenize
from xfrmctl.config.statements import Statement, Word, drop_prefixed, make_list, shown

MAX_DEPTH = 64
"""Blocks nested deeper than any grammar path are refused before recursion runs out."""


class _Parser:
    def __init__(self, tokens: list[Token], file: str, diags: Diagnostics) -> None:
        self.tokens = [t for t in tokens if t.kind is not Kind.NEWLINE]
        self.pos = 0
        self.file = file
        self.diags = diags
        self.statements: list[Statement] = []
        self.inactive: list[tuple[tuple[Word, ...], Token]] = []
        self.depth = 0

    def peek(self) -> Token | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def parse_block(self, prefix: tuple[Word, ...], opener: Token | None) -> bool:
        """Statements until the closing brace (or end of file at top level); False on error."""
        while True:
            token = self.peek()
            if token is None:
                if opener is not None:
                    where = shown(prefix)
                    self.diags.error(
                        opener.location,
                        where,
                        f"unexpected end of file: missing '}}' for the block opened at line "
                        f"{opener.location.line}",
                    )
                    return False
                return True
            if token.kind is Kind.RBRACE:
                self.pos += 1
                if opener is None:
                    self.diags.error(
                        token.location, "", f"unexpected '}}' (column {token.location.column})"
                    )
                    continue
                return True
            if not self.parse_statement(prefix):
                return False

    def parse_statement(self, prefix: tuple[Word, ...]) -> bool:
        inactive = False
        words: list[Word] = []
        first = self.peek()
        while True:
            token = self.peek()
            if token is None:
                assert first is not None
                self.diags.error(
                    first.location, shown((*prefix, *words)), "unexpected end of file: missing ';'"
                )
                return False
            self.pos += 1
            if token.kind is Kind.WORD:
                if not words and not token.quoted and token.text in CURLY_PREFIXES:
                    inactive = inactive or token.text == "inactive:"
                    continue
                words.append(Word(token.text, token.location))
            elif token.kind is Kind.LBRACKET:
                members: list[Word] = []
                while (t := self.peek()) is not None and t.kind is Kind.WORD:
                    members.append(Word(t.text, t.location))
                    self.pos += 1
                closing = self.peek()
                if closing is None or closing.kind is not Kind.RBRACKET:
                    self.diags.error(
                        token.location,
                        "",
                        f"missing ']' after the list at column {token.location.column}",
                    )
                    return False
                self.pos += 1
                words.append(make_list(members, token.location))
            elif token.kind is Kind.SEMI:
                if words:
                    full = (*prefix, *words)
                    self.statements.append(Statement(full, words[0].location))
                    if inactive:
                        self.inactive.append((full, token))
                return True
            elif token.kind is Kind.LBRACE:
                if not words:
                    self.diags.error(token.location, "", "'{' without a statement before it")
                    return False
                full = (*prefix, *words)
                self.depth += 1
                if self.depth > MAX_DEPTH:
                    self.diags.error(token.location, "", f"blocks nested deeper than {MAX_DEPTH}")
                    return False
                before = len(self.statements)
                if not self.parse_block(full, token):
                    return False
                self.depth -= 1
                if len(self.statements) == before:
                    self.statements.append(Statement(full, words[0].location))
                if inactive:
                    self.inactive.append((full, token))
                return True
            elif token.kind is Kind.RBRACE and words:
                self.diags.error(
                    token.location,
                    shown((*prefix, *words)),
                    f"missing ';' before '}}' (column {token.location.column})",
                )
                return False
            else:
                self.diags.error(
                    token.location,
                    "",
                    f"unexpected '{token.text}' (column {token.location.column})",
                )
                return False


def parse_curly(text: str, file: str, diags: Diagnostics) -> tuple[list[Statement], list[str]]:
    """Statements of curly text, and the paths of ``inactive:`` statements (not applied)."""
    parser = _Parser(tokenize(text, file, diags), file, diags)
    parser.parse_block((), None)
    statements = parser.statements
    dropped: list[str] = []
    for path, token in parser.inactive:
        statements = drop_prefixed(statements, tuple(w.text for w in path))
        dropped.append(shown(path))
        diags.warning(token.location, shown(path), "inactive, not applied")
    return statements, dropped
