#!/usr/bin/env bash
# Dependencies point one way: proto <- eventstore <- projections <- services.
# CMake cannot stop an upward #include when every target sees the repo root,
# so this checks it. Also: RocksDB stays behind eventstore's public headers.
set -euo pipefail
cd "$(dirname "$0")/.."

fail=0
check() {  # check FOLDER FORBIDDEN-INCLUDE-PREFIX...
  local folder=$1; shift
  [ -d "$folder" ] || return 0
  for forbidden in "$@"; do
    if grep -rnE "#include \"${forbidden}/" "$folder" --include='*.h' --include='*.cc'; then
      echo "check-layers: $folder must not include $forbidden/" >&2
      fail=1
    fi
  done
}
check eventstore projections services tools tests
check projections services tools tests
check services tools tests

public_headers=$(find eventstore -maxdepth 1 -name '*.h')
if [ -n "$public_headers" ] && grep -nE '#include "rocksdb/' $public_headers; then
  echo "check-layers: a public eventstore header includes RocksDB" >&2
  fail=1
fi
exit $fail
