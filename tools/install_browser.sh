#!/usr/bin/env bash
# Install the headless browser the handout tests look at pages with: Debian's chromium
# package (/usr/bin/chromium). Does nothing when it is already there; installs it with
# apt-get when run as root; otherwise says how and exits 1. Quiet unless it installs.
set -euo pipefail
CHROMIUM=/usr/bin/chromium

if [ -x "$CHROMIUM" ]; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
    echo "install_browser: $CHROMIUM is missing and only root with apt-get can install it here." >&2
    echo "  Debian/Ubuntu: sudo apt-get install chromium   (or: sudo make install-browser)" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
log=$(mktemp)
trap 'rm -f "$log"' EXIT
apt_get() { apt-get -q -y -o DPkg::Lock::Timeout=300 "$@" >>"$log" 2>&1; }
echo "install_browser: installing Debian's chromium package (apt-get install chromium) ..."
# A fresh image has no package lists yet: update once if the first try fails.
if ! apt_get install chromium && ! { apt_get update && apt_get install chromium; }; then
    tail -n 30 "$log" >&2
    echo "install_browser: apt-get install chromium failed (its output is above)." >&2
    exit 1
fi
if [ ! -x "$CHROMIUM" ]; then
    echo "install_browser: apt-get installed chromium, but $CHROMIUM is still missing." >&2
    exit 1
fi
echo "install_browser: $CHROMIUM is installed."
