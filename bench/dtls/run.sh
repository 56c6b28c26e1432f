#!/usr/bin/env bash
# DTLS benchmark: udps echo --dtls against a C DTLS echo on OpenSSL (bench/reference/dtls_echo.c: DTLSv1_listen, then a
# connected socket per client), interleaved over the rounds, both driven by `udps load --dtls` with verified records.
# Server pinned to one core, generator to the other. Measures server CPU per handshake (PSK-AES128-CCM8 and
# ECDHE-ECDSA-AES128-GCM-SHA256 with a P-256 certificate; the cookie exchange included), server CPU and allocation per
# 1,000-byte record, records/s. Writes bench/dtls/BENCHMARKS-dtls.md and puts it into BENCHMARKS.md (the DTLS section).
#   bench/dtls/run.sh            full run: 3 rounds (~5 minutes on 2 cores)
#   bench/dtls/run.sh --quick    smoke test: 1 round, short windows
# Run it under the shared lock: flock /tmp/udps-bench.lock bench/dtls/run.sh. Never run by test.sh or CI.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=bench/lib.sh
source bench/lib.sh
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

ROUNDS=3 HANDSHAKES=1500 WARMUP_HANDSHAKES=10000 RECORD_SECONDS=3
case "${1:-}" in
  --quick) ROUNDS=1 HANDSHAKES=400 WARMUP_HANDSHAKES=500 RECORD_SECONDS=1 ;;
  "") ;;
  *) echo "usage: $0 [--quick]" >&2; exit 2 ;;
esac

pin_cpus
RESULTS=bench/results/dtls-$(date -u +%Y%m%dT%H%M%SZ)
BUILD=bench/.build
mkdir -p "$RESULTS" "$BUILD"

echo "== build"
dotnet build src/udps -c Release -nologo -v quiet >/dev/null
gcc -O2 -Wall -o "$BUILD/dtls_echo" bench/reference/dtls_echo.c -lssl -lcrypto
UDPS=src/udps/bin/Release/net10.0/udps
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$RESULTS/key.pem" -out "$RESULTS/cert.pem" \
  -subj /CN=localhost -days 2 2>/dev/null
PSK_ID=bench PSK_HEX=00112233445566778899aabbccddeeff

SERVERS=(udps c-openssl)
server_command() {
  case $1 in
    udps)      echo "$UDPS echo --host 127.0.0.1 --port $PORT --dtls --cert $RESULTS/cert.pem --key $RESULTS/key.pem --psk $PSK_ID:$PSK_HEX --max-handshakes 256 --quiet --stats-file $STATS" ;;
    c-openssl) echo "$BUILD/dtls_echo $PORT $RESULTS/cert.pem $RESULTS/key.pem $PSK_ID $PSK_HEX" ;;
  esac
}

# Configurations: handshakes (each session opens with one, then echoes briefly) and 1,000-byte records. Before a
# handshake measurement the same server does WARMUP_HANDSHAKES unmeasured handshakes (sessions closed with
# close_notify): the .NET server's BouncyCastle code needs thousands of calls before tiered JIT compilation has
# optimized it, and the OpenSSL server gets the same treatment.
CONFIGS=(hs-psk hs-ecdhe rec-gcm rec-ccm8)
config_args() {
  case $1 in
    hs-psk)   echo "--psk $PSK_ID:$PSK_HEX --dtls-suite PskWithAes128Ccm8 --sessions $HANDSHAKES --handshake-threads 4 --window 1 --warmup 0 --duration 0.3" ;;
    hs-ecdhe) echo "--dtls-suite EcdheEcdsaWithAes128GcmSha256 --sessions $HANDSHAKES --handshake-threads 4 --window 1 --warmup 0 --duration 0.3" ;;
    rec-gcm)  echo "--dtls-suite EcdheEcdsaWithAes128GcmSha256 --sessions 64 --window 16 --size 1000 --warmup 1 --duration $RECORD_SECONDS" ;;
    rec-ccm8) echo "--psk $PSK_ID:$PSK_HEX --dtls-suite PskWithAes128Ccm8 --sessions 64 --window 16 --size 1000 --warmup 1 --duration $RECORD_SECONDS" ;;
  esac
}

{
  describe_machine
  echo "openssl=$(openssl version | cut -d' ' -f2)"
  echo "rounds=$ROUNDS handshakes=$HANDSHAKES (after $WARMUP_HANDSHAKES unmeasured) recordSeconds=$RECORD_SECONDS"
} > "$RESULTS/machine.txt"

trap stop_server EXIT

port=60500 n=0 total=$(( ${#CONFIGS[@]} * ${#SERVERS[@]} * ROUNDS ))
for round in $(seq "$ROUNDS"); do
  for config in "${CONFIGS[@]}"; do
    for server in "${SERVERS[@]}"; do
      n=$((n + 1)); port=$((port + 1))
      PORT=$port STATS="$RESULTS/stats-$server-$round-$config"
      log="$RESULTS/r$round-$config-$server"
      # shellcheck disable=SC2046
      start_server "$log.server.log" $(server_command "$server")
      stats_args=()
      if [[ $server == udps ]]; then stats_args=(--server-stats-file "$STATS"); fi
      if [[ $config == hs-* ]]; then
        # shellcheck disable=SC2046
        taskset -c "$GEN_CPU" "$UDPS" load --port "$PORT" --dtls --threads 1 --max-loss 100 \
          $(config_args "$config" | sed "s/--sessions $HANDSHAKES/--sessions $WARMUP_HANDSHAKES/") > /dev/null 2> "$log.warmup.log" || true
      fi
      echo "== [$n/$total] round $round, $config, $server"
      # shellcheck disable=SC2046
      taskset -c "$GEN_CPU" "$UDPS" load --port "$PORT" --dtls --threads 1 --timeout-ms 1000 --max-loss 100 \
        $(config_args "$config") --server-pid "$server_pid" "${stats_args[@]}" --json > "$log.json" 2> "$log.load.log" \
        || echo "   udps load exit $? (see $log.load.log)"
      stop_server
    done
  done
done

python3 bench/dtls/report.py "$RESULTS"
echo "== wrote bench/dtls/BENCHMARKS-dtls.md and the DTLS section of BENCHMARKS.md (raw results in $RESULTS)"
