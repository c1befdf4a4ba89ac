# Copyright (c) 2026 fleet.ipsec contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Debian's cloud kernel and a tiny busybox initramfs, for booting the lab's root filesystem under qemu.

The lab's base image (lab.py) is a Debian root filesystem; under user-mode-linux it boots with
Debian's UML kernel, under qemu with Debian's cloud kernel, whose disk and NIC drivers are modules.
The initramfs built here loads them, renames each NIC after its MAC (`lab.if=NAME,MAC[,CIDR]` on the
kernel command line: the lab's NIC becomes `vec0`, the interface the image's boot unit configures
under both kernels), mounts /dev/vda and hands over to systemd. With `lab.probe` on the command
line it prints PROBE_MARKER and powers off instead: the lab's probe of whether qemu can start a
kernel here at all (with KVM or without).

The kernel package is fetched with `apt-get download` and unpacked once into
CACHE/debian-kernel/<package>_<version>/ (vmlinuz, initrd.img, and the module tree, which the base
image gets a copy of). Needs apt-get and dpkg-deb (Debian) and busybox-static. Stdlib only.
"""

import gzip
import io
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from guests import DriverError, run, say

KERNEL_PACKAGE = "linux-image-cloud-amd64"
# virtio PCI transport, disk and NIC; their dependencies are found from the modules' own records.
MODULES = ["virtio_pci", "virtio_blk", "virtio_net"]
PROBE_MARKER = "fleet-ipsec-guest-probe: init runs"

INIT = r"""#!/bin/busybox sh
# fleet.ipsec lab under qemu: load virtio, name the NICs, mount /dev/vda, start its init.
/bin/busybox mkdir -p /proc /sys /dev /newroot
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
fail() { echo "initrd: $*"; sleep 1; poweroff -f; }
case " $(cat /proc/cmdline) " in
*" lab.probe "*) echo "@MARKER@"; poweroff -f ;;
esac
for m in $(cat /modules); do insmod "/lib/modules/$m" || fail "insmod $m"; done
for word in $(cat /proc/cmdline); do
    case "$word" in
    lab.if=*)
        spec=${word#lab.if=}; name=${spec%%,*}; rest=${spec#*,}; mac=${rest%%,*}; cidr=
        [ "$rest" = "$mac" ] || cidr=${rest#*,}
        for dev in /sys/class/net/*; do
            [ "$(cat "$dev/address")" = "$mac" ] || continue
            ip link set dev "${dev##*/}" name "$name" || fail "rename ${dev##*/} to $name"
            if [ -n "$cidr" ]; then ip addr add "$cidr" dev "$name" && ip link set "$name" up; fi
        done ;;
    esac
done
i=0
while [ ! -b /dev/vda ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
mount -t ext4 -o rw /dev/vda /newroot || fail "cannot mount /dev/vda"
mount --move /dev /newroot/dev
umount /sys /proc
exec switch_root /newroot /sbin/init
""".replace("@MARKER@", PROBE_MARKER)


def log(msg):
    say("debian-kernel", msg)


def kernel_package():
    """(package, version) of the Debian kernel the meta package points at."""
    try:
        depends = run(["apt-cache", "depends", KERNEL_PACKAGE], capture_output=True).stdout
        name = re.search(r"Depends: (linux-image-\S+)", depends).group(1)
        policy = run(["apt-cache", "policy", name], capture_output=True).stdout
        return name, re.search(r"Candidate: (\S+)", policy).group(1)
    except (subprocess.CalledProcessError, FileNotFoundError, AttributeError):
        raise DriverError(f"apt knows no {KERNEL_PACKAGE} (run apt-get update?): the qemu guests need "
                          "Debian's cloud kernel") from None


def is_static_elf(path):
    """True when the ELF file has no program interpreter (PT_INTERP): a static binary."""
    data = Path(path).read_bytes()
    if data[:4] != b"\x7fELF" or data[4] != 2:  # 64-bit only
        return False
    phoff = int.from_bytes(data[0x20:0x28], "little")
    phentsize = int.from_bytes(data[0x36:0x38], "little")
    phnum = int.from_bytes(data[0x38:0x3A], "little")
    return all(int.from_bytes(data[phoff + i * phentsize:phoff + i * phentsize + 4], "little") != 3
               for i in range(phnum))


def static_busybox():
    busybox = shutil.which("busybox")
    if not busybox or not is_static_elf(busybox):
        raise DriverError("needs a static busybox: apt-get install busybox-static")
    return busybox


def module_depends(path):
    """The `depends=` record of a kernel module (.modinfo strings), as a list of names."""
    m = re.search(rb"\0depends=([^\0]*)\0", Path(path).read_bytes())
    return [d for d in (m.group(1).decode().split(",") if m else []) if d]


def module_order(moddir, wanted):
    """Module files (relative to moddir) for `wanted` and their dependencies, dependencies first."""
    files = {p.name[:-3].replace("-", "_"): p for p in moddir.rglob("*.ko")}
    order = []

    def visit(name):
        name = name.replace("-", "_")
        rel = str(files[name].relative_to(moddir))
        if rel in order:
            return
        for dep in module_depends(files[name]):
            visit(dep)
        order.append(rel)

    for name in wanted:
        visit(name)
    return order


def cpio_newc(entries):
    """An uncompressed newc cpio archive of (name, mode, data, rdev) entries."""
    out = io.BytesIO()

    def pad():
        out.write(b"\0" * (-out.tell() % 4))

    for ino, (name, mode, data, rdev) in enumerate([*entries, ("TRAILER!!!", 0, b"", (0, 0))], 1):
        raw = name.encode() + b"\0"
        fields = [ino, mode, 0, 0, 1, 0, len(data), 0, 0, rdev[0], rdev[1], len(raw), 0]
        out.write(b"070701" + "".join(f"{f:08x}" for f in fields).encode())
        out.write(raw)
        pad()
        out.write(data)
        pad()
    return out.getvalue()


def directories(paths):
    """Every directory the paths need, parents first: cpio does not make them."""
    found = []
    for path in paths:
        parts = Path(path).parts[:-1]
        for i in range(len(parts)):
            sub = "/".join(parts[:i + 1])
            if sub not in found:
                found.append(sub)
    return found


def build_initrd(moddir, busybox, dest):
    modules = module_order(moddir, MODULES) if moddir else []
    files = {"init": (0o100755, INIT.encode()), "bin/busybox": (0o100755, Path(busybox).read_bytes()),
             "modules": (0o100644, "".join(f"{m}\n" for m in modules).encode())}
    files.update({f"lib/modules/{m}": (0o100644, (moddir / m).read_bytes()) for m in modules})
    entries = [(d, 0o40755, b"", (0, 0)) for d in ("dev", "proc", "sys", "newroot", *directories(files))]
    entries.append(("dev/console", 0o20600, b"", (5, 1)))  # init's stdout before devtmpfs is mounted
    entries += [(name, mode, data, (0, 0)) for name, (mode, data) in files.items()]
    dest.write_bytes(gzip.compress(cpio_newc(entries), compresslevel=6))
    return modules


def probe_initrd(dest):
    """An initramfs that only proves its init runs (no modules): the UML probe boots it too."""
    build_initrd(None, static_busybox(), dest)
    return dest


def ensure_kernel(cache):
    """{vmlinuz, initrd, modules, release, package} of the current Debian cloud kernel, unpacked
    once into the cache; `modules` is its module tree (lib/modules/<release>)."""
    package, version = kernel_package()
    out = Path(cache) / "debian-kernel" / f"{package}_{version}"
    vmlinuz, initrd, modroot = out / "vmlinuz", out / "initrd.img", out / "modules"
    if not initrd.exists():  # written last: if it is there, everything is
        busybox = static_busybox()
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
        with tempfile.TemporaryDirectory(prefix="debian-kernel-", dir=out.parent) as tmp:
            log(f"downloading {package} {version}")
            try:
                run(["apt-get", "download", "-q", "-o", "APT::Sandbox::User=root", f"{package}={version}"],
                    cwd=tmp, capture_output=True)
            except subprocess.CalledProcessError as e:
                raise DriverError(f"apt-get download {package}={version} failed: {e.stderr.strip()}") from None
            deb = next(Path(tmp).glob("*.deb"))
            run(["dpkg-deb", "-x", str(deb), f"{tmp}/root"])
            shutil.copyfile(next(Path(tmp, "root", "boot").glob("vmlinuz-*")), vmlinuz)
            moddir = next(Path(tmp, "root").glob("*lib/modules/*"))
            shutil.move(str(moddir), modroot / moddir.name)
            partial = initrd.with_suffix(".partial")
            modules = build_initrd(modroot / moddir.name, busybox, partial)
            partial.rename(initrd)
        log(f"built {initrd} with {', '.join(m.rsplit('/', 1)[-1] for m in modules)}")
    release = next(modroot.iterdir()).name
    return {"vmlinuz": vmlinuz, "initrd": initrd, "modules": modroot / release, "release": release,
            "package": f"{package}_{version}"}


if __name__ == "__main__":
    print(ensure_kernel(sys.argv[1])["vmlinuz"])
