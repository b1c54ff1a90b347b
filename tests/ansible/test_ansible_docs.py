"""docs/ansible.md and the README show the very playbook and inventory the lab test runs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "docs" / "examples" / "ansible"


def yaml_blocks(doc: str) -> list[str]:
    text = (ROOT / doc).read_text()
    return re.findall(r"^```yaml\n(.*?)^```$", text, re.MULTILINE | re.DOTALL)


@pytest.mark.parametrize("doc", ["docs/ansible.md", "README.md"])
def test_the_guide_shows_the_example_files_verbatim(doc: str):
    blocks = yaml_blocks(doc)
    assert (EXAMPLES / "site.yml").read_text() in blocks
    assert (EXAMPLES / "inventory.yml").read_text() in blocks


def test_the_lab_test_runs_the_documented_playbook():
    source = (ROOT / "integration" / "tests" / "test_ansible_playbook.py").read_text()
    assert 'PLAYBOOK = ROOT / "docs" / "examples" / "ansible" / "site.yml"' in source
