#!/usr/bin/env bash
# Solidis vs redis-server throughput comparison (run by `make bench`).
#
# Starts a real redis-server (AOF, appendfsync everysec, no RDB snapshots) and
# bin/solidis-server (appendfsync everysec) on free loopback ports, then runs
# redis-benchmark against them ALTERNATELY — redis, then solidis, for each case —
# so machine noise hits both alike. Nothing runs in parallel (two-core machine).
#
# Prints   case | redis rps | solidis rps | ratio (solidis/redis)
# and writes the same table as markdown to tests/bench/last-results.md.
# A run that fails or times out is reported as "fail"; the script still exits 0.
# It exits 1 only if a server fails to start (after printing that server's log).
#
# Environment:
#   BENCH_SCALE    multiplier for every case's request count (default 1;
#                  BENCH_SCALE=0.1 for a quick run)
#   BENCH_TIMEOUT  seconds allowed per redis-benchmark run (default 120)
#   BENCH_RANDOM   keyspace size passed as -r (default 100000)
#   SOLIDIS_BIN    server binary to test (default bin/solidis-server)
#   REDIS_SERVER   reference server (default /usr/bin/redis-server)

set -u -o pipefail

# ---------------------------------------------------------------------------
# Cases: "name|requests at BENCH_SCALE=1|redis-benchmark arguments".
# The first SET run fills an empty keyspace (inserts); the second overwrites
# the keys the first one made (the steady state of a cache). Both are shown.
# -n (scaled) and -r are added by the script. Add a workload with one line, e.g.
#   "LPUSH c50 P1|200000|-t lpush -c 50 -P 1"
#   "HSET c50 P16|1000000|-t hset -c 50 -P 16"
# ---------------------------------------------------------------------------
CASES=(
  "SET c50 P1 new keys|200000|-t set -c 50 -P 1"
  "SET c50 P1 overwrite|200000|-t set -c 50 -P 1"
  "GET c50 P1|200000|-t get -c 50 -P 1"
  "INCR c50 P1|200000|-t incr -c 50 -P 1"
  "SET c50 P16|1000000|-t set -c 50 -P 16"
  "GET c50 P16|1000000|-t get -c 50 -P 16"
  "INCR c50 P16|1000000|-t incr -c 50 -P 16"
  "SET c1 P1|20000|-t set -c 1 -P 1"
  "LPUSH c50 P1|200000|-t lpush -c 50 -P 1"
  "RPOP c50 P1|200000|-t rpop -c 50 -P 1"
  "HSET c50 P1|200000|-t hset -c 50 -P 1"
  "SADD c50 P1|200000|-t sadd -c 50 -P 1"
  "ZADD c50 P1|200000|-t zadd -c 50 -P 1"
  "ZRANGEBYSCORE c50 P1|200000|-c 50 -P 1 ZRANGEBYSCORE myzset -inf +inf LIMIT 0 10"
  "BLPOP/LPUSH pair c25+c25|100000|PAIR"
  "PUBLISH 1 subscriber|100000|PUB 1"
  "PUBLISH 10 subscribers|50000|PUB 10"
  "PUBLISH 100 subscribers|10000|PUB 100"
  "jobs end-to-end 4p/8w|100000|JOBS"
  "jobs 4p/8w, 8 per call|200000|JOBS 8"
)
# PUB n:  bin/solidis-pubload, n subscribers, pipelined PUBLISH; publishes/s,
#         and publish->receive latency p50/p99 in the notes: paced (1000
#         msg/s, the server keeps up) and saturated (mostly the queue in
#         front of the tool's one reader thread; see pubload.c).
# JOBS:   bin/solidis-jobload, 4 producers + 8 workers, 100-byte payloads:
#         JOB.ADD/FETCH/ACK with leases on Solidis against the classic
#         LPUSH + BLMOVE + LREM reliable queue on redis-server; jobs/s, and
#         ADD->FETCH latency p50/p99 in the notes.
# JOBS k: the same with k ADDs in flight per producer and k jobs per worker
#         round (JOB.FETCH COUNT k, one JOB.ACK of k ids; on redis-server
#         BLMOVE plus k-1 pipelined LMOVEs, then k pipelined LREMs).

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT" || exit 1

SCALE="${BENCH_SCALE:-1}"
RUN_TIMEOUT="${BENCH_TIMEOUT:-120}"
RANDOM_KEYS="${BENCH_RANDOM:-100000}"
SOLIDIS_BIN="${SOLIDIS_BIN:-$ROOT/bin/solidis-server}"
REDIS_SERVER="${REDIS_SERVER:-/usr/bin/redis-server}"
BENCHMARK="$(command -v redis-benchmark || echo /usr/bin/redis-benchmark)"
CLI="$(command -v redis-cli || echo /usr/bin/redis-cli)"
PYTHON="/usr/bin/python3"; [ -x "$PYTHON" ] || PYTHON="python3"
# shellcheck source=lib.sh
. "$ROOT/tests/bench/lib.sh"
RESULTS_MD="$ROOT/tests/bench/last-results.md"

