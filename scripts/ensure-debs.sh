#!/usr/bin/env bash
# Installs the Debian packages named on the command line that are missing (apt-get, as root or with sudo). Exits
# non-zero when one cannot be installed.
set -euo pipefail

missing=()
for package in "$@"; do
  [[ $(dpkg-query -W -f='${Status}' "$package" 2>/dev/null) == "install ok installed" ]] || missing+=("$package")
done
(( ${#missing[@]} == 0 )) && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-debs: ${missing[*]} missing and this is not a Debian-based system (no apt-get)" >&2
  exit 1
fi

if [[ $(id -u) -eq 0 ]]; then
  sudo=()
elif command -v sudo >/dev/null 2>&1; then
  sudo=(sudo -n)
else
  echo "ensure-debs: ${missing[*]} missing and this user cannot install packages (not root, no sudo)" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
# A fresh image may have no package lists at all: then apt-cache knows no candidate and an update is needed first.
if ! apt-cache policy "${missing[0]}" 2>/dev/null | grep -q 'Candidate: [0-9]'; then
  "${sudo[@]}" apt-get update -q
fi
"${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
