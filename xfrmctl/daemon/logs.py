"""structlog set-up: JSON lines for journald/files, a readable console on a terminal.

Context (VPN, peer, IKE SA) is bound per action by the runtime. Secrets never reach a log
call: actions and configs keep keys out of their repr, and the runtime logs only names,
addresses, SPIs and reasons.
"""

from __future__ import annotations

import logging
import sys
from typing import Any, TextIO

import structlog


def configure(*, level: str = "info", stream: TextIO | None = None, json: bool | None = None
              ) -> None:  # fmt: skip
    out = stream or sys.stderr
    use_json = (not out.isatty()) if json is None else json
    renderer: Any = (
        structlog.processors.JSONRenderer(sort_keys=False)
        if use_json
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping()[level.upper()]
        ),
        logger_factory=structlog.PrintLoggerFactory(out),
        cache_logger_on_first_use=False,
    )


def get_logger(**context: object) -> Any:
    return structlog.get_logger("xfrmctl").bind(**context)