if ! awk -v s="$SCALE" 'BEGIN { exit !(s + 0 > 0) }'; then
  echo "bench: BENCH_SCALE must be a positive number (got '$SCALE')" >&2
  exit 1
fi
for exe in "$SOLIDIS_BIN" "$REDIS_SERVER" "$BENCHMARK" "$CLI"; do
  if [ ! -x "$exe" ]; then
    echo "bench: missing executable: $exe (run 'make bench', which builds and installs deps)" >&2
    exit 1
  fi
done

WORK="$(mktemp -d "${TMPDIR:-/tmp}/solidis-bench.XXXXXX")" || exit 1
REDIS_DIR="$WORK/redis"
SOLIDIS_DIR="$WORK/solidis"
mkdir -p "$REDIS_DIR" "$SOLIDIS_DIR"
REDIS_LOG="$WORK/redis.log"
SOLIDIS_LOG="$WORK/solidis.log"
REDIS_PID=""
SOLIDIS_PID=""


cleanup() {
  stop_pid "$SOLIDIS_PID"
  stop_pid "$REDIS_PID"
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Two distinct free loopback ports (both sockets held open while choosing).
read -r REDIS_PORT SOLIDIS_PORT < <(free_ports 2)
if [ -z "${REDIS_PORT:-}" ] || [ -z "${SOLIDIS_PORT:-}" ]; then
  echo "bench: could not pick free ports" >&2
  exit 1
fi

start_redis() {
  "$REDIS_SERVER" --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$REDIS_DIR" \
    --appendonly yes --appendfsync everysec --save '' >>"$REDIS_LOG" 2>&1 &
  REDIS_PID=$!
}

start_solidis() {
  "$SOLIDIS_BIN" --port "$SOLIDIS_PORT" --bind 127.0.0.1 --dir "$SOLIDIS_DIR" \
    --appendfsync everysec >>"$SOLIDIS_LOG" 2>&1 &
  SOLIDIS_PID=$!
}

# wait_ready NAME PID PORT LOG: succeed once PING answers PONG; on failure
# print the server's log. Gives up after 15 s or if the process exits.
wait_ready() {
  local name="$1" pid="$2" port="$3" log="$4" i
  for i in $(seq 150); do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "bench: $name exited during startup; its log ($log):" >&2
      cat "$log" >&2
      return 1
    fi
    if [ "$(timeout 2 "$CLI" -h 127.0.0.1 -p "$port" ping 2>/dev/null)" = "PONG" ]; then
      return 0
    fi
    sleep 0.1
  done
  echo "bench: $name did not answer PING within 15 s; its log ($log):" >&2
  cat "$log" >&2
  return 1
}

start_redis
wait_ready redis-server "$REDIS_PID" "$REDIS_PORT" "$REDIS_LOG" || exit 1
start_solidis
wait_ready solidis-server "$SOLIDIS_PID" "$SOLIDIS_PORT" "$SOLIDIS_LOG" || exit 1

# If a server died during an earlier run (Solidis is under development), bring it
# back on the same port and data dir so the remaining cases still get measured.
ensure_up() {
  local which="$1"
  if [ "$which" = redis ]; then
    kill -0 "$REDIS_PID" 2>/dev/null && return 0
    wait "$REDIS_PID" 2>/dev/null
    NOTES+=("redis-server (pid $REDIS_PID) died and was restarted (same data dir) before case '$CURRENT_CASE'")
    echo "bench: redis-server (pid $REDIS_PID) died; restarting" >&2
    start_redis
    wait_ready redis-server "$REDIS_PID" "$REDIS_PORT" "$REDIS_LOG"
  else
    kill -0 "$SOLIDIS_PID" 2>/dev/null && return 0
    wait "$SOLIDIS_PID" 2>/dev/null
    NOTES+=("solidis-server (pid $SOLIDIS_PID) died and was restarted (same data dir) before case '$CURRENT_CASE'")
    echo "bench: solidis-server (pid $SOLIDIS_PID) died; last log lines:" >&2
    tail -n 20 "$SOLIDIS_LOG" >&2
    echo "bench: restarting solidis-server" >&2
    start_solidis
    wait_ready solidis-server "$SOLIDIS_PID" "$SOLIDIS_PORT" "$SOLIDIS_LOG"
  fi
}

# run_one WHICH PORT N ARGS...: set RPS to requests/second, or "fail".
# Runs in the main shell (not in $(...)) so a restart in ensure_up is tracked.
run_one() {
  local which="$1" port="$2" n="$3"; shift 3
  local out err rc rps
  RPS=fail
  ensure_up "$which" || return 0
  err="$WORK/bench.err"
  out="$(timeout -k 5 "$RUN_TIMEOUT" "$BENCHMARK" -h 127.0.0.1 -p "$port" -q --csv \
           -n "$n" -r "$RANDOM_KEYS" "$@" 2>"$err" </dev/null)"
  rc=$?
  # --csv: a header line, then "TEST","rps",... per test.
  rps="$(printf '%s\n' "$out" | awk -F'","' 'NR > 1 && NF >= 2 { gsub(/"/, "", $2); print $2; exit }')"
  if [ "$rc" -ne 0 ] || ! awk -v r="${rps:-x}" 'BEGIN { exit !(r ~ /^[0-9.]+$/ && r + 0 > 0) }'; then
    if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
      NOTES+=("$which timed out after ${RUN_TIMEOUT}s on case '$CURRENT_CASE'")
      echo "bench:   $which: timed out after ${RUN_TIMEOUT}s" >&2
    else
      echo "bench:   $which: redis-benchmark failed (rc=$rc): $(head -c 300 "$err" | tr '\n' ' ')" >&2
    fi
    return 0
  fi
  RPS="$(printf '%.0f' "$rps")"
}

