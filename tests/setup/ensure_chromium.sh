#!/bin/sh
# `make test`: Debian's chromium, for the browser tests (the console and the softphone; Playwright drives the system
# browser, its own browser download is not available).
. "$(dirname "$0")/apt.sh"
if ! { command -v chromium >/dev/null 2>&1; }; then
    install_for_tests chromium "the browser tests"
fi
exit 0
