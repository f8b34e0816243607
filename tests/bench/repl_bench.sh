#!/usr/bin/env bash
# Replication (WAL shipping) benchmark, run by `make bench` after bench.sh.
#
# 1. Write throughput: redis-benchmark SET (-c 50 -P 1, random keys) against
#    bin/solidis-server with no replica, a file:// replica with repl-ack async,
#    the same with repl-ack sync, and an s3:// replica (s3rver, async) when
#    tests/node_modules/.bin/s3rver is installed (`make npm-deps`). Every run
#    gets a fresh data dir and replica; configurations alternate, ROUNDS times
#    (round 2 in reverse order, so drift hits all alike). The best run per
#    configuration is reported, with its ratio to the best no-replica run.
#    After each run the script waits for the replica to catch up (lag_frames=0)
#    before stopping the server, and reports the lag seen when the load ended.
# 2. Bytes (and WAL frames) shipped per write: the INFO replication counters'
#    growth during the run divided by the number of SETs.
# 3. Restore speed: a database of REPL_BENCH_DB_MB MiB (SETs of ~4 KB random
#    base64 values, loaded through redis-cli --pipe with a file:// replica
#    on), then a restart — a new generation whose first snapshot is the whole
#    database — then `bin/solidis restore --quiet`; MiB/s = restored file size
#    / restore time. The restored key count is checked against DBSIZE.
#
# Prints a table on stdout and appends a "Replication" section to
# tests/bench/last-results.md (replacing the one an earlier run appended).
# A failed run is reported as "fail" with a note; the script exits 0 unless a
# server does not start at all.
#
# Environment:
#   BENCH_SCALE       multiplier for the request count (default 1; 0.1 = quick)
#   BENCH_TIMEOUT     seconds allowed per redis-benchmark run (default 120)
#   REPL_BENCH_DB_MB  size of the restore database in MiB (default 1024)
#   REPL_BENCH_ROUNDS runs per write configuration (default 2)
#   SOLIDIS_BIN       server binary (default bin/solidis-server)
#   SOLIDIS_TOOL      restore tool (default bin/solidis)
# Quick run: REPL_BENCH_DB_MB=64 BENCH_SCALE=0.1 bash tests/bench/repl_bench.sh

set -u -o pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT" || exit 1

SCALE="${BENCH_SCALE:-1}"
RUN_TIMEOUT="${BENCH_TIMEOUT:-120}"
DB_MB="${REPL_BENCH_DB_MB:-1024}"
ROUNDS="${REPL_BENCH_ROUNDS:-2}"
SOLIDIS_BIN="${SOLIDIS_BIN:-$ROOT/bin/solidis-server}"
SOLIDIS_TOOL="${SOLIDIS_TOOL:-$ROOT/bin/solidis}"
S3RVER_BIN="$ROOT/tests/node_modules/.bin/s3rver"
BENCHMARK="$(command -v redis-benchmark || echo /usr/bin/redis-benchmark)"
CLI="$(command -v redis-cli || echo /usr/bin/redis-cli)"
SQLITE="$(command -v sqlite3 || true)"
PYTHON="/usr/bin/python3"; [ -x "$PYTHON" ] || PYTHON="python3"
# shellcheck source=lib.sh
. "$ROOT/tests/bench/lib.sh"
RESULTS_MD="$ROOT/tests/bench/last-results.md"
MD_MARK="<!-- repl_bench.sh: everything below is replaced by its next run -->"

SET_BASE=200000             # SETs per write run at BENCH_SCALE=1
SET_ARGS=(-t set -c 50 -P 1 -r 1000000)
CATCHUP_TIMEOUT=120         # seconds a replica may take to catch up after a run
MIB=1048576

if ! awk -v s="$SCALE" 'BEGIN { exit !(s + 0 > 0) }'; then
  echo "repl-bench: BENCH_SCALE must be a positive number (got '$SCALE')" >&2
  exit 1
fi
if ! [[ "$DB_MB" =~ ^[0-9]+$ ]] || [ "$DB_MB" -lt 1 ]; then
  echo "repl-bench: REPL_BENCH_DB_MB must be a positive integer (got '$DB_MB')" >&2
  exit 1
fi
if ! [[ "$ROUNDS" =~ ^[0-9]+$ ]] || [ "$ROUNDS" -lt 1 ]; then
  echo "repl-bench: REPL_BENCH_ROUNDS must be a positive integer (got '$ROUNDS')" >&2
  exit 1
