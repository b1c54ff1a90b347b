"""Junos operational command grammar: ``show``, ``clear`` and ``request`` and their keywords.

One table, :data:`COMMAND_TREE`, holds the keyword tree; the options after the last keyword
come from the fields of the leaf's query type (:mod:`xfrmctl.state.query`), so an option is
declared once. As on Junos, every keyword may be abbreviated to any unambiguous prefix
(``sh sec ips sa det``), ``sa`` stands for ``security-associations``, and a wrong or ambiguous
word is answered with the word, a caret under it, and the possible completions.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import typer
from typer.core import TyperGroup

from xfrmctl.cli.client import (
    DEFAULT_TIMEOUT,
    ControlClient,
    ControlClientError,
    DaemonError,
    DaemonProtocolError,
    DaemonTimeout,
    socket_path,
)
from xfrmctl.cli.render import render_json, render_lines
from xfrmctl.state.codec import StateDecodeError, from_json
from xfrmctl.state.query import (
    ClearIkeSa,
    ClearIpsecSa,
    ClearIpsecStatistics,
    Query,
    RequestSystemReload,
    ShowIkeSa,
    ShowIpsecInactiveTunnels,
    ShowIpsecNextHopTunnels,
    ShowIpsecSa,
    ShowIpsecStatistics,
    Syntax,
    result_type,
    syntax_of,
)

# ---- the command tree -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Leaf:
    query: type[Query]
    aliases: tuple[str, ...] = ()
    # SRX hardware selectors (fpc, pic, kmd-instance): accepted for scripts, no filter.
    hardware_selectors: bool = False

    @property
    def help(self) -> str:
        return self.query.summary


@dataclass(frozen=True, slots=True)
class Node:
    help: str
    children: Mapping[str, Node | Leaf]
    aliases: tuple[str, ...] = ()


_CLEAR_IKE = Node(
    "Clear Internet Key Exchange information",
    {"security-associations": Leaf(ClearIkeSa, ("sa",), hardware_selectors=True)},
)
_CLEAR_IPSEC = Node(
    "Clear IP Security information",
    {
        "security-associations": Leaf(ClearIpsecSa, ("sa",), hardware_selectors=True),
        "statistics": Leaf(ClearIpsecStatistics, hardware_selectors=True),
    },
)

COMMAND_TREE: Final = Node(
    "",
    {
        "show": Node(
            "Show system information",
            {
                "security": Node(
                    "Show security information",
                    {
                        "ike": Node(
                            "Show Internet Key Exchange information",
                            {
                                "security-associations": Leaf(
                                    ShowIkeSa, ("sa",), hardware_selectors=True
                                ),
                            },
                        ),
                        "ipsec": Node(
                            "Show IP Security information",
                            {
                                "security-associations": Leaf(
                                    ShowIpsecSa, ("sa",), hardware_selectors=True
                                ),
                                "statistics": Leaf(ShowIpsecStatistics, hardware_selectors=True),
                                "inactive-tunnels": Leaf(ShowIpsecInactiveTunnels),
                                "next-hop-tunnels": Leaf(ShowIpsecNextHopTunnels),
                            },
                        ),
                    },
                ),
            },
        ),
        "clear": Node(
            "Clear information in the system",
            {
                "security": Node(
                    "Clear security information", {"ike": _CLEAR_IKE, "ipsec": _CLEAR_IPSEC}
                )
            },
        ),
        "request": Node(
            "Make system-level requests",
            {"system": Node("System operations", {"reload": Leaf(RequestSystemReload)})},
        ),
    },
)

_HARDWARE_SELECTORS: Final[Mapping[str, Syntax]] = {
    "fpc": Syntax("int", "fpc", help="FPC slot (accepted, no filter on Linux)"),
    "pic": Syntax("int", "pic", help="PIC slot (accepted, no filter on Linux)"),
    "kmd-instance": Syntax("name", "kmd-instance", help="KMD instance (accepted, no filter)"),
}


# ---- errors -----------------------------------------------------------------------------


@dataclass(frozen=True)
class CommandSyntaxError(Exception):
    """A command line the grammar rejects; :meth:`render` gives the Junos-style message."""

    words: tuple[str, ...]
    position: int  # index of the offending word; len(words) when a word is missing
    message: str
    completions: tuple[tuple[str, str], ...] = field(default=())

    def __str__(self) -> str:
        return self.message

    def render(self) -> str:
        line = " ".join(self.words)
        column = sum(len(w) + 1 for w in self.words[: self.position])
        out = [line, " " * column + "^", self.message]
        if self.completions:
            out.append("Possible completions:")
            width = max(20, *(len(name) + 1 for name, _ in self.completions))
            out.extend(f"  {name:<{width}} {help_}".rstrip() for name, help_ in self.completions)
        return "\n".join(out)


# ---- parsing ----------------------------------------------------------------------------


def _names(children: Mapping[str, Node | Leaf]) -> dict[str, str]:
    """Every spelling (keyword or alias) of each child, mapped to the child's keyword."""
    spellings: dict[str, str] = {}
    for keyword, child in children.items():
        spellings[keyword] = keyword
        for alias in child.aliases:
            spellings[alias] = keyword
    return spellings


