#!/usr/bin/env bash
# Makes sure the real DTLS clients the DTLS interop tests run are installed (Debian's packages): openssl (s_client),
# gnutls-bin (gnutls-cli) and libcoap3-bin (coap-client-openssl, coap-client-gnutls). Idempotent. Exits non-zero
# when they cannot be installed: the tests then fail (they never skip) and name the missing package.
set -euo pipefail

missing=()
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
command -v gnutls-cli >/dev/null 2>&1 || missing+=(gnutls-bin)
{ command -v coap-client-openssl >/dev/null 2>&1 && command -v coap-client-gnutls >/dev/null 2>&1; } || missing+=(libcoap3-bin)
if (( ${#missing[@]} == 0 )); then
  exit 0
fi

if [[ $(id -u) -eq 0 ]]; then
  sudo=()
elif command -v sudo >/dev/null 2>&1; then
  sudo=(sudo -n)
else
  echo "ensure-dtls-peers: ${missing[*]} missing and this user cannot install packages (not root, no sudo)" >&2
  exit 1
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-dtls-peers: ${missing[*]} missing and this is not a Debian-based system (no apt-get)" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
# A fresh image may have no package lists at all: then apt-cache knows no candidate and an update is needed first.
if ! apt-cache policy "${missing[0]}" 2>/dev/null | grep -q 'Candidate: [0-9]'; then
  "${sudo[@]}" apt-get update -q
fi

"${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
