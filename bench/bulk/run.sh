#!/usr/bin/env bash
# Bulk benchmark: one peer streaming 1,200-byte datagrams, server -> client (s2c) and client -> server (c2s), for the
# UdpSessions server (bench/bulk/BulkServer: Session.SendBatch from an application thread; the engine's reads) with and
# without UDP GSO/GRO, against a C server doing the same with and without UDP_SEGMENT/UDP_GRO (bench/reference/bulk.c),
# interleaved over the rounds. The load is the C program on the other core (s2c: a UDP_GRO sink; c2s: a UDP_SEGMENT
# sender as fast as it can). Each server measures itself (datagrams sent or delivered, its process CPU time) after a
# warm-up. Writes bench/bulk/BENCHMARKS-bulk.md and puts it into BENCHMARKS.md (the bulk section).
#   bench/bulk/run.sh            full run: 3 rounds (~2 minutes)
#   bench/bulk/run.sh --quick    smoke test: 1 round, short windows
# Run it under the shared lock: flock /tmp/udps-bench.lock bench/bulk/run.sh. Never run by test.sh or CI.
set -euo pipefail
cd "$(dirname "$0")/../.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
# shellcheck source=bench/lib.sh
source bench/lib.sh

ROUNDS=3 WARMUP=1.5 DURATION=3
case "${1:-}" in
  --quick) ROUNDS=1 WARMUP=0.5 DURATION=1 ;;
  "") ;;
  *) echo "usage: $0 [--quick]" >&2; exit 2 ;;
esac

pin_cpus
RESULTS=bench/results/bulk-$(date -u +%Y%m%dT%H%M%SZ)
BUILD=bench/.build
mkdir -p "$RESULTS" "$BUILD"

echo "== build"
dotnet build bench/bulk/BulkServer -c Release -nologo -v quiet >/dev/null
gcc -O2 -Wall -o "$BUILD/bulk" bench/reference/bulk.c
BULKSERVER=bench/bulk/BulkServer/bin/Release/net10.0/BulkServer

# Servers: direction-kind name and start command (PORT is filled in per run).
SERVERS=(s2c-udps-gso s2c-udps-plain s2c-c-gso s2c-c-plain c2s-udps-gro c2s-udps-plain c2s-c-gro c2s-c-plain)
server_command() {
  case $1 in
    s2c-udps-gso)   echo "$BULKSERVER send $PORT $WARMUP $DURATION" ;;
    s2c-udps-plain) echo "$BULKSERVER send $PORT $WARMUP $DURATION --no-gso" ;;
    s2c-c-gso)      echo "$BUILD/bulk server-send $PORT gso $WARMUP $DURATION" ;;
    s2c-c-plain)    echo "$BUILD/bulk server-send $PORT plain $WARMUP $DURATION" ;;
    c2s-udps-gro)   echo "$BULKSERVER recv $PORT $WARMUP $DURATION" ;;
    c2s-udps-plain) echo "$BULKSERVER recv $PORT $WARMUP $DURATION --no-gro" ;;
    c2s-c-gro)      echo "$BUILD/bulk server-recv $PORT gro $WARMUP $DURATION" ;;
    c2s-c-plain)    echo "$BUILD/bulk server-recv $PORT plain $WARMUP $DURATION" ;;
  esac
}

{
  describe_machine
  echo "gcc=$(gcc -dumpversion)"
  echo "rounds=$ROUNDS warmup=$WARMUP duration=$DURATION"
} > "$RESULTS/machine.txt"

trap stop_server EXIT

port=61500 n=0 total=$(( ${#SERVERS[@]} * ROUNDS ))
load_seconds=$(python3 -c "print($WARMUP + $DURATION + 2)")
for round in $(seq "$ROUNDS"); do
  for server in "${SERVERS[@]}"; do
    n=$((n + 1)); port=$((port + 1))
    PORT=$port
    log="$RESULTS/r$round-$server"
    echo "== [$n/$total] round $round, $server"
    # shellcheck disable=SC2046
    start_server "$log.server" $(server_command "$server")
    role=client-send
    if [[ $server == s2c-* ]]; then role=client-recv; fi
    taskset -c "$GEN_CPU" "$BUILD/bulk" "$role" "$PORT" "$load_seconds" > "$log.client" 2>&1 &
    client_pid=$!
    for _ in $(seq 200); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    wait "$client_pid" 2>/dev/null || true
    stop_server
  done
done

python3 bench/bulk/report.py "$RESULTS"
echo "== wrote bench/bulk/BENCHMARKS-bulk.md and the bulk section of BENCHMARKS.md (raw results in $RESULTS)"