def _match(word: str, spellings: Mapping[str, str]) -> list[str]:
    """Keywords the word can stand for: an exact spelling wins, else all prefix matches."""
    if word in spellings:
        return [spellings[word]]
    return sorted({target for name, target in spellings.items() if name.startswith(word)})


def _is_address(word: str) -> bool:
    try:
        ipaddress.ip_address(word)
    except ValueError:
        return False
    return True


@dataclass(frozen=True, slots=True)
class _Option:
    field: str | None  # None: hardware selector, parsed and ignored
    syntax: Syntax
    value: str | None = None  # for a bare word: the value it sets


def _options(leaf: Leaf) -> tuple[dict[str, _Option], str | None]:
    options: dict[str, _Option] = {}
    positional: str | None = None
    for name, syntax in syntax_of(leaf.query).items():
        if syntax.keyword is not None:
            options[syntax.keyword] = _Option(name, syntax)
        elif syntax.kind == "word":
            for choice in syntax.choices:
                options[choice] = _Option(name, syntax, choice)
        elif syntax.kind == "address":
            positional = name
    if leaf.hardware_selectors:
        for keyword, syntax in _HARDWARE_SELECTORS.items():
            options[keyword] = _Option(None, syntax)
    return options, positional


def _option_completions(leaf: Leaf, positional: str | None) -> tuple[tuple[str, str], ...]:
    options, _ = _options(leaf)
    rows = []
    if positional is not None:
        help_ = syntax_of(leaf.query)[positional].help
        rows.append((f"<{positional.replace('_', '-')}>", help_))
    for keyword, option in options.items():
        help_ = option.syntax.help
        if option.value is not None:
            help_ = f"Display {option.value} output"
        rows.append((keyword, help_))
    return tuple(sorted(rows))


def _node_completions(node: Node, only: Sequence[str] | None = None) -> tuple[tuple[str, str], ...]:
    keys = sorted(node.children) if only is None else list(only)
    return tuple((k, node.children[k].help) for k in keys)


def _value(words: tuple[str, ...], i: int, option: _Option, keyword: str) -> str | int:
    syntax = option.syntax
    if i >= len(words):
        raise CommandSyntaxError(
            words, i, f"syntax error, expecting <{syntax.kind}> after {keyword}."
        )
    word = words[i]
    if syntax.kind in ("int", "port"):
        if not (word.isascii() and word.isdigit()):
            raise CommandSyntaxError(
                words, i, f"invalid value for {keyword}: '{word}' (expecting a number)"
            )
        return int(word)
    if syntax.kind == "choice":
        found = _match(word, {c: c for c in syntax.choices})
        if len(found) != 1:
            raise CommandSyntaxError(
                words,
                i,
                f"invalid value for {keyword}: '{word}'",
                tuple((c, "") for c in syntax.choices),
            )
        return found[0]
    return word


def _parse_options(words: tuple[str, ...], start: int, leaf: Leaf) -> Query:
    options, positional = _options(leaf)
    spellings = {name: name for name in options}
    values: dict[str, object] = {}
    given: dict[str, int] = {}
    i = start
    while i < len(words):
        word = words[i]
        if positional is not None and positional not in values and _is_address(word):
            values[positional] = word
            given[positional] = i
            i += 1
            continue
        found = _match(word, spellings)
        if len(found) != 1:
            problem = (
                f"'{word}' is ambiguous." if found else f"syntax error, expecting <option>: {word}"
            )
            rows = _option_completions(leaf, positional)
            if found:
                rows = tuple(r for r in rows if r[0] in found)
            raise CommandSyntaxError(words, i, problem, rows)
        keyword = found[0]
        option = options[keyword]
        if option.field is not None and option.field in values:
            raise CommandSyntaxError(
                words, i, f"syntax error: {keyword} conflicts with an earlier option"
            )
        if option.value is not None:
            assert option.field is not None
            values[option.field] = option.value
            given[option.field] = i
            i += 1
            continue
        value = _value(words, i + 1, option, keyword)
        if option.field is not None:
            values[option.field] = value
            given[option.field] = i + 1
        i += 2
    try:
        return leaf.query(**values)
    except (TypeError, ValueError) as exc:
        raise CommandSyntaxError(
            words, max(given.values(), default=start), f"error: {exc}"
        ) from None


