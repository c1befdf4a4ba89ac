# Copyright (c) 2026 fleet.ipsec contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""How a lab guest runs under user-mode-linux: one of the lab's two backends (lab.py chooses).

Debian's `user-mode-linux` package (Linux 6.1) is a kernel that runs as a process on the host: no
virtualisation extensions needed, about 10 s from start to SSH, a guest's memory in /dev/shm. Its
modules (af_key, esp4, ...) are copied into the lab's base image. The guest's disk is a UML
copy-on-write file over the base image; its NIC is a vector interface on the guest's tap.

On CPUs with AMX the host kernel refuses UML's too-short XSTATE buffer and every guest's first
process dies ("ptrace set fp regs failed, errno = 14"): the kernel runs with the ptrace shim of
xstate_shim.py preloaded, which hands the host kernel the full size. It changes nothing where the
sizes already agree.
"""

import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import debian_kernel
import xstate_shim
from guests import DriverError, kill, processes, quiet, run

KERNEL = "/usr/bin/linux.uml"
UML_MODULES = Path("/usr/lib/uml/modules")
PROBE_TIMEOUT = 60


class Uml:
    name = "uml"
    program = "UML"
    disk_suffix = ".cow"
    default_mem = "160M"
    boot_timeout = 120

    def __init__(self, run_dir, cache, accel=None):
        self.dir = run_dir / "uml"  # umid directories: pid file and mconsole socket per guest
        self.cache = cache
        self.accel = accel  # UML has none; the same constructor as the other backend's

    def describe(self):
        return "user-mode-linux"

    def kernel_release(self):
        if not Path(KERNEL).exists():
            raise DriverError(f"no {KERNEL}: apt-get install user-mode-linux")
        out = run([KERNEL, "--version"], capture_output=True).stdout.strip()
        if not (UML_MODULES / out).is_dir():
            raise DriverError(f"{KERNEL} is {out!r} but {UML_MODULES / out} is missing")
        return out

    def modules(self):
        """(release, module tree) the base image needs for this kernel."""
        release = self.kernel_release()
        return release, UML_MODULES / release

    def env(self):
        # TMPDIR: UML keeps guest memory in a file there; /dev/shm is tmpfs
        return xstate_shim.preload_env(dict(os.environ, TMPDIR="/dev/shm"), xstate_shim.ensure_shim(self.cache))

    def probe(self):
        """Boot a UML kernel whose init only prints a marker; return how long it took, or raise
        with what the guest said. The first guest process is where AMX hosts fail without the shim."""
        self.kernel_release()
        with tempfile.TemporaryDirectory(prefix="lab-probe-uml-") as tmp:
            took = boot_and_wait(self.probe_argv(tmp), self.env(), PROBE_TIMEOUT, "a UML guest")
        return f"a UML guest (ptrace shim preloaded) ran its first process in {took:.1f} s"

    @staticmethod
    def probe_argv(tmp):
        """The probe kernel's command line, its initramfs and umid directory in `tmp`."""
        initrd = debian_kernel.probe_initrd(Path(tmp) / "probe.cpio.gz")
        return [KERNEL, "mem=64M", f"initrd={initrd}", f"uml_dir={tmp}", "umid=probe",
                "con=null", "con0=null,fd:1", "ssl=null", "lab.probe"]

    def boot(self, state, image, guest, words, mem):
        argv = [
            KERNEL, f"umid={guest['umid']}", f"uml_dir={self.dir}", f"mem={mem}",
            f"ubd0={state / (guest['name'] + self.disk_suffix)},{image}", "root=/dev/ubda", "rw",
            # gro=1: without it the host's TSO frames crawl into the guest (ansible's setup: 295 s)
            f"vec0:transport=tap,ifname={guest['tap']},mac={guest['mac']},gro=1",
            "con=null", "con0=null,fd:1", "ssl=null", *words,
        ]
        self.dir.mkdir(parents=True, exist_ok=True)
        env = self.env()
        with open(state / f"{guest['name']}.console.log", "w") as console:
            return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=console,  # pylint: disable=consider-using-with
                                    stderr=subprocess.STDOUT, start_new_session=True, env=env)

    def sessions(self):
        """This lab's UML processes by session: each guest runs in a session led by its kernel."""
        procs = list(processes())
        leaders = {pid for pid, sid, argv in procs if pid == sid and f"uml_dir={self.dir}" in argv}
        return {leader: [pid for pid, sid, argv in procs if sid == leader] for leader in leaders}

    def stop_all(self):
        """mconsole halt for every guest, then SIGKILL of whatever session is left."""
        sessions = self.sessions()
        if not sessions:
            return
        halting = [subprocess.Popen(["uml_mconsole", str(sock), "halt"], stdout=subprocess.DEVNULL,  # pylint: disable=consider-using-with
                                    stderr=subprocess.DEVNULL) for sock in self.dir.glob("*/mconsole")]
        deadline = time.monotonic() + (5 if halting else 0)  # no sockets left: kill at once
        while sessions and time.monotonic() < deadline:
            time.sleep(0.2)
            sessions = self.sessions()
        for pids in sessions.values():
            kill(pids)
        wait_gone(self.sessions, "UML processes")

    def power_off(self, state, guest):
        """A power cut, except that the disk is synced first (SysRq s): without it the guest's
        copy-on-write file can miss what it wrote since boot (its SSH host key, measured)."""
        mconsole = str(self.dir / guest["umid"] / "mconsole")
        quiet(["uml_mconsole", mconsole, "sysrq", "s"])
        time.sleep(1)
        quiet(["uml_mconsole", mconsole, "halt"])
        leader = guest["pid"]
        deadline = time.monotonic() + 10
        while leader in self.sessions() and time.monotonic() < deadline:
            time.sleep(0.2)
        kill(self.sessions().get(leader, []))
        wait_gone(lambda: {leader} & set(self.sessions()), f"{guest['name']}'s UML")
        shutil.rmtree(self.dir / guest["umid"], ignore_errors=True)  # UML refuses a umid still in use


