#!/usr/bin/env bash
# Installs what the service needs from the OS when it is missing: Chromium, redis-server,
# and Python's venv module. Needs root and apt-get (Debian/Ubuntu); elsewhere it says what to install.
set -euo pipefail

missing=()
# Extra commands named on the command line, as COMMAND or COMMAND:PACKAGE (e.g. wrk for
# bench/submit.py, promtool:prometheus for the alert rules' tests).
for extra in "$@"; do
  command -v "${extra%%:*}" >/dev/null 2>&1 || missing+=("${extra#*:}")
done
# Chromium's headless shell where the distribution has it (Debian 12 and later): nodes run it
# first, at a quarter of the full browser's CPU per task (nodes/browser.py); else chromium.
if [ -z "${BROWSING_CHROMIUM_PATH:-}" ] && ! command -v chromium-headless-shell >/dev/null 2>&1; then
  if command -v apt-cache >/dev/null 2>&1 && apt-cache show chromium-headless-shell >/dev/null 2>&1; then
    missing+=(chromium-headless-shell)
  elif ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1; then
    missing+=(chromium)
  fi
fi
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || missing+=(python3-venv)

[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "missing system packages: ${missing[*]} (install them, or run this as root on Debian/Ubuntu)" >&2
  exit 1
fi
echo "installing ${missing[*]} with apt-get ..."
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "${missing[@]}" >/dev/null
