#!/usr/bin/env bash
# Start the DataOS API server in its own process group, wait until it answers,
# apply the example data product and print where everything is.
# The first start creates the operator and writes its API key to $home/credentials (0600),
# where dataos-ctl finds it; the key is also printed once into the server log, so the
# state folder and the log stay private to this user.
set -euo pipefail
umask 077
home="${DATAOS_HOME:-$PWD/.dataos}"
url="${DATAOS_API_URL:-http://127.0.0.1:7400}"
port="${url##*:}"
export DATAOS_HOME="$home"
mkdir -p "$home/logs"
if [ -f "$home/api.pid" ] && kill -0 "$(cat "$home/api.pid")" 2>/dev/null; then
  echo "API server already running (pid $(cat "$home/api.pid"))"
else
  setsid .venv/bin/dataos-ctl serve --port "$port" >"$home/logs/api.log" 2>&1 &
  echo $! >"$home/api.pid"
fi
for _ in $(seq 1 100); do
  if .venv/bin/python -c "import httpx,sys; sys.exit(httpx.get('$url/health').status_code != 200)" 2>/dev/null; then
    break
  fi
  sleep 0.2
done
.venv/bin/dataos-ctl apply -f resources -R
cat <<MSG

DataOS is up (state in $home):
  API server   $url        (OpenAPI docs: $url/docs)
  CLI          .venv/bin/dataos-ctl get        (DATAOS_API_URL=$url)
  Credentials  $home/credentials   (the operator's API key, read by dataos-ctl;
               log in as someone else with: dataos-ctl login)
  Logs         $home/logs/api.log
Stop it with: make down
MSG
