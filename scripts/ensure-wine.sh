#!/usr/bin/env bash
# Makes sure Wine (Debian's packages) is installed for the Windows test lane. Exits non-zero when it cannot be: the
# lane then counts as failed rather than silently skipped.
set -euo pipefail

if command -v wine >/dev/null 2>&1; then
  exit 0
fi

if [[ $(id -u) -eq 0 ]]; then
  sudo=()
elif command -v sudo >/dev/null 2>&1; then
  sudo=(sudo -n)
else
  echo "ensure-wine: Wine is missing and this user cannot install packages (not root, no sudo)" >&2
  exit 1
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-wine: Wine is missing and this is not a Debian-based system (no apt-get); install wine and wine64" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
# A fresh image may have no package lists at all: then apt-cache knows no candidate and an update is needed first.
if ! apt-cache policy wine 2>/dev/null | grep -q 'Candidate: [0-9]'; then
  "${sudo[@]}" apt-get update -q
fi

"${sudo[@]}" apt-get install -y -q --no-install-recommends wine wine64
command -v wine >/dev/null 2>&1 || { echo "ensure-wine: wine is still not on PATH after installing" >&2; exit 1; }
