# Copyright (c) 2026 fleet.ipsec contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A qemu profile for the lab's Debian root filesystem booted with a Debian kernel under qemu.

The lab (molecule/guests/lab.py) builds one Debian root filesystem for both its backends; its
qemu backend boots it with Debian's cloud kernel and the busybox initramfs of
molecule/guests/debian_kernel.py, which renames the NICs after their MACs (`lab.if=NAME,MAC[,CIDR]`
on the kernel command line: the user-mode NIC becomes `vec0`, the interface the lab's boot unit
configures; the private one `priv0`, with its address). This profile boots the same image and
kernel through the vmpair driver (qemu.py) instead, on qemu's user-mode network. Identity and
the run's SSH key reach the lab's boot unit through its own `lab.*` kernel parameters. So this
profile's first-boot bootstrap is the kernel command line, where the FreeBSD profile's is a NoCloud
seed: the driver knows neither.
"""

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GUESTS = ROOT / "molecule" / "guests"
LAB = GUESTS / "lab.py"

APPEND = ("console=ttyS0 panic=-1 lab.if=vec0,@ssh_mac@ lab.if=priv0,@private_mac@,@private_cidr@ "
          "lab.name=@name@ lab.ip=10.0.2.15/24 lab.gw=10.0.2.2 lab.key=@pubkey_blob@")


def lab_base_image():
    """The lab's cached base image, built by `lab.py build` if it is not there (~2 minutes)."""
    out = subprocess.run([sys.executable, str(LAB), "build"], capture_output=True, text=True,
                         check=True).stdout.strip().splitlines()
    return Path(out[-1])


def kernel_and_initrd(cache):
    """(vmlinuz, initrd) of the Debian cloud kernel, as the lab's qemu backend boots it."""
    if str(GUESTS) not in sys.path:
        sys.path.insert(0, str(GUESTS))
    import debian_kernel  # noqa: E402 pylint: disable=import-outside-toplevel,import-error
    kernel = debian_kernel.ensure_kernel(cache)
    return kernel["vmlinuz"], kernel["initrd"]


# The guest does not read a seed (its bootstrap is the command line), but one is attached anyway,
# so the boot test can check that the driver's NoCloud seed reaches a guest as a disk labelled
# cidata, the way FreeBSD's nuageinit looks for it.
SEED_META_DATA = "instance-id: @instance_id@\nlocal-hostname: @name@\n"
SEED_USER_DATA = "#!/bin/sh\necho '@pubkey@' >/dev/null\n"


def write_profile(dest, image, vmlinuz, initrd, memory="256", settle=5):
    """A profile for the lab's image, written to dest (a .json path) with its seed templates."""
    dest = Path(dest)
    (dest.parent / "seed-meta-data").write_text(SEED_META_DATA)
    (dest.parent / "seed-user-data").write_text(SEED_USER_DATA)
    profile = {
        "description": "the lab's Debian root filesystem (molecule/guests/lab.py) with Debian's cloud kernel",
        "image": {"path": str(image), "format": "raw"},
        "memory": memory,
        "kernel": str(vmlinuz),
        "initrd": str(initrd),
        "append": APPEND,
        "seed": {"type": "nocloud", "meta_data": "seed-meta-data", "user_data": "seed-user-data"},
        "ssh": {"user": "root", "port": 22},
        "ready": {"command": "cat /proc/sys/kernel/random/boot_id", "settle": settle},
        "python": "/usr/bin/python3",
        "boot_timeout": 600,
    }
    dest.write_text(json.dumps(profile, indent=1) + "\n")
    return dest


if __name__ == "__main__":
    # By hand: python3 tests/vmpair/debian_guest.py PROFILE.json  (then qemu.py up --profile PROFILE.json)
    sys.path.insert(0, str(ROOT / "molecule" / "guests"))
    import qemu  # noqa: E402 pylint: disable=wrong-import-position,import-error
    kernel, ramdisk = kernel_and_initrd(qemu.cache_dir())
    print(write_profile(sys.argv[1] if len(sys.argv) > 1 else os.path.join(tempfile.gettempdir(), "debian-lab.json"),
                        lab_base_image(), kernel, ramdisk))
