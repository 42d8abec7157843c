#!/usr/bin/env bash
# Stop the process groups `make up` started, all at once: Dagster's (SIGINT, on which its
# webservers, daemon and code server shut down cleanly) and the API server's
# (SIGTERM). A group still alive after 15 s gets SIGKILL. The example's embedded PostgreSQL
# goes last (`pg_ctl stop -m fast`), once nothing runs against it, and so does the code
# server's private socket folder.
# `down.sh --socket-only` removes only a left-over socket folder (up.sh uses it).
set -euo pipefail
home="${DATAOS_HOME:-$PWD/.dataos}"

remove_socket_dir() {
  local record="$home/dagster/socket-dir" dir
  [ -f "$record" ] || return 0
  dir="$(cat "$record")"
  case "$dir" in
    */dataos-dagster.??????) rm -rf -- "$dir" ;;
  esac
  rm -f "$record"
}

if [ "${1:-}" = "--socket-only" ]; then
  remove_socket_dir
  exit 0
fi

# The process groups in the order they were started, with the signal each stops on.
groups=(
  "API server:$home/api.pid:TERM"
  "Dagster code server:$home/dagster-code.pid:INT"
  "Dagster webserver (writable):$home/dagster.pid:INT"
  "Dagster daemon:$home/dagster-daemon.pid:INT"
  "Dagster UI (read-only webserver):$home/dagster-ui.pid:INT"
)

# All groups are signalled at once and then waited for together (15 s at most).
stopped=0
pids=()
for group in "${groups[@]}"; do
  IFS=: read -r name pidfile signal <<<"$group"
  [ -f "$pidfile" ] || continue
  pid="$(cat "$pidfile")"
  kill "-$signal" -- "-$pid" 2>/dev/null || kill "-$signal" "$pid" 2>/dev/null || true
  pids+=("$pid")
done
for _ in $(seq 1 30); do
  alive=0
  for pid in "${pids[@]}"; do
    kill -0 -- "-$pid" 2>/dev/null && alive=1
  done
  [ "$alive" -eq 0 ] && break
  sleep 0.5
done
for group in "${groups[@]}"; do
  IFS=: read -r name pidfile signal <<<"$group"
  [ -f "$pidfile" ] || continue
  kill -KILL -- "-$(cat "$pidfile")" 2>/dev/null || true
  rm -f "$pidfile"
  echo "$name stopped"
  stopped=1
done
remove_socket_dir
if [ -d "$home/postgres" ]; then
  DATAOS_HOME="$home" .venv/bin/python -m dataos_defs.demo stop && stopped=1
fi
if [ "$stopped" -eq 0 ]; then
  echo "nothing to stop"
fi
