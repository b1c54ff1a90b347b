#!/bin/bash
# The README's first command: install everything, then show real tunnels in the lab VM.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python integration/run_vm.py --demo
