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
version=${1:?usage: prepare-linux-source.sh VERSION [DEST_PARENT]}
parent=${2:-${XDG_CACHE_HOME:-$HOME/.cache}/kfuncfix}
tarball=${LINUX_SOURCE_TARBALL:-/usr/src/linux-source-$version.tar.xz}
tree=$parent/linux-source-$version
if [ -f "$tree/.git/kfuncfix-ready" ]; then echo "$tree"; exit 0; fi
[ -r "$tarball" ] || { echo "prepare-linux-source: $tarball not found (apt-get install linux-source-$version)" >&2; exit 2; }
mkdir -p "$parent"
rm -rf "$tree.partial"
mkdir "$tree.partial"
tar -xf "$tarball" -C "$tree.partial" --strip-components=1
cd "$tree.partial"
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
rm -rf "$tree"
mv "$tree.partial" "$tree"
touch "$tree/.git/kfuncfix-ready"
echo "$tree"
