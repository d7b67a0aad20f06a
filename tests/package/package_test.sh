#!/usr/bin/env bash
# The Debian package end to end on this machine (CTest labels package, e2e; needs root): cpack
# makes the .deb in the build tree, dpkg-deb shows its control and files, dpkg -i installs it,
# systemd-analyze verifies the installed unit, the INSTALLED binary serves /health as user
# flashsale from the packaged config, stops on SIGTERM, then dpkg -r and dpkg -P remove it.
# Any failed step fails the test; the EXIT trap stops our node and purges our package whatever
# happened, so the machine is left as it was. Exit 77 (skipped): not root, or a flashsale
# package, user or directory here that this test did not make and must not touch.
# Usage: package_test.sh BUILD_DIR BUILT_BINARY VERSION
set -euo pipefail

build_dir=$1
built_binary=$2
version=$3

say() { echo "package_test: $*"; }
fail() {
  echo "package_test: FAIL: $*" >&2
  exit 1
}
skip() {
  echo "package_test: SKIPPED: $*"
  exit 77
}
show() { sed 's/^/    /' "$@"; }

[ "$(id -u)" = 0 ] || skip "dpkg -i needs root (CI runs as root)"
for tool in cpack dpkg dpkg-deb dpkg-query systemd-analyze curl setpriv flock readelf ldd; do
  command -v "$tool" >/dev/null || fail "$tool not found (see the Makefile's PACKAGES)"
done
[ -x "$built_binary" ] || fail "$built_binary is not built"

# One package test at a time on this machine: several build trees may run their suites at once,
# and all of them install the same package.
mkdir -p /run/lock
exec 9>/run/lock/flashsale-package-test.lock
flock -w 600 9 || fail "another package test held /run/lock/flashsale-package-test.lock for 10 min"

# Our own leftovers (a run killed before its trap ran) are ours to clean up. The marker lists
# them: "dir PATH" (its work dir), "installed" (the package is its), "pid N" (what it started
# as user flashsale). Anything else named flashsale belongs to someone else.
marker=/run/flashsale-package-test.marker
if [ -e "$marker" ]; then
  say "cleaning up after a killed earlier run"
  ours() { [ "$(ps -o user:32= -p "$1" 2>/dev/null | tr -d ' ')" = flashsale ]; }
  # SIGTERM first: a node still running stops its own edge and nats-server.
  while read -r kind value; do
    if [ "$kind" = pid ] && ours "$value"; then kill -TERM "$value"; fi
  done <"$marker"
  sleep 5
  while read -r kind value; do
    if [ "$kind" = pid ] && ours "$value"; then kill -KILL "$value"; fi
  done <"$marker"
  if grep -qx installed "$marker"; then dpkg -P flashsale >/dev/null 2>&1 || true; fi
  while read -r kind value; do
    case "$kind $value" in "dir /tmp/flashsale-package-test."*) rm -rf "$value" ;; esac
  done <"$marker"
  rm -f "$marker"
fi
status=$(dpkg-query -W -f='${Status}' flashsale 2>/dev/null || true)
case "$status" in
  "" | *not-installed) ;;
  *) skip "a flashsale package is already here ($status); not touching it" ;;
esac
getent passwd flashsale >/dev/null && skip "a user flashsale already exists; not touching it"
getent group flashsale >/dev/null && skip "a group flashsale already exists; not touching it"
for path in /var/lib/flashsale /etc/flashsale; do
  [ -e "$path" ] && skip "$path already exists; not touching it"
done

work=$(mktemp -d /tmp/flashsale-package-test.XXXXXX)
echo "dir $work" >"$marker"
node_pid=""
installed=0

# The node's descendants (its HAProxy edge, its nats-server), by PID, while it still runs.
descendants() {
  local parent child
  for parent in "$@"; do
    for child in $(ps -o pid= --ppid "$parent" 2>/dev/null); do
      echo "$child"
      descendants "$child"
    done
  done
}

