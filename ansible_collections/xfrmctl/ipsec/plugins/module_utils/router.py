# Copyright: xfrmctl developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""The router side of the modules: the `xfrmctl` command, the configuration file, the daemon.

Everything goes through the `xfrmctl` command (never an import of xfrmctl), so the modules run
with any Python on the router. The configuration file holds keys: it is written atomically
(a temporary file in the same directory, renamed over it) with mode 0600.
"""

from __future__ import annotations

import json
import os
import tempfile

from ansible_collections.xfrmctl.ipsec.plugins.module_utils.resource import (
    ResourceError,
    parse_text,
)

# `xfrmctl show|clear|request` exit statuses (see `xfrmctl show --help`)
EXIT_NO_DAEMON = 2  # no daemon: no control socket, or nobody listening on it
EXIT_NO_ANSWER = 3  # a daemon took the request but did not answer it in time


DEFAULT_SOCKET = "/run/xfrmctl/control.sock"


class RouterError(Exception):
    """A command failed or the daemon refused; `details` goes to the task result.

    `restore`: whether the old configuration file must be put back (the daemon refused the new
    one), or left (the daemon may be applying it: it read the file before it stopped answering)."""

    def __init__(self, message, details=None, restore=True):
        super().__init__(message)
        self.message = message
        self.details = details or {}
        self.restore = restore


class Router:
    """One xfrmctl installation: its command, its configuration file and its control socket."""

    def __init__(self, module, xfrmctl="xfrmctl", config_file=None, socket=None, timeout=30.0):
        self.module = module
        self.config_file = config_file
        self.socket = socket
        self.timeout = timeout
        self.xfrmctl = module.get_bin_path(xfrmctl, required=True) if "/" not in xfrmctl \
            else xfrmctl  # fmt: skip

    def _run(self, argv, data=None):
        environ = {"LC_ALL": "C.UTF-8", "COLUMNS": "200"}
        return self.module.run_command(
            [self.xfrmctl, *argv], data=data, binary_data=data is not None, environ_update=environ
        )

    def _daemon_args(self):
        args = ["--timeout", str(self.timeout)]
        if self.socket:
            args += ["--socket", self.socket]
        return args

    # ---------------------------------------------------------------- configuration file

    def read_text(self):
        """The configuration file's text, or None when there is none yet."""
        try:
            with open(self.config_file, encoding="utf-8") as handle:
                return handle.read()
        except FileNotFoundError:
            return None

    def tree_of(self, text, name):
        """The statement tree of a configuration text in any form xfrmctl reads."""
        if text is None:
            return {}
        try:
            tree = parse_text(text)
        except ResourceError as exc:
            raise RouterError(f"{name}: {exc}") from None
        if tree is not None:
            return tree
        suffix = os.path.splitext(name)[1]
        if suffix in (".yaml", ".yml"):
            return self._yaml(text, name)
        rc, out, err = self._run(["config", "convert", "-", "--to", "yaml", "--show-secrets"],
                                 data=text)  # fmt: skip
        if rc != 0:
            raise RouterError(f"{name}: xfrmctl cannot read it", {"stderr": err})
        return self._yaml(out, name)

    def _yaml(self, text, name):
        try:
            import yaml  # only for files this module did not write  # noqa: PLC0415
        except ImportError:
            raise RouterError(
                f"{name} is not in the form this module writes: reading it needs PyYAML for "
                "the module's Python (or convert the file once with `xfrmctl config convert`)"
            ) from None
        try:
            tree = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise RouterError(f"{name}: not valid YAML: {exc}") from None
        if tree is None:
            return {}
        if not isinstance(tree, dict):
            raise RouterError(f"{name}: not a mapping of statements")
        return tree

    def check(self, text):
        """Validate `text` with `xfrmctl config check --json` as a file beside the real one."""
        path = self._temporary(text)
        try:
            return self._check_file(path)
        finally:
            os.unlink(path)

    def _check_file(self, path):
        rc, out, err = self._run(["config", "check", "--json", path])
        try:
            report = json.loads(out)
        except ValueError:
            raise RouterError("xfrmctl config check failed", {"rc": rc, "stderr": err}) from None
        shown = os.path.basename(self.config_file)
        diagnostics = []
        for d in report.get("diagnostics", []):
            where = f"{shown}:{d.get('line')}" if d.get("line") else shown
            diagnostics.append(f"{where}: {d.get('severity')}: {d.get('message')}")
        if rc != 0 or not report.get("ok"):
            errors = [line for line in diagnostics if ": error: " in line]
            raise RouterError(
                "the new configuration is invalid: " + "; ".join(errors or diagnostics),
                {"diagnostics": diagnostics},
            )
        return diagnostics

    def _temporary(self, text):
        directory = os.path.dirname(os.path.abspath(self.config_file))
        base = os.path.basename(self.config_file)
        suffix = os.path.splitext(base)[1] or ".yaml"
        fd, path = tempfile.mkstemp(prefix=f".{base}.", suffix=suffix, dir=directory)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
        except BaseException:
            os.unlink(path)
            raise
        return path

    def write(self, text):
        """Replace the file atomically with `text`, mode 0600, keeping the old owner."""
        try:
            old = os.stat(self.config_file)
        except FileNotFoundError:
            old = None
        path = self._temporary(text)
        try:
            os.chmod(path, 0o600)
            if old is not None and os.geteuid() == 0:
                os.chown(path, old.st_uid, old.st_gid)
            os.replace(path, self.config_file)
        except BaseException:
            if os.path.exists(path):
                os.unlink(path)
            raise

    def restore(self, text):
        if text is None:
            os.unlink(self.config_file)
        else:
            self.write(text)

    # ---------------------------------------------------------------- daemon

    def reload(self):
        """`request system reload`: True when applied, False when no daemon runs.

        A refusal raises RouterError with the daemon's own message."""
        rc, out, err = self._run(["request", "system", "reload", "--json", *self._daemon_args()])
        if rc == 0:
            return True
        message = err.strip() or out.strip() or f"exit status {rc}"
        if rc == EXIT_NO_DAEMON:
            return False
        if rc == EXIT_NO_ANSWER:
            raise RouterError(
                f"the daemon did not confirm the reload: {message}; the new configuration file "
                "is in place",
                {"stderr": err},
                restore=False,
            )
        raise RouterError(f"the daemon refused the configuration: {message}", {"stderr": err})

    def _socket_path(self):
        return self.socket or os.environ.get("XFRMCTL_SOCKET") or DEFAULT_SOCKET

    def show(self, *words):
        """`show WORDS --json` as data; RouterError when the daemon cannot answer."""
        rc, out, err = self._run(["show", *words, "--json", *self._daemon_args()])
        if rc != 0:
            raise RouterError(
                f"xfrmctl show {' '.join(words)}: {err.strip() or f'exit status {rc}'}",
                {"rc": rc, "stderr": err},
            )
        try:
            return json.loads(out)
        except ValueError:
            raise RouterError(f"xfrmctl show {' '.join(words)}: not JSON", {"stdout": out}) \
                from None  # fmt: skip
