#!/bin/sh
# Download Debian's linux-source-VERSION package from the suite that has it
# and turn it into a git tree, on any Debian host (12 or 13 alike).
#
#   scripts/fetch-linux-source.sh [--print-sources|--candidate] VERSION [DEST_PARENT]
#
# linux-source-VERSION is a plain tarball (Architecture: all), so any suite's
# package works on any host.  The script names the suites itself (below), so
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
version=$1
# MAJOR.MINOR and nothing else: the version is written into a private apt
# configuration (a `"` would add directives) and names the directories deleted.
case $version in
    *[!0-9.]* | '' | .* | *. | *.*.* | *..*) version= ;;
    *.*) ;;
    *) version= ;;
esac
[ -n "$version" ] || {
    echo "fetch-linux-source: VERSION must be MAJOR.MINOR (such as 6.1), not '$1'" >&2
    exit 2
}
parent=${2:-${XDG_CACHE_HOME:-$HOME/.cache}/kfuncfix}
here=$(cd "$(dirname "$0")" && pwd)
package=linux-source-$version
tree=$parent/$package
tarball=$parent/debs/$package.tar.xz
cannot() { echo "fetch-linux-source: $package cannot be had: $*" >&2; exit 3; }

# The suites that carry each version of the matrix.  The package name pins
# major.minor (so the matrix does not move to 7.3 when backports does); the
# suite gives its newest Debian point release.
case $version in
    5.10) suites="bullseye bullseye-security" ;;
    6.1) suites="bookworm bookworm-security" ;;
    6.12) suites="bookworm-security trixie trixie-security" ;;
    7.2) suites="trixie-backports" ;;
    *) suites="trixie trixie-security trixie-backports bookworm bookworm-security bullseye" ;;
esac

# The machine's Debian mirrors, from its sources in either format (one-line
# .list or deb822 .sources), comments and disabled files ignored.
etc=${KFUNCFIX_APT_ETC:-/etc/apt}
first_uri() {
    for f in "$etc/sources.list" "$etc"/sources.list.d/*.list "$etc"/sources.list.d/*.sources; do
        [ -r "$f" ] && sed -e 's/#.*//' "$f"
    done | grep -oE "https?://[^ ]*/$1/?( |\$)" | head -n1 | tr -d ' ' | sed -e 's:/$::'
}
mirror=$(first_uri debian || true)
mirror=${mirror:-http://deb.debian.org/debian}
security=$(first_uri debian-security || true)
security=${security:-http://deb.debian.org/debian-security}
keyring=
for k in /usr/share/keyrings/debian-archive-keyring.pgp /usr/share/keyrings/debian-archive-keyring.gpg; do
    if [ -r "$k" ]; then keyring=$k; break; fi
done

sources() {
    for suite in $suites; do
        case $suite in
            *-security) uri=$security ;;
            *) uri=$mirror ;;
        esac
        echo "deb [signed-by=${keyring:-/usr/share/keyrings/debian-archive-keyring.gpg}] $uri $suite main"
    done
}
if [ $mode = sources ]; then sources; exit 0; fi

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
    command -v apt-get >/dev/null && command -v dpkg-deb >/dev/null || cannot "apt-get and dpkg-deb are needed (a Debian host)"
    [ -n "$keyring" ] || cannot "Debian's archive keyring is missing (apt-get install debian-archive-keyring)"
    apt=$parent/apt/$version
    mkdir -p "$apt/state/lists/partial" "$apt/cache/archives/partial" "$apt/parts"
    list=$apt/sources.list
    sources >"$list"
    : >"$apt/state/status"
    # Read last, after the machine's apt.conf.d (whose proxy settings we
    # keep): drop the hooks that would act on the machine (appstream,
    # packagekit, docker-clean, ...) when our private lists change.
    {
        [ -r "$etc/apt.conf" ] && echo "#include \"$etc/apt.conf\";"
        for hook in APT::Update::Pre-Invoke APT::Update::Post-Invoke \
                    APT::Update::Post-Invoke-Success DPkg::Pre-Invoke DPkg::Post-Invoke; do
            echo "#clear $hook;"
        done
    } >"$apt/apt.conf"
    echo "Dir::Etc::main \"$apt/apt.conf\";" >"$apt/apt-config"
    set -- -o "Dir::State=$apt/state" -o "Dir::State::status=$apt/state/status" \
        -o "Dir::Cache=$apt/cache" -o "Dir::Etc::SourceList=$list" \
        -o "Dir::Etc::SourceParts=$apt/parts" -o "Dir::Etc::Preferences=$apt/preferences" \
        -o "Dir::Etc::PreferencesParts=$apt/parts" -o Debug::NoLocking=true \
        -o Acquire::Languages=none -o Acquire::Retries=3 -o APT::Sandbox::User=root
    export APT_CONFIG="$apt/apt-config"
    # A suite that is gone makes update fail while another still has the
    # package: judge by the candidate, not by update's status.
    apt-get "$@" -q update >"$apt/update.log" 2>&1 || true
    candidate=$(apt-cache "$@" policy "$package" 2>/dev/null | sed -n 's/^ *Candidate: //p')
    if [ -z "$candidate" ] || [ "$candidate" = "(none)" ]; then
        cannot "in none of: $suites at $mirror (see $apt/update.log)"
    fi
    if [ $mode = candidate ]; then echo "$candidate"; exit 0; fi
    work=$parent/debs/$package.partial
    # Only a directory this script made (it carries the marker) is deleted.
    if [ -e "$work" ] || [ -L "$work" ]; then
        [ -f "$work/.kfuncfix-partial" ] && [ ! -L "$work" ] || {
            echo "fetch-linux-source: $work exists and was not made by this script; move it away" >&2
            exit 2
        }
        rm -rf "$work"
    fi
    mkdir -p "$work"
    : >"$work/.kfuncfix-partial"
    (cd "$work" && apt-get "$@" -qq download "$package=$candidate") >"$apt/download.log" 2>&1 || {
        rm -rf "$work"; cannot "download of $package=$candidate failed (see $apt/download.log)"; }
    dpkg-deb --fsys-tarfile "$work"/*.deb | tar -xO "./usr/src/$package.tar.xz" >"$work/src.tar.xz"
    echo "$candidate" >"$parent/debs/$package.version"
    mv "$work/src.tar.xz" "$tarball"
    rm -rf "$work"
    echo "fetch-linux-source: $package $candidate" >&2
fi
LINUX_SOURCE_TARBALL=$tarball "$here/prepare-linux-source.sh" "$version" "$parent"
