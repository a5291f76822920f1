#!/usr/bin/env bash
# Installs what tests/test_report_browser.py needs on a fresh Debian machine (run as root):
# Debian's chromium (/usr/bin/chromium) and Playwright's Python package to drive it.
# `playwright install` is deliberately NOT run: it downloads a browser build of its own,
# which this environment cannot fetch; the test launches /usr/bin/chromium instead.
# Python: $PYTHON if set, else the project venv /work/venv if present, else python3.
set -euo pipefail
if [ -z "${PYTHON:-}" ]; then
    if [ -x /work/venv/bin/python ]; then PYTHON=/work/venv/bin/python; else PYTHON=python3; fi
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y chromium
"$PYTHON" -m pip install playwright
