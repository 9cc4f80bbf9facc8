#!/bin/sh
# `make test`: Debian's PostgreSQL, for the store tests (tests/postgres.py starts its own server from it in a
# temporary folder).
. "$(dirname "$0")/apt.sh"
if ! { command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; }; then
    install_for_tests postgresql "the PostgreSQL store tests"
fi
exit 0
