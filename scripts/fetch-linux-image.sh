#!/bin/sh
# Download Debian's built amd64 kernel of a version (vmlinuz and every module)
# as a .deb, without installing it, for `kfuncfix audit --btf DEB TREE`.
#
#   scripts/fetch-linux-image.sh [--package] VERSION [DEST_PARENT]
#
# The package is linux-image-ABI-amd64-unsigned (from Debian's `linux`
# source package, the same build as the signed one), of the same Debian
# version as the linux-source-VERSION tree fetch-linux-source.sh made in
# DEST_PARENT (DEST_PARENT/debs/linux-source-VERSION.version), else of the
# version the suites offer now.  The suites, mirror, keyring and the private
# apt state (under DEST_PARENT/apt/VERSION-image) are fetch-linux-source.sh's
# (debian-private-apt.sh): the machine's apt configuration and state are never
# touched, nothing is installed.
#
# The .deb lands in DEST_PARENT/debs/linux-image-VERSION-amd64.deb (about
# 60-100 MB; its package and Debian version in ...-amd64.version); its path is
# printed on the last line, and a second run needs no network while the
# version still matches the tree's.  --package prints the package and version
# it would download and exits (reads the archive's indexes only).
# DEST_PARENT defaults to ${XDG_CACHE_HOME:-$HOME/.cache}/kfuncfix.
# Exit 2: usage.  Exit 3: the package cannot be had here (not a Debian host,
# no network, that version gone from the archive); callers skip.
set -eu
mode=fetch
case ${1:-} in
    --package) mode=package; shift ;;
    -*) set -- ;;
esac
[ $# -ge 1 ] && [ $# -le 2 ] || {
    echo "usage: fetch-linux-image.sh [--package] VERSION [DEST_PARENT]" >&2
    exit 2
}
here=$(cd "$(dirname "$0")" && pwd)
me=fetch-linux-image
. "$here/debian-private-apt.sh"
version=$(kernel_version "$1")
[ -n "$version" ] || {
    echo "fetch-linux-image: VERSION must be MAJOR.MINOR (such as 6.1), not '$1'" >&2
    exit 2
}
parent=${2:-${XDG_CACHE_HOME:-$HOME/.cache}/kfuncfix}
what=linux-image-$version-amd64
deb=$parent/debs/$what.deb
cannot() { echo "fetch-linux-image: $what cannot be had: $*" >&2; exit 3; }
suites=$(kernel_suites "$version")

# The Debian version wanted: the cached tree's, so that the image is built
# from the very sources audited.
wanted=
[ -r "$parent/debs/linux-source-$version.version" ] && wanted=$(cat "$parent/debs/linux-source-$version.version")
case $wanted in
    *[!0-9A-Za-z.+~-]*) wanted= ;;  # written by fetch-linux-source.sh; anything else is ignored
esac

mkdir -p "$parent/debs"
have() {
    [ $mode = fetch ] && [ -s "$deb" ] && [ -n "$wanted" ] &&
        [ "$(cut -d' ' -f2 "$parent/debs/$what.version" 2>/dev/null)" = "$wanted" ]
}
if have; then echo "$deb"; exit 0; fi
# One fetch per version at a time (CI and the test fixtures may race).
if command -v flock >/dev/null; then
    exec 9>"$parent/debs/.$what.lock"
    flock 9
    if have; then echo "$deb"; exit 0; fi
fi

private_apt_update "$parent/apt/$version-image" amd64
if [ -z "$wanted" ]; then
    wanted=$(private_candidate "linux-source-$version")
    [ -n "$wanted" ] || cannot "linux-source-$version is in none of: $suites at $mirror (see $apt/update.log)"
fi
# The image packages of this major.minor (one per ABI: 6.1.0-57, ...); the one
# with the wanted version is the build of those sources.
escaped=$(echo "$version" | sed -e 's/\./\\./g')
package=
for name in $(private_apt apt-cache search --names-only "^linux-image-$escaped\.[0-9]+-[0-9]+-amd64-unsigned\$" 2>/dev/null | cut -d' ' -f1); do
    if private_apt apt-cache madison "$name" 2>/dev/null | cut -d'|' -f2 | tr -d ' ' | grep -qxF "$wanted"; then
        package=$name
        break
    fi
done
[ -n "$package" ] || cannot "no linux-image-$version.*-amd64-unsigned of version $wanted in: $suites at $mirror (the archive keeps only the newest; refetch linux-source-$version)"
if [ $mode = package ]; then echo "$package $wanted"; exit 0; fi

work=$parent/debs/$what.partial
fresh_workdir "$work"
(cd "$work" && private_apt apt-get -qq download "$package=$wanted") >"$apt/download.log" 2>&1 || {
    rm -rf "$work"; cannot "download of $package=$wanted failed (see $apt/download.log)"; }
mv "$work"/*.deb "$deb"
echo "$package $wanted" >"$parent/debs/$what.version"
rm -rf "$work"
echo "fetch-linux-image: $package $wanted" >&2
echo "$deb"
