#!/usr/bin/env bash
# Debian packages the test suite uses (none are required by the product):
#   chromium  the real browser the docs site's end-to-end test drives (apps/docs/test).
# Quiet, tolerant and fast: does nothing when everything is installed; waits for a held dpkg lock;
# exits non-zero only when a package is still missing afterwards (the caller decides what that means).
set -u
need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "apt.sh: not root, cannot install: ${need[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get -o DPkg::Lock::Timeout=600 update -qq >/dev/null 2>&1 || echo "apt.sh: apt-get update failed, trying the cached lists" >&2
apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${need[@]}" >/dev/null 2>&1 ||
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq "${need[@]}" >/dev/null 2>&1
[ -x /usr/bin/chromium ] || { echo "apt.sh: chromium is still not installed" >&2; exit 1; }
exit 0
