#!/bin/bash
# Installs everything xfrmctl, its tests and its lab VM need on Debian 12 (run as root):
# Debian packages (the lab kernel, QEMU, strongSwan, iproute2 tools) and a virtualenv in .venv
# holding xfrmctl with its development tools. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  python3 python3-venv python3-pip          # xfrmctl itself
  iproute2 nftables tcpdump iputils-ping iperf3 kmod procps   # namespaces, NAT, captures, traffic
  qemu-system-x86 linux-image-amd64 busybox-static           # the lab VM (a kernel with ESP)
  strongswan-charon strongswan-swanctl                        # the interoperability peer
  libnss3-tools libldns3 libevent-pthreads-2.1-7              # Libreswan pluto's libraries
)
LIBRESWAN_DIR=/opt/libreswan   # pluto unpacked, not installed (its service would hold UDP 500)

if [ "$(id -u)" -ne 0 ]; then
  echo "setup.sh: run as root (it installs Debian packages and uses network namespaces)" >&2
  exit 1
fi

echo "==> Debian packages"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${APT_PACKAGES[@]}" >/dev/null
# strongSwan's packaged service would hold UDP 500 on the host; the lab starts its own peers.
systemctl disable --now strongswan-starter.service >/dev/null 2>&1 || true

echo "==> Libreswan pluto in $LIBRESWAN_DIR (a second interoperability peer)"
if [ ! -x "$LIBRESWAN_DIR/usr/libexec/ipsec/pluto" ]; then
  tmp=$(mktemp -d) && chmod 755 "$tmp"   # apt-get download runs as _apt
  (cd "$tmp" && apt-get download -qq libreswan 2>/dev/null)
  dpkg -x "$tmp"/libreswan_*.deb "$LIBRESWAN_DIR"
  rm -rf "$tmp"
fi
missing=$(ldd "$LIBRESWAN_DIR/usr/libexec/ipsec/pluto" | grep 'not found' || true)
if [ -n "$missing" ]; then
  echo "setup.sh: pluto lacks libraries:" >&2; echo "$missing" >&2; exit 1
fi

echo "==> Python virtualenv in .venv"
PYTHON=${PYTHON:-python3}
"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
  echo "setup.sh: Python 3.11 or newer is required ($PYTHON is $("$PYTHON" -V))" >&2; exit 1; }
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[dev,lab]'
echo "==> ready: $(.venv/bin/xfrmctl --version)"
