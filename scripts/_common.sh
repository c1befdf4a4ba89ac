# shellcheck shell=bash
# Shared by scripts/*: sourced, never run. Sets paths and puts .venv/bin first on PATH.
#
#   ROOT             the repository (the directory above scripts/)
#   VENV             $ROOT/.venv, made by scripts/bootstrap
#   BUILD_BASE       a directory outside the repository holding ansible_collections/fleet/ipsec,
#                    a real copy of the repository (ansible-test refuses symlinks and wants that
#                    path shape); one per run, removed at exit; FLEET_IPSEC_BUILD_BASE keeps one
# It also sets an EXIT trap: scripts add paths to remove with on_exit_remove, not a trap of their own.
#   COLLECTION_DIR   $BUILD_BASE/ansible_collections/fleet/ipsec

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
VENV="$ROOT/.venv"
export PATH="$VENV/bin:$PATH"
export VIRTUAL_ENV="$VENV"
: "${HOME:=$(getent passwd "$(id -u)" | cut -d: -f6)}"
export HOME

# A fresh directory per run, outside the repository: several people may run scripts/test,
# scripts/lint and scripts/sanity in one checkout at once, and inside the repository ansible-test
# would find the repository's .git while walking up from the copy and list (almost) no files.
# Removed when the script exits, unless FLEET_IPSEC_BUILD_BASE names one to keep (to look at
# ansible-test's tests/output there, say).
_CLEANUP=()
_run_cleanup() {
    local path
    for path in "${_CLEANUP[@]}"; do rm -rf "$path"; done
}
trap _run_cleanup EXIT
# on_exit_remove PATH...: remove these when the script exits.
on_exit_remove() { _CLEANUP+=("$@"); }

if [[ -n "${FLEET_IPSEC_BUILD_BASE:-}" ]]; then
    BUILD_BASE="$FLEET_IPSEC_BUILD_BASE"
else
    BUILD_BASE="$(mktemp -d "${TMPDIR:-/tmp}/fleet-ipsec-build.XXXXXX")"
    on_exit_remove "$BUILD_BASE"
fi
COLLECTION_DIR="$BUILD_BASE/ansible_collections/fleet/ipsec"

log() { printf '%s: %s\n' "${0##*/}" "$*" >&2; }
die() { log "error: $*"; exit 1; }

require_venv() {
    [[ -x "$VENV/bin/ansible-test" ]] || die ".venv is missing or incomplete: run scripts/bootstrap first"
}

# The Python version of .venv as X.Y (what `ansible-test --python` wants).
venv_python_version() {
    "$VENV/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])'
}

# The site-packages directory of .venv that holds ansible_collections/ (community.general, ...).
venv_site_packages() {
    "$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])'
}

# Copy the repository to $COLLECTION_DIR, afresh each time (a few hundred files: well under a
# second), so nothing stale survives. In a git checkout the copy holds exactly what git would
# consider part of the tree: tracked files plus untracked ones that are not ignored (the same
# list ansible-test's git provider uses), so work not yet committed is tested too and .venv,
# caches and build output are not. Outside git (a tarball), rsync with the .gitignore rules.
# The copy has no .git, so ansible-test uses its "unversioned" file provider there.
sync_collection() {
    local staging="$BUILD_BASE/ansible_collections/fleet/.ipsec.new"
    rm -rf "$staging"
    mkdir -p "$staging"
    if [[ "$(git -C "$ROOT" rev-parse --show-toplevel 2>/dev/null || true)" == "$ROOT" ]]; then
        git -C "$ROOT" ls-files -z --cached --others --exclude-standard \
            | rsync -a --from0 --files-from=- --ignore-missing-args "$ROOT/" "$staging/"
    else
        rsync -a --exclude=/.git --exclude=/.venv --exclude=/.cache --exclude=/tests/output \
            --filter=':- .gitignore' "$ROOT/" "$staging/"
    fi
    rm -rf "$COLLECTION_DIR"
    mv "$staging" "$COLLECTION_DIR"
}

# ANSIBLE_COLLECTIONS_PATH under which fleet.ipsec (the fresh copy) and the collections shipped
# in the `ansible` package (community.general, ansible.posix, ...) are found, so nothing asks Galaxy.
collections_path() {
    printf '%s:%s' "$BUILD_BASE" "$(venv_site_packages)"
}
