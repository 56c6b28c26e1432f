#!/usr/bin/env bash
# Makes sure Wine (Debian's packages) is installed for the Windows test lane. Exits non-zero when it cannot be: the
# lane then counts as failed rather than silently skipped.
set -euo pipefail

if command -v wine >/dev/null 2>&1; then
  exit 0
fi

"$(dirname "$0")/ensure-debs.sh" wine wine64
command -v wine >/dev/null 2>&1 || { echo "ensure-wine: wine is still not on PATH after installing" >&2; exit 1; }
