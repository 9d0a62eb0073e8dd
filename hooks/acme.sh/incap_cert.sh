#!/usr/bin/env sh
# incap-cert as an acme.sh deploy plugin (POSIX sh).
# Install: cp incap_cert.sh ~/.acme.sh/deploy/    Use: acme.sh --deploy -d example.com --deploy-hook incap_cert
# acme.sh sources this file and calls
#   incap_cert_deploy DOMAIN KEYFILE CERTFILE CAFILE FULLCHAINFILE
# which pushes FULLCHAINFILE and KEYFILE through incap-cert's map and returns 0 only when every mapped site has the
# certificate. incap-cert is looked for in INCAP_CERT_BIN, then on PATH, then at
# ${INCAP_CERT_PREFIX:-PREFIX}/bin/incap-cert, where PREFIX is the folder `incap-cert install --prefix` wrote into
# the function below. No secret is passed on a command line.

incap_cert_deploy() {
  _incap_domain="$1"
  _incap_key="$2"
  _incap_fullchain="$5"
  _incap_prefix='/usr/local'

  if [ -n "${INCAP_CERT_BIN:-}" ]; then
    _incap_bin="$INCAP_CERT_BIN"
  elif _incap_bin=$(command -v incap-cert 2>/dev/null); then
    :
  else
    _incap_bin="${INCAP_CERT_PREFIX:-$_incap_prefix}/bin/incap-cert"
  fi
  if [ ! -x "$_incap_bin" ]; then
    echo "incap-cert: not found (tried INCAP_CERT_BIN, PATH and $_incap_bin); $_incap_domain was not pushed" >&2
    return 127
  fi

  "$_incap_bin" push --cert "$_incap_fullchain" --key "$_incap_key"
  _incap_status=$?
  if [ "$_incap_status" -ne 0 ]; then
    echo "incap-cert: push of $_incap_domain failed (exit code $_incap_status)" >&2
    return "$_incap_status"
  fi
  return 0
}
