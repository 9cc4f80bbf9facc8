#!/bin/sh
# `make test`: install Debian's chromium when it is missing, so the console's browser tests
# (tests/console/test_browser.py, Playwright) can drive a real browser. Playwright's own browser
# download is not used: the tests launch the system chromium by its path. Quiet, idempotent, and
# it never fails the build: where it cannot install, those tests skip and say why.
if command -v chromium >/dev/null 2>&1; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1 || [ "$(id -u)" != 0 ]; then
    echo "percl: chromium is not installed and apt-get cannot be used here (needs root):" \
         "the console's browser tests will be skipped"
    exit 0
fi
echo "percl: installing chromium for the console's browser tests (apt-get; first run only)"
export DEBIAN_FRONTEND=noninteractive
if ! { apt-get update -qq >/dev/null 2>&1 &&
       apt-get install -y -qq --no-install-recommends chromium >/dev/null 2>&1; }; then
    echo "percl: could not install chromium: the console's browser tests will be skipped"
fi
exit 0
