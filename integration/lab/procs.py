"""Processes a scenario starts, so that exactly those (by PID) are stopped afterwards."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Started:
    name: str
    proc: subprocess.Popen[bytes]
    log: Path


@dataclass
class ProcessRegistry:
    """Starts long-running processes and stops every one of them by PID, newest first."""

    started: list[Started] = field(default_factory=list)

    def start(self, name: str, argv: Sequence[str], log: Path) -> Started:
        log.parent.mkdir(parents=True, exist_ok=True)
        fh = log.open("ab")
        proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=fh,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        fh.close()
        entry = Started(name, proc, log)
        self.started.append(entry)
        return entry

    def stop(self, entry: Started, sig: int = signal.SIGTERM, timeout: float = 5.0) -> None:
        """Stop one process (its whole session: it may have forked helpers) by its PID."""
        if entry.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(entry.proc.pid, sig)
            try:
                entry.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(entry.proc.pid, signal.SIGKILL)
                entry.proc.wait()
        if entry in self.started:
            self.started.remove(entry)

    def stop_all(self) -> None:
        for entry in reversed(list(self.started)):
            self.stop(entry)
