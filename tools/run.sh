#!/usr/bin/env bash
# Installs what is missing, builds kam (Release) and starts kamd on ./data.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh
cmake -S . -B build-release -G Ninja -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
cmake --build build-release -j "$(nproc)" --target kamd
exec build-release/services/kamd --data ./data "$@"
