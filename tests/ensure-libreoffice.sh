#!/usr/bin/env bash
# Make Debian's LibreOffice Calc (headless, no GUI) available for the round-trip test of
# `backtrack repair` against real spreadsheet saves. Installs it with apt when it is
# missing and we run as root (CI, fresh machines); otherwise says why that test will
# skip. Never fails the build by itself: the test reports what is missing.
set -u
exe="${BACKTRACK_SOFFICE:-/usr/bin/soffice}"
if [ -x "$exe" ]; then
  exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "libreoffice: $exe is missing and this is not a root Debian shell; the LibreOffice round trip will skip." >&2
  exit 0
fi
echo "libreoffice: installing Debian's libreoffice-calc-nogui for the repair round trip (a few minutes)..."
export DEBIAN_FRONTEND=noninteractive
if ! { apt-get update -q >/tmp/backtrack-apt-libreoffice.log 2>&1 &&
       apt-get install -y -q --no-install-recommends libreoffice-calc-nogui >>/tmp/backtrack-apt-libreoffice.log 2>&1; }; then
  echo "libreoffice: apt-get failed (see /tmp/backtrack-apt-libreoffice.log); the LibreOffice round trip will skip." >&2
fi
exit 0
