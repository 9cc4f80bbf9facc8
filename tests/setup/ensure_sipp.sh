#!/bin/sh
# `make test`: install Debian's sipp (package sip-tester) when it is missing, so the SIP tests can
# call percl's SIP stack from a real, independent SIP implementation. Quiet, idempotent, and it
# never fails the build: where it cannot install, those tests skip and say why.
if command -v sipp >/dev/null 2>&1; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1 || [ "$(id -u)" != 0 ]; then
    echo "percl: sipp is not installed and apt-get cannot be used here (needs root):" \
         "the SIP tests against sipp will be skipped"
    exit 0
fi
echo "percl: installing sipp (sip-tester) for the SIP tests (apt-get; first run only)"
export DEBIAN_FRONTEND=noninteractive
if ! { apt-get update -qq >/dev/null 2>&1 &&
       apt-get install -y -qq --no-install-recommends sip-tester >/dev/null 2>&1; }; then
    echo "percl: could not install sipp: the SIP tests against sipp will be skipped"
fi
exit 0
