"""Key material charon logs at level 4 (`ike = 4`, `chd = 4`), for known-answer comparisons.

charon prints binary values as `LABEL => N bytes @ 0xADDR` followed by hex dump lines
`OFFSET: XX XX ...  ascii`; these are read back into bytes by label, in log order.
"""

from __future__ import annotations

import re
from pathlib import Path

_HEAD = re.compile(r"\] (?P<label>[^\]]+?) => (?P<n>\d+) bytes @ (?:0x[0-9a-f]+|\(nil\))")
_LINE = re.compile(r"^\s*(?P<off>\d+): (?P<hex>[0-9A-F]{2}(?: [0-9A-F]{2})*)")


def binary_values(log: Path) -> list[tuple[str, bytes]]:
    values: list[tuple[str, bytes]] = []
    lines = log.read_text(errors="replace").splitlines()
    i = 0
    while i < len(lines):
        head = _HEAD.search(lines[i])
        i += 1
        if not head:
            continue
        size = int(head.group("n"))
        buf = bytearray()
        while len(buf) < size and i < len(lines):
            # each continuation line carries the logger's prefix: "TIME NN[IKE]    0: AB CD .."
            rest = lines[i].split("]", 1)[-1]
            match = _LINE.match(rest)
            if not match:
                break
            want = min(16, size - len(buf))
            buf += bytes.fromhex(match.group("hex").replace(" ", "")[: 2 * want])
            i += 1
        if len(buf) == size:  # a value still being written is not a value yet
            values.append((head.group("label").strip(), bytes(buf)))
    return values


def latest(values: list[tuple[str, bytes]], label: str) -> bytes:
    for name, value in reversed(values):
        if name == label:
            return value
    raise KeyError(f"charon logged no {label!r}")
