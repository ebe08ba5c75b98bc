#!/usr/bin/env bash
# The whole benchmark (`make bench`): for SQLite and PostgreSQL — generate the data if missing, start
# `guanxi serve` on a free port, run bench/run.py against it while sampling the server's RSS, stop it.
#
# Environment:
#   BENCH_CUSTOMERS    customers to generate (default 1000000)
#   BENCH_REQUESTS     timed requests per scenario (default 200)
#   BENCH_CONCURRENCY  requests in flight (default 4)
#   BENCH_DATABASES    which databases (default "sqlite postgresql")
#   BENCH_PG_URL       PostgreSQL server (default postgresql://postgres@127.0.0.1:5432)
#   BENCH_PG_DATABASE  database name (default guanxi_bench)
#   BENCH_RUN_ARGS     extra arguments for bench/run.py (e.g. "--scenarios search_name,get")
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
VENV=${VENV:-$ROOT/.venv}
PY=$VENV/bin/python
GUANXI=$VENV/bin/guanxi
N=${BENCH_CUSTOMERS:-1000000}
REQUESTS=${BENCH_REQUESTS:-200}
CONCURRENCY=${BENCH_CONCURRENCY:-4}
DATABASES=${BENCH_DATABASES:-"sqlite postgresql"}
PG_URL=${BENCH_PG_URL:-postgresql://postgres@127.0.0.1:5432}
PG_DATABASE=${BENCH_PG_DATABASE:-guanxi_bench}
VAR=$ROOT/bench/var
mkdir -p "$VAR" "$ROOT/bench/results"

[[ -x $PY && -x $GUANXI ]] || { echo "no virtualenv at $VENV (run: make venv)" >&2; exit 2; }

SERVER=""
SAMPLER=""
cleanup() {
  [[ -n $SAMPLER ]] && kill "$SAMPLER" 2>/dev/null || true
  if [[ -n $SERVER ]] && kill -0 "$SERVER" 2>/dev/null; then
    kill -TERM "$SERVER" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$SERVER" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$SERVER" 2>/dev/null || true
  fi
  SERVER=""
  SAMPLER=""
}
trap cleanup EXIT INT TERM

free_port() {
  "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# RSS (kB) of a process and all its descendants, from /proc, without forking anything
tree_rss_kb() {
  local queue=("$1") pid kids key value unit sum=0 f
  while ((${#queue[@]})); do
    pid=${queue[0]}
    queue=("${queue[@]:1}")
    [[ -r /proc/$pid/status ]] || continue
    while read -r key value unit; do
      if [[ $key == VmRSS: ]]; then sum=$((sum + value)); break; fi
    done < "/proc/$pid/status"
    for f in /proc/"$pid"/task/*/children; do
      [[ -r $f ]] || continue
      read -r -a kids < "$f" || true
      ((${#kids[@]})) && queue+=("${kids[@]}")
    done
  done
  echo "$sum"
}

sample_rss() {  # sample_rss PID LOG: one "<unix time> <kB>" line every 0.25 s while PID lives
  local pid=$1 log=$2
  while kill -0 "$pid" 2>/dev/null; do
    echo "$EPOCHREALTIME $(tree_rss_kb "$pid")" >> "$log"
    sleep 0.25
  done
}

for db in $DATABASES; do
  case $db in
    sqlite) URL="sqlite+aiosqlite:///$VAR/sqlite/guanxi.db" ;;
    postgresql) URL="${PG_URL/postgresql:\/\//postgresql+asyncpg://}/$PG_DATABASE" ;;
    *) echo "unknown database $db" >&2; exit 2 ;;
  esac
  echo
  echo "=== $db: $N customers ==="
  mkdir -p "$VAR/$db"
  "$PY" "$ROOT/bench/generate.py" --database-url "$URL" --customers "$N" --if-missing

  PORT=$(free_port)
  LOG="$VAR/rss-$db.log"
  : > "$LOG"
  GUANXI_DATABASE_URL="$URL" GUANXI_LOG_LEVEL=warning GUANXI_DATA_DIR="$VAR/$db" \
    "$GUANXI" serve --host 127.0.0.1 --port "$PORT" > "$VAR/server-$db.log" 2>&1 &
  SERVER=$!
  for i in $(seq 1 300); do
    if curl -sf "http://127.0.0.1:$PORT/api/health" > /dev/null; then break; fi
    if ! kill -0 "$SERVER" 2>/dev/null; then echo "the server died:" >&2; cat "$VAR/server-$db.log" >&2; exit 1; fi
    sleep 0.2
    [[ $i == 300 ]] && { echo "the server did not answer /api/health in 60 s" >&2; exit 1; }
  done
  echo "server pid $SERVER on port $PORT; idle RSS $(( $(tree_rss_kb "$SERVER") / 1024 )) MB"
  sample_rss "$SERVER" "$LOG" &
  SAMPLER=$!

  # shellcheck disable=SC2086
  "$PY" "$ROOT/bench/run.py" --base-url "http://127.0.0.1:$PORT" --database-url "$URL" --database "$db" \
    --customers "$N" --requests "$REQUESTS" --concurrency "$CONCURRENCY" --rss-log "$LOG" \
    --server-pid "$SERVER" --warm ${BENCH_RUN_ARGS:-}

  peak=$(awk 'BEGIN{m=0} {if ($2>m) m=$2} END{printf "%.0f", m/1024}' "$LOG")
  echo "server RSS peak during the run: ${peak} MB (samples in $LOG)"
  cleanup
done

echo
echo "=== all results (bench/results/latest.json) ==="
cat "$ROOT/bench/results/latest.md"
