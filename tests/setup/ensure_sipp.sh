#!/bin/sh
# `make test`: Debian's sipp (package sip-tester), so the SIP tests can call percl's SIP stack from a real,
# independent SIP implementation.
. "$(dirname "$0")/apt.sh"
if ! { command -v sipp >/dev/null 2>&1; }; then
    install_for_tests sip-tester "the SIP tests against sipp"
fi
exit 0
