#!/usr/bin/env bash
# The tree is formatted with .clang-format (Google style, 100 columns).
# Fix with: git ls-files '*.cc' '*.h' | xargs clang-format -i
set -euo pipefail
cd "$(dirname "$0")/.."
unformatted=$(git ls-files '*.cc' '*.h' | xargs clang-format --dry-run 2>&1 | grep "warning:" | cut -d: -f1 | sort -u || true)
if [ -n "$unformatted" ]; then
  echo "check-format: not formatted (clang-format -i fixes it):" >&2
  echo "$unformatted" >&2
  exit 1
fi
