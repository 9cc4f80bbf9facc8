#!/bin/sh
# `make test`: install Debian's espeak-ng program when it is missing, so the tests of the text-to-speech
# fallback (percl.media.tts runs `espeak-ng --stdout` when the espeakng-loader wheel's library cannot
# load) run here too. Quiet, idempotent, and it never fails the build: where it cannot install, those
# tests skip and say why (the wheel's library is what percl uses normally).
if command -v espeak-ng >/dev/null 2>&1; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1 || [ "$(id -u)" != 0 ]; then
    echo "percl: espeak-ng is not installed and apt-get cannot be used here (needs root):" \
         "the text-to-speech fallback tests will be skipped"
    exit 0
fi
echo "percl: installing espeak-ng for the text-to-speech fallback tests (apt-get; first run only)"
export DEBIAN_FRONTEND=noninteractive
if ! { apt-get update -qq >/dev/null 2>&1 &&
       apt-get install -y -qq --no-install-recommends espeak-ng >/dev/null 2>&1; }; then
    echo "percl: could not install espeak-ng: the text-to-speech fallback tests will be skipped"
fi
exit 0
