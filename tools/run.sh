#!/usr/bin/env bash
# Installs what is missing, builds kam (Release) and starts kamd on ./data at
# 127.0.0.1:50051 (loopback only, no tokens). Extra arguments go to kamd and
# override these, e.g. tools/run.sh --listen 127.0.0.1:6000 --metrics 127.0.0.1:9464
# Ctrl-C (or SIGTERM) stops it cleanly: in-flight calls finish, the log is closed.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh
cmake -S . -B build-release -G Ninja -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
cmake --build build-release -j "$(nproc)" --target kamd kamctl

# Where kamd will listen: the last --listen given wins, as in kamd.
listen=127.0.0.1:50051
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  case "${args[i]}" in
    --listen) listen="${args[i + 1]:-$listen}" ;;
    --listen=*) listen="${args[i]#--listen=}" ;;
  esac
done

cat >&2 <<EOF
run: starting kamd on ./data. Its first line on stdout says where it listens. To reach it:
run:   grpcurl -plaintext ${listen} list            (server reflection: every service)
run:   grpcurl -plaintext ${listen} kam.v1.Audit/GetLogHead
run:   grpcurl -plaintext -d '{"account_id":"acme"}' ${listen} kam.v1.Views/GetAccount
run: (grpcurl: https://github.com/fullstorydev/grpcurl) or any gRPC client with proto/kam/v1/*.proto.
run: Ctrl-C stops it.
EOF
exec build-release/services/kamd --data ./data --listen 127.0.0.1:50051 "$@"