fi
for exe in "$SOLIDIS_BIN" "$SOLIDIS_TOOL" "$BENCHMARK" "$CLI"; do
  if [ ! -x "$exe" ]; then
    echo "repl-bench: missing executable: $exe (run 'make bench', which builds and installs deps)" >&2
    exit 1
  fi
done

WORK="$(mktemp -d "${TMPDIR:-/tmp}/solidis-repl-bench.XXXXXX")" || exit 1
SERVER_PID=""
S3_PID=""
NOTES=()

cleanup() {
  stop_pid "$SERVER_PID" 5
  stop_pid "$S3_PID" 5
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Two distinct free loopback ports: the server's and s3rver's.
read -r PORT S3_PORT < <(free_ports 2)
if [ -z "${PORT:-}" ] || [ -z "${S3_PORT:-}" ]; then
  echo "repl-bench: could not pick free ports" >&2
  exit 1
fi

# ---------------------------------------------------------------------------
# s3rver (optional), started once; every s3 run uses its own prefix.
# ---------------------------------------------------------------------------
S3_BUCKET=solidis-bench
S3_OK=0
start_s3rver() {
  if [ ! -x "$S3RVER_BIN" ] || ! command -v node >/dev/null 2>&1; then
    NOTES+=("s3:// skipped: s3rver is not installed (run 'make npm-deps')")
    return 0
  fi
  mkdir -p "$WORK/s3rver"
  # s3rver makes list continuation tokens with DES: OpenSSL 3's legacy provider.
  NODE_OPTIONS=--openssl-legacy-provider "$S3RVER_BIN" --directory "$WORK/s3rver" --address 127.0.0.1 \
    --port "$S3_PORT" --configure-bucket "$S3_BUCKET" --silent >"$WORK/s3rver.log" 2>&1 &
  S3_PID=$!
  local i
  for i in $(seq 200); do
    if ! kill -0 "$S3_PID" 2>/dev/null; then break; fi
    if "$PYTHON" -c "import socket,sys; socket.create_connection(('127.0.0.1', int(sys.argv[1])), 0.2)" \
         "$S3_PORT" 2>/dev/null; then
      S3_OK=1
      return 0
    fi
    sleep 0.1
  done
  NOTES+=("s3:// skipped: s3rver did not start ($(tail -c 200 "$WORK/s3rver.log" | tr '\n' ' '))")
  stop_pid "$S3_PID" 5
  S3_PID=""
}

# ---------------------------------------------------------------------------
# Server helpers
# ---------------------------------------------------------------------------
# start_server DATA_DIR LOG [server options...]: start it, wait for PING.
start_server() {
  local dir="$1" log="$2" i; shift 2
  mkdir -p "$dir"
  "$SOLIDIS_BIN" --port "$PORT" --bind 127.0.0.1 --dir "$dir" --appendfsync everysec "$@" >>"$log" 2>&1 &
  SERVER_PID=$!
  for i in $(seq 300); do
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
      wait "$SERVER_PID" 2>/dev/null
      echo "repl-bench: solidis-server exited during startup; its log ($log):" >&2
      cat "$log" >&2
      SERVER_PID=""
      return 1
    fi
    if [ "$(timeout 2 "$CLI" -h 127.0.0.1 -p "$PORT" ping 2>/dev/null)" = "PONG" ]; then
      return 0
    fi
    sleep 0.1
  done
  echo "repl-bench: solidis-server did not answer PING within 30 s; its log ($log):" >&2
  cat "$log" >&2
  return 1
}

# stop_server LABEL LOG: stop our server; a non-zero exit becomes a note.
stop_server() {
  local label="$1" log="$2"
  stop_pid "$SERVER_PID" 60
  if [ "$STOP_RC" != 0 ]; then
    NOTES+=("$label: solidis-server (pid $SERVER_PID) exited with status $STOP_RC; last log lines: $(tail -n 5 "$log" | tr '\n' ' ')")
    echo "repl-bench: $label: server exit status $STOP_RC; last log lines:" >&2
    tail -n 20 "$log" >&2
  fi
  SERVER_PID=""
}

# repl_info: read replica0's INFO replication fields into R_* (empty if none).
repl_info() {
  local line
  line="$(timeout 5 "$CLI" -h 127.0.0.1 -p "$PORT" info replication 2>/dev/null | tr -d '\r' | grep '^replica0:')"
  R_STATUS=""; R_GEN=""; R_LAG_FRAMES=""; R_LAG_SECONDS=""; R_SEGMENTS=""; R_SNAPSHOTS=""  # R_SNAPSHOTS: for ad-hoc use
  R_BYTES=""; R_FRAMES=""; R_ERROR=""
  [ -n "$line" ] || return 1
  eval "$(printf '%s\n' "${line#replica0:}" | tr ',' '\n' | awk -F= '
    { k = $1; v = substr($0, length($1) + 2); gsub(/[^A-Za-z0-9_.:\/ -]/, "", v) }
    k == "status" { print "R_STATUS=\"" v "\"" }
    k == "generation" { print "R_GEN=\"" v "\"" }
    k == "lag_frames" { print "R_LAG_FRAMES=\"" v "\"" }
    k == "lag_seconds" { print "R_LAG_SECONDS=\"" v "\"" }
    k == "segments" { print "R_SEGMENTS=\"" v "\"" }
    k == "snapshots" { print "R_SNAPSHOTS=\"" v "\"" }
    k == "bytes_shipped" { print "R_BYTES=\"" v "\"" }
    k == "frames_shipped" { print "R_FRAMES=\"" v "\"" }
    k == "last_error" { print "R_ERROR=\"" v "\"" }')"
  return 0
}

# wait_replica WHAT SECONDS: until replica0 is "ok" (has a generation: its
# first snapshot is stored, status=ok) or "caught_up" (lag_frames=0 and
# status=ok). Sets WAITED (seconds). Fails on timeout.
wait_replica() {
  local what="$1" secs="$2" t0 i
  t0="$(date +%s.%N)"
  for i in $(seq $((secs * 20))); do
    repl_info
    if [ "$R_STATUS" = ok ] && { { [ "$what" = ok ] && [ -n "$R_GEN" ]; } ||
                                { [ "$what" = caught_up ] && [ "$R_LAG_FRAMES" = 0 ]; }; }; then
      WAITED="$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')"
      return 0
    fi
    kill -0 "$SERVER_PID" 2>/dev/null || return 1
    sleep 0.05
  done
  return 1
}

fsize() { stat -c %s "$1" 2>/dev/null || echo 0; }

# ---------------------------------------------------------------------------
# 1 + 2. Write throughput and bytes shipped per write
# ---------------------------------------------------------------------------
# Configurations: "name|replica kind|server options"
CONFIGS=(
  "no replica|none|"
  "file:// async|file|--repl-ack async --repl-sync-interval 1s"
  "file:// sync|file|--repl-ack sync --repl-sync-interval 1s"
  "s3:// async (s3rver)|s3|--repl-ack async --repl-sync-interval 1s"
)
N="$(awk -v b="$SET_BASE" -v s="$SCALE" 'BEGIN { n = int(b * s + 0.5); if (n < 1) n = 1; print n }')"

start_s3rver

# run_write CONFIG_INDEX ROUND: one run; appends to the RUN_* arrays.
RUN_CFG=(); RUN_ROUND=(); RUN_RPS=(); RUN_LAGF=(); RUN_LAGS=(); RUN_CATCHUP=(); RUN_BPW=(); RUN_FPW=()
run_write() {
  local ci="$1" round="$2" name kind opts dir log out err rc b0=0 f0=0 s0=0
  IFS='|' read -r name kind opts <<<"${CONFIGS[$ci]}"
  local rps="fail" lagf="-" lags="-" catchup="-" bpw="-" fpw="-" segs="-"
  dir="$WORK/write-$ci-$round"
  log="$dir.log"
  local -a argv=()
  read -r -a argv <<<"$opts"
  case "$kind" in
    file) mkdir -p "$dir/replica"; argv+=(--replica "file://$dir/replica") ;;
    s3) argv+=(--replica "s3://$S3_BUCKET/write-$ci-$round?endpoint=http://127.0.0.1:$S3_PORT&region=us-east-1"
               --replica-access-key S3RVER --replica-secret-key S3RVER) ;;
  esac
  echo "repl-bench: round $round: $name (-n $N ${SET_ARGS[*]})" >&2
  if ! start_server "$dir/data" "$log" "${argv[@]}"; then
    echo "repl-bench: solidis-server did not start for '$name'" >&2
    exit 1
  fi
  if [ "$kind" != none ]; then
    if ! wait_replica ok 30; then
      NOTES+=("$name round $round: replica not ready within 30 s (status=$R_STATUS, last_error=$R_ERROR)")
    fi
    repl_info
    b0="${R_BYTES:-0}"; f0="${R_FRAMES:-0}"; s0="${R_SEGMENTS:-0}"
  fi
  err="$dir.bench.err"
  out="$(timeout -k 5 "$RUN_TIMEOUT" "$BENCHMARK" -h 127.0.0.1 -p "$PORT" -q --csv -n "$N" \
           "${SET_ARGS[@]}" 2>"$err" </dev/null)"
  rc=$?
  if [ "$kind" != none ]; then
    repl_info  # the lag right when the load ended
    lagf="${R_LAG_FRAMES:--}"; lags="${R_LAG_SECONDS:--}"
  fi
  rps="$(printf '%s\n' "$out" | awk -F'","' 'NR > 1 && NF >= 2 { gsub(/"/, "", $2); print $2; exit }')"
  if [ "$rc" -ne 0 ] || ! awk -v r="${rps:-x}" 'BEGIN { exit !(r ~ /^[0-9.]+$/ && r + 0 > 0) }'; then
    if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
      NOTES+=("$name round $round: redis-benchmark timed out after ${RUN_TIMEOUT}s")
    else
      NOTES+=("$name round $round: redis-benchmark failed (rc=$rc): $(head -c 200 "$err" | tr '\n' ' ')")
    fi
    rps=fail
  else
    rps="$(printf '%.0f' "$rps")"
  fi
  if [ "$kind" != none ]; then
    if wait_replica caught_up "$CATCHUP_TIMEOUT"; then
      catchup="$WAITED"
      bpw="$(awk -v a="$b0" -v b="$R_BYTES" -v n="$N" 'BEGIN { printf "%.0f", (b - a) / n }')"
      fpw="$(awk -v a="$f0" -v b="$R_FRAMES" -v n="$N" 'BEGIN { printf "%.2f", (b - a) / n }')"
      segs=$((R_SEGMENTS - s0))
    else
      NOTES+=("$name round $round: replica did not catch up within ${CATCHUP_TIMEOUT}s (status=$R_STATUS lag_frames=$R_LAG_FRAMES last_error=$R_ERROR)")
      catchup="never"
    fi
  fi
  stop_server "$name round $round" "$log"
  rm -rf "$dir"
  echo "repl-bench:   $rps SET/s; lag at end $lagf frames / ${lags} s, caught up after ${catchup} s; bytes/write $bpw, frames/write $fpw, $segs segments" >&2
  RUN_CFG+=("$ci"); RUN_ROUND+=("$round"); RUN_RPS+=("$rps"); RUN_LAGF+=("$lagf"); RUN_LAGS+=("$lags")
  RUN_CATCHUP+=("$catchup"); RUN_BPW+=("$bpw"); RUN_FPW+=("$fpw")
}

