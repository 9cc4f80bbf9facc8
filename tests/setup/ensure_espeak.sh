#!/bin/sh
# `make test`: Debian's espeak-ng program, for the tests of the text-to-speech fallback (percl.media.tts runs
# `espeak-ng --stdout` when the espeakng-loader wheel's library cannot load; that library is what percl uses normally).
. "$(dirname "$0")/apt.sh"
if ! { command -v espeak-ng >/dev/null 2>&1; }; then
    install_for_tests espeak-ng "the text-to-speech fallback tests"
fi
exit 0
