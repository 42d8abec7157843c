#!/usr/bin/env bash
# Start the DataOS API server, Dagster and the example's embedded PostgreSQL (seeded with the
# demo shop data), each in its own process group; wait until they answer, apply the example
# data product and print where everything is.
#
# Dagster runs as three processes around one code server (`dagster code-server start` on a
# unix socket in a private folder), so that a reload of the code location is seen by both
# webservers; they start once the code server serves, and the instance's storage is created
# once before they start:
#   - the daemon (schedules, sensors, run queue);
#   - the writable webserver on 127.0.0.1:$DAGSTER_INTERNAL_PORT (3070): the API server
#     reconciles and launches through it (DAGSTER_WEBSERVER_URL); no user is given its address;
#   - a read-only webserver (`dagster-webserver --read-only --path-prefix /dagster`) on
#     127.0.0.1:$DAGSTER_UI_PORT (3071), which users reach only through the API server's door,
#     http://127.0.0.1:7400/dagster/ (DAGSTER_UI_URL), signed in with a DataOS API key.
# Applying reloads the code location (it compiles from the Poros store) and turns the
# workflows' schedules on.
# The first start creates the operator and writes its API key to $home/credentials (0600),
# where dataos-ctl finds it; the key is also printed once into the server log, so the
# state folder and the log stay private to this user.
set -euo pipefail
umask 077
home="${DATAOS_HOME:-$PWD/.dataos}"
url="${DATAOS_API_URL:-http://127.0.0.1:7400}"
port="${url##*:}"
internal_port="${DAGSTER_INTERNAL_PORT:-3070}"
ui_port="${DAGSTER_UI_PORT:-3071}"
dagster_url="http://127.0.0.1:$internal_port"
dagster_ui_url="http://127.0.0.1:$ui_port"
export DATAOS_HOME="$home"
export DAGSTER_HOME="$home/dagster"
export DAGSTER_WEBSERVER_URL="$dagster_url"
export DAGSTER_UI_URL="$dagster_ui_url"
# Queries that name no cluster and match no selector run on the example's cluster.
export DATAOS_MINERVA_DEFAULT_CLUSTER="${DATAOS_MINERVA_DEFAULT_CLUSTER:-minervashop}"
mkdir -p "$home/logs" "$DAGSTER_HOME"
if [ ! -f "$DAGSTER_HOME/dagster.yaml" ]; then
  cat >"$DAGSTER_HOME/dagster.yaml" <<YAML
# The Dagster instance of \`make up\`: SQLite storage under DAGSTER_HOME, runs launched as
# local processes. Production swaps in PostgreSQL storage and the K8sRunLauncher.
storage:
  sqlite:
    base_dir: $DAGSTER_HOME/storage
run_launcher:
  module: dagster._core.launcher
  class: DefaultRunLauncher
telemetry:
  enabled: false
YAML
fi

restore_sigint='import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
os.execv(sys.argv[1], sys.argv[1:])'

# shellcheck source=scripts/pids.sh
source "$(dirname "${BASH_SOURCE[0]}")/pids.sh"

# expected COMMAND...: what the command line of the started process holds (the program's
# name and its first argument), to tell it from a process that reused its pid.
expected() { echo "$(basename "$1") $2"; }

# start NAME PIDFILE LOG COMMAND...: in its own process group, with SIGINT restored (a
# background job of a script starts with it ignored, and Dagster's processes shut down
# cleanly on it). A pid file left by a crash (dead, zombie or reused pid) is replaced; the
# previous log is kept as LOG.1 (LOG.2...).
start() {
  local name="$1" pidfile="$2" log="$3" state
  shift 3
  if [ -f "$pidfile" ]; then
    state="$(pid_state "$(cat "$pidfile")" "$(expected "$@")")"
    if [ "$state" = ours ]; then
      echo "$name already running (pid $(cat "$pidfile"))"
      return
    fi
    echo "$name: removing a stale pid file (pid $(cat "$pidfile") is $state)"
    rm -f "$pidfile"
  fi
  rotate_log "$log"
  setsid .venv/bin/python -c "$restore_sigint" "$@" >"$log" 2>&1 &
  echo $! >"$pidfile"
}

