#!/usr/bin/env bash
# Everything the tests need on a fresh Debian machine: the package with its test extras,
# and Debian's Chromium for the browser tests (Playwright cannot download browsers here).
set -euo pipefail
cd "$(dirname "$0")/.."
# Chromium drives the browser tests (its headless shell, the same engine without the full
# browser around it: ~0.7 s less CPU per page open, tests/ui/helpers.py), CJK fonts draw the
# Chinese pages in screenshots,
# Node.js runs the browser module's tape replay against the Python engine, and npm installs
# axe-core (the accessibility audit the browser tests inject into each page).
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
[ -x /usr/lib/chromium/chromium-headless-shell ] || missing+=(chromium-headless-shell)
fc-list 2>/dev/null | grep -qi "noto sans cjk" || missing+=(fonts-noto-cjk)
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then APT="apt-get"; else APT="sudo apt-get"; fi
  $APT update -qq
  DEBIAN_FRONTEND=noninteractive $APT install -y -qq "${missing[@]}" >/dev/null
fi
# nginx: tests/test_cluster.py runs tools/serve-cluster.sh (the balancer in front of backends)
bash tools/ensure-nginx.sh
python3 -m pip install -q -e ".[test]"
# PyTorch float64 is the reference of the numeric rule (tests/test_torch.py) and of the
# adapters; its tests skip without it. Pinned: this CPU wheel lies on the machine's disk
# (about 900 MB installed, a few minutes); an unpinned torch would download a CUDA build.
python3 -c "import torch" 2>/dev/null || python3 -m pip install -q "torch==2.13.0"
# axe-core, pinned by tests/ui/package-lock.json, into tests/ui/node_modules (git-ignored)
npm ci --prefix tests/ui --no-audit --no-fund --loglevel=error
