#!/bin/sh
# Installs the pinned velocityjs for compare/ (make bench-mapping) into
# node_modules here. Skips with a message when node or npm is not installed
# (compare/ then skips too).
set -e
cd "$(dirname "$0")"
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "velocityjs comparison skipped: node and npm are not installed"
  exit 0
fi
if [ ! -d node_modules/velocityjs ]; then
  npm ci --no-audit --no-fund --silent >/dev/null
fi
