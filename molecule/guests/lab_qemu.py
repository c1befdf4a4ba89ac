# Copyright (c) 2026 fleet.ipsec contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""How a lab guest runs under qemu: one of the lab's two backends (lab.py chooses).

The same base image as under user-mode-linux, booted with Debian's cloud kernel and the busybox
initramfs of debian_kernel.py, which renames the NIC after its MAC to `vec0`, so the image's boot
unit configures the same interface under both kernels. The guest's disk is a qcow2 file over the
base image; its NIC is virtio on the guest's tap, on the lab's bridge like a UML guest's.

KVM where a guest really boots with it, else TCG: some hosts offer a /dev/kvm that opens and
creates VMs, yet a Linux guest hangs right after the firmware (no vmx in the CPU flags), so the
choice is made by booting (probe), never by looking at the device.
"""

import os
import subprocess

import debian_kernel
import lab_uml
from guests import DriverError, processes, run, ssh, stop

QEMU = "qemu-system-x86_64"
KVM_PROBE_TIMEOUT = 20  # a working KVM reaches the initramfs in 1-3 s
TCG_PROBE_TIMEOUT = 180  # TCG took about 15 s here, more under load
ACCELS = {
    "kvm": ["-accel", "kvm", "-cpu", "host"],
    # tb-size: TCG's translation cache defaults to 1 GiB per guest; 128 MiB is plenty for this
    "tcg": ["-accel", "tcg,tb-size=128", "-cpu", "max"],
}


def kvm_missing():
    """Why this process cannot use KVM at all, or '' if /dev/kvm opens (which says nothing yet
    about whether a guest boots with it)."""
    try:
        os.close(os.open("/dev/kvm", os.O_RDWR | os.O_CLOEXEC))
    except OSError as e:
        return f"/dev/kvm: {e.strerror}"
    return ""


class Qemu:
    name = "qemu"
    program = "qemu"
    disk_suffix = ".qcow2"
    default_mem = "320M"  # a real kernel needs more than UML's 160M

    def __init__(self, run_dir, cache, accel=None):
        self.dir = run_dir / "qemu"  # monitor sockets, which also mark this lab's qemu processes
        self.cache = cache
        self.accel = accel  # kvm or tcg: given, or found by probe()

    @property
    def boot_timeout(self):
        """Seconds a guest may take to answer SSH: six TCG guests on two cores took over 120 s."""
        return 600 if self.accel == "tcg" else 120

    def kernel(self):
        return debian_kernel.ensure_kernel(self.cache)

    def modules(self):
        kernel = self.kernel()
        return kernel["release"], kernel["modules"]

    def probe(self):
        """Find an accelerator a guest's kernel really starts with: KVM if /dev/kvm opens and a
        KVM guest reaches its init, else TCG. Return how that went; raise if neither boots."""
        if not os.path.exists(f"/usr/bin/{QEMU}"):
            raise DriverError(f"no {QEMU}: apt-get install qemu-system-x86")
        kernel = self.kernel()
        argv = [QEMU, "-machine", "q35", "-m", "128", "-nodefaults", "-no-user-config", "-display", "none",
                "-no-reboot", "-serial", "stdio", "-kernel", str(kernel["vmlinuz"]), "-initrd",
                str(kernel["initrd"]), "-append", "console=ttyS0 panic=-1 lab.probe"]
        notes = []
        missing = kvm_missing()
        if missing:
            notes.append(f"no KVM ({missing})")
        else:
            try:
                took = lab_uml.boot_and_wait([*argv, *ACCELS["kvm"]], None, KVM_PROBE_TIMEOUT, "a KVM guest")
                self.accel = "kvm"
                return f"a KVM guest reached its init in {took:.1f} s"
            except DriverError as e:
                notes.append(f"/dev/kvm opens, but {e}")
        took = lab_uml.boot_and_wait([*argv, *ACCELS["tcg"]], None, TCG_PROBE_TIMEOUT, "a TCG guest")
        self.accel = "tcg"
        return "; ".join([*notes, f"a TCG guest reached its init in {took:.1f} s"])

    def boot(self, state, image, guest, words, mem):
        if not self.accel:
            raise DriverError("qemu: no accelerator chosen (probe first)")
        kernel = self.kernel()
        disk = state / (guest["name"] + self.disk_suffix)
        if not disk.exists():  # a power-cycled guest keeps its disk
            run(["qemu-img", "create", "-q", "-f", "qcow2", "-F", "raw", "-b", str(image), str(disk)])
        self.dir.mkdir(parents=True, exist_ok=True)
        argv = [
            QEMU, "-name", f"lab-{guest['name']}", "-machine", "q35", *ACCELS[self.accel],
            "-m", mem, "-smp", "1", "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
            "-serial", f"file:{state / (guest['name'] + '.console.log')}",
            "-monitor", f"unix:{self.dir / guest['name']}.monitor,server=on,wait=off",
            "-kernel", str(kernel["vmlinuz"]), "-initrd", str(kernel["initrd"]),
            "-append", " ".join(["console=ttyS0", "panic=-1", f"lab.if=vec0,{guest['mac']}", *words]),
            "-drive", f"file={disk},if=virtio,format=qcow2",
            "-netdev", f"tap,id=lab,ifname={guest['tap']},script=no,downscript=no",
            "-device", f"virtio-net-pci,netdev=lab,mac={guest['mac']}",
        ]
        with open(state / f"{guest['name']}.qemu.log", "w") as out:
            return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,  # pylint: disable=consider-using-with
                                    stderr=subprocess.STDOUT, start_new_session=True)

    def sessions(self):
        """{pid: [pid]} of this lab's qemu processes (found by their monitor socket's directory)."""
        return {pid: [pid] for pid, sid, argv in processes()
                if os.path.basename(argv[0]) == QEMU and any(arg.startswith(f"unix:{self.dir}/") for arg in argv)}

    def stop_all(self):
        stop(self.sessions())  # qemu quits on SIGTERM; nothing in a guest needs saving

    def power_off(self, state, guest):
        """A power cut, after a sync over SSH (what UML's SysRq s does: the guest's disk keeps
        what it wrote since boot, as a disk with its own cache would)."""
        ssh(state, guest["name"], "sync", timeout=15)
        stop([guest["pid"]], grace=0.5)
        (self.dir / f"{guest['name']}.monitor").unlink(missing_ok=True)

    def describe(self):
        return f"qemu with {self.accel.upper()}" if self.accel else "qemu"
