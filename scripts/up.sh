#!/usr/bin/env bash
# Start the DataOS API server and Dagster (webserver + daemon, `dagster dev`), each in its
# own process group, and the example's embedded PostgreSQL (seeded with the demo shop data);
# wait until they answer, apply the example data product and print where everything is.
# Applying reloads the Dagster code location (it compiles from the Poros store) and turns
# the workflows' schedules on.
# The first start creates the operator and writes its API key to $home/credentials (0600),
# where dataos-ctl finds it; the key is also printed once into the server log, so the
# state folder and the log stay private to this user.
set -euo pipefail
umask 077
home="${DATAOS_HOME:-$PWD/.dataos}"
url="${DATAOS_API_URL:-http://127.0.0.1:7400}"
port="${url##*:}"
dagster_port="${DAGSTER_PORT:-3000}"
dagster_url="http://127.0.0.1:$dagster_port"
export DATAOS_HOME="$home"
export DAGSTER_HOME="$home/dagster"
export DAGSTER_WEBSERVER_URL="$dagster_url"
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

running() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

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

started=$SECONDS
if running "$home/api.pid"; then
  echo "API server already running (pid $(cat "$home/api.pid"))"
else
  setsid .venv/bin/dataos-ctl serve --port "$port" >"$home/logs/api.log" 2>&1 &
  echo $! >"$home/api.pid"
fi
wait_for "the API server" 30 "import httpx,sys; sys.exit(httpx.get('$url/health').status_code != 200)"
echo "API server ready after $((SECONDS - started)) s"

# Dagster starts once the store exists (the API server migrated it): its code location
# reads the store when it loads.
if running "$home/dagster.pid"; then
  echo "Dagster already running (pid $(cat "$home/dagster.pid"))"
else
  # A background job of a script starts with SIGINT ignored, and `dagster dev` shuts down
  # cleanly only on SIGINT: restore its default before exec so `make down` can use it.
  setsid .venv/bin/python -c "$restore_sigint" .venv/bin/dagster dev -w workspace.yaml \
    -h 127.0.0.1 -p "$dagster_port" >"$home/logs/dagster.log" 2>&1 &
  echo $! >"$home/dagster.pid"
fi

# While Dagster loads: the example's PostgreSQL (embedded, under $home/postgres, unix socket
# only) started and seeded, the products CSV written; SHOP_PG_HOST/PORT exported for the
# apply, whose depot interpolates them.
pg_env="$(.venv/bin/python -m dataos_defs.demo start)"
eval "$pg_env"
wait_for "the Dagster webserver" 180 "
import sys
from dataos_defs.adapters.dagster_graphql import DagsterGraphQL
with DagsterGraphQL('$dagster_url', timeout=5) as dagster:
    sys.exit(dagster.location_state().load_status != 'LOADED')"
echo "Dagster ready after $((SECONDS - started)) s"

.venv/bin/dataos-ctl apply -f resources -R
cat <<MSG

DataOS is up in $((SECONDS - started)) s (state in $home):
  API server   $url        (OpenAPI docs: $url/docs)
  Dagster UI   $dagster_url        (jobs, schedules, runs, lineage; instance in $DAGSTER_HOME)
  CLI          .venv/bin/dataos-ctl get        (DATAOS_API_URL=$url)
  Credentials  $home/credentials   (the operator's API key, read by dataos-ctl;
               log in as someone else with: dataos-ctl login)
  PostgreSQL   $SHOP_PG_HOST (socket, port $SHOP_PG_PORT, database shop: the example's source)
  Logs         $home/logs/api.log, $home/logs/dagster.log, $home/postgres/log
Stop it with: make down
MSG
