#!/usr/bin/env bash
# Soak: churn plus steady traffic against `udps echo` for --duration seconds (default 600), sampling the server's RSS,
# fd count, GC heap and the steady throughput; the driver judges "flat" (see README.md) and exits non-zero otherwise.
# Usage: bench/soak/run.sh [--duration SECONDS] [driver options...]   (everything is passed on to the driver)
set -euo pipefail
cd "$(dirname "$0")/../.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

duration=600
args=()
while (($#)); do
  case $1 in
    --duration) duration=$2; shift 2 ;;
    *) args+=("$1"); shift ;;
  esac
done

dotnet build src/udps -c Release -nologo -v quiet >/dev/null
dotnet build bench/soak -c Release -nologo -v quiet >/dev/null

log=$(mktemp)
# Sessions idle out after 2 s, so churn keeps creating and closing them; the limits are the documented defenses.
# A 4 MiB gen0 budget makes the server collect every minute or so: with the default budget (tens of MiB on this kind of
# machine) a 10-minute run may never collect, and the GC heap and RSS would show garbage growing, not what is live.
DOTNET_GCgen0size=0x400000 dotnet src/udps/bin/Release/net10.0/udps.dll echo --host 127.0.0.1 --port 0 --idle-timeout-seconds 2 \
  --max-sessions 20000 --max-new-sessions-per-second 5000 >"$log" 2>&1 &
server=$!
# SIGTERM, not SIGINT: a non-interactive shell starts background jobs with SIGINT ignored. udps echo stops cleanly on both.
cleanup() { kill -TERM "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -f "$log"; }
trap cleanup EXIT

port=
for _ in $(seq 100); do
  port=$(sed -nE 's/.*listening on (UDP )?127\.0\.0\.1:([0-9]+).*/\2/p' "$log" | head -n 1)
  [[ -n $port ]] && break
  sleep 0.1
done
if [[ -z $port ]]; then
  echo "soak: udps echo did not start:"; cat "$log"; exit 1
fi

echo "soak: ${duration} s against udps echo on 127.0.0.1:$port (pid $server)"
status=0
timeout $((duration + 60)) dotnet bench/soak/bin/Release/net10.0/UdpSessions.Bench.Soak.dll \
  --port "$port" --server-pid "$server" --server-log "$log" --duration "$duration" "${args[@]}" || status=$?

kill -TERM "$server" 2>/dev/null || true
wait "$server" 2>/dev/null || true
echo "soak: server summary:"
sed -n '/udps echo: stopped/,$p' "$log"
exit $status
