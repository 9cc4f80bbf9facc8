#!/bin/sh
# `make test`: install Debian's kamailio when it is missing, so the SIP tests can register and call
# through a real registrar/proxy with digest auth. Quiet, idempotent, and it never fails the build:
# where it cannot install, those tests skip and say why.
if command -v kamailio >/dev/null 2>&1 || [ -x /usr/sbin/kamailio ]; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1 || [ "$(id -u)" != 0 ]; then
    echo "percl: kamailio is not installed and apt-get cannot be used here (needs root):" \
         "the SIP tests against kamailio will be skipped"
    exit 0
fi
echo "percl: installing kamailio for the SIP tests (apt-get; first run only)"
export DEBIAN_FRONTEND=noninteractive
if ! { apt-get -o DPkg::Lock::Timeout=600 update -qq >/dev/null 2>&1 &&
       apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends kamailio \
           >/dev/null 2>&1; }; then
    echo "percl: could not install kamailio: the SIP tests against kamailio will be skipped"
fi
exit 0
