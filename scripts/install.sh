#!/usr/bin/env bash
# Installs incap-cert on a Certbot host:
#   PREFIX/bin/incap-cert                                   the single executable (npm run package), 0755
#   PREFIX/share/incap-cert/hooks/                          the hooks for dehydrated and acme.sh, 0755
#   /etc/incap-cert/config.json                             from scripts/config.example.json, 0600 (folder 0700);
#                                                           never overwritten
#   /etc/letsencrypt/renewal-hooks/deploy/incap-cert        Certbot's drop-in (hooks/certbot-deploy.sh), 0755
#   /etc/systemd/system/incap-cert-sync.{service,timer}     the daily sync, where systemd runs (else:)
#   /etc/cron.d/incap-cert                                  the daily sync as a cron line, 0644
#   /var/lib/incap-cert/                                    the state folder, 0700
# Idempotent. --uninstall removes all of it but the config and the state folder (which may hold queued uploads).
#
# Usage: scripts/install.sh [--prefix DIR] [--destdir DIR] [--binary FILE] [--systemd | --cron] [--uninstall]
#   --prefix DIR   where the executable goes (default /usr/local)
#   --destdir DIR  stage everything under DIR (or DESTDIR=DIR), as packagers and tests do; nothing is enabled
#   --binary FILE  the executable to install (default dist/incap-cert-linux-x64 beside this script)
#   --systemd / --cron   the daily sync's kind (default: systemd when it runs here, else cron)
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
prefix=/usr/local
destdir=${DESTDIR:-}
binary="$here/dist/incap-cert-linux-$(uname -m | sed 's/x86_64/x64/; s/aarch64/arm64/')"
timer=auto
action=install

while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) prefix=${2:?--prefix needs a folder}; shift 2 ;;
    --prefix=*) prefix=${1#*=}; shift ;;
    --destdir) destdir=${2:?--destdir needs a folder}; shift 2 ;;
    --destdir=*) destdir=${1#*=}; shift ;;
    --binary) binary=${2:?--binary needs a file}; shift 2 ;;
    --binary=*) binary=${1#*=}; shift ;;
    --systemd) timer=systemd; shift ;;
    --cron) timer=cron; shift ;;
    --uninstall) action=uninstall; shift ;;
    -h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "install.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
case "$prefix" in /*) ;; *) echo "install.sh: --prefix must be an absolute path" >&2; exit 2 ;; esac
destdir=${destdir%/}
if [ "$timer" = auto ]; then
  if [ -d /run/systemd/system ]; then timer=systemd; else timer=cron; fi
fi

bin="$destdir$prefix/bin/incap-cert"
share="$destdir$prefix/share/incap-cert"
config_dir="$destdir/etc/incap-cert"
dropin="$destdir/etc/letsencrypt/renewal-hooks/deploy/incap-cert"
units="$destdir/etc/systemd/system"
cron="$destdir/etc/cron.d/incap-cert"
state="$destdir/var/lib/incap-cert"
live=$([ -z "$destdir" ] && [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1 && echo yes || echo no)

say() { echo "install.sh: $*"; }

# A file from the tree with the install prefix written in where the default /usr/local stands.
put() { # SOURCE TARGET MODE
  mkdir -p "$(dirname "$2")"
  sed "s#/usr/local/bin/incap-cert#$prefix/bin/incap-cert#g; s#\${INCAP_CERT_PREFIX:-/usr/local}#\${INCAP_CERT_PREFIX:-$prefix}#g" "$1" > "$2.tmp.$$"
  chmod "$3" "$2.tmp.$$"
  mv -f "$2.tmp.$$" "$2"
  say "wrote $2 ($3)"
}

if [ "$action" = uninstall ]; then
  if [ "$live" = yes ] && [ -f "$units/incap-cert-sync.timer" ]; then
    systemctl disable --now incap-cert-sync.timer >/dev/null 2>&1 || true
  fi
  for file in "$bin" "$dropin" "$units/incap-cert-sync.service" "$units/incap-cert-sync.timer" "$cron"; do
    if [ -e "$file" ]; then rm -f "$file"; say "removed $file"; fi
  done
  if [ -d "$share" ]; then rm -rf "$share"; say "removed $share"; fi
  [ "$live" = yes ] && systemctl daemon-reload || true
  say "kept $config_dir/config.json and $state (queued uploads); remove them by hand if you want them gone"
  exit 0
fi

if [ ! -f "$binary" ]; then
  echo "install.sh: no executable at $binary: run 'npm run package' first, or name one with --binary" >&2
  exit 1
fi

mkdir -p "$(dirname "$bin")"
cp "$binary" "$bin.tmp.$$" && chmod 0755 "$bin.tmp.$$" && mv -f "$bin.tmp.$$" "$bin"
say "wrote $bin (0755)"
put "$here/hooks/dehydrated-hook.sh" "$share/hooks/dehydrated-hook.sh" 0755
put "$here/hooks/acme.sh/incap_cert.sh" "$share/hooks/acme.sh/incap_cert.sh" 0755
put "$here/hooks/certbot-deploy.sh" "$dropin" 0755

install -d -m 0700 "$config_dir"
if [ -e "$config_dir/config.json" ]; then
  say "kept the existing $config_dir/config.json"
else
  (umask 077 && cp "$here/scripts/config.example.json" "$config_dir/config.json")
  chmod 0600 "$config_dir/config.json"
  say "wrote $config_dir/config.json (0600): set api.id, api.key and sites, then run: incap-cert check"
fi
install -d -m 0700 "$state"

if [ "$timer" = systemd ]; then
  put "$here/hooks/systemd/incap-cert-sync.service" "$units/incap-cert-sync.service" 0644
  put "$here/hooks/systemd/incap-cert-sync.timer" "$units/incap-cert-sync.timer" 0644
  if [ -e "$cron" ]; then rm -f "$cron"; say "removed $cron (systemd runs the sync now)"; fi
  if [ "$live" = yes ]; then
    systemctl daemon-reload && systemctl enable --now incap-cert-sync.timer >/dev/null
    say "enabled incap-cert-sync.timer"
  fi
else
  put "$here/hooks/cron/incap-cert" "$cron" 0644
fi
say "done"
