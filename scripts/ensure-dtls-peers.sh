#!/usr/bin/env bash
# The real DTLS clients the DTLS interop tests run: openssl (s_client), gnutls-bin (gnutls-cli) and libcoap3-bin
# (coap-client-openssl, coap-client-gnutls). Idempotent. Exits non-zero when they cannot be installed: the tests
# then fail (they never skip) and name the missing package.
set -euo pipefail
exec "$(dirname "$0")/ensure-debs.sh" openssl gnutls-bin libcoap3-bin
