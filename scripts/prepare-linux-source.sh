#!/bin/sh
# Turn Debian's linux-source-VERSION tarball into a git repository to try
# kfuncfix on without a kernel checkout.
#
#   apt-get install linux-source-6.1
#   scripts/prepare-linux-source.sh 6.1 [DEST_PARENT]
#
# scripts/fetch-linux-source.sh downloads the package from the right suite
# without installing it and calls this with LINUX_SOURCE_TARBALL set.
#
# DEST_PARENT defaults to ${XDG_CACHE_HOME:-$HOME/.cache}/kfuncfix; the tree lands in
# DEST_PARENT/linux-source-VERSION with one commit.  Debian's top-level
# .gitignore ends with "/*" (its packaging ignores everything at the top
# level); those lines are removed so that git sees the sources.
set -eu
[ $# -ge 1 ] || { echo "usage: prepare-linux-source.sh VERSION [DEST_PARENT]" >&2; exit 2; }
version=$1
# MAJOR.MINOR and nothing else: it names the directories this script replaces.
case $version in
    *[!0-9.]* | '' | .* | *. | *.*.* | *..*) version= ;;
    *.*) ;;
    *) version= ;;
esac
[ -n "$version" ] || {
    echo "prepare-linux-source: VERSION must be MAJOR.MINOR (such as 6.1), not '$1'" >&2
    exit 2
}
parent=${2:-${XDG_CACHE_HOME:-$HOME/.cache}/kfuncfix}
tarball=${LINUX_SOURCE_TARBALL:-/usr/src/linux-source-$version.tar.xz}
tree=$parent/linux-source-$version
if [ -f "$tree/.git/kfuncfix-ready" ]; then echo "$tree"; exit 0; fi
# Deleted or replaced only when this script made them: the tree carries
# .git/kfuncfix-ready (checked above), the work directory .git/kfuncfix-partial.
# A directory of that name without its marker is someone's own: never touched.
if [ -e "$tree" ] || [ -L "$tree" ]; then
    echo "prepare-linux-source: $tree exists and was not made by this script (no .git/kfuncfix-ready); move it away" >&2
    exit 2
fi
partial=$tree.partial
if [ -e "$partial" ] || [ -L "$partial" ]; then
    [ -f "$partial/.git/kfuncfix-partial" ] && [ ! -L "$partial" ] || {
        echo "prepare-linux-source: $partial exists and was not made by this script; move it away" >&2
        exit 2
    }
fi
[ -r "$tarball" ] || { echo "prepare-linux-source: $tarball not found (apt-get install linux-source-$version)" >&2; exit 2; }
mkdir -p "$parent"
rm -rf "$partial"
mkdir -p "$partial/.git"
: >"$partial/.git/kfuncfix-partial"
tar -xf "$tarball" -C "$partial" --strip-components=1
cd "$partial"
sed -i -e '/^# Debian packaging: ignore everything/,$d' .gitignore
sed -i -e '/^\/\*$/d' -e '/^!\/debian\/$/d' .gitignore
git init -q -b master .
git -c user.name=kfuncfix -c user.email=kfuncfix@example.invalid add -A
GIT_AUTHOR_DATE='2024-01-01T00:00:00Z' GIT_COMMITTER_DATE='2024-01-01T00:00:00Z' \
  git -c user.name='Linux Source' -c user.email=linux-source@example.invalid \
  commit -q -m "linux-source-$version (Debian)"
# No `git gc`: packing the ~80k loose objects takes minutes of CPU (detached, behind
# the caller's back) and buys nothing for reading the tree.
cd - >/dev/null
# Marked ready before the move: the tree never exists without its marker.
touch "$partial/.git/kfuncfix-ready"
rm -f "$partial/.git/kfuncfix-partial"
mv "$partial" "$tree"
echo "$tree"
