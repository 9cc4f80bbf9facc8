#!/bin/sh
# `make test`: Debian's firefox-esr, for the browser tests over WebDriver BiDi, which firefox speaks itself
# (Playwright cannot drive Debian's firefox-esr).
. "$(dirname "$0")/apt.sh"
if ! { command -v firefox-esr >/dev/null 2>&1; }; then
    install_for_tests firefox-esr "the Firefox browser tests" --with-recommends
fi
exit 0
