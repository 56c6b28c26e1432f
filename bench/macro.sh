#!/usr/bin/env bash
# Side-by-side macro benchmark: every echo server in turn, interleaved (A B C ... A B C) over the rounds, driven by
# `udps load` with verified traffic. Server pinned to one core, generator to another. Writes BENCHMARKS.md with its
# charts bench/benchmarks-chart.svg and bench/benchmarks-latency.svg (drawn by `udps plot`, ScottPlot) from the
# per-run JSON kept in bench/results/<time>/.
#   bench/macro.sh            full run: 3 rounds (~30 min on 2 cores)
#   bench/macro.sh --quick    smoke test: 1 round, short windows (~2 min)
# Never run by test.sh or CI: figures on a shared machine are noise, not pass/fail.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
source bench/lib.sh
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

ROUNDS=3 WARMUP=1 DURATION=2.5 BIG_WARMUP=5 HUGE_WARMUP=8 OUT=BENCHMARKS.md
case "${1:-}" in
  --quick) ROUNDS=1 WARMUP=0.5 DURATION=1 BIG_WARMUP=3 HUGE_WARMUP=4 OUT=bench/results/BENCHMARKS-quick.md ;;
  "") ;;
  *) echo "usage: $0 [--quick]" >&2; exit 2 ;;
esac

pin_cpus
RESULTS=bench/results/$(date -u +%Y%m%dT%H%M%SZ)
BUILD=bench/.build
mkdir -p "$RESULTS" "$BUILD"

echo "== build"
dotnet build src/udps -c Release -nologo -v quiet >/dev/null
dotnet build bench/baselines/NaiveEcho -c Release -nologo -v quiet >/dev/null
gcc -O2 -Wall -o "$BUILD/echo_connected" bench/reference/echo_connected.c
gcc -O2 -Wall -o "$BUILD/echo_mmsg" bench/reference/echo_mmsg.c
UDPS=src/udps/bin/Release/net10.0/udps
NAIVE=bench/baselines/NaiveEcho/bin/Release/net10.0/NaiveEcho

# Servers: name and start command (PORT, IDLE_S, IDLE_MS and STATS are filled in per run).
SERVERS=(udps-default udps-ownsocket udps-addrmap udps-2threads udps-portable naive-dotnet c-mmsg c-connected)
server_command() {
  case $1 in
    udps-default)   echo "$UDPS echo --host 127.0.0.1 --port $PORT --idle-timeout-seconds $IDLE_S --quiet --stats-file $STATS" ;;
    udps-ownsocket) echo "$UDPS echo --host 127.0.0.1 --port $PORT --placement ownsocket --idle-timeout-seconds $IDLE_S --quiet --stats-file $STATS" ;;
    udps-addrmap)   echo "$UDPS echo --host 127.0.0.1 --port $PORT --placement addressmap --idle-timeout-seconds $IDLE_S --quiet --stats-file $STATS" ;;
    udps-2threads)  echo "$UDPS echo --host 127.0.0.1 --port $PORT --threads 2 --idle-timeout-seconds $IDLE_S --quiet --stats-file $STATS" ;;
    udps-portable) echo "$UDPS echo --host 127.0.0.1 --port $PORT --engine portable --idle-timeout-seconds $IDLE_S --quiet --stats-file $STATS" ;;
    naive-dotnet)  echo "$NAIVE $PORT --stats-file $STATS" ;;
    c-mmsg)        echo "$BUILD/echo_mmsg $PORT" ;;
    c-connected)   echo "$BUILD/echo_connected $PORT $IDLE_MS" ;;
  esac
}
# Every server in every configuration (the placements are the question of the engine: see BENCHMARKS.md), except the
# two-thread default (pinned to the same single core, it only shows that both threads' listeners take new peers).
runs_in() { [[ $1 != udps-2threads || $2 == 1024x1 || $2 == churn-1000 ]]; }
has_stats() { [[ $1 == udps-* || $1 == naive-dotnet ]]; }

# Configurations: name, then udps load arguments. 10,000 sessions get a longer warm-up: accepting them all with a
# socket each takes seconds (each bind() scans every socket on the port), and the measured window must see steady
# traffic. Churn servers close idle sessions after 1 s, or 10,000 live sessions plus the departed ones would exhaust
# the 20,000 fds.
CONFIGS=(1x16 64x16 64x1 1024x1 1024x16 10000x1 churn-1000 churn-10000)
config_args() {
  case $1 in
    1x16)        echo "--sessions 1 --window 16 --warmup $WARMUP" ;;
    64x16)       echo "--sessions 64 --window 16 --warmup $WARMUP" ;;
    64x1)        echo "--sessions 64 --window 1 --warmup $WARMUP" ;;
    1024x1)      echo "--sessions 1024 --window 1 --warmup $WARMUP" ;;
    1024x16)     echo "--sessions 1024 --window 16 --warmup $WARMUP" ;;
    10000x1)     echo "--sessions 10000 --window 1 --warmup $HUGE_WARMUP" ;;
    churn-1000)  echo "--sessions 1000 --window 1 --churn 4 --warmup $WARMUP" ;;
    churn-10000) echo "--sessions 10000 --window 1 --churn 4 --warmup $BIG_WARMUP" ;;
  esac
}

{
  describe_machine
  echo "gcc=$(gcc -dumpversion)"
  echo "rounds=$ROUNDS warmup=$WARMUP duration=$DURATION"
} > "$RESULTS/machine.txt"

trap stop_server EXIT

# Ports above the kernel's ephemeral range and above the generator's churn ports (10000-32767).
port=61000
total=0 n=0
for config in "${CONFIGS[@]}"; do for server in "${SERVERS[@]}"; do runs_in "$server" "$config" && total=$((total + 1)); done; done
total=$((total * ROUNDS))
for round in $(seq "$ROUNDS"); do
  for config in "${CONFIGS[@]}"; do
    for server in "${SERVERS[@]}"; do
      runs_in "$server" "$config" || continue
      n=$((n + 1)); port=$((port + 1)); (( port > 64000 )) && port=61001
      PORT=$port STATS="$RESULTS/stats-$server" IDLE_S=60 IDLE_MS=60000
      if [[ $config == churn-* ]]; then IDLE_S=1 IDLE_MS=1000; fi
      log="$RESULTS/r$round-$config-$server"
      # shellcheck disable=SC2046
      start_server "$log.server.log" $(server_command "$server")
      stats_args=()
      if has_stats "$server"; then stats_args=(--server-stats-file "$STATS"); fi
      echo "== [$n/$total] round $round, $config, $server"
      # shellcheck disable=SC2046
      taskset -c "$GEN_CPU" "$UDPS" load --port "$PORT" --threads 1 --duration "$DURATION" --timeout-ms 500 --max-loss 100 \
        $(config_args "$config") --server-pid "$server_pid" "${stats_args[@]}" --json > "$log.json" 2> "$log.load.log" \
        || echo "   udps load exit $? (integrity errors or setup problem; see $log.load.log)"
      stop_server
    done
  done
done

python3 bench/report.py "$RESULTS" "$OUT" "$UDPS"
echo "== wrote $OUT (raw results in $RESULTS)"
