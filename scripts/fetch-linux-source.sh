#!/bin/sh
# Download Debian's linux-source-VERSION package from the suite that has it
# and turn it into a git tree, on any Debian host (12 or 13 alike).
#
#   scripts/fetch-linux-source.sh [--print-sources|--candidate] VERSION [DEST_PARENT]
#
# linux-source-VERSION is a plain tarball (Architecture: all), so any suite's
# package works on any host.  The script names the suites itself
# (debian-private-apt.sh, shared with fetch-linux-image.sh), so
# the host's release does not matter, and it uses a private apt state, cache,
# sources list and configuration tail under DEST_PARENT/apt/VERSION: the
# machine's apt configuration, lists and package state are never touched
# (nothing is installed; `apt-get download` only fetches the .deb, and the
# machine's update hooks are cleared for the private `apt-get update`).  The
# archive is the one this machine's apt already reaches (the first Debian
# mirror in its sources, else deb.debian.org), verified with Debian's keyring;
# its proxy settings in /etc/apt/apt.conf.d apply.
#
# The tree lands in DEST_PARENT/linux-source-VERSION (one commit), made by
# scripts/prepare-linux-source.sh; its path is printed on the last line.  The
# .deb's tarball is kept in DEST_PARENT/debs (with the Debian version fetched),
# so a second run needs no network.  --print-sources prints the apt sources
# it would use and exits (no network); --candidate prints the Debian version
# those sources offer now and exits (reads the archive's indexes only).
# DEST_PARENT defaults to ${XDG_CACHE_HOME:-$HOME/.cache}/kfuncfix.
# Exit 2: usage.  Exit 3: the package cannot be had here (not a Debian host,
# no network, suite gone); callers skip.
set -eu
mode=fetch
case ${1:-} in
    --print-sources) mode=sources; shift ;;
    --candidate) mode=candidate; shift ;;
    -*) set -- ;;
esac
[ $# -ge 1 ] && [ $# -le 2 ] || {
    echo "usage: fetch-linux-source.sh [--print-sources|--candidate] VERSION [DEST_PARENT]" >&2
    exit 2
}
here=$(cd "$(dirname "$0")" && pwd)
me=fetch-linux-source
. "$here/debian-private-apt.sh"
version=$(kernel_version "$1")
[ -n "$version" ] || {
    echo "fetch-linux-source: VERSION must be MAJOR.MINOR (such as 6.1), not '$1'" >&2
    exit 2
}
parent=${2:-${XDG_CACHE_HOME:-$HOME/.cache}/kfuncfix}
package=linux-source-$version
tree=$parent/$package
tarball=$parent/debs/$package.tar.xz
cannot() { echo "fetch-linux-source: $package cannot be had: $*" >&2; exit 3; }
suites=$(kernel_suites "$version")
if [ $mode = sources ]; then apt_sources; exit 0; fi

if [ $mode = fetch ] && [ -f "$tree/.git/kfuncfix-ready" ]; then echo "$tree"; exit 0; fi
mkdir -p "$parent/debs"
# One fetch per version at a time (CI and the test fixtures may race).
if command -v flock >/dev/null; then
    exec 9>"$parent/debs/.$package.lock"
    flock 9
    if [ $mode = fetch ] && [ -f "$tree/.git/kfuncfix-ready" ]; then echo "$tree"; exit 0; fi
fi
# A tree of that name without the marker is someone's own (prepare refuses to
# replace it too): say so before downloading anything.
if [ $mode = fetch ] && { [ -e "$tree" ] || [ -L "$tree" ]; }; then
    echo "fetch-linux-source: $tree exists and was not made by this script (no .git/kfuncfix-ready); move it away" >&2
    exit 2
fi

if [ $mode = candidate ] || [ ! -s "$tarball" ]; then
    private_apt_update "$parent/apt/$version"
    candidate=$(private_candidate "$package")
    if [ -z "$candidate" ]; then
        cannot "in none of: $suites at $mirror (see $apt/update.log)"
    fi
    if [ $mode = candidate ]; then echo "$candidate"; exit 0; fi
    work=$parent/debs/$package.partial
    fresh_workdir "$work"
    (cd "$work" && private_apt apt-get -qq download "$package=$candidate") >"$apt/download.log" 2>&1 || {
        rm -rf "$work"; cannot "download of $package=$candidate failed (see $apt/download.log)"; }
    dpkg-deb --fsys-tarfile "$work"/*.deb | tar -xO "./usr/src/$package.tar.xz" >"$work/src.tar.xz"
    echo "$candidate" >"$parent/debs/$package.version"
    mv "$work/src.tar.xz" "$tarball"
    rm -rf "$work"
    echo "fetch-linux-source: $package $candidate" >&2
fi
LINUX_SOURCE_TARBALL=$tarball "$here/prepare-linux-source.sh" "$version" "$parent"
