"""Column layout shared by the Junos list renderers."""

from __future__ import annotations

from collections.abc import Sequence


def row(cells: Sequence[tuple[str, int]], last: str, indent: str = "") -> str:
    """Left-align each cell in its width; an over-long value pushes later columns right.

    Junos never truncates (IPv6 gateways, large indexes); it keeps at least one blank between
    values, which a plain ``f"{v:<w}"`` would lose when ``v`` fills the width.
    """
    parts = [indent]
    for value, width in cells:
        parts.append(value.ljust(width - 1) + " ")
    parts.append(last)
    return "".join(parts)