def wait_gone(still_there, what, timeout=5):
    deadline = time.monotonic() + timeout
    while still_there() and time.monotonic() < deadline:
        time.sleep(0.1)
    if still_there():
        raise DriverError(f"{what} survived SIGKILL")


def boot_and_wait(argv, env, timeout, what):
    """Run a probe kernel until its init prints the marker; seconds taken, or DriverError saying
    what it printed last (the kernel's own words are the best reason there is)."""
    started = time.monotonic()
    exited = None
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,  # pylint: disable=consider-using-with
                                env=env, start_new_session=True)
        try:
            while time.monotonic() - started < timeout and exited is None:
                time.sleep(0.1)
                exited = proc.poll()
                out.seek(0)
                if debian_kernel.PROBE_MARKER.encode() in out.read():
                    return time.monotonic() - started
        finally:
            kill_session(proc)
        out.seek(0)
        text = out.read().decode(errors="replace")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    # The last complaint before the end: harmless early ones ("mmapper_init - find_iomem failed")
    # come first, the one that killed the guest ("ptrace set fp regs failed, errno = 14") last.
    complaints = [line for line in lines if re.search(r"failed|error", line, re.I)]
    panics = [line for line in lines if "panic" in line.lower()]
    clue = (complaints or panics or lines or [""])[-1]
    ended = f"gave up after {timeout} s" if exited is None else f"exited with {exited}"
    raise DriverError(f"{what} did not reach its first process ({ended}"
                      + (f"; it said: {clue[:200]}" if clue else ", printing nothing") + ")")


def kill_session(proc):
    """Kill the probe kernel and everything it started (UML forks a process per address space)."""
    kill(pid for pid, sid, argv in processes() if sid == proc.pid)
    proc.wait()
