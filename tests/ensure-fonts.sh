#!/usr/bin/env bash
# Noto Sans CJK (Debian's fonts-noto-cjk: 56.5 MB download, 89 MB installed, about 6 s)
# for the test that a Japanese note is drawn in the report. Installed with apt when missing
# and we run as root (CI, fresh machines); otherwise that test skips and says why. Never
# fails the build by itself.
set -u
if [ -e /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc ] || ! command -v apt-get >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "fonts: fonts-noto-cjk is missing and this is not a root shell; the Japanese-note test will skip." >&2
  exit 0
fi
echo "fonts: installing Debian's fonts-noto-cjk for the report's font test..."
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y -q --no-install-recommends fonts-noto-cjk >/tmp/backtrack-apt-fonts.log 2>&1; then
  if ! { apt-get update -q >>/tmp/backtrack-apt-fonts.log 2>&1 &&
         apt-get install -y -q --no-install-recommends fonts-noto-cjk >>/tmp/backtrack-apt-fonts.log 2>&1; }; then
    echo "fonts: apt-get failed (see /tmp/backtrack-apt-fonts.log); the Japanese-note test will skip." >&2
  fi
fi
exit 0