ACTIVE=()
for ci in "${!CONFIGS[@]}"; do
  IFS='|' read -r _ kind _ <<<"${CONFIGS[$ci]}"
  [ "$kind" = s3 ] && [ "$S3_OK" != 1 ] && continue
  ACTIVE+=("$ci")
done
echo "repl-bench: solidis-server on port $PORT; BENCH_SCALE=$SCALE, $ROUNDS rounds of ${#ACTIVE[@]} configurations" >&2
for round in $(seq "$ROUNDS"); do
  if [ $((round % 2)) -eq 1 ]; then order=("${ACTIVE[@]}"); else
    order=(); for ((k = ${#ACTIVE[@]} - 1; k >= 0; k--)); do order+=("${ACTIVE[$k]}"); done
  fi
  for ci in "${order[@]}"; do run_write "$ci" "$round"; done
done
stop_pid "$S3_PID" 10; S3_PID=""

# Best run per configuration (noise only ever slows a run down).
BEST_RUN=()
for ci in "${ACTIVE[@]}"; do
  best=""
  for r in "${!RUN_CFG[@]}"; do
    [ "${RUN_CFG[$r]}" = "$ci" ] || continue
    [ "${RUN_RPS[$r]}" = fail ] && continue
    if [ -z "$best" ] || [ "${RUN_RPS[$r]}" -gt "${RUN_RPS[$best]}" ]; then best="$r"; fi
  done
  BEST_RUN[$ci]="$best"
done
BASE_RPS=""
[ -n "${BEST_RUN[0]:-}" ] && BASE_RPS="${RUN_RPS[${BEST_RUN[0]}]}"
ratio() {  # x / no-replica with 2 decimals, or "-"
  awk -v b="${BASE_RPS:-x}" -v s="$1" 'BEGIN {
    if (b ~ /^[0-9.]+$/ && s ~ /^[0-9.]+$/ && b + 0 > 0) printf "%.2f\n", s / b; else print "-" }'
}
all_runs() {  # "rps1 / rps2 ..." for configuration $1, in run order
  local ci="$1" r s=""
  for r in "${!RUN_CFG[@]}"; do
    [ "${RUN_CFG[$r]}" = "$ci" ] && s="${s:+$s / }${RUN_RPS[$r]}"
  done
  printf '%s' "$s"
}

# ---------------------------------------------------------------------------
# 3. Restore speed
# ---------------------------------------------------------------------------
RDIR="$WORK/restore"
RLOG="$WORK/restore.log"
RURL="file://$RDIR/replica"
TARGET_BYTES=$((DB_MB * MIB))
VALUE_LEN=4000
BATCH_KEYS=16384           # keys per redis-cli --pipe batch (~64 MiB)
LOAD_SECS="-"; LOAD_MIBS="-"; SNAP_SECS="-"; SNAP_BYTES="-"; RESTORE_SECS="-"; RESTORE_MIBS="-"
RESTORE_BYTES="-"; DB_BYTES="-"; RESTORE_CHECK="-"; DBSIZE="-"; LOAD_CATCHUP="-"; LOADED_BYTES="-"
mkdir -p "$RDIR/replica"

# RESP SETs of keys replbench:<i> (i in [start, start+count)) with VALUE_LEN
# bytes of base64 of random bytes (zstd gets it down to ~3/4, like real data
# rather than redis-benchmark's all-'x' payloads).
GEN_PY='
import base64, os, sys
start, count, vlen = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
raw = vlen * 3 // 4
out = sys.stdout.buffer
buf = []
for i in range(start, start + count):
    k = b"replbench:%010d" % i
    v = base64.b64encode(os.urandom(raw))
    buf.append(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(k), k, len(v), v))
    if len(buf) >= 1024:
        out.write(b"".join(buf))
        buf = []
out.write(b"".join(buf))
'

restore_bench() {
  local db="$RDIR/data/solidis.db" loaded=0 t0 t1 out
  echo "repl-bench: restore: loading a ${DB_MB} MiB database with a file:// replica" >&2
  start_server "$RDIR/data" "$RLOG" --replica "$RURL" --repl-ack async || exit 1
  wait_replica ok 30 || NOTES+=("restore: replica not ready within 30 s (status=$R_STATUS, last_error=$R_ERROR)")
  t0="$(date +%s.%N)"
  local have batch
  while have=$(( $(fsize "$db") + $(fsize "$db-wal") )); [ "$have" -lt "$TARGET_BYTES" ]; do
    batch=$(( (TARGET_BYTES - have) / 4096 + 256 ))   # about a page per key
    [ "$batch" -gt "$BATCH_KEYS" ] && batch="$BATCH_KEYS"
    out="$("$PYTHON" -c "$GEN_PY" "$loaded" "$batch" "$VALUE_LEN" |
           timeout -k 5 "$RUN_TIMEOUT" "$CLI" -h 127.0.0.1 -p "$PORT" --pipe 2>&1)"
    if ! printf '%s\n' "$out" | grep -q 'errors: 0,'; then
      NOTES+=("restore: loading failed: $(printf '%s' "$out" | tail -c 200 | tr '\n' ' ')")
      stop_server "restore load" "$RLOG"
      return 0
    fi
    loaded=$((loaded + batch))
  done
  t1="$(date +%s.%N)"
  LOAD_SECS="$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')"
  LOADED_BYTES=$((loaded * VALUE_LEN))
  LOAD_MIBS="$(awk -v b="$LOADED_BYTES" -v s="$LOAD_SECS" -v m="$MIB" 'BEGIN { printf "%.0f", b / m / s }')"
  DBSIZE="$(timeout 10 "$CLI" -h 127.0.0.1 -p "$PORT" dbsize 2>/dev/null)"
  echo "repl-bench:   $loaded keys (DBSIZE $DBSIZE) in $LOAD_SECS s ($LOAD_MIBS MiB/s of values)" >&2
  if wait_replica caught_up "$CATCHUP_TIMEOUT"; then
    LOAD_CATCHUP="$WAITED"
  else
    NOTES+=("restore: replica did not catch up with the load within ${CATCHUP_TIMEOUT}s (status=$R_STATUS lag_frames=$R_LAG_FRAMES last_error=$R_ERROR)")
  fi
  stop_server "restore load" "$RLOG"

  # Restart: a new generation whose snapshot 0 is the whole database. A
  # clean restart would continue the generation, so drop the record of it.
  rm -f "$db.replicas"
  DB_BYTES="$(fsize "$db")"
  echo "repl-bench: restore: restarting ($(awk -v b="$DB_BYTES" -v m="$MIB" 'BEGIN { printf "%.0f", b / m }') MiB database) for a full snapshot" >&2
  t0="$(date +%s.%N)"
  start_server "$RDIR/data" "$RLOG" --replica "$RURL" --repl-ack async || exit 1
  if wait_replica ok 300 && wait_replica caught_up 60; then
    SNAP_SECS="$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')"
    SNAP_BYTES="$R_BYTES"
  else
    NOTES+=("restore: the new generation's snapshot was not stored within 300 s (status=$R_STATUS last_error=$R_ERROR)")
  fi
  stop_server "restore snapshot" "$RLOG"

  echo "repl-bench: restore: bin/solidis restore --quiet -o OUT $RURL" >&2
  t0="$(date +%s.%N)"
  if "$SOLIDIS_TOOL" restore --quiet -o "$RDIR/out.db" "$RURL" >"$WORK/restore.out" 2>&1; then
    t1="$(date +%s.%N)"
    RESTORE_SECS="$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')"
    RESTORE_BYTES="$(fsize "$RDIR/out.db")"
    RESTORE_MIBS="$(awk -v b="$RESTORE_BYTES" -v s="$RESTORE_SECS" -v m="$MIB" 'BEGIN { printf "%.0f", b / m / s }')"
    if [ -n "$SQLITE" ]; then
      local count
      count="$("$SQLITE" "$RDIR/out.db" 'SELECT count(*) FROM keys' 2>&1)"
      if [ "$count" = "$DBSIZE" ]; then RESTORE_CHECK="ok ($count keys)"; else
        RESTORE_CHECK="MISMATCH (restored $count keys, DBSIZE was $DBSIZE)"
        NOTES+=("restore: restored database has $count keys, the server had $DBSIZE")
      fi
    fi
    echo "repl-bench:   restored $RESTORE_BYTES bytes in $RESTORE_SECS s ($RESTORE_MIBS MiB/s); keys: $RESTORE_CHECK" >&2
  else
    NOTES+=("restore: bin/solidis restore failed: $(tail -c 300 "$WORK/restore.out" | tr '\n' ' ')")
    echo "repl-bench:   restore FAILED: $(tail -c 300 "$WORK/restore.out")" >&2
  fi
}
restore_bench
rm -rf "$RDIR"   # the big files

