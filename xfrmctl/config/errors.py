"""Diagnostics of a configuration file: every problem is collected, then reported together.

Operators fix a file in one pass when they see all its problems at once, so parsers never stop at
the first error: they record a `Diagnostic` and carry on with the next statement.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field


class Severity(enum.Enum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, order=True)
class Location:
    """Where a statement (or one word of it) came from; line and column are 1-based."""

    file: str
    line: int = 0
    column: int = 0

    def __str__(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file


@dataclass(frozen=True)
class Diagnostic:
    severity: Severity
    message: str
    location: Location
    path: str = ""
    """The statement path (keywords and names, never a secret value) the message is about."""

    def __str__(self) -> str:
        subject = f"{self.path}: " if self.path else ""
        return f"{self.location}: {self.severity.value}: {subject}{self.message}"


@dataclass
class Diagnostics:
    """A collector handed to every stage of loading a file."""

    items: list[Diagnostic] = field(default_factory=list)

    def error(self, location: Location, path: str, message: str) -> None:
        self.items.append(Diagnostic(Severity.ERROR, message, location, path))

    def warning(self, location: Location, path: str, message: str) -> None:
        self.items.append(Diagnostic(Severity.WARNING, message, location, path))

    def extend(self, other: Iterable[Diagnostic]) -> None:
        self.items.extend(other)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.items if d.severity is Severity.ERROR]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.items if d.severity is Severity.WARNING]

    def has_errors(self) -> bool:
        return any(d.severity is Severity.ERROR for d in self.items)

    def sorted(self) -> list[Diagnostic]:
        """File order (line, column), stable for diagnostics on the same line."""
        return sorted(self.items, key=lambda d: (d.location.file, d.location.line))

    def __iter__(self) -> Iterator[Diagnostic]:
        return iter(self.sorted())

    def __len__(self) -> int:
        return len(self.items)


class ConfigError(Exception):
    """A configuration that cannot be used; carries every diagnostic of the file."""

    def __init__(self, diagnostics: Iterable[Diagnostic]) -> None:
        self.diagnostics: list[Diagnostic] = sorted(
            diagnostics, key=lambda d: (d.location.file, d.location.line)
        )
        errors = [d for d in self.diagnostics if d.severity is Severity.ERROR]
        shown = errors or self.diagnostics
        super().__init__("\n".join(str(d) for d in shown))

    @classmethod
    def single(cls, location: Location, path: str, message: str) -> ConfigError:
        return cls([Diagnostic(Severity.ERROR, message, location, path)])