def parse_command(words: Sequence[str]) -> Query:
    """The query a command line asks for (``["show", "sec", "ike", "sa"]``)."""
    typed = tuple(words)
    node: Node | Leaf = COMMAND_TREE
    i = 0
    while isinstance(node, Node):
        if i >= len(typed):
            raise CommandSyntaxError(
                typed, i, "syntax error, expecting <command>.", _node_completions(node)
            )
        word = typed[i]
        found = _match(word, _names(node.children))
        if len(found) != 1:
            problem = (
                f"'{word}' is ambiguous." if found else f"syntax error, expecting <command>: {word}"
            )
            raise CommandSyntaxError(typed, i, problem, _node_completions(node, found or None))
        node = node.children[found[0]]
        i += 1
    return _parse_options(typed, i, node)


def leaves(
    node: Node = COMMAND_TREE, path: tuple[str, ...] = ()
) -> list[tuple[tuple[str, ...], Leaf]]:
    """Every command of the tree with its keyword path."""
    found: list[tuple[tuple[str, ...], Leaf]] = []
    for keyword, child in node.children.items():
        if isinstance(child, Leaf):
            found.append(((*path, keyword), child))
        else:
            found.extend(leaves(child, (*path, keyword)))
    return found


# ---- output pipes ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Pipe:
    help: str
    argument: str | None  # name of the argument it takes, None for none
    apply: Callable[[list[str], str], list[str]]


def _pattern(text: str) -> re.Pattern[str]:
    return re.compile(text)


PIPES: Final[Mapping[str, Pipe]] = {
    "count": Pipe("Count occurrences", None, lambda lines, _: [f"Count: {len(lines)} lines"]),
    "match": Pipe(
        "Show only text that matches a pattern",
        "pattern",
        lambda lines, arg: [line for line in lines if _pattern(arg).search(line)],
    ),
    "except": Pipe(
        "Show only text that does not match a pattern",
        "pattern",
        lambda lines, arg: [line for line in lines if not _pattern(arg).search(line)],
    ),
    "no-more": Pipe("Don't paginate output", None, lambda lines, _: lines),
}


def split_pipes(words: Sequence[str]) -> tuple[tuple[str, ...], list[tuple[Pipe, str]]]:
    """Split ``show ... | match X | count`` into the command and its output filters."""
    typed = tuple(words)
    cuts = [i for i, word in enumerate(typed) if word == "|"]
    if not cuts:
        return typed, []
    filters: list[tuple[Pipe, str]] = []
    for n, cut in enumerate(cuts):
        end = cuts[n + 1] if n + 1 < len(cuts) else len(typed)
        segment = typed[cut + 1 : end]
        completions = tuple((name, pipe.help) for name, pipe in sorted(PIPES.items()))
        if not segment:
            raise CommandSyntaxError(typed, cut + 1, "syntax error, expecting <pipe>.", completions)
        found = _match(segment[0], {name: name for name in PIPES})
        if len(found) != 1:
            problem = (
                f"'{segment[0]}' is ambiguous."
                if found
                else f"syntax error, expecting <pipe>: {segment[0]}"
            )
            raise CommandSyntaxError(typed, cut + 1, problem, completions)
        pipe = PIPES[found[0]]
        argument = " ".join(segment[1:])
        if pipe.argument is None and segment[1:]:
            raise CommandSyntaxError(typed, cut + 2, f"syntax error: {found[0]} takes no argument")
        if pipe.argument is not None:
            if not argument:
                raise CommandSyntaxError(
                    typed, end, f"syntax error, expecting <{pipe.argument}> after {found[0]}."
                )
            try:
                _pattern(argument)
            except re.error as exc:
                raise CommandSyntaxError(
                    typed, cut + 2, f"invalid pattern for {found[0]}: {exc}"
                ) from None
        filters.append((pipe, argument))
    return typed[: cuts[0]], filters


# ---- typer commands ---------------------------------------------------------------------

# Exit statuses of show, clear and request (scripts and the Ansible modules tell them apart).
EXIT_SYNTAX: Final = 1  # the command is not valid Junos syntax
EXIT_REFUSED: Final = 1  # the daemon answered with an error
EXIT_NO_DAEMON: Final = 2  # no daemon to ask: no control socket, or nobody listening on it
EXIT_NO_ANSWER: Final = 3  # a daemon took the request but did not answer it (in time, or validly)
EXIT_STATUS_HELP: Final = (
    "Exit status: 0 done; 1 syntax error or refused by the daemon; 2 no daemon running (no "
    "control socket); 3 the daemon did not answer within --timeout, or answered garbage."
)


