#!/usr/bin/env bash
# Handover benchmark: the graceful restart of `udps echo` under load, as tests/udps.Tests/Operations/HandoverTests.cs
# runs it (1,000 steady sessions, one datagram each every 100 ms, plus 8 churning clients; a successor started with
# the same --handover-socket takes the listeners, the old process drains and exits), and the same with the old process
# killed (SIGKILL) a second after the handover. Each round appends the figures of both runs (lost, late, misrouted,
# duplicated, round trips before and during the switch, successor start-up, how long the old process lived on) to a
# JSON-lines file; bench/handover/report.py turns them into bench/handover/BENCHMARKS-handover.md and the handover
# section of BENCHMARKS.md.
#   bench/handover/run.sh              3 rounds (~1.5 minutes on 2 cores)
#   bench/handover/run.sh --rounds N
# Run it under the shared lock: flock /tmp/udps-bench.lock bench/handover/run.sh. Never run by test.sh or CI.
set -euo pipefail
cd "$(dirname "$0")/../.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

ROUNDS=3
case "${1:-}" in
  --rounds) ROUNDS=${2:?--rounds needs a number} ;;
  "") ;;
  *) echo "usage: $0 [--rounds N]" >&2; exit 2 ;;
esac

RESULTS=bench/results/handover-$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$RESULTS"
source bench/lib.sh
pin_cpus
{
  describe_machine | grep -v '^pinning='
  echo "pinning=none (both servers and the clients share every core, as in the test)"
  echo "rounds=$ROUNDS"
} > "$RESULTS/machine.txt"

echo "== build"
dotnet build tests/udps.Tests -c Release -nologo -v quiet >/dev/null
for round in $(seq "$ROUNDS"); do
  echo "== round $round of $ROUNDS"
  UDPS_HANDOVER_FIGURES="$PWD/$RESULTS/figures.jsonl" timeout 600 \
    dotnet tests/udps.Tests/bin/Release/net10.0/udps.Tests.dll -class UdpSessions.Cli.Tests.Operations.HandoverTests -noColor -noLogo \
    | tee -a "$RESULTS/tests.log" | grep -E 'Total:|\[FAIL\]' || true
done
python3 bench/handover/report.py "$RESULTS"
echo "== wrote bench/handover/BENCHMARKS-handover.md and the handover section of BENCHMARKS.md (raw: $RESULTS)"
