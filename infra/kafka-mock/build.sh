#!/usr/bin/env bash
# Builds the librdkafka mock broker launcher (mock-cluster.c) into the path given as $1.
#
# librdkafka comes from the system when its headers are installed (Debian's librdkafka-dev); otherwise this
# script fetches Debian's librdkafka1 and librdkafka-dev packages itself into a cache folder of the project
# (.cache/librdkafka, or LIBRDKAFKA_CACHE) with `apt-get download` and unpacks them with `dpkg -x`. It uses
# apt lists of its own, so it needs neither root nor a prior `apt-get update`, and changes nothing on the
# system. The binary is linked with an rpath to the unpacked library, so it runs without LD_LIBRARY_PATH.
# On failure it prints one message saying what to install, and exits 1.
set -euo pipefail

out="${1:?usage: build.sh <output binary>}"
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
src="$here/mock-cluster.c"
cache="${LIBRDKAFKA_CACHE:-$repo/.cache/librdkafka}"
packages=(librdkafka1 librdkafka-dev)

fail() {
  echo "kafka mock: $1" >&2
  echo "kafka mock: install gcc and librdkafka-dev (Debian: apt-get install -y gcc librdkafka-dev), or set KAFKA_BROKERS to a Kafka cluster" >&2
  exit 1
}

command -v gcc > /dev/null || fail "gcc is not installed"
mkdir -p "$(dirname "$out")"
tmp="$out.$$.tmp"
trap 'rm -f "$tmp"' EXIT

# 1. The system's librdkafka, when its development files are installed.
if gcc -O2 -o "$tmp" "$src" -lrdkafka 2> /dev/null; then
  mv -f "$tmp" "$out"
  exit 0
fi

# 2. Debian's packages, fetched into the project's cache (once).
root="$cache/root"
if ! [ -f "$root/usr/include/librdkafka/rdkafka_mock.h" ]; then
  command -v apt-get > /dev/null || fail "librdkafka is not installed and apt-get is not available to fetch it"
  command -v dpkg > /dev/null || fail "librdkafka is not installed and dpkg is not available to unpack it"
  echo "kafka mock: fetching ${packages[*]} into $cache" >&2
  rm -rf "$cache"
  mkdir -p "$cache/apt/lists/partial" "$cache/apt/cache/archives/partial" "$cache/debs"
  apt_opts=(-q -o "Dir::State::Lists=$cache/apt/lists" -o "Dir::Cache=$cache/apt/cache" -o Debug::NoLocking=1)
  log="$cache/apt.log"
  apt-get "${apt_opts[@]}" update > "$log" 2>&1 ||
    fail "apt-get update failed (no network or no Debian sources?); see $log"
  (cd "$cache/debs" && apt-get "${apt_opts[@]}" download "${packages[@]}") >> "$log" 2>&1 ||
    fail "apt-get download ${packages[*]} failed; see $log"
  mkdir -p "$root.partial"
  for deb in "$cache"/debs/*.deb; do dpkg -x "$deb" "$root.partial"; done
  mv "$root.partial" "$root"
fi
libdir="$(dirname "$(find "$root" -name 'librdkafka.so.1' | head -n 1)")"
[ -f "$libdir/librdkafka.so.1" ] || fail "the fetched packages hold no librdkafka.so.1 ($root)"
gcc -O2 -o "$tmp" "$src" -I"$root/usr/include" -L"$libdir" -Wl,-rpath,"$libdir" -lrdkafka ||
  fail "gcc could not build $src against the fetched librdkafka ($root)"
mv -f "$tmp" "$out"
