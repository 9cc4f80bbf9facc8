#!/bin/sh
# `make test`: Debian's baresip, so the SIP tests can call percl from a real user agent (and percl can call it).
. "$(dirname "$0")/apt.sh"
if ! { command -v baresip >/dev/null 2>&1; }; then
    install_for_tests baresip "the SIP tests against baresip"
fi
exit 0