cleanup() {
  local rc=$? pids pid
  set +e
  if [ -n "$node_pid" ] && kill -0 "$node_pid" 2>/dev/null; then
    pids=$(descendants "$node_pid")
    kill -TERM "$node_pid"
    for _ in $(seq 60); do kill -0 "$node_pid" 2>/dev/null || break; sleep 0.5; done
    kill -KILL "$node_pid" 2>/dev/null
    wait "$node_pid" 2>/dev/null
    for pid in $pids; do kill -KILL "$pid" 2>/dev/null; done
  fi
  if [ "$installed" = 1 ]; then
    say "cleanup: purging the package"
    dpkg -P flashsale >"$work/cleanup-purge.log" 2>&1 || show "$work/cleanup-purge.log"
  fi
  rm -rf "$work"
  rm -f "$marker"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# 1. cpack in the build tree (it builds `preinstall` first: up to date after the suite's build).
say "cpack -G DEB in $build_dir"
(cd "$build_dir" && cpack -G DEB -B "$work/cpack") >"$work/cpack.log" 2>&1 \
  || { show "$work/cpack.log"; fail "cpack failed"; }
debs=("$work"/cpack/flashsale_"$version"-1_*.deb)
[ -f "${debs[0]}" ] || { show "$work/cpack.log"; fail "cpack made no flashsale_$version-1_*.deb"; }
deb=${debs[0]}
say "made $(basename "$deb") ($(du -h "$deb" | cut -f1))"

# 2. Its control: name, version, architecture, maintainer scripts, and a dependency on the
# package of every shared library the binary needs plus the programs the node starts.
dpkg-deb -I "$deb" >"$work/info.txt" || fail "dpkg-deb -I failed"
show "$work/info.txt"
field() { dpkg-deb -f "$deb" "$1"; }
[ "$(field Package)" = flashsale ] || fail "Package is '$(field Package)'"
[ "$(field Version)" = "$version-1" ] || fail "Version is '$(field Version)', not $version-1"
arch=$(dpkg --print-architecture)
[ "$(field Architecture)" = "$arch" ] || fail "Architecture is '$(field Architecture)', not $arch"
[ -n "$(field Maintainer)" ] || fail "no Maintainer"
[ -n "$(field Description)" ] || fail "no Description"
for script in postinst prerm postrm conffiles; do
  grep -Eq "^ +[0-9]+ bytes, +[0-9]+ lines +[*]? *$script( |$)" "$work/info.txt" \
    || fail "the control archive has no $script"
done
depends=$(field Depends)
# Package names alone (no versions, no alternatives' bars), matched as fixed strings.
depends_on() {
  awk -v RS='[,|]' -v want="$1" '$1 == want { found = 1 } END { exit !found }' <<<"$depends"
}
for program in haproxy nats-server adduser; do
  depends_on "$program" || fail "Depends does not name $program: $depends"
done
for soname in $(readelf -d "$built_binary" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
  path=$(ldd "$built_binary" | awk -v so="$soname" '$1 == so { print $3 }')
  [ -n "$path" ] || fail "ldd does not resolve $soname"
  owner=""
  for candidate in "$path" "$(realpath "$path")" "/usr$path" "${path#/usr}"; do
    owner=$(dpkg -S "$candidate" 2>/dev/null | awk -F: 'NR == 1 { print $1 }') || true
    [ -n "$owner" ] && break
  done
  [ -n "$owner" ] || fail "no Debian package owns $path ($soname)"
  depends_on "$owner" || fail "Depends does not name $owner (for $soname): $depends"
done
dpkg-deb -c "$deb" >"$work/contents.txt" || fail "dpkg-deb -c failed"
for file in ./usr/bin/flashsale ./etc/flashsale/flashsale.json \
            ./lib/systemd/system/flashsale.service ./usr/share/doc/flashsale/README.md; do
  grep -q " $file\$" "$work/contents.txt" || { show "$work/contents.txt"; fail "no $file"; }
done

# 3. dpkg -i, and what the postinst must have made.
say "dpkg -i"
echo installed >>"$marker"
installed=1
dpkg -i "$deb" >"$work/install.log" 2>&1 || { show "$work/install.log"; fail "dpkg -i failed"; }
IFS=: read -r _ _ uid _ _ home shell < <(getent passwd flashsale) || fail "no user flashsale"
[ "$uid" -lt 1000 ] || fail "flashsale is not a system user (uid $uid)"
[ "$home" = /var/lib/flashsale ] || fail "flashsale's home is $home"
case "$shell" in */nologin | */false) ;; *) fail "flashsale can log in ($shell)" ;; esac
getent group flashsale >/dev/null || fail "no group flashsale"
[ "$(stat -c '%U:%G %a' /var/lib/flashsale)" = "flashsale:flashsale 750" ] \
  || fail "/var/lib/flashsale is $(stat -c '%U:%G %a' /var/lib/flashsale)"
grep -q '"data_dir": "/var/lib/flashsale"' /etc/flashsale/flashsale.json \
  || fail "the packaged config's data_dir is not /var/lib/flashsale"
dpkg-query -W -f='${Conffiles}' flashsale | grep -q '/etc/flashsale/flashsale.json' \
  || fail "/etc/flashsale/flashsale.json is not a conffile"
# Enabled for the next boot even without a running systemd, as debhelper's packages are.
[ -L /etc/systemd/system/multi-user.target.wants/flashsale.service ] \
  || fail "the postinst did not enable flashsale.service"
installed_version=$(/usr/bin/flashsale --version) || fail "/usr/bin/flashsale --version failed"
[ "$installed_version" = "$("$built_binary" --version)" ] \
  || fail "installed '$installed_version' is not the build tree's binary"
case "$installed_version" in "flashsale $version (git "*")") ;; *) fail "$installed_version" ;; esac
say "installed $installed_version"

# 4. The installed unit, offline (no systemd runs here).
say "systemd-analyze verify /lib/systemd/system/flashsale.service"
verify_rc=0
systemd-analyze verify /lib/systemd/system/flashsale.service >"$work/verify.txt" 2>&1 \
  || verify_rc=$?
