# Copyright (c) 2026 fleet.ipsec contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Building and preloading uml_xstate_shim.c, which lets Debian 12's UML boot on hosts with AMX.

user-mode-linux 6.1 saves and restores its guests' FPU state with PTRACE_GETREGSET and
PTRACE_SETREGSET (NT_X86_XSTATE) through a buffer of a size fixed when it was compiled (2696
bytes in Debian's 6.1um4). The host kernel takes such a write only at its full XSTATE size: on a
host whose XSTATE is larger (Intel with AMX tile data: about 11 KB) every restore fails with
EFAULT, and the first guest process dies ("userspace - ptrace set fp regs failed, errno = 14",
"Attempted to kill init!"). The C file beside this one is an LD_PRELOAD library that turns UML's
short write into a full-size one; the comments there say how and why it is safe. On hosts whose
XSTATE fits UML's buffer it only forwards calls, so the lab can preload it everywhere.

    shim = ensure_shim(cache_dir)               compile once per source and command, cached
    env = preload_env(os.environ, shim)         the environment to start linux.uml with

Stdlib only; needs a C compiler (`cc`) on the host.
"""

import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import guests

SOURCE = Path(__file__).resolve().with_name("uml_xstate_shim.c")
# No -Werror: a newer compiler's new warning must not stop the lab (the unit test compiles it with
# -Werror). "{out}" and "{src}" are filled in; the template, not the paths, goes into the hash.
COMPILE = ["cc", "-O2", "-Wall", "-Wextra", "-shared", "-fPIC", "-o", "{out}", "{src}", "-ldl"]


def shim_name(source=SOURCE):
    """The cached library's file name: it changes whenever the source or the command does."""
    digest = hashlib.sha256(Path(source).read_bytes())
    digest.update("\0".join(COMPILE).encode())
    return f"uml-xstate-shim-{digest.hexdigest()[:16]}.so"


def ensure_shim(cache_dir: Path) -> Path:
    """The compiled shim in cache_dir, compiling it first if it is not there yet.

    Compiled under a temporary name in the same directory and renamed into place, so that a lab
    started at the same time, or after an interrupted build, never loads a half-written library."""
    cache_dir = Path(cache_dir)
    dest = cache_dir / shim_name()
    if dest.is_file():
        return dest
    if shutil.which("cc") is None:
        raise guests.DriverError(f"no C compiler (cc) to build {SOURCE.name}, which UML needs on hosts "
                                 "with a large XSTATE: apt-get install build-essential")
    cache_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=cache_dir, prefix=f".{dest.stem}-", suffix=".so.tmp")
    os.close(fd)
    try:
        cmd = [arg.format(out=tmp, src=SOURCE) for arg in COMPILE]
        try:
            proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                  check=False, timeout=300)
        except (OSError, subprocess.TimeoutExpired) as e:
            raise guests.DriverError(f"compiling {SOURCE.name} failed: {e}") from None
        if proc.returncode != 0:
            raise guests.DriverError(f"compiling {SOURCE.name} failed ({' '.join(cmd)}):\n{proc.stdout.rstrip()}")
        os.chmod(tmp, 0o755)
        os.replace(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return dest


def preload_env(env: dict, shim: Path) -> dict:
    """A copy of env with the shim in LD_PRELOAD, after what was there.

    Last, so that a library the caller preloads to wrap ptrace() sees UML's calls as UML makes
    them and the shim sees what that library passes on (tests/lab plays an AMX host that way:
    a wrapper that shortens UML's buffer, with the shim behind it). LD_PRELOAD splits at spaces
    and colons, so a path with either cannot be listed and is refused rather than mangled."""
    shim = str(shim)
    if not shim or any(c in shim for c in " :\t\n"):
        raise guests.DriverError(f"cannot preload {shim!r}: LD_PRELOAD splits paths at spaces and colons")
    out = dict(env)
    others = [p for p in out.get("LD_PRELOAD", "").replace(":", " ").split() if p != shim]
    out["LD_PRELOAD"] = " ".join([*others, shim])
    return out
