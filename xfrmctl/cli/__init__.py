"""The ``xfrmctl`` command: Junos-style operational commands, configuration tools, the daemon."""
