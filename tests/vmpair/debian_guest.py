# Copyright (c) 2026 fleet.ipsec contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A qemu profile for the lab's Debian root filesystem booted with a Debian kernel under qemu.

The lab (molecule/guests/uml.py) builds a Debian root filesystem for user-mode-linux. The same image
boots under qemu with Debian's cloud kernel and a tiny initramfs built here from busybox-static:
it loads the virtio modules, renames the NICs after their MACs (`vmpair.if=NAME,MAC[,CIDR]` on the
kernel command line: the user-mode NIC becomes `vec0`, the interface the lab's boot unit
configures; the private one `priv0`, with its address), mounts /dev/vda and hands over to
systemd. Identity and the run's SSH key reach the lab's boot unit through its own `lab.*`
kernel parameters. So this profile's first-boot bootstrap is the kernel command line, where the
FreeBSD profile's is a NoCloud seed: the driver knows neither.

Built once and cached under the driver's cache directory (debian-kernel/<package>_<version>/).
Needs apt-get and dpkg-deb (Debian), busybox-static, and the lab's base image.
"""

import gzip
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LAB = ROOT / "molecule" / "guests" / "uml.py"
KERNEL_PACKAGE = "linux-image-cloud-amd64"
# virtio PCI transport, disk and NIC; their dependencies are found from the modules' own records.
MODULES = ["virtio_pci", "virtio_blk", "virtio_net"]

INIT = r"""#!/bin/busybox sh
# fleet.ipsec tests/vmpair: load virtio, name the NICs, mount /dev/vda, start its init.
/bin/busybox mkdir -p /proc /sys /dev /newroot
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
fail() { echo "initrd: $*"; sleep 1; poweroff -f; }
for m in $(cat /modules); do insmod "/lib/modules/$m" || fail "insmod $m"; done
for word in $(cat /proc/cmdline); do
    case "$word" in
    vmpair.if=*)
        spec=${word#vmpair.if=}; name=${spec%%,*}; rest=${spec#*,}; mac=${rest%%,*}; cidr=
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
"""

APPEND = ("console=ttyS0 panic=-1 vmpair.if=vec0,@ssh_mac@ vmpair.if=priv0,@private_mac@,@private_cidr@ "
          "lab.name=@name@ lab.ip=10.0.2.15/24 lab.gw=10.0.2.2 lab.key=@pubkey_blob@")


def log(msg):
    print(f"debian_guest: {msg}", file=sys.stderr, flush=True)


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, text=True, **kw)


def lab_base_image():
    """The lab's cached base image, built by `uml.py build` if it is not there (~2 minutes)."""
    out = run([sys.executable, str(LAB), "build"], capture_output=True).stdout.strip().splitlines()
    return Path(out[-1])


def kernel_package():
    """(package, version) of the Debian kernel the meta package points at."""
    depends = run(["apt-cache", "depends", KERNEL_PACKAGE], capture_output=True).stdout
    name = re.search(r"Depends: (linux-image-\S+)", depends).group(1)
    policy = run(["apt-cache", "policy", name], capture_output=True).stdout
    return name, re.search(r"Candidate: (\S+)", policy).group(1)


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


def build_initrd(moddir, busybox, dest):
    modules = module_order(moddir, MODULES)
    entries = [(d, 0o40755, b"", (0, 0)) for d in ("bin", "dev", "proc", "sys", "newroot", "lib", "lib/modules")]
    entries += [("dev/console", 0o20600, b"", (5, 1)), ("init", 0o100755, INIT.encode(), (0, 0)),
                ("bin/busybox", 0o100755, Path(busybox).read_bytes(), (0, 0)),
                ("modules", 0o100644, "".join(f"{m}\n" for m in modules).encode(), (0, 0))]
    dirs = sorted({str(Path(m).parent) for m in modules} - {"."})
    for d in dirs:
        for i in range(len(Path(d).parts)):
            sub = "lib/modules/" + "/".join(Path(d).parts[:i + 1])
            if (sub, 0o40755, b"", (0, 0)) not in entries:
                entries.append((sub, 0o40755, b"", (0, 0)))
    entries += [(f"lib/modules/{m}", 0o100644, (moddir / m).read_bytes(), (0, 0)) for m in modules]
    dest.write_bytes(gzip.compress(cpio_newc(entries), compresslevel=6))
    return modules


def kernel_and_initrd(cache):
    """(vmlinuz, initrd) of the current Debian cloud kernel, built once into the cache."""
    package, version = kernel_package()
    out = cache / "debian-kernel" / f"{package}_{version}"
    vmlinuz, initrd = out / "vmlinuz", out / "initrd.img"
    if vmlinuz.exists() and initrd.exists():
        return vmlinuz, initrd
    busybox = shutil.which("busybox")
    if not busybox or not is_static_elf(busybox):
        raise RuntimeError("needs a static busybox: apt-get install busybox-static")
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="vmpair-kernel-") as tmp:
        log(f"downloading {package} {version}")
        run(["apt-get", "download", "-q", "-o", "APT::Sandbox::User=root", f"{package}={version}"],
            cwd=tmp, capture_output=True)
        deb = next(Path(tmp).glob("*.deb"))
        run(["dpkg-deb", "-x", str(deb), f"{tmp}/root"])
        kernels = list(Path(tmp, "root", "boot").glob("vmlinuz-*"))
        moddir = next(Path(tmp, "root").glob("*lib/modules/*"))
        modules = build_initrd(moddir, busybox, initrd.with_suffix(".partial"))
        shutil.copyfile(kernels[0], vmlinuz.with_suffix(".partial"))
    initrd.with_suffix(".partial").rename(initrd)
    vmlinuz.with_suffix(".partial").rename(vmlinuz)
    log(f"built {initrd} with {', '.join(m.rsplit('/', 1)[-1] for m in modules)}")
    return vmlinuz, initrd


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
        "description": "the lab's Debian root filesystem (molecule/guests/uml.py) with Debian's cloud kernel",
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
