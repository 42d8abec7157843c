#!/usr/bin/env bash
# Stop the process groups `make up` started, all at once: Dagster's (SIGINT, on which its
# webservers, daemon and code server shut down cleanly) and the API server's
# (SIGTERM). A group still alive after 15 s gets SIGKILL. The example's embedded PostgreSQL
# goes last (`pg_ctl stop -m fast`), once nothing runs against it, and so does the code
# server's private socket folder.
# `down.sh --socket-only` removes only a left-over socket folder (up.sh uses it).
# A pid file whose process is gone, or whose pid another program now uses, is only removed:
# nothing is signalled that `make up` did not start.
set -euo pipefail
home="${DATAOS_HOME:-$PWD/.dataos}"
# shellcheck source=scripts/pids.sh
source "$(dirname "${BASH_SOURCE[0]}")/pids.sh"

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

# The process groups in the order they were started, with the signal each stops on and what
# the command line of its leader holds (as up.sh started it).
groups=(
  "API server:$home/api.pid:TERM:dataos-ctl serve"
  "Dagster code server:$home/dagster-code.pid:INT:dagster code-server"
  "Dagster webserver (writable):$home/dagster.pid:INT:dagster-webserver -h"
  "Dagster daemon:$home/dagster-daemon.pid:INT:dagster-daemon run"
  "Dagster UI (read-only webserver):$home/dagster-ui.pid:INT:dagster-webserver --read-only"
)

# ours PIDFILE EXPECTED: whether the group of the pid file is one up.sh started: its leader
# runs EXPECTED, or the leader is gone (dead or a zombie) while the group still lives.
ours() {
  local pid state
  pid="$(cat "$1")"
  state="$(pid_state "$pid" "$2")"
  [ "$state" = ours ] || { [ "$state" != other ] && group_alive "$pid"; }
}

# All groups are signalled at once and then waited for together (15 s at most).
stopped=0
pids=()
for group in "${groups[@]}"; do
  IFS=: read -r name pidfile signal expected <<<"$group"
  [ -f "$pidfile" ] || continue
  if ! ours "$pidfile" "$expected"; then
    echo "$name was not running (stale pid file $pidfile removed)"
    rm -f "$pidfile"
    continue
  fi
  pid="$(cat "$pidfile")"
  kill "-$signal" -- "-$pid" 2>/dev/null || kill "-$signal" "$pid" 2>/dev/null || true
  pids+=("$pid")
done
for _ in $(seq 1 30); do
  alive=0
  for pid in "${pids[@]+"${pids[@]}"}"; do
    kill -0 -- "-$pid" 2>/dev/null && alive=1
  done
  [ "$alive" -eq 0 ] && break
  sleep 0.5
done
for group in "${groups[@]}"; do
  IFS=: read -r name pidfile signal expected <<<"$group"
  [ -f "$pidfile" ] || continue
  kill -KILL -- "-$(cat "$pidfile")" 2>/dev/null || true
  rm -f "$pidfile"
  echo "$name stopped"
  stopped=1
done
remove_socket_dir
# Service and Worker replicas outlive an API server that crashed or was told to keep them.
if [ -f "$home/workloads/state.json" ]; then
  DATAOS_HOME="$home" .venv/bin/python -m dataos_defs.poros.supervisor stop && stopped=1
fi
if [ -d "$home/postgres" ]; then
  DATAOS_HOME="$home" .venv/bin/python -m dataos_defs.demo stop && stopped=1
fi
if [ "$stopped" -eq 0 ]; then
  echo "nothing to stop"
fi
