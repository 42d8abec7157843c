#!/usr/bin/env bash
# Stop the process groups `make up` started: Dagster first (SIGINT, on which `dagster dev`
# shuts its webserver, daemon and code servers down), then the API server (SIGTERM).
# A group still alive after 15 s gets SIGKILL. The example's embedded PostgreSQL goes last
# (`pg_ctl stop -m fast`), once nothing runs against it.
set -euo pipefail
home="${DATAOS_HOME:-$PWD/.dataos}"

stop() {
  local name="$1" pidfile="$2" signal="$3" pid
  if [ ! -f "$pidfile" ]; then
    return 1
  fi
  pid="$(cat "$pidfile")"
  kill "-$signal" -- "-$pid" 2>/dev/null || kill "-$signal" "$pid" 2>/dev/null || true
  for _ in $(seq 1 30); do
    kill -0 -- "-$pid" 2>/dev/null || break
    sleep 0.5
  done
  kill -KILL -- "-$pid" 2>/dev/null || true
  rm -f "$pidfile"
  echo "$name stopped"
}

stopped=0
stop "Dagster" "$home/dagster.pid" INT && stopped=1
stop "API server" "$home/api.pid" TERM && stopped=1
if [ -d "$home/postgres" ]; then
  DATAOS_HOME="$home" .venv/bin/python -m dataos_defs.demo stop && stopped=1
fi
if [ "$stopped" -eq 0 ]; then
  echo "nothing to stop"
fi
