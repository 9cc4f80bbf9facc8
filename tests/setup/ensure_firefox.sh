#!/bin/sh
# `make test`: install Debian's firefox-esr when it is missing, for the browser tests (the console and the
# softphone, over WebDriver BiDi, which firefox speaks itself: Playwright cannot drive Debian's firefox-esr).
# Quiet, idempotent, and it never fails the build: where it cannot install, those tests skip and say why.
if command -v firefox-esr >/dev/null 2>&1; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1 || [ "$(id -u)" != 0 ]; then
    echo "percl: firefox-esr is not installed and apt-get cannot be used here (needs root):" \
         "the browser tests will be skipped"
    exit 0
fi
echo "percl: installing firefox-esr for the browser tests (apt-get; first run only)"
export DEBIAN_FRONTEND=noninteractive
if ! { apt-get -o DPkg::Lock::Timeout=600 update -qq >/dev/null 2>&1 &&
       apt-get -o DPkg::Lock::Timeout=600 install -y -qq firefox-esr >/dev/null 2>&1; }; then
    echo "percl: could not install firefox-esr: the browser tests will be skipped"
fi
exit 0
