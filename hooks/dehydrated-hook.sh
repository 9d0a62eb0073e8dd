#!/usr/bin/env bash
# incap-cert as a dehydrated HOOK. In dehydrated's config:
#   HOOK=/usr/local/share/incap-cert/hooks/dehydrated-hook.sh
# dehydrated calls the hook with a handler name first. On `deploy_cert DOMAIN KEYFILE CERTFILE FULLCHAINFILE
# CHAINFILE TIMESTAMP` this pushes FULLCHAINFILE and KEYFILE through incap-cert's map; a failed push exits non-zero,
# which dehydrated reports and stops on (the failure is also queued for `incap-cert sync`). Every other handler
# (startup_hook, deploy_challenge, clean_challenge, sync_cert, exit_hook, and ones dehydrated adds later) exits 0
# silently: dehydrated aborts on a non-zero exit.
# incap-cert is looked for in INCAP_CERT_BIN, then on PATH, then at ${INCAP_CERT_PREFIX:-PREFIX}/bin/incap-cert,
# where PREFIX is the folder `incap-cert install --prefix` wrote into the line below.
set -u
incap_cert_prefix='/usr/local'

incap_cert_bin() {
  if [ -n "${INCAP_CERT_BIN:-}" ]; then
    printf '%s\n' "$INCAP_CERT_BIN"
  elif command -v incap-cert 2>/dev/null; then
    :
  else
    printf '%s\n' "${INCAP_CERT_PREFIX:-$incap_cert_prefix}/bin/incap-cert"
  fi
}

deploy_cert() {
  local domain="$1" keyfile="$2" fullchainfile="$4"
  local bin
  bin=$(incap_cert_bin)
  if [ ! -x "$bin" ]; then
    echo "incap-cert: not found (tried INCAP_CERT_BIN, PATH and $bin); $domain was not pushed to Imperva" >&2
    return 127
  fi
  "$bin" push --cert "$fullchainfile" --key "$keyfile"
}

handler="${1:-}"
if [ "$handler" = "deploy_cert" ]; then
  shift
  deploy_cert "$@"
  exit $?
fi
exit 0