def execute(
    root: str, words: Sequence[str], *, as_json: bool, socket: str | None, timeout: float
) -> None:
    """Parse, ask the daemon, print; exit 1 on a syntax error or refusal, 2 without a daemon,
    3 when the daemon does not answer (see EXIT_STATUS_HELP)."""
    try:
        command, filters = split_pipes([root, *words])
        if filters and as_json:
            raise CommandSyntaxError(
                tuple([root, *words]), len(command), "error: pipes apply to text, not to --json"
            )
        query = parse_command(command)
    except CommandSyntaxError as exc:
        typer.echo(exc.render(), err=True)
        raise typer.Exit(EXIT_SYNTAX) from None
    client = ControlClient(socket_path(socket), timeout=timeout)
    try:
        data = client.call(query.command, query.to_args())
    except DaemonError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(EXIT_REFUSED) from None
    except (DaemonTimeout, DaemonProtocolError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(EXIT_NO_ANSWER) from None
    except ControlClientError as exc:  # not running, or its socket cannot be opened
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(EXIT_NO_DAEMON) from None
    try:
        view = from_json(result_type(query), data)
    except StateDecodeError as exc:
        typer.echo(f"error: unexpected answer from the daemon: {exc}", err=True)
        raise typer.Exit(EXIT_NO_ANSWER) from None
    if as_json:
        typer.echo(render_json(view), nl=False)
        return
    lines = render_lines(query, view)
    for pipe, argument in filters:
        lines = pipe.apply(lines, argument)
    typer.echo("".join(f"{line}\n" for line in lines), nl=False)


_WORDS = typer.Argument(None, metavar="WORDS...", help="Junos keywords, e.g. security ike sa")
_JSON = typer.Option(False, "--json", help="Print the same fields as JSON.")
_SOCKET = typer.Option(
    None, "--socket", help="Control socket (default: $XFRMCTL_SOCKET or /run/xfrmctl/control.sock)."
)
_TIMEOUT = typer.Option(DEFAULT_TIMEOUT, "--timeout", help="Seconds to wait for the daemon.")


def show(
    words: list[str] | None = _WORDS,
    as_json: bool = _JSON,
    socket: str | None = _SOCKET,
    timeout: float = _TIMEOUT,
) -> None:
    """Show the daemon's operational state in Junos layouts (or --json).

    \b
    WORDS as on an SRX; any unambiguous prefix works (sh sec ipsec sa det):
      security ike security-associations \\[PEER] \\[index N] \\[brief|detail]
      security ipsec security-associations \\[brief|detail] \\[index N]
      security ipsec statistics \\[index N]
      security ipsec inactive-tunnels
      security ipsec next-hop-tunnels
    Text output can be piped: | match RE, | except RE, | count, | no-more.
    """
    execute("show", words or [], as_json=as_json, socket=socket, timeout=timeout)


def clear(
    words: list[str] | None = _WORDS,
    as_json: bool = _JSON,
    socket: str | None = _SOCKET,
    timeout: float = _TIMEOUT,
) -> None:
    """Clear SAs or counters; the daemon renegotiates as establish-tunnels says.

    \b
    WORDS as on an SRX:
      security ike security-associations \\[PEER] \\[index N]
        delete IKE SAs (all, a peer's, or index N) with their IPsec SAs
      security ipsec security-associations \\[index N]
        delete the IPsec SAs of every tunnel, or of tunnel ID N
      security ipsec statistics \\[index N]
        zero the counters `show security ipsec statistics` prints
    """
    execute("clear", words or [], as_json=as_json, socket=socket, timeout=timeout)


def request(
    words: list[str] | None = _WORDS,
    as_json: bool = _JSON,
    socket: str | None = _SOCKET,
    timeout: float = _TIMEOUT,
) -> None:
    """Requests to the daemon: system reload.

    `request system reload` re-reads the configuration file (as SIGHUP and
    `systemctl reload` do) and applies only what changed; a file with errors
    is refused and the running configuration stays (exit 1, with the errors).
    """
    execute("request", words or [], as_json=as_json, socket=socket, timeout=timeout)


def register(app: typer.Typer) -> None:
    """Add ``show``, ``clear`` and ``request`` to the ``xfrmctl`` app."""
    for function in (show, clear, request):
        app.command(name=function.__name__, epilog=EXIT_STATUS_HELP)(function)


class PrefixGroup(TyperGroup):
    """Top-level group that also accepts any unambiguous prefix of a command name (``sh``)."""

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            return command
        matches = [name for name in self.commands if name.startswith(cmd_name)]
        if len(matches) == 1:
            return super().get_command(ctx, matches[0])
        return None
