"""Fixtures of the VM integration suite (run inside the lab VM by integration/run_vm.py)."""

from __future__ import annotations

import os
from collections.abc import Generator, Iterator
from pathlib import Path

import pytest

from integration.lab.topology import Lab

IN_VM = os.environ.get("XFRMCTL_IN_VM") == "1"
RESULTS = Path(os.environ["XFRMCTL_RESULTS"]) if "XFRMCTL_RESULTS" in os.environ else None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not IN_VM:
        skip = pytest.mark.skip(reason="needs the lab VM: run `python integration/run_vm.py`")
        for item in items:
            item.add_marker(skip)
        return


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, None]:
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


def _failed(request: pytest.FixtureRequest) -> bool:
    node = request.node
    return any(
        getattr(getattr(node, f"rep_{when}", None), "failed", False) for when in ("setup", "call")
    )


@pytest.fixture
def lab(request: pytest.FixtureRequest) -> Iterator[Lab]:
    """A fresh lab for one scenario; torn down (and its artefacts kept on failure) afterwards."""
    the_lab = Lab.create(request.node.nodeid, Path("/tmp/lab"))
    try:
        yield the_lab
    finally:
        artifacts = RESULTS / "artifacts" if RESULTS else None
        kept = the_lab.close(_failed(request), artifacts)
        if kept:
            print(f"\n[lab] artefacts of {request.node.nodeid} kept in {kept}")
