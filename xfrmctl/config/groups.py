"""Junos configuration groups: ``groups NAME { ... }`` applied by a top-level ``apply-groups``.

Applied group statements are inserted before the file's own statements, so explicit
configuration wins as it does on the router. What is not expanded (wildcard statements such as
``interfaces <ge-*>``, ``apply-groups`` below the top level, cluster ``${node}`` groups) is named
in a warning.
"""

from __future__ import annotations

from xfrmctl.config.errors import Diagnostics
from xfrmctl.config.statements import Statement


def expand_groups(statements: list[Statement], diags: Diagnostics) -> list[Statement]:
    groups: dict[str, list[Statement]] = {}
    applied: list[tuple[str, Statement]] = []
    rest: list[Statement] = []
    for s in statements:
        head = s.words[0].text if s.words else ""
        if head == "groups" and len(s.words) >= 2 and not s.words[1].is_list:
            body = s.words[2:]
            members = groups.setdefault(s.words[1].text, [])
            if not body:
                continue
            if any("<" in w.text or "*" in w.text for w in body if not w.is_list):
                diags.warning(
                    s.location,
                    f"groups {s.words[1].text}",
                    "statements with wildcards are not expanded; ignored",
                )
                continue
            members.append(Statement(body, s.location))
        elif head in ("apply-groups", "apply-groups-except"):
            names = [m for w in s.words[1:] for m in (w.items if w.items is not None else (w,))]
            if head == "apply-groups-except":
                diags.warning(s.location, head, "not supported; ignored")
                continue
            applied.extend((m.text, s) for m in names)
        else:
            nested = [i for i, w in enumerate(s.words) if w.text in ("apply-groups",)]
            if nested:
                where = " ".join(w.text for w in s.words[: nested[0] + 1])
                diags.warning(
                    s.location, where, "apply-groups below the top level is not expanded; ignored"
                )
                continue
            rest.append(s)
    expanded: list[Statement] = []
    for name, statement in applied:
        if name.startswith("${"):
            diags.warning(
                statement.location,
                f"apply-groups {name}",
                "cluster node groups are not expanded; ignored",
            )
        elif name not in groups:
            diags.error(
                statement.location, f"apply-groups {name}", f"group '{name}' is not defined"
            )
        else:
            expanded.extend(groups[name])
    return [*expanded, *rest]