# ---------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------
mib() { awk -v b="$1" -v m="$MIB" 'BEGIN { if (b ~ /^[0-9]+$/) printf "%.0f", b / m; else print "-" }'; }
best_field() {  # best_field CI ARRAY_NAME: that array's value in the best run
  local ci="$1" arr="$2" r="${BEST_RUN[$1]:-}"
  [ -n "$r" ] || { echo "-"; return; }
  local -n a="$arr"
  echo "${a[$r]}"
}

echo
printf '%-22s | %9s | %13s | %19s | %11s | %12s\n' "case (SET c50 P1)" "ops/s" "vs no replica" "lag at end (frm/s)" "bytes/write" "frames/write"
printf '%-22s-+-%9s-+-%13s-+-%19s-+-%11s-+-%12s\n' "----------------------" "---------" "-------------" "-------------------" "-----------" "------------"
for ci in "${ACTIVE[@]}"; do
  IFS='|' read -r name kind _ <<<"${CONFIGS[$ci]}"
  rps="$(best_field "$ci" RUN_RPS)"
  lag="-"; [ "$kind" != none ] && lag="$(best_field "$ci" RUN_LAGF) / $(best_field "$ci" RUN_LAGS)"
  printf '%-22s | %9s | %13s | %19s | %11s | %12s\n' "$name" "$rps" "$(ratio "$rps")" "$lag" \
    "$(best_field "$ci" RUN_BPW)" "$(best_field "$ci" RUN_FPW)"
