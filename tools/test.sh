#!/usr/bin/env bash
# Installs what is missing, checks the layering and the formatting, builds
# kam with warnings as errors and runs every test; then does the same under
# ASan+UBSan.
#   tools/test.sh            both builds
#   tools/test.sh --fast     the regular build only
set -euo pipefail
cd "$(dirname "$0")/.."

tools/install-deps.sh
tools/check-layers.sh
tools/check-format.sh

jobs=$(nproc)
run_suite() {  # run_suite BUILD-DIR CMAKE-ARGS...
  local dir=$1; shift
  cmake -S . -B "$dir" -G Ninja -DKAM_WERROR=ON "$@" >/dev/null
  cmake --build "$dir" -j "$jobs"
  (cd "$dir" && ctest --output-on-failure -j "$jobs" --timeout 600)
}

run_suite build -DCMAKE_BUILD_TYPE=RelWithDebInfo
if [ "${1:-}" != "--fast" ]; then
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
    run_suite build-asan -DCMAKE_BUILD_TYPE=Debug -DKAM_SANITIZE=ON
fi
echo "test.sh: all tests passed"