# run_pair WHICH PORT N: 25 BLPOP consumers and 25 LPUSH producers at once,
# N of each; RPS = elements moved per second (both sides finished).
run_pair() {
  local which="$1" port="$2" n="$3" t0 t1 rc1 rc2
  RPS=fail
  ensure_up "$which" || return 0
  "$CLI" -h 127.0.0.1 -p "$port" DEL benchq >/dev/null 2>&1
  t0="$(date +%s.%N)"
  timeout -k 5 "$RUN_TIMEOUT" "$BENCHMARK" -h 127.0.0.1 -p "$port" -q -c 25 -n "$n" BLPOP benchq 5 \
    >/dev/null 2>"$WORK/pair.err" </dev/null &
  local consumer=$!
  timeout -k 5 "$RUN_TIMEOUT" "$BENCHMARK" -h 127.0.0.1 -p "$port" -q -c 25 -n "$n" LPUSH benchq x \
    >/dev/null 2>>"$WORK/pair.err" </dev/null
  rc1=$?
  wait "$consumer"; rc2=$?
  t1="$(date +%s.%N)"
  if [ "$rc1" -ne 0 ] || [ "$rc2" -ne 0 ]; then
    echo "bench:   $which: pair failed (rc=$rc1/$rc2): $(head -c 300 "$WORK/pair.err" | tr '\n' ' ')" >&2
    return 0
  fi
  RPS="$(awk -v n="$n" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", n / (b - a) }')"
}

# run_tool WHICH PORT N KIND [ARG]: run a load tool of ours; RPS from its
# RESULT line (pub_per_sec or jobs_per_sec), latency appended to NOTES.
run_tool() {
  local which="$1" port="$2" n="$3" kind="$4" arg="${5:-}" out line rate
  RPS=fail
  ensure_up "$which" || return 0
  if [ "$kind" = PUB ]; then
    out="$(timeout -k 5 "$RUN_TIMEOUT" "$ROOT/bin/solidis-pubload" --port "$port" --subscribers "$arg" --messages "$n" 2>&1)"
    rate=pub_per_sec
  else
    local mode=""; [ "$which" = redis ] && mode="--redis"
    local batch=()
    [ -n "$arg" ] && batch=(--pipeline "$arg" --batch "$arg")
    out="$(timeout -k 5 "$RUN_TIMEOUT" "$ROOT/bin/solidis-jobload" $mode --port "$port" --jobs "$n" "${batch[@]}" --quiet 2>&1)"
    rate=jobs_per_sec
  fi
  line="$(printf '%s\n' "$out" | grep '^RESULT' | tail -1)"
  if [ -z "$line" ]; then
    echo "bench:   $which: $kind failed: $(printf '%s' "$out" | tail -c 300 | tr '\n' ' ')" >&2
    return 0
  fi
  RPS="$(field "$line" "$rate" | awk '{ printf "%.0f", $1 }')"
  if [ "$kind" = PUB ]; then
    NOTES+=("$CURRENT_CASE, $which: latency paced at 1000 msg/s p50 $(field "$line" paced_p50_ms) ms, p99 $(field "$line" paced_p99_ms) ms; saturated p50 $(field "$line" p50_ms) ms, p99 $(field "$line" p99_ms) ms")
  else
    NOTES+=("$CURRENT_CASE, $which: latency p50 $(field "$line" p50_ms) ms, p99 $(field "$line" p99_ms) ms")
  fi
}

