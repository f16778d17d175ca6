#!/usr/bin/env bash
# Everything the tests need on a fresh Debian machine: the package with its test extras,
# and Debian's Chromium for the browser tests (Playwright cannot download browsers here).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ]; then APT="apt-get"; else APT="sudo apt-get"; fi
  $APT update -qq
  DEBIAN_FRONTEND=noninteractive $APT install -y -qq chromium fonts-noto-cjk >/dev/null
fi
python3 -m pip install -q -e ".[test]"
