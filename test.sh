#!/usr/bin/env bash
# Builds and runs every test suite, then prints one closing line "N passed, N failed" summed over all of them.
set -uo pipefail
cd "$(dirname "$0")"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

passed=0
failed=0
status=0

# run_suite NAME COMMAND...: runs one xunit v3 test executable and adds its summary to the totals.
run_suite() {
  local name=$1; shift
  local log; log=$(mktemp)
  echo "== $name"
  timeout --kill-after=10 "${SUITE_TIMEOUT:-900}" "$@" -noColor -noLogo 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]}
  local summary; summary=$(grep -E 'Total: [0-9]+, Errors: [0-9]+, Failed: [0-9]+, Skipped: [0-9]+' "$log" | tail -n 1)
  if [[ -z $summary ]]; then
    echo "$name: no test summary (exit code $rc): counted as one failure"
    failed=$((failed + 1)); status=1
  else
    local total errors fails skipped notrun
    total=$(sed -E 's/.*Total: ([0-9]+).*/\1/' <<<"$summary")
    errors=$(sed -E 's/.*Errors: ([0-9]+).*/\1/' <<<"$summary")
    fails=$(sed -E 's/.*Failed: ([0-9]+).*/\1/' <<<"$summary")
    skipped=$(sed -E 's/.*Skipped: ([0-9]+).*/\1/' <<<"$summary")
    notrun=$(sed -nE 's/.*Not Run: ([0-9]+).*/\1/p' <<<"$summary"); notrun=${notrun:-0}
    passed=$((passed + total - errors - fails - skipped - notrun))
    failed=$((failed + errors + fails))
    if (( rc != 0 || errors + fails > 0 )); then status=1; fi
  fi
  rm -f "$log"
}

if ! dotnet build UdpSessions.sln -c Release -nologo -v quiet; then
  echo "0 passed, 1 failed"
  exit 1
fi

# The DTLS interop tests run real clients (openssl, gnutls-cli, coap-client); they fail, never skip, when missing.
scripts/ensure-dtls-peers.sh || echo "DTLS peer programs could not be installed: the DTLS interop tests will fail"
run_suite "Linux: UdpSessions.Tests" dotnet tests/UdpSessions.Tests/bin/Release/net10.0/UdpSessions.Tests.dll
run_suite "Linux: udps.Tests" dotnet tests/udps.Tests/bin/Release/net10.0/udps.Tests.dll

# The user's path from packages: pack, install the tool and run it, build against the package (scripts/pack-check.sh).
# One suite, counted as 1 passed or 1 failed.
echo "== Packages: scripts/pack-check.sh"
if timeout --kill-after=10 "${PACK_CHECK_TIMEOUT:-900}" scripts/pack-check.sh; then
  passed=$((passed + 1))
else
  echo "Packages: scripts/pack-check.sh failed: counted as one failure"
  failed=$((failed + 1)); status=1
fi

# The Windows lane: the IOCP engine's suite, published for win-x64 and run under Wine. Missing Wine, a failed publish
# or a crash count as failures, never as a skip.
windows_lane() {
  local publish=tests/UdpSessions.Windows.Tests/bin/Release/net10.0/win-x64/publish
  if ! scripts/ensure-wine.sh; then
    echo "Windows (Wine): Wine is not available: counted as one failure"
    failed=$((failed + 1)); status=1; return
  fi
  if ! dotnet publish tests/UdpSessions.Windows.Tests -c Release -r win-x64 --self-contained true -o "$publish" -nologo -v quiet; then
    echo "Windows (Wine): publish failed: counted as one failure"
    failed=$((failed + 1)); status=1; return
  fi
  SUITE_TIMEOUT=${WINDOWS_SUITE_TIMEOUT:-240} run_suite "Windows (Wine): UdpSessions.Windows.Tests" scripts/wine-run.sh "$publish/UdpSessions.Windows.Tests.exe" -diagnostics
}
windows_lane

echo "$passed passed, $failed failed"
exit $status
