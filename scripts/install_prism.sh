#!/usr/bin/env bash
# Install Stoplight Prism (the OpenAPI mock/validator used by tests/providers/test_prism.py) into a cache directory.
# Usage: scripts/install_prism.sh [DIR]   (default: tests/.cache/prism). Prints the path of the prism binary.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
dir="${1:-$here/tests/.cache/prism}"
bin="$dir/node_modules/.bin/prism"
if [ ! -x "$bin" ]; then
  command -v npm >/dev/null || { echo "npm not found: install Node.js to run the Prism tests" >&2; exit 1; }
  mkdir -p "$dir"
  npm install --prefix "$dir" --no-audit --no-fund --loglevel=error @stoplight/prism-cli@5 >&2
fi
echo "$bin"
