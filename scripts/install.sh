#!/usr/bin/env bash
# Kept for checkouts and scripts that call it: the installer is `incap-cert install` / `incap-cert uninstall`
# (src/install/), which the single executable runs from the one file alone. This passes the options on, with
# --uninstall as the uninstall command, to `node dist/cli.cjs` where Node is here, else to the executable that
# `npm run package` wrote (dist/incap-cert-linux-ARCH). See `incap-cert install --help`.
#
# Usage: scripts/install.sh [--prefix DIR] [--destdir DIR] [--binary FILE] [--systemd | --cron] [--dry-run] [--uninstall]
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
command=install
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --uninstall) command=uninstall; shift ;;
    --binary) args+=("$1" "${2:?--binary needs a file}"); shift 2 ;;
    *) args+=("$1"); shift ;;
  esac
done
if [ "$command" = uninstall ]; then
  # uninstall takes --prefix and --destdir; what only install takes is dropped.
  kept=()
  for ((i = 0; i < ${#args[@]}; i++)); do
    case "${args[i]}" in
      --systemd | --cron) ;;
      --binary) i=$((i + 1)) ;;
      --binary=*) ;;
      *) kept+=("${args[i]}") ;;
    esac
  done
  args=("${kept[@]}")
fi

if command -v node >/dev/null 2>&1 && [ -f "$here/dist/cli.cjs" ]; then
  exec node "$here/dist/cli.cjs" "$command" "${args[@]}"
fi
executable="$here/dist/incap-cert-linux-$(uname -m | sed 's/x86_64/x64/; s/aarch64/arm64/')"
if [ ! -x "$executable" ]; then
  echo "install.sh: neither node with $here/dist/cli.cjs nor $executable is here: run 'npm run package' first" >&2
  exit 1
fi
exec "$executable" "$command" "${args[@]}"
