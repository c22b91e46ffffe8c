#!/usr/bin/env bash
# Make Debian's chromium available for the browser tests. Installs it with apt when it is
# missing and we run as root (CI, fresh machines); otherwise says why the browser tests
# will skip. Never fails the build by itself: the tests report what is missing.
set -u
exe="${BACKTRACK_CHROMIUM:-/usr/bin/chromium}"
if [ -x "$exe" ]; then
  exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "chromium: $exe is missing and this is not a root Debian shell; browser tests will skip." >&2
  exit 0
fi
echo "chromium: installing Debian's chromium for the browser tests (about a minute)..."
export DEBIAN_FRONTEND=noninteractive
if ! { apt-get update -q >/tmp/backtrack-apt.log 2>&1 &&
       apt-get install -y -q --no-install-recommends chromium fonts-dejavu-core >>/tmp/backtrack-apt.log 2>&1; }; then
  echo "chromium: apt-get failed (see /tmp/backtrack-apt.log); browser tests will skip." >&2
fi
exit 0
