#!/bin/sh
# `make test`: install Debian's PostgreSQL for the store tests when it is missing (tests/postgres.py
# starts its own server from it in a temporary folder). Quiet, idempotent, and it never fails the
# build: where it cannot install, the PostgreSQL tests skip and say why.
if command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1 || [ "$(id -u)" != 0 ]; then
    echo "percl: PostgreSQL is not installed and apt-get cannot be used here (needs root):" \
         "its store tests will be skipped"
    exit 0
fi
echo "percl: installing PostgreSQL for the store tests (apt-get; first run only, about a minute)"
export DEBIAN_FRONTEND=noninteractive
if ! { apt-get update -qq >/dev/null 2>&1 &&
       apt-get install -y -qq --no-install-recommends postgresql >/dev/null 2>&1; }; then
    echo "percl: could not install PostgreSQL: its store tests will be skipped"
fi
exit 0
