"""Operational state as data: snapshot records, their JSON codec, queries and filtering.

Shared by the daemon (which fills and filters snapshots) and the CLI (which renders them);
it does no I/O.
"""
