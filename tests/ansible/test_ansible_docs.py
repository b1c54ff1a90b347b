"""docs/ansible.md shows the very playbook and inventory the lab test runs."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "docs" / "examples" / "ansible"


def yaml_blocks() -> list[str]:
    text = (ROOT / "docs" / "ansible.md").read_text()
    return re.findall(r"^```yaml\n(.*?)^```$", text, re.MULTILINE | re.DOTALL)


def test_the_guide_shows_the_example_files_verbatim():
    blocks = yaml_blocks()
    assert (EXAMPLES / "site.yml").read_text() in blocks
    assert (EXAMPLES / "inventory.yml").read_text() in blocks


def test_the_lab_test_runs_the_documented_playbook():
    source = (ROOT / "integration" / "tests" / "test_ansible_playbook.py").read_text()
    assert 'PLAYBOOK = ROOT / "docs" / "examples" / "ansible" / "site.yml"' in source