# wait_for NAME SECONDS PYTHON-EXIT-0-WHEN-READY
wait_for() {
  local deadline=$((SECONDS + $2))
  until .venv/bin/python -c "$3" 2>/dev/null; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "$1 did not answer within $2 s; see $home/logs" >&2
      exit 1
    fi
    sleep 0.5
  done
}

# location_loaded URL: exits 0 once the webserver at URL has loaded the code location.
location_loaded() {
  printf '%s' "
import sys
from dataos_defs.adapters.dagster_graphql import DagsterGraphQL
with DagsterGraphQL('$1', timeout=5) as dagster:
    sys.exit(dagster.location_state().load_status != 'LOADED')"
}

started=$SECONDS
# A new instance's storage is created once, before Dagster's processes start together (each
# would otherwise create it at the same time); meanwhile the API server starts.
migrate_pid=""
if [ ! -d "$DAGSTER_HOME/storage" ]; then
  .venv/bin/dagster instance migrate >"$home/logs/dagster-instance.log" 2>&1 &
  migrate_pid=$!
fi
start "API server" "$home/api.pid" "$home/logs/api.log" \
  .venv/bin/dataos-ctl serve --port "$port"
wait_for "the API server" 30 "import httpx,sys; sys.exit(httpx.get('$url/health').status_code != 200)"
echo "API server ready after $((SECONDS - started)) s"

# Dagster starts once the store exists (the API server migrated it): its code location
# reads the store when it loads. The code server's socket lives in a private folder (a unix
# socket path must stay short, so not under $home) named in the generated workspace.
# Every Dagster process opens the instance's storage, so none starts before it is created.
if [ -n "$migrate_pid" ] && ! wait "$migrate_pid"; then
  echo "creating the Dagster instance failed; see $home/logs/dagster-instance.log" >&2
  exit 1
fi
code_server=(.venv/bin/dagster code-server start)
if ! running "$home/dagster-code.pid" "$(expected "${code_server[@]}")"; then
  bash scripts/down.sh --socket-only
  mktemp -d "${TMPDIR:-/tmp}/dataos-dagster.XXXXXX" >"$DAGSTER_HOME/socket-dir"
fi
socket="$(cat "$DAGSTER_HOME/socket-dir")/code.sock"
cat >"$DAGSTER_HOME/workspace.yaml" <<YAML
# Written by scripts/up.sh: both webservers and the daemon load the code location from one
# code server (workspace.yaml's location, served by \`dagster code-server start\`).
load_from:
  - grpc_server:
      socket: $socket
      location_name: dataos
YAML
start "Dagster code server" "$home/dagster-code.pid" "$home/logs/dagster-code.log" \
  "${code_server[@]}" --socket "$socket" --location-name dataos \
  -m dataos_defs.location.definitions -a defs -d "$PWD"

# While the code loads: the example's PostgreSQL (embedded, under $home/postgres, unix socket
# only) started and seeded, the products CSV written; SHOP_PG_HOST/PORT exported for the
# apply, whose depot interpolates them.
pg_env="$(.venv/bin/python -m dataos_defs.demo start)"
eval "$pg_env"

# The code server binds its socket once the code has loaded. The others start after it: a
# gRPC client that finds no socket backs off, and its first calls would fail meanwhile.
deadline=$((SECONDS + 180))
until [ -S "$socket" ]; do
  if ! running "$home/dagster-code.pid" "$(expected "${code_server[@]}")" ||
    [ "$SECONDS" -ge "$deadline" ]; then
    echo "the Dagster code server did not start; see $home/logs/dagster-code.log" >&2
    exit 1
  fi
  sleep 0.2
done
start "Dagster webserver (writable)" "$home/dagster.pid" "$home/logs/dagster.log" \
  .venv/bin/dagster-webserver -h 127.0.0.1 -p "$internal_port" -w "$DAGSTER_HOME/workspace.yaml"
