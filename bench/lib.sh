# Shell pieces shared by the benchmark scripts (bench/macro.sh, bench/dtls/run.sh, ...): sourced, not run.
# They set GEN_CPU/SERVER_CPU, start and stop the measured server, and describe the machine for the results.

# The generator gets one core and the server the other; a one-core machine shares its core (figures then say little).
pin_cpus() {
  ncpu=$(nproc)
  if (( ncpu >= 2 )); then GEN_CPU=0 SERVER_CPU=1; else GEN_CPU=0 SERVER_CPU=0; fi
}

# Common lines of machine.txt; the caller appends its own (rounds, durations, tool versions).
describe_machine() {
  echo "kernel=$(uname -r)"
  echo "cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
  echo "cpus=$ncpu"
  echo "memory=$(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
  echo "dotnet=$(dotnet --version)"
  echo "pinning=server cpu $SERVER_CPU, generator cpu $GEN_CPU"
  # The load when the run started: figures from a busy machine are read with that in mind (BENCHMARKS.md says it).
  echo "load=$(cut -d' ' -f1-3 /proc/loadavg)"
}

# start_server LOG COMMAND...: runs COMMAND pinned to the server's core, output to LOG, and waits (at most 5 s) for
# the line "listening" that every server here prints when ready.
server_pid=
start_server() {
  local log=$1; shift
  taskset -c "$SERVER_CPU" "$@" > "$log" 2>&1 &
  server_pid=$!
  for _ in $(seq 100); do grep -q listening "$log" 2>/dev/null && break; sleep 0.05; done
}

# SIGTERM (a .NET server writes its final statistics then), SIGKILL after 5 s.
stop_server() {
  if [[ -n $server_pid ]]; then
    kill -TERM "$server_pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=
  fi
}
