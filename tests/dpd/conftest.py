"""Make the fake-clock driver (``dpd_harness``) importable by this directory's tests."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