start "Dagster daemon" "$home/dagster-daemon.pid" "$home/logs/dagster-daemon.log" \
  .venv/bin/dagster-daemon run -w "$DAGSTER_HOME/workspace.yaml"
start "Dagster UI (read-only webserver)" "$home/dagster-ui.pid" "$home/logs/dagster-ui.log" \
  .venv/bin/dagster-webserver --read-only --path-prefix /dagster -h 127.0.0.1 -p "$ui_port" \
  -w "$DAGSTER_HOME/workspace.yaml"
wait_for "the Dagster webserver" 180 "$(location_loaded "$dagster_url")"
wait_for "the read-only Dagster webserver" 60 "$(location_loaded "$dagster_ui_url/dagster")"
echo "Dagster ready after $((SECONDS - started)) s"

# The example's pipeline runs as this application user (resources/workflow.yaml, runAsUser):
# its policies let it read the sources raw and write the shop's datasets.
if ! .venv/bin/dataos-ctl user get -i shop-pipeline >/dev/null 2>&1; then
  .venv/bin/dataos-ctl user create -i shop-pipeline -t application -n "shop pipeline" >/dev/null
fi
# --wait: the server deploys to Dagster in the background; make up ends once the example
# is active (or fails with the reason).
.venv/bin/dataos-ctl apply -f resources -R --wait --timeout 900
# The example ends catalogued (issue 11): shop-catalog ran once on apply, when the lakehouse
# was still empty (shop-daily builds it on its cron). Build it once now, then scan again.
runtime() { # NAME: the workflow's runtime as JSON (runtime, started, per-job states)
  .venv/bin/dataos-ctl get runtime -t workflow -n "$1" -o json
}
run_and_wait() { # NAME: launch a run, wait until it ends (600 s), fail unless every job succeeded
  local before
  before=$(runtime "$1" | .venv/bin/python -c 'import json, sys; print(json.load(sys.stdin)["started"])')
  .venv/bin/dataos-ctl runtime run -t workflow -n "$1" >/dev/null
  local deadline=$((SECONDS + 600)) verdict
  while :; do
    verdict=$(runtime "$1" | .venv/bin/python -c '
import json, sys
body, before = json.load(sys.stdin), sys.argv[1]
if body["runtime"] == "running" or str(body["started"]) == before:
    print("wait")
else:
    print("ok" if all(n["state"] == "success" for n in body["nodes"]) else "failed")
' "$before")
    case "$verdict" in
    ok) return 0 ;;
    failed)
      echo "workflow $1 failed; see: .venv/bin/dataos-ctl log -t workflow -n $1" >&2
      return 1
      ;;
    esac
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "workflow $1 did not finish within 600 s" >&2
      return 1
    fi
    sleep 2
  done
}
run_and_wait shop-daily
run_and_wait shop-catalog
echo "the example is built and catalogued in Metis after $((SECONDS - started)) s"
cat <<MSG

DataOS is up in $((SECONDS - started)) s (state in $home):
  Web app      $url/        (Workbench, Catalog, Operations; sign in with the operator's
               API key: "api_key" in $home/credentials)
  API server   $url        (OpenAPI docs: $url/docs)
  Dagster UI   $url/dagster/        (read-only: runs, logs, schedules, lineage)
               sign in with a DataOS API key: the operator's is in $home/credentials;
               operators, system developers and users tagged roles:id:dagster-viewer
  CLI          .venv/bin/dataos-ctl get        (DATAOS_API_URL=$url)
  Credentials  $home/credentials   (the operator's API key, read by dataos-ctl;
               log in as someone else with: dataos-ctl login)
  PostgreSQL   $SHOP_PG_HOST (socket, port $SHOP_PG_PORT, database shop: the example's source)
  Logs         $home/logs/api.log, $home/logs/dagster{,-ui,-daemon,-code}.log, $home/postgres/log
Dagster's own webservers listen on 127.0.0.1 only ($dagster_url for the API server,
$dagster_ui_url behind the door); instance in $DAGSTER_HOME. Stop it with: make down
MSG
