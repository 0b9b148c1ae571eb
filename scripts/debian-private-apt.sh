# Sourced (not run) by fetch-linux-source.sh and fetch-linux-image.sh: the
# apt state they share.  Both download one Debian package of a kernel version
# from the suites that carry it, through a private apt state, cache, sources
# list and configuration tail under DEST_PARENT/apt/: the machine's apt
# configuration, lists and package state are never touched (nothing is
# installed; `apt-get download` only fetches the .deb, and the machine's
# update hooks are cleared for the private `apt-get update`).  The archive is
# the one this machine's apt already reaches (the first Debian mirror in its
# sources, else deb.debian.org), verified with Debian's keyring; its proxy
# settings in /etc/apt/apt.conf.d apply.
#
# The caller sets `me` (its name, for messages) and defines cannot() (exit 3:
# the package cannot be had here, callers skip).

# MAJOR.MINOR and nothing else: the version is written into a private apt
# configuration (a `"` would add directives) and names the directories deleted.
# Prints the version, or nothing when it is not one.
kernel_version() {
    case $1 in
        *[!0-9.]* | '' | .* | *. | *.*.* | *..*) ;;
        *.*) echo "$1" ;;
    esac
}

# The suites that carry each version of the matrix.  The package name pins
# major.minor (so the matrix does not move to 7.3 when backports does); the
# suite gives its newest Debian point release.
kernel_suites() {
    case $1 in
        5.10) echo "bullseye bullseye-security" ;;
        6.1) echo "bookworm bookworm-security" ;;
        6.12) echo "bookworm-security trixie trixie-security" ;;
        7.2) echo "trixie-backports" ;;
        *) echo "trixie trixie-security trixie-backports bookworm bookworm-security bullseye" ;;
    esac
}

# The machine's Debian mirrors, from its sources in either format (one-line
# .list or deb822 .sources), comments and disabled files ignored.
etc=${KFUNCFIX_APT_ETC:-/etc/apt}
apt_arch=
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

# The apt sources of the suites in $suites, one line each.
apt_sources() {
    for suite in $suites; do
        case $suite in
            *-security) uri=$security ;;
            *) uri=$mirror ;;
        esac
        echo "deb [signed-by=${keyring:-/usr/share/keyrings/debian-archive-keyring.gpg}] $uri $suite main"
    done
}

# private_apt_update DIR [ARCH]: make the private state in DIR for $suites
# (packages of ARCH, default the host's) and read the archive's indexes.
private_apt_update() {
    command -v apt-get >/dev/null && command -v dpkg-deb >/dev/null || cannot "apt-get and dpkg-deb are needed (a Debian host)"
    [ -n "$keyring" ] || cannot "Debian's archive keyring is missing (apt-get install debian-archive-keyring)"
    apt=$1
    apt_arch=${2:-}
    mkdir -p "$apt/state/lists/partial" "$apt/cache/archives/partial" "$apt/parts"
    apt_sources >"$apt/sources.list"
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
    # A suite that is gone makes update fail while another still has the
    # package: callers judge by the candidate, not by update's status.
    private_apt apt-get -q update >"$apt/update.log" 2>&1 || true
}

# private_apt apt-get|apt-cache ARGS...: run it on the private state of
# private_apt_update.
private_apt() {
    tool=$1
    shift
    if [ -n "$apt_arch" ]; then
        set -- -o "APT::Architecture=$apt_arch" -o "APT::Architectures=$apt_arch" "$@"
    fi
    APT_CONFIG="$apt/apt-config" "$tool" -o "Dir::State=$apt/state" \
        -o "Dir::State::status=$apt/state/status" \
        -o "Dir::Cache=$apt/cache" -o "Dir::Etc::SourceList=$apt/sources.list" \
        -o "Dir::Etc::SourceParts=$apt/parts" -o "Dir::Etc::Preferences=$apt/preferences" \
        -o "Dir::Etc::PreferencesParts=$apt/parts" -o Debug::NoLocking=true \
        -o Acquire::Languages=none -o Acquire::Retries=3 -o APT::Sandbox::User=root "$@"
}

# The candidate version of a package in the private state, or nothing.
private_candidate() {
    c=$(private_apt apt-cache policy "$1" 2>/dev/null | sed -n 's/^ *Candidate: //p')
    [ "$c" = "(none)" ] || echo "$c"
}

# fresh_workdir DIR: an empty DIR carrying this script's marker.  Only a
# directory a previous run made (it carries the marker) is deleted.
fresh_workdir() {
    if [ -e "$1" ] || [ -L "$1" ]; then
        [ -f "$1/.kfuncfix-partial" ] && [ ! -L "$1" ] || {
            echo "$me: $1 exists and was not made by this script; move it away" >&2
            exit 2
        }
        rm -rf "$1"
    fi
    mkdir -p "$1"
    : >"$1/.kfuncfix-partial"
}
