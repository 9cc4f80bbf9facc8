#!/bin/sh
# `make test`: Debian's kamailio, so the SIP tests can register and call through a real registrar/proxy
# with digest auth.
. "$(dirname "$0")/apt.sh"
if ! { command -v kamailio >/dev/null 2>&1 || [ -x /usr/sbin/kamailio ]; }; then
    install_for_tests kamailio "the SIP tests against kamailio"
fi
exit 0
