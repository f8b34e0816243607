# Shared by bench.sh and repl_bench.sh (sourced). Processes are ours only:
# every server is stopped by the PID we started it with.

# stop_pid PID [SECONDS]: TERM, then KILL after SECONDS (default 5). Sets
# STOP_RC to the exit status, or "killed".
stop_pid() {
  local pid="$1" secs="${2:-5}" i
  STOP_RC=""
  [ -n "$pid" ] || return 0
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null
    for i in $(seq $((secs * 10))); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      kill -KILL "$pid" 2>/dev/null
      wait "$pid" 2>/dev/null
      STOP_RC=killed
      return 0
    fi
  fi
  wait "$pid" 2>/dev/null
  STOP_RC=$?
  return 0
}

# free_ports N: N distinct free loopback ports on one line (all sockets are
# held open while choosing, so they differ).
free_ports() {
  "$PYTHON" - "$1" <<'PYEOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(*(s.getsockname()[1] for s in socks))
for s in socks:
    s.close()
PYEOF
}