field() {  # field RESULT-LINE KEY: the value of KEY=value
  printf '%s\n' "$1" | tr ' ' '\n' | awk -F= -v k="$2" '$1 == k { print $2 }'
}

ratio() {  # solidis/redis with 2 decimals, or "-" if either failed
  awk -v r="$1" -v s="$2" 'BEGIN {
    if (r ~ /^[0-9.]+$/ && s ~ /^[0-9.]+$/ && r + 0 > 0) printf "%.2f\n", s / r; else print "-" }'
}

NAMES=(); REDIS_RPS=(); SOLIDIS_RPS=(); RATIOS=(); NREQ=(); NOTES=(); CURRENT_CASE=""
echo "bench: redis-server on port $REDIS_PORT (pid $REDIS_PID), solidis-server on port $SOLIDIS_PORT (pid $SOLIDIS_PID); BENCH_SCALE=$SCALE"
for spec in "${CASES[@]}"; do
  IFS='|' read -r name base args <<<"$spec"
  CURRENT_CASE="$name"
  n="$(awk -v b="$base" -v s="$SCALE" 'BEGIN { n = int(b * s + 0.5); if (n < 1) n = 1; print n }')"
  read -r -a argv <<<"$args"
  echo "bench: $name (-n $n $args)" >&2
  if [ "${args%% *}" = PUB ] || [ "${args%% *}" = JOBS ]; then
    run_tool redis "$REDIS_PORT" "$n" ${args}; r="$RPS"
    run_tool solidis "$SOLIDIS_PORT" "$n" ${args}; s="$RPS"
  elif [ "$args" = PAIR ]; then
    run_pair redis "$REDIS_PORT" "$n"; r="$RPS"
    run_pair solidis "$SOLIDIS_PORT" "$n"; s="$RPS"
  else
    run_one redis "$REDIS_PORT" "$n" "${argv[@]}"; r="$RPS"
    run_one solidis "$SOLIDIS_PORT" "$n" "${argv[@]}"; s="$RPS"
  fi
  NAMES+=("$name"); NREQ+=("$n"); REDIS_RPS+=("$r"); SOLIDIS_RPS+=("$s"); RATIOS+=("$(ratio "$r" "$s")")
  echo "bench:   redis: $r, solidis: $s (requests/s)" >&2
done

# Plain-text table on stdout.
echo
printf '%-24s | %12s | %12s | %6s\n' "case" "redis rps" "solidis rps" "ratio"
printf '%-24s-+-%12s-+-%12s-+-%6s\n' "------------------------" "------------" "------------" "------"
for i in "${!NAMES[@]}"; do
  printf '%-24s | %12s | %12s | %6s\n' "${NAMES[$i]}" "${REDIS_RPS[$i]}" "${SOLIDIS_RPS[$i]}" "${RATIOS[$i]}"
done

# Markdown copy.
{
  echo "# Solidis vs redis-server — last \`make bench\` run"
  echo
  echo "- date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
  echo "- commit: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
  echo "- $("$REDIS_SERVER" --version 2>/dev/null | head -n 1)"
  echo "- $("$BENCHMARK" --version 2>/dev/null | head -n 1)"
  echo "- machine: $(nproc 2>/dev/null || echo '?') cores, $(uname -sm)"
  echo "- BENCH_SCALE=$SCALE, -r $RANDOM_KEYS, runs alternate redis then solidis per case"
  echo "- redis-server: --appendonly yes --appendfsync everysec --save ''; solidis-server: --appendfsync everysec"
  echo
  echo "| case | requests | redis rps | solidis rps | ratio (solidis/redis) |"
  echo "|---|---:|---:|---:|---:|"
  for i in "${!NAMES[@]}"; do
    echo "| ${NAMES[$i]} | ${NREQ[$i]} | ${REDIS_RPS[$i]} | ${SOLIDIS_RPS[$i]} | ${RATIOS[$i]} |"
  done
  if [ "${#NOTES[@]}" -gt 0 ]; then
    echo
    for note in "${NOTES[@]}"; do echo "- note: $note"; done
  fi
} >"$RESULTS_MD"
for note in ${NOTES[@]+"${NOTES[@]}"}; do echo "note: $note"; done
echo
echo "bench: results written to ${RESULTS_MD#"$ROOT"/}"
exit 0
