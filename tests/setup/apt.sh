# Shared by the ensure_*.sh scripts `make test` runs: install a Debian package for the tests when
# it is missing. Quiet, idempotent, and it never fails the build: where apt-get cannot be used (no
# apt, not root) or the install fails, it says which tests will be skipped and returns 0.
#
#   . "$(dirname "$0")/apt.sh"
#   install_for_tests PACKAGE "what the tests need it for" [--with-recommends]
#
# The package lists are refreshed only when older than an hour, so the scripts run one after
# another on a clean machine update them once.

install_for_tests() {
    package=$1
    purpose=$2
    recommends="--no-install-recommends"
    [ "${3:-}" = "--with-recommends" ] && recommends=""
    if ! command -v apt-get >/dev/null 2>&1 || [ "$(id -u)" != 0 ]; then
        echo "percl: $package is not installed and apt-get cannot be used here (needs root):" \
             "$purpose will be skipped"
        return 0
    fi
    echo "percl: installing $package for $purpose (apt-get; first run only)"
    export DEBIAN_FRONTEND=noninteractive
    lock="-o DPkg::Lock::Timeout=600"
    if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -mmin -60 2>/dev/null | head -1)" ]; then
        # shellcheck disable=SC2086
        apt-get $lock update -qq >/dev/null 2>&1
    fi
    # shellcheck disable=SC2086
    if ! apt-get $lock install -y -qq $recommends "$package" >/dev/null 2>&1; then
        echo "percl: could not install $package: $purpose will be skipped"
    fi
    return 0
}
