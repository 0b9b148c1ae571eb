#!/bin/sh
# Download Debian's linux-source-VERSION package from the suite that has it
# and turn it into a git tree, on any Debian host (12 or 13 alike).
#
#   scripts/fetch-linux-source.sh VERSION [DEST_PARENT]
#
# linux-source-VERSION is a plain tarball (Architecture: all), so any suite's
# package works on any host.  The script names the suite itself (below) and
# uses a private apt state, cache and sources list under DEST_PARENT/apt: the
# machine's own apt configuration, lists and package state are never touched
# (nothing is installed; `apt-get download` only fetches the .deb).  The
# archive is the one this machine's apt already reaches (deb.debian.org, or
# the URI of the first Debian source it has), verified with Debian's keyring.
#
# The tree lands in DEST_PARENT/linux-source-VERSION (one commit), made by
# scripts/prepare-linux-source.sh; its path is printed on the last line.
# DEST_PARENT defaults to ${XDG_CACHE_HOME:-$HOME/.cache}/kfuncfix.
# Exit 3: the package cannot be had (no network, suite gone); callers skip.
set -eu
version=${1:?usage: fetch-linux-source.sh VERSION [DEST_PARENT]}
parent=${2:-${XDG_CACHE_HOME:-$HOME/.cache}/kfuncfix}
here=$(cd "$(dirname "$0")" && pwd)
tree=$parent/linux-source-$version
if [ -f "$tree/.git/kfuncfix-ready" ]; then echo "$tree"; exit 0; fi

# The suites that carry each version we test (the matrix is pinned by
# version: the package name fixes major.minor, the suite gives the newest
# point release of it).
case $version in
    5.10) suites="bullseye bullseye-security" ;;
    6.1) suites="bookworm bookworm-security" ;;
    6.12) suites="bookworm-security trixie trixie-security" ;;
    7.2) suites="trixie-backports" ;;
    *) suites="trixie trixie-backports bookworm bookworm-security bullseye" ;;
esac

mirror=$(grep -rhoE 'https?://[^ ]*/debian/?( |$)' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null \
         | head -n1 | tr -d ' ' || true)
mirror=${mirror:-http://deb.debian.org/debian}
mirror=${mirror%/}
security=${mirror%/debian}/debian-security
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
[ -r "$keyring" ] || { echo "fetch-linux-source: $keyring missing (apt-get install debian-archive-keyring)" >&2; exit 2; }

apt=$parent/apt
mkdir -p "$apt/state/lists/partial" "$apt/cache/archives/partial" "$apt/etc/parts" "$parent/debs"
list=$apt/etc/sources-$version.list
: >"$list"
for suite in $suites; do
    case $suite in
        *-security) uri=$security ;;
        *) uri=$mirror ;;
    esac
    echo "deb [signed-by=$keyring] $uri $suite main" >>"$list"
done
set -- -o "Dir::State=$apt/state" -o "Dir::Cache=$apt/cache" \
    -o "Dir::Etc::SourceList=$list" -o "Dir::Etc::SourceParts=$apt/etc/parts" \
    -o "Dir::Etc::Preferences=$apt/etc/preferences" -o "Dir::Etc::PreferencesParts=$apt/etc/parts" \
    -o "Dir::State::status=$apt/state/status" -o Debug::NoLocking=true \
    -o APT::Get::List-Cleanup=false -o Acquire::Retries=3 -o APT::Sandbox::User=root
touch "$apt/state/status"
package=linux-source-$version
if ! apt-get "$@" -qq update >"$apt/update-$version.log" 2>&1; then
    echo "fetch-linux-source: apt-get update of $suites failed (see $apt/update-$version.log)" >&2
    exit 3
fi
candidate=$(apt-cache "$@" policy "$package" 2>/dev/null | sed -n 's/^ *Candidate: //p')
if [ -z "$candidate" ] || [ "$candidate" = "(none)" ]; then
    echo "fetch-linux-source: $package is in none of: $suites" >&2
    exit 3
fi
tarball=$parent/debs/$package.tar.xz
if [ ! -s "$tarball" ]; then
    work=$parent/debs/$package.partial
    rm -rf "$work"
    mkdir -p "$work"
    (cd "$work" && apt-get "$@" -qq download "$package=$candidate") >&2 || {
        echo "fetch-linux-source: download of $package=$candidate failed" >&2; rm -rf "$work"; exit 3; }
    deb=$(ls "$work"/*.deb)
    dpkg-deb --fsys-tarfile "$deb" | tar -xO "./usr/src/$package.tar.xz" >"$work/src.tar.xz"
    mv "$work/src.tar.xz" "$tarball"
    echo "$candidate" >"$parent/debs/$package.version"
    rm -rf "$work"
fi
LINUX_SOURCE_TARBALL=$tarball "$here/prepare-linux-source.sh" "$version" "$parent"
