#!/usr/bin/env bash
# Runs a Windows program under Wine in this project's own Wine prefix, creating the prefix on first use.
# Usage: scripts/wine-run.sh program.exe [args...]   (exit code is the program's; a crash is a non-zero exit)
set -euo pipefail

export WINEPREFIX=${UDPS_WINEPREFIX:-${XDG_CACHE_HOME:-$HOME/.cache}/udpsessions/wine-prefix}
export WINEDEBUG=-all
# No Gecko/Mono install prompts (mshtml), and no debugger: without winedbg disabled a crashed program exits 0.
# Never override mscoree: the .NET app host needs Wine's own.
export WINEDLLOVERRIDES="mshtml=;winedbg.exe=d"
export WINEARCH=win64

if [[ ! -f $WINEPREFIX/.udps-ready ]]; then
  rm -rf "$WINEPREFIX"
  mkdir -p "$WINEPREFIX"
  wineboot -i >/dev/null 2>&1
  # Without the Windows 10 version, .NET's UDP code takes a path that crashed on a WSAEMSGSIZE completion under Wine.
  wine reg add 'HKCU\Software\Wine' /v Version /d win10 /f >/dev/null 2>&1
  wineserver -w
  touch "$WINEPREFIX/.udps-ready"
fi

exec wine "$@"
