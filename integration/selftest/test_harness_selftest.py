"""Run by every VM boot in a session of its own: one test passes, one fails on purpose.

run_vm.py must judge this session a failure (exactly one failure of two tests); if it ever
judged it a pass, a failing integration test could slip through, so the host command fails.
"""


def test_inside_vm_passes() -> None:
    assert 1 + 1 == 2


def test_inside_vm_fails_on_purpose() -> None:
    assert 1 + 1 == 3, "deliberate failure: the harness must report this session as failed"
