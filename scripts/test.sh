#!/bin/bash
# The README's second command: every check and test. Runs all of them, then fails if any failed:
#   lint (ruff), types (mypy), unit tests (pytest tests/, with branch coverage; the keying
#   engines' coverage is printed), the integration suite in the lab VM.
set -uo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
  echo "test.sh: no .venv here; run 'bash scripts/setup.sh' first" >&2
  exit 1
fi

failed=()
step() {  # NAME command...
  local name=$1; shift
  echo
  echo "==> $name"
  local start=$SECONDS
  if "$@"; then
    echo "==> $name: ok ($((SECONDS - start)) s)"
  else
    echo "==> $name: FAILED ($((SECONDS - start)) s)"
    failed+=("$name")
  fi
}

step "ruff" .venv/bin/ruff check .
step "mypy" .venv/bin/mypy
step "unit tests" .venv/bin/python -m coverage run -m pytest tests -q -p no:cacheprovider
step "coverage of the keying engines" .venv/bin/python -m coverage report --skip-covered \
  --include='xfrmctl/keying/*'
step "integration suite (lab VM)" .venv/bin/python integration/run_vm.py

echo
if [ ${#failed[@]} -gt 0 ]; then
  echo "FAILED: ${failed[*]}"
  exit 1
fi
echo "all checks passed"
