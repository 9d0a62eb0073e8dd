#!/bin/sh
# incap-cert as a Certbot deploy-hook drop-in. Install it executable (0755) as
#   /etc/letsencrypt/renewal-hooks/deploy/incap-cert
# Certbot runs every executable there once for every renewed lineage, with RENEWED_LINEAGE set; `incap-cert deploy`
# uploads the certificate to the Imperva sites its map assigns, and exits 0 with nothing on stderr for a lineage
# it does not manage, so Certbot logs no warning for those.
#
# incap-cert is looked for in INCAP_CERT_BIN, then on PATH (Certbot's is short under cron and systemd), then at
# ${INCAP_CERT_PREFIX:-PREFIX}/bin/incap-cert, where PREFIX is the folder `incap-cert install --prefix` wrote into
# the line below. No secret is passed on a command line: the API key stays in /etc/incap-cert/config.json (0600)
# or in the environment.
set -u
incap_cert_prefix='/usr/local'

if [ -n "${INCAP_CERT_BIN:-}" ]; then
  bin=$INCAP_CERT_BIN
elif bin=$(command -v incap-cert 2>/dev/null); then
  :
else
  bin="${INCAP_CERT_PREFIX:-$incap_cert_prefix}/bin/incap-cert"
fi
if [ ! -x "$bin" ]; then
  echo "incap-cert: not found (tried INCAP_CERT_BIN, PATH and $bin); install it or set INCAP_CERT_BIN" >&2
  exit 127
fi
exec "$bin" deploy
