#!/usr/bin/env bash
# Runs a Windows program under Wine in this project's own Wine prefix, creating the prefix on first use.
# Usage: scripts/wine-run.sh program.exe [args...]
# The exit code is the program's; a crash is a non-zero exit (the debugger is disabled). When this script is
# terminated (test.sh's timeout), it takes the program and the prefix's Wine processes down with it.
set -uo pipefail

export WINEPREFIX=${UDPS_WINEPREFIX:-${XDG_CACHE_HOME:-$HOME/.cache}/udpsessions/wine-prefix}
export WINEDEBUG=-all
# No Gecko/Mono install prompts (mshtml), and no debugger: with winedbg a crashed program exits 0.
# Never override mscoree: the .NET app host needs Wine's own.
export WINEDLLOVERRIDES="mshtml=;winedbg.exe=d"
export WINEARCH=win64

# Wine's background processes (wineserver, services, winedevice) inherit the fds of whoever starts them; started with
# these fds they would hold a caller's pipe open long after the program ended. So everything Wine starts here gets
# /dev/null or a file, never our stdout.
if [[ ! -f $WINEPREFIX/.udps-ready ]]; then
  rm -rf "$WINEPREFIX"
  mkdir -p "$WINEPREFIX"
  wineboot -i </dev/null >/dev/null 2>&1
  # Without the Windows 10 version, .NET's UDP code takes a path that crashed on a WSAEMSGSIZE completion under Wine.
  wine reg add 'HKCU\Software\Wine' /v Version /d win10 /f </dev/null >/dev/null 2>&1 || { echo "wine-run: cannot configure the prefix" >&2; exit 1; }
  touch "$WINEPREFIX/.udps-ready"
else
  wineboot </dev/null >/dev/null 2>&1 # starts the prefix's server and services detached from our output
fi

# `wineserver -k` leaves the prefix's service processes (services, winedevice, explorer...) running without a server;
# they are ended by pid: exactly the processes that carry this prefix in their environment, other than this script.
end_prefix_processes() {
  wineserver -k 2>/dev/null
  local environ pid
  for environ in /proc/[0-9]*/environ; do
    pid=${environ#/proc/}; pid=${pid%/environ}
    [[ $pid == "$$" ]] && continue
    if tr '\0' '\n' <"$environ" 2>/dev/null | grep -qxF "WINEPREFIX=$WINEPREFIX"; then
      kill -9 "$pid" 2>/dev/null
    fi
  done
}

log=$(mktemp)
wine "$@" </dev/null >"$log" 2>&1 &
program=$!
trap 'kill "$program" 2>/dev/null; end_prefix_processes; cat "$log"; rm -f "$log"; exit 124' TERM INT
wait "$program"
rc=$?
end_prefix_processes # leave no Wine processes behind
cat "$log"
rm -f "$log"
exit $rc