show "$work/verify.txt"
[ "$verify_rc" = 0 ] || fail "systemd-analyze verify exited $verify_rc"
grep -q flashsale "$work/verify.txt" && fail "systemd-analyze verify complains about the unit"
say "systemd-analyze verify: exit 0, $(wc -l <"$work/verify.txt") lines of complaints"

# 5. The installed binary as the unit runs it: user flashsale, a clean environment with
# systemd's default PATH for services (Debian puts haproxy and nats-server in /usr/sbin), the
# packaged config and so /var/lib/flashsale, its embedded HAProxy edge and nats-server; only
# the port is ours (any free one). setpriv and env exec, so $! is the node's own PID; 9>&-
# keeps our lock from the node, or a node a killed run left would hold up the next run.
say "starting /usr/bin/flashsale serve as flashsale"
cd /
setpriv --reuid=flashsale --regid=flashsale --init-groups --reset-env -- \
  /usr/bin/env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin \
  /usr/bin/flashsale serve --config /etc/flashsale/flashsale.json --set http.port=0 \
  >"$work/serve.log" 2>&1 9>&- &
node_pid=$!
echo "pid $node_pid" >>"$marker"
url=""
for _ in $(seq 180); do
  url=$(sed -n 's|^flashsale listening on \(https\{0,1\}://[^:]*:[0-9]*\)$|\1|p' "$work/serve.log")
  [ -n "$url" ] && break
  kill -0 "$node_pid" 2>/dev/null || { show "$work/serve.log"; fail "the node exited early"; }
  sleep 0.5
done
[ -n "$url" ] || { show "$work/serve.log"; fail "no 'flashsale listening on' within 90 s"; }
say "node $node_pid listening on $url"
children=$(descendants "$node_pid")
[ -n "$children" ] || fail "the node runs no HAProxy edge and no nats-server"
for pid in $children; do echo "pid $pid" >>"$marker"; done
[ "$(ps -o uid= -p "$node_pid" | tr -d ' ')" = "$uid" ] || fail "the node does not run as flashsale"
[ -f /var/lib/flashsale/admin_token ] || fail "the node keeps no admin_token in /var/lib/flashsale"
code=$(curl -sS --max-time 10 -o "$work/health.json" -w '%{http_code}' "$url/health") \
  || fail "GET /health: curl failed"
say "GET /health: $code $(cat "$work/health.json")"
[ "$code" = 200 ] || fail "GET /health answered $code"
grep -q '"status":"ok"' "$work/health.json" || fail "GET /health is not ok"

# 6. SIGTERM to our node's PID: it drains and exits 0, and takes its edge and NATS with it.
kill -TERM "$node_pid"
for _ in $(seq 120); do kill -0 "$node_pid" 2>/dev/null || break; sleep 0.5; done
kill -0 "$node_pid" 2>/dev/null && { show "$work/serve.log"; fail "no exit 60 s after SIGTERM"; }
node_rc=0
wait "$node_pid" || node_rc=$?
node_pid=""
show "$work/serve.log"
[ "$node_rc" = 0 ] || fail "the node exited $node_rc after SIGTERM"
grep -q '^flashsale: stopped$' "$work/serve.log" || fail "the node did not say it stopped"
for pid in $children; do
  for _ in $(seq 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  if kill -0 "$pid" 2>/dev/null; then
    kill -KILL "$pid"
    fail "process $pid the node started outlived it"
  fi
done

# 7. dpkg -r keeps the config, the data and the user; dpkg -P removes everything we made.
say "dpkg -r"
dpkg -r flashsale >"$work/remove.log" 2>&1 || { show "$work/remove.log"; fail "dpkg -r failed"; }
[ ! -e /usr/bin/flashsale ] || fail "dpkg -r left /usr/bin/flashsale"
[ -f /etc/flashsale/flashsale.json ] || fail "dpkg -r removed the config"
[ -d /var/lib/flashsale ] || fail "dpkg -r removed the data"
getent passwd flashsale >/dev/null || fail "dpkg -r removed the user"
say "dpkg -P"
dpkg -P flashsale >"$work/purge.log" 2>&1 || { show "$work/purge.log"; fail "dpkg -P failed"; }
installed=0
status=$(dpkg-query -W -f='${Status}' flashsale 2>/dev/null || true)
case "$status" in "" | *not-installed) ;; *) fail "after dpkg -P: $status" ;; esac
for path in /usr/bin/flashsale /etc/flashsale /var/lib/flashsale /usr/share/doc/flashsale \
            /lib/systemd/system/flashsale.service /etc/systemd/system/flashsale.service \
            /etc/systemd/system/multi-user.target.wants/flashsale.service \
            /var/lib/systemd/deb-systemd-helper-enabled/flashsale.service.dsh-also \
            /var/lib/systemd/deb-systemd-helper-masked/flashsale.service; do
  if [ -e "$path" ] || [ -L "$path" ]; then fail "dpkg -P left $path"; fi
done
getent passwd flashsale >/dev/null && fail "dpkg -P left the user flashsale"
getent group flashsale >/dev/null && fail "dpkg -P left the group flashsale"
say "PASS"