done
echo
echo "restore: $(mib "$RESTORE_BYTES") MiB database restored in $RESTORE_SECS s = $RESTORE_MIBS MiB/s (keys: $RESTORE_CHECK)"
echo "  full snapshot on restart: $SNAP_SECS s from start until stored ($(mib "$SNAP_BYTES") MiB shipped); load: $LOAD_SECS s ($LOAD_MIBS MiB/s)"
for note in ${NOTES[@]+"${NOTES[@]}"}; do echo "note: $note"; done

{
  if [ -f "$RESULTS_MD" ]; then
    # bench.sh's part (everything before our marker), without trailing blank lines
    awk -v m="$MD_MARK" '$0 == m { exit } /^$/ { blank++; next } { while (blank) { print ""; blank-- } print }' "$RESULTS_MD"
  fi
  echo
  echo "$MD_MARK"
  echo
  echo "## Replication (WAL shipping) — tests/bench/repl_bench.sh"
  echo
  echo "- date: $(date -u '+%Y-%m-%d %H:%M:%S UTC'), commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown), $(nproc 2>/dev/null || echo '?') cores"
  echo "- writes: redis-benchmark -n $N ${SET_ARGS[*]}; solidis-server --appendfsync everysec, repl-sync-interval 1s;"
  echo "  a fresh data dir and replica per run; $ROUNDS rounds, configurations alternating (even rounds in reverse"
  echo "  order); best run per configuration shown, all runs in the last column"
  echo "- lag at end: replica0's lag_frames / lag_seconds when redis-benchmark finished (the server then waited"
  echo "  for lag_frames=0 before stopping); bytes and frames per write: growth of bytes_shipped and"
  echo "  frames_shipped during the run / number of SETs (a WAL frame is a 4 KB page + 24 bytes)"
  echo
  echo "| case (SET c50 P1) | ops/s | vs no replica | lag at end (frames / s) | caught up after (s) | bytes shipped / write | frames / write | all runs (ops/s) |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|"
  for ci in "${ACTIVE[@]}"; do
    IFS='|' read -r name kind _ <<<"${CONFIGS[$ci]}"
    rps="$(best_field "$ci" RUN_RPS)"
    lag="-"; [ "$kind" != none ] && lag="$(best_field "$ci" RUN_LAGF) / $(best_field "$ci" RUN_LAGS)"
    echo "| $name | $rps | $(ratio "$rps") | $lag | $(best_field "$ci" RUN_CATCHUP) | $(best_field "$ci" RUN_BPW) | $(best_field "$ci" RUN_FPW) | $(all_runs "$ci") |"
  done
  echo
  echo "Restore (file:// replica, ~${VALUE_LEN}-byte random base64 values, REPL_BENCH_DB_MB=$DB_MB; 1 MiB = 2^20 bytes):"
  echo
  echo "| step | size (MiB) | seconds | MiB/s |"
  echo "|---|---:|---:|---:|"
  echo "| load (redis-cli --pipe, replica on; values only) | $(mib "$LOADED_BYTES") | $LOAD_SECS | $LOAD_MIBS |"
  echo "| restart: full snapshot stored (start to caught up; shipped size) | $(mib "$SNAP_BYTES") | $SNAP_SECS | - |"
  echo "| **bin/solidis restore --quiet** (restored file) | $(mib "$RESTORE_BYTES") | $RESTORE_SECS | **$RESTORE_MIBS** |"
  echo
  echo "- restored keys vs DBSIZE: $RESTORE_CHECK; database file before the restart: $(mib "$DB_BYTES") MiB;"
  echo "  the replica caught up with the load $LOAD_CATCHUP s after it ended"
  for note in ${NOTES[@]+"${NOTES[@]}"}; do echo "- note: $note"; done
} >"$WORK/results.md"
cp "$WORK/results.md" "$RESULTS_MD"
echo
echo "repl-bench: results appended to ${RESULTS_MD#"$ROOT"/}"
exit 0
