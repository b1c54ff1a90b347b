"""Load a configuration file: detect its format, parse, validate, build the model, check it."""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from xfrmctl.config.build import build_model
from xfrmctl.config.checks import run_checks
from xfrmctl.config.errors import ConfigError, Diagnostic, Diagnostics, Location, Severity
from xfrmctl.config.grammar import ROOT
from xfrmctl.config.groups import expand_groups
from xfrmctl.config.junos_curly import parse_curly
from xfrmctl.config.junos_set import parse_set
from xfrmctl.config.lexer import CURLY_PREFIXES
from xfrmctl.config.model import Config
from xfrmctl.config.statements import Statement
from xfrmctl.config.support import report_unrealised
from xfrmctl.config.tree import Block, TreeBuilder, new_root
from xfrmctl.config.values import ParseContext
from xfrmctl.config.yaml_source import parse_yaml

FORMATS = ("yaml", "set", "curly")
_SET_COMMAND = re.compile(r"\s*(set|delete|deactivate|activate|insert|edit|top|up)(\s|$)")
_YAML_KEY = re.compile(r"[\w.-]+:(\s|$)")


@dataclass
class LoadResult:
    """The model (None when there are errors) and every diagnostic, in file order."""

    config: Config | None
    diagnostics: list[Diagnostic]
    tree: Block | None = field(default=None, repr=False)
    format: str = "yaml"
    unused_mappings: tuple[str, ...] = ()
    """Junos interface names given a mapping that nothing in the file uses (likely typos)."""

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity is Severity.ERROR]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity is Severity.WARNING]

    def require(self) -> Config:
        """The model, or `ConfigError` carrying every diagnostic."""
        if self.config is None:
            raise ConfigError(self.diagnostics)
        return self.config


def detect_format(text: str, filename: str = "") -> str:
    suffix = Path(filename).suffix.lower()
    if suffix in (".yaml", ".yml", ".json"):  # JSON is YAML
        return "yaml"
    if suffix == ".set":
        return "set"
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith(("#", "/*", "##")):
            continue
        if _SET_COMMAND.match(stripped):
            return "set"
        if stripped.startswith("{"):
            return "yaml"  # a JSON object (curly text never opens with a brace)
        yaml_key = _YAML_KEY.match(stripped) and not stripped.startswith(CURLY_PREFIXES)
        if yaml_key or stripped.startswith("---"):
            return "yaml"
        if "{" in text or stripped.endswith(";"):
            return "curly"
        return "yaml"
    return "yaml"


def parse_statements(text: str, file: str, fmt: str, diags: Diagnostics) -> list[Statement]:
    if fmt == "yaml":
        return parse_yaml(text, file, diags)
    if fmt == "set":
        return parse_set(text, file, diags)[0]
    if fmt == "curly":
        return parse_curly(text, file, diags)[0]
    raise ValueError(f"unknown configuration format {fmt!r}; expected one of {FORMATS}")


def _file_interface_map(statements: list[Statement]) -> dict[str, str]:
    """``xfrmctl interface-map JUNOS LINUX`` entries, read before anything else uses them."""
    mapping: dict[str, str] = {}
    for s in statements:
        words = [w.text for w in s.words]
        if len(words) == 4 and words[:2] == ["xfrmctl", "interface-map"]:
            mapping[words[2]] = words[3]
    return mapping


def _cascade(diagnostic: Diagnostic, failed: set[str]) -> bool:
    """A "X is required" error about a statement already reported as invalid."""
    field, sep, _ = diagnostic.message.partition(" is required")
    if not sep:
        return False
    statement = f"{diagnostic.path} {field}"
    return any(f == statement or f.startswith(statement + " ") for f in failed)


def load_text(
    text: str,
    file: str = "<config>",
    fmt: str | None = None,
    interface_map: Mapping[str, str] | None = None,
    *,
    lifetime_floor: int | None = None,
) -> LoadResult:
    """Parse and check `text`; `interface_map` (Junos -> Linux names) overrides the file's.

    `lifetime_floor` (lab and testing only) lowers the minimum of `lifetime-seconds`."""
    diags = Diagnostics()
    fmt = fmt or detect_format(text, file)
    statements = expand_groups(parse_statements(text, file, fmt, diags), diags)
    # A file that does not parse is incomplete: commit checks on its remains would only
    # report the statements that were cut off.
    syntax_ok = not diags.has_errors()
    mapping = _file_interface_map(statements)
    mapping.update(interface_map or {})
    ctx = ParseContext(interface_map=mapping, lifetime_floor=lifetime_floor)
    root = new_root(ROOT, file)
    builder = TreeBuilder(root, ctx, diags)
    for statement in statements:
        builder.apply(statement)
    used = {k: v for k, v in mapping.items() if k in ctx.used_mappings}
    config = build_model(root, used)
    if syntax_ok:
        checked = Diagnostics()
        run_checks(config, checked)
        diags.extend(d for d in checked.items if not _cascade(d, builder.failed))
        report_unrealised(root, diags)
    if not statements and not diags.has_errors():
        diags.warning(Location(file, 0), "", "the configuration is empty")
    unused = tuple(k for k in mapping if k not in ctx.used_mappings)
    return LoadResult(None if diags.has_errors() else config, diags.sorted(), root, fmt, unused)


def load_file(
    path: str | Path,
    fmt: str | None = None,
    interface_map: Mapping[str, str] | None = None,
    *,
    lifetime_floor: int | None = None,
) -> LoadResult:
    """Read and check one file; an unreadable file is a diagnostic, not an exception."""
    name = str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        return LoadResult(
            None,
            [Diagnostic(Severity.ERROR, f"cannot read file: {exc.strerror}", Location(name))],
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        return LoadResult(
            None,
            [Diagnostic(Severity.ERROR, "not UTF-8 text", Location(name, line))],
        )
    return load_text(text, name, fmt, interface_map, lifetime_floor=lifetime_floor)


def holds_keys(config: Config) -> bool:
    """Whether the model carries key material: a pre-shared key or a manual SA key."""
    if any(p.pre_shared_key is not None for p in config.ike_policies.values()):
        return True
    for vpn in config.vpns.values():
        manual = vpn.manual
        if manual is None:
            continue
        for key in (manual.authentication, manual.encryption):
            if key is not None and key.key is not None:
                return True
    return False


def exposed_keys_warning(path: str | Path, config: Config | None) -> Diagnostic | None:
    """A warning when a file holding keys can be read by its group or by everyone.

    Given by ``config check`` and at daemon start and reload, the two places where the file is
    the one deployed; loading a file for other purposes (conversion, tests) does not ask.

    A warning, not a refusal: like Libreswan's ipsec.secrets and strongSwan's swanctl.conf, the
    file's protection is the operator's (or the package's) job, and refusing to start would turn a
    permission slip into an outage of every tunnel. ``$9$`` strings are obfuscation, not
    encryption, so they count as keys too."""
    if config is None or not holds_keys(config):
        return None
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        return None
    if not mode & 0o044:
        return None
    who = "everyone" if mode & 0o004 else "its group"
    return Diagnostic(
        Severity.WARNING,
        f"the file holds keys and is readable by {who} (mode {mode:04o}); "
        f"restrict it with chmod 600",
        Location(str(path)),
    )


def load_config(
    path: str | Path,
    fmt: str | None = None,
    interface_map: Mapping[str, str] | None = None,
) -> Config:
    """The checked model of a file; raises `ConfigError` listing every error."""
    return load_file(path, fmt, interface_map).require()
