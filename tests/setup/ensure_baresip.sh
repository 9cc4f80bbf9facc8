#!/bin/sh
# `make test`: install Debian's baresip when it is missing, so the SIP tests can call percl from a
# real user agent (and percl can call it). Quiet, idempotent, and it never fails the build: where
# it cannot install, those tests skip and say why.
if command -v baresip >/dev/null 2>&1; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1 || [ "$(id -u)" != 0 ]; then
    echo "percl: baresip is not installed and apt-get cannot be used here (needs root):" \
         "the SIP tests against baresip will be skipped"
    exit 0
fi
echo "percl: installing baresip for the SIP tests (apt-get; first run only)"
export DEBIAN_FRONTEND=noninteractive
if ! { apt-get -o DPkg::Lock::Timeout=600 update -qq >/dev/null 2>&1 &&
       apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends baresip \
           >/dev/null 2>&1; }; then
    echo "percl: could not install baresip: the SIP tests against baresip will be skipped"
fi
exit 0
