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

# `wineserver -k` leaves the prefix's service processes (services, winedevice, explorer...) running without a server;
# they are ended by pid: exactly the processes that carry this prefix in their environment, other than this script.
end_prefix_processes() {
  wineserver -k 2>/dev/null
  local environ pid
  for environ in /proc/[0-9]*/environ; do
    pid=${environ#/proc/}; pid=${pid%/environ}
    [[ $pid == "$$" ]] && continue
    if { tr '\0' '\n' <"$environ"; } 2>/dev/null | grep -qxF "WINEPREFIX=$WINEPREFIX"; then
      kill -9 "$pid" 2>/dev/null
    fi
  done
}

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
  end_prefix_processes # each attempt below starts its own server
fi

# The prefix's wineserver, identified by its environment like the processes above.
prefix_server_pid() {
  local candidate
  for candidate in $(pgrep -x wineserver64; pgrep -x wineserver); do
    if { tr '\0' '\n' <"/proc/$candidate/environ"; } 2>/dev/null | grep -qxF "WINEPREFIX=$WINEPREFIX"; then
      echo "$candidate"; return
    fi
  done
}

# Wine 8.0's wineserver corrupts its own heap now and then while the IOCP tests run (glibc aborts it with "corrupted
# double-linked list", "malloc(): unaligned tcache chunk detected"; see docs/windows.md). Its clients are left waiting
# on their server pipes forever, so without this watch the suite would hang until test.sh's timeout. The server is
# started here with its stderr kept, watched while the program runs, and its death ends the attempt at once.
# Returns 0 with $rc set when the program ended, 2 when the server died under it.
run_attempt() {
  server_log=$(mktemp)
  wineserver -p5 </dev/null >/dev/null 2>"$server_log" # forks once ready; a failure here just means no stderr kept
  local server; server=$(prefix_server_pid)
  wineboot </dev/null >/dev/null 2>&1 # starts the prefix's services detached from our output
  [[ -n $server ]] || server=$(prefix_server_pid)
  wine "$@" </dev/null >"$log" 2>&1 &
  program=$!
  local server_died=0
  while kill -0 "$program" 2>/dev/null; do
    if [[ -n $server ]] && ! kill -0 "$server" 2>/dev/null; then server_died=1; break; fi
    sleep 0.5
  done
  if (( server_died )); then
    # By pid: the program's main thread has usually exited by now, and a process whose leader is a zombie shows an
    # empty environ, so the clean-up by prefix below would not find it.
    kill -9 "$program" 2>/dev/null
    end_prefix_processes
    wait "$program" 2>/dev/null
    return 2
  fi
  wait "$program"
  rc=$?
  end_prefix_processes # leave no Wine processes behind
  return 0
}

attempts=${UDPS_WINE_ATTEMPTS:-5}
log=$(mktemp)
server_log=
program=
trap '[[ -n $program ]] && kill -9 "$program" 2>/dev/null; end_prefix_processes; cat "$log"; rm -f "$log" "$server_log"; exit 124' TERM INT
rc=125
for ((attempt = 1; attempt <= attempts; attempt++)); do
  if run_attempt "$@"; then
    cat "$log"
    if (( attempt > 1 )); then
      echo "wine-run: NOTE: this result comes from attempt $attempt; earlier attempts were ended by a wineserver crash (above)"
    fi
    break
  fi
  cat "$log"
  echo "wine-run: WINESERVER CRASHED during attempt $attempt of $attempts (Wine defect, not a test result): $(tr '\n' ' ' <"$server_log")"
  rm -f "$server_log"
done
rm -f "$log" "$server_log"
exit $rc
