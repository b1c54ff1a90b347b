"""`ansible-test sanity` passes for the xfrmctl.ipsec collection (validate-modules, pylint, pep8,
yamllint, ansible-doc, import, compile for every supported Python, ...), run locally.

ansible-test builds one virtualenv per sanity test and bootstraps pip in it with a script it
downloads from its own CI file host, which build machines may not reach. When that script is not
cached, a stand-in is put in its place: it bootstraps the pip bundled with Python (ensurepip) and
lets it install the rest from the package index this machine's pip is configured for (ansible-test
hides that configuration from the virtualenvs: PIP_CONFIG_FILE=/dev/null and a bare environment).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ansible_test = pytest.importorskip("ansible_test")

ROOT = Path(__file__).resolve().parents[2]
COLLECTION = ROOT / "ansible_collections" / "xfrmctl" / "ipsec"

STAND_IN = '''"""Stand-in for get-pip.py, written by xfrmctl's test_ansible_sanity.py."""
import ensurepip
import os
import subprocess
import sys
import sysconfig

SETTINGS = {settings!r}

ensurepip.bootstrap()
pth = os.path.join(sysconfig.get_paths()["purelib"], "zz_pip_settings.pth")
with open(pth, "w") as handle:
    handle.write("import os; os.environ.update(%r)\\n" % (SETTINGS,))
os.environ.update(SETTINGS)
args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
subprocess.check_call([sys.executable, "-m", "pip", "install", *args])
'''

_CONFIG_LINE = re.compile(r"^(?:global|install|:env:)\.([a-z-]+)='(.*)'$")


def pip_settings() -> dict[str, str]:
    """This machine's pip settings (config files, then PIP_* variables) as PIP_* variables."""
    settings: dict[str, str] = {}
    listed = subprocess.run([sys.executable, "-m", "pip", "config", "list"], capture_output=True,
                            text=True, check=False)  # fmt: skip
    for line in listed.stdout.splitlines():
        match = _CONFIG_LINE.match(line.strip())
        if match and match.group(1) not in ("constraint", "disable-pip-version-check"):
            settings["PIP_" + match.group(1).upper().replace("-", "_")] = match.group(2)
    for name, value in os.environ.items():
        if name.startswith("PIP_") and name not in ("PIP_CONFIG_FILE", "PIP_CONSTRAINT"):
            settings[name] = value
    return settings


def ensure_pip_bootstrap() -> None:
    source = Path(ansible_test.__file__).parent / "_internal" / "python_requirements.py"
    match = re.search(r"pip='([0-9.]+)'", source.read_text())
    assert match, "ansible-test no longer names its pip version where this test looks"
    version = match.group(1)
    cache = Path.home() / ".ansible" / "test" / "cache" / f"get_pip_{version.replace('.', '_')}.py"
    if not cache.exists():
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_text(STAND_IN.format(settings=pip_settings()))


@pytest.mark.slow
def test_ansible_test_sanity_passes() -> None:
    ensure_pip_bootstrap()
    ansible_test_cmd = Path(sys.executable).with_name("ansible-test")
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    env = dict(os.environ, PATH=f"{ansible_test_cmd.parent}:{os.environ.get('PATH', '')}")
    proc = subprocess.run(
        [str(ansible_test_cmd), "sanity", "--local", "--python", python, "--color", "no"],
        cwd=COLLECTION,
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=1500,
    )
    errors = [line for line in proc.stdout.splitlines() + proc.stderr.splitlines()
              if line.startswith(("ERROR", "FATAL"))]  # fmt: skip
    assert proc.returncode == 0, "\n".join(errors) or proc.stderr[-3000:]
    assert 'Running sanity test "validate-modules"' in proc.stdout
