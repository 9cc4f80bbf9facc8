#!/bin/sh
# Build the bench's C++ echo agent (bench/agent_cpp/build/echo_agent) from Debian's packages,
# installing them first when missing (apt-get, root). bench/audiostream.py runs this itself
# when the binary is missing or older than its sources; run it by hand to see the build.
set -e
cd "$(dirname "$0")"
need=""
command -v g++ >/dev/null 2>&1 || need="$need g++"
command -v make >/dev/null 2>&1 || need="$need make"
command -v pkg-config >/dev/null 2>&1 || need="$need pkg-config"
command -v protoc >/dev/null 2>&1 || need="$need protobuf-compiler"
command -v grpc_cpp_plugin >/dev/null 2>&1 || need="$need protobuf-compiler-grpc"
pkg-config --exists grpc++ 2>/dev/null || need="$need libgrpc++-dev libprotobuf-dev"
if [ -n "$need" ]; then
    if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
        echo "bench/agent_cpp: missing$need; install them (Debian: apt-get install$need)" >&2
        exit 1
    fi
    echo "bench/agent_cpp: installing$need (apt-get)" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get -o DPkg::Lock::Timeout=600 update -qq >/dev/null
    # shellcheck disable=SC2086
    apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends $need >/dev/null
fi
make -s
