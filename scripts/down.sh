#!/usr/bin/env bash
# Stop the process group `make up` started.
set -euo pipefail
home="${DATAOS_HOME:-$PWD/.dataos}"
if [ -f "$home/api.pid" ]; then
  pid="$(cat "$home/api.pid")"
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  rm -f "$home/api.pid"
  echo "API server stopped"
else
  echo "nothing to stop"
fi
