"""Configuration: one typed model from YAML, Junos ``set`` commands or Junos curly text.

    result = load_file("vpn.conf", interface_map={"ge-0/0/0.0": "eth0"})
    for diagnostic in result.diagnostics: print(diagnostic)   # FILE:LINE: error: ...
    config = result.require()                                 # or ConfigError

`diff(old, new)` says what a reload must change; `to_set` / `to_yaml` / `to_curly` write a
loaded file back in normalised form.
"""

from xfrmctl.config.diff import ConfigDiff, diff
from xfrmctl.config.emit import to_curly, to_set, to_yaml
from xfrmctl.config.errors import ConfigError, Diagnostic, Location, Severity
from xfrmctl.config.loader import (
    LoadResult,
    detect_format,
    exposed_keys_warning,
    load_config,
    load_file,
    load_text,
)
from xfrmctl.config.model import Config

__all__ = [
    "Config",
    "ConfigDiff",
    "ConfigError",
    "Diagnostic",
    "LoadResult",
    "Location",
    "Severity",
    "detect_format",
    "diff",
    "exposed_keys_warning",
    "load_config",
    "load_file",
    "load_text",
    "to_curly",
    "to_set",
    "to_yaml",
]
