#!/bin/bash
# Runs inside the lab VM (started by integration/run_vm.py). Arguments:
#   MODE (suite|quick|demo|exec) RESULTS_DIR PYTHON [pytest args... | shell command]
# Everything it reports goes to RESULTS_DIR, the one folder the VM can write that the host reads.
set -u
mode=$1; results=$2; python=$3; shift 3
root=$(cd "$(dirname "$0")/.." && pwd)
: > "$results/booted"
exec > >(tee -a "$results/console.log") 2>&1

export PATH="$(dirname "$python"):/usr/sbin:/usr/bin:/sbin:/bin"
export PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
export HOME=/tmp/home XDG_CACHE_HOME=/tmp/home/.cache
export XFRMCTL_RESULTS="$results" XFRMCTL_IN_VM=1
mkdir -p "$HOME"
cd "$root" || exit 1

modprobe -a esp4 esp6 xfrm_interface xfrm_user ip_vti ip6_vti xfrm4_tunnel xfrm6_tunnel \
  nf_tables nft_masq nft_nat nft_chain_nat 2>&1 | grep -v "not found" || true
sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1

run_pytest() {  # DIR NAME args...
  local dir=$1; shift
  mkdir -p "$dir"
  "$python" -m pytest -p no:cacheprovider --rootdir="$root" -c "$root/pyproject.toml" \
    --junitxml="$dir/junit.xml" -o junit_family=xunit2 "$@" 2>&1 | tee "$dir/pytest.log"
  echo "${PIPESTATUS[0]}" > "$dir/exitcode"
}

if [ "$mode" = exec ]; then
  bash -c "$1"
  echo $? > "$results/exitcode"
  exit 0
fi

if [ "$mode" = demo ]; then
  "$python" -m integration.demo
  echo $? > "$results/exitcode"
  exit 0
fi

t0=$(date +%s.%N)
if [ "$mode" != quick ]; then
  echo "[lab] harness self-test (one test must fail here, on purpose)"
  run_pytest "$results/selftest" -q integration/selftest -p no:randomly > /dev/null
fi
t1=$(date +%s.%N)
echo "[lab] integration suite"
run_pytest "$results/suite" integration/tests "$@"
t2=$(date +%s.%N)
awk -v a="$t0" -v b="$t1" -v c="$t2" \
  'BEGIN { printf "self-test: %.1f s; suite: %.1f s\n", b - a, c - b }' > "$results/timing"
exit 0
