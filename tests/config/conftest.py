"""Shared fixtures of the configuration tests."""

from __future__ import annotations

from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"


@pytest.fixture
def base_set() -> str:
    """A small complete route-based VPN (IKEv2, PSK, st0.0) that loads without diagnostics."""
    return (DATA / "base.set").read_text()


@pytest.fixture
def data_dir() -> Path:
    return DATA
