"""Tokens of Junos configuration text, shared by the ``set`` and curly-brace readers."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from xfrmctl.config.errors import Diagnostics, Location


class Kind(enum.Enum):
    WORD = "word"
    LBRACE = "{"
    RBRACE = "}"
    SEMI = ";"
    LBRACKET = "["
    RBRACKET = "]"
    NEWLINE = "newline"


@dataclass(frozen=True)
class Token:
    kind: Kind
    text: str
    location: Location
    quoted: bool = False


_PUNCT = {
    "{": Kind.LBRACE,
    "}": Kind.RBRACE,
    ";": Kind.SEMI,
    "[": Kind.LBRACKET,
    "]": Kind.RBRACKET,
}
CURLY_PREFIXES = ("inactive:", "protect:", "replace:")
"""Words that mark a curly statement rather than start it (quoted, they are plain words)."""
_SPACES = re.compile(r"[ \t\r\f\v]+")
# A word runs to whitespace, a quote, punctuation or the start of a /* comment.
_WORD = re.compile(r'(?:[^ \t\r\f\v\n"{};\[\]/]|/(?!\*))+')
_ESCAPES = {"n": "\n", "t": "\t", '"': '"', "\\": "\\"}


def tokenize(text: str, file: str, diags: Diagnostics) -> list[Token]:
    """Split `text` into tokens; comments (``#``, ``/* */``) are dropped, newlines kept."""
    tokens: list[Token] = []
    i, line, line_start, n = 0, 1, 0, len(text)

    def here(pos: int) -> Location:
        return Location(file, line, pos - line_start + 1)

    while i < n:
        c = text[i]
        if c == "\n":
            tokens.append(Token(Kind.NEWLINE, "\n", here(i)))
            i += 1
            line, line_start = line + 1, i
        elif c in " \t\r\f\v":
            match = _SPACES.match(text, i)
            assert match is not None
            i = match.end()
        elif c == "#":
            end = text.find("\n", i)
            i = n if end < 0 else end
        elif text.startswith("/*", i):
            start = here(i)
            end = text.find("*/", i + 2)
            if end < 0:
                diags.error(start, "", f"unterminated comment '/*' (column {start.column})")
                return _drop_last_line(tokens)
            for j in range(i, end):
                if text[j] == "\n":
                    line, line_start = line + 1, j + 1
            i = end + 2
        elif c in _PUNCT:
            tokens.append(Token(_PUNCT[c], c, here(i)))
            i += 1
        elif c == '"':
            start = here(i)
            i += 1
            chars: list[str] = []
            while i < n and text[i] != '"':
                if text[i] == "\\" and i + 1 < n:
                    chars.append(_ESCAPES.get(text[i + 1], text[i + 1]))
                    i += 2
                    continue
                if text[i] == "\n":
                    line, line_start = line + 1, i + 1
                chars.append(text[i])
                i += 1
            if i >= n:
                diags.error(start, "", f"unterminated quoted string (column {start.column})")
                return _drop_last_line(tokens)
            i += 1
            tokens.append(Token(Kind.WORD, "".join(chars), start, quoted=True))
        else:
            match = _WORD.match(text, i)
            assert match is not None  # c is none of the characters handled above
            tokens.append(Token(Kind.WORD, match.group(), here(i)))
            i = match.end()
    return tokens


def _drop_last_line(tokens: list[Token]) -> list[Token]:
    """Tokens before the line where the text broke off, so no half statement is applied."""
    for i in range(len(tokens) - 1, -1, -1):
        if tokens[i].kind is Kind.NEWLINE:
            return tokens[: i + 1]
    return []
