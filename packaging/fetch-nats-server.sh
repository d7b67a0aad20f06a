#!/bin/sh
# Fetches Debian unstable's nats-server into DIR/root/usr/sbin/nats-server (DIR defaults to
# build/deps/nats) for cluster mode and its tests, which need nats-server >= 2.12 (docs/NATS.md);
# Debian 12 ships 2.9.10. It uses a private apt state under DIR (its own sources list, package
# lists and cache), so the system's apt sources and installed packages are never touched, and
# the package is only unpacked, not installed. Idempotent: a binary already there that reports
# 2.12 or newer is kept. Pins no version (unstable moves): the version is checked at run time.
#   usage: packaging/fetch-nats-server.sh [DIR]      (root, or a user who may run apt-get)
set -eu

dir=${1:-build/deps/nats}
minimum=2.12.0
binary=$dir/root/usr/sbin/nats-server

# "nats-server: v2.15.1" -> 0 when at least $minimum.
new_enough() {
  [ -x "$1" ] || return 1
  got=$("$1" --version 2>/dev/null | sed -n 's/.*v\([0-9][0-9.]*\).*/\1/p')
  [ -n "$got" ] || return 1
  [ "$(printf '%s\n%s\n' "$minimum" "$got" | sort -V | head -n1)" = "$minimum" ]
}

if new_enough "$binary"; then
  echo "nats-server for cluster mode: $binary ($("$binary" --version))"
  exit 0
fi

# The Debian mirror this machine already uses: deb822 sources (Debian 12's default), else the
# first `deb` line of sources.list, else the official one.
uri=$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
if [ -z "$uri" ]; then
  uri=$(awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^(https?|file):/) { print $i; exit } }' \
    /etc/apt/sources.list 2>/dev/null || true)
fi
uri=${uri:-http://deb.debian.org/debian}
keyring=/usr/share/keyrings/debian-archive-keyring.gpg

mkdir -p "$dir/lists/partial" "$dir/cache/archives/partial"
echo "deb [signed-by=$keyring] $uri sid main" >"$dir/sources.list"
set -- -o "Dir::Etc::sourcelist=$(cd "$dir" && pwd)/sources.list" -o Dir::Etc::sourceparts=- \
  -o "Dir::State::Lists=$(cd "$dir" && pwd)/lists" -o "Dir::Cache=$(cd "$dir" && pwd)/cache" \
  -o APT::Sandbox::User=root
echo "fetching nats-server from Debian unstable ($uri sid) into $dir"
apt-get -qq "$@" update
rm -f "$dir"/nats-server_*.deb
(cd "$dir" && apt-get -qq "$@" download nats-server)
rm -rf "$dir/root"
dpkg-deb -x "$dir"/nats-server_*.deb "$dir/root"
if ! new_enough "$binary"; then
  echo "fetch-nats-server: $binary is $("$binary" --version 2>&1 || echo unusable);" \
    "cluster mode needs nats-server >= $minimum" >&2
  exit 1
fi
echo "nats-server for cluster mode: $binary ($("$binary" --version))"
