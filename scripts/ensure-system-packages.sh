#!/usr/bin/env bash
# Installs the Debian packages given as arguments when they are missing.
#   scripts/ensure-system-packages.sh orthanc orthanc-dicomweb redis-server
# As root: apt-get update (once) + apt-get install, non-interactive, without starting any system
# service (tests and benches start their own private servers on free ports).
# Not root: prints the exact command to run and exits 1. Exits 0 at once when all are installed.
set -euo pipefail

if [ "$#" -eq 0 ]; then
  echo "usage: $0 <debian-package>..." >&2
  exit 2
fi

missing=()
for pkg in "$@"; do
  status="$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)"
  if [ "$status" != "installed" ]; then
    missing+=("$pkg")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "Missing Debian packages: ${missing[*]}" >&2
  echo "Install them with:" >&2
  echo "  sudo apt-get install -y --no-install-recommends ${missing[*]}"
  exit 1
fi

# Services a package may start at install time: the daemon's process name and the system user it runs as.
# Private servers started by tests and benches run as other users, so they are never touched here.
declare -A daemon_of=(
  [orthanc]=Orthanc
  [redis-server]=redis-server
  [postgresql]=postgres
)
declare -A user_of=(
  [orthanc]=orthanc
  [redis-server]=redis
  [postgresql]=postgres
)

# Remember which daemons were already running, so that only the ones this install started are stopped.
already_running=()
for pkg in "${missing[@]}"; do
  daemon="${daemon_of[$pkg]:-}"
  if [ -n "$daemon" ] && pgrep -u "${user_of[$pkg]}" -x "$daemon" >/dev/null 2>&1; then
    already_running+=("$daemon")
  fi
done

# policy-rc.d exiting 101 forbids invoke-rc.d from starting services during the install.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy"
  chmod 755 "$policy"
  created_policy=1
fi
cleanup() {
  if [ "$created_policy" -eq 1 ]; then rm -f "$policy"; fi
}
trap cleanup EXIT

export DEBIAN_FRONTEND=noninteractive
echo "Installing Debian packages: ${missing[*]}" >&2
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends \
  -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
  "${missing[@]}" >/dev/null

# Belt and braces: stop any daemon the install managed to start anyway (systemd hosts ignore policy-rc.d
# when the unit is started by a trigger).
for pkg in "${missing[@]}"; do
  daemon="${daemon_of[$pkg]:-}"
  [ -n "$daemon" ] || continue
  if printf '%s\n' "${already_running[@]:-}" | grep -qx "$daemon"; then continue; fi
  if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    systemctl stop "$pkg" >/dev/null 2>&1 || true
    systemctl disable "$pkg" >/dev/null 2>&1 || true
  fi
  for pid in $(pgrep -u "${user_of[$pkg]}" -x "$daemon" 2>/dev/null || true); do
    kill "$pid" 2>/dev/null || true
  done
done

for pkg in "${missing[@]}"; do
  status="$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)"
  if [ "$status" != "installed" ]; then
    echo "Package $pkg could not be installed (dpkg status: ${status:-unknown})." >&2
    exit 1
  fi
done
