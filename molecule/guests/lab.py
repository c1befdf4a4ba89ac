# Copyright (c) 2026 fleet.ipsec contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The lab: real-kernel Linux guests on a host bridge, under user-mode-linux or under qemu.

The `lab` molecule scenario, scripts/lab, tests/lab and benchmarks/converge.py run their guests
through it (as root; run it with python3, ansible-test allows no `python3` shebang). guests.py
beside it is the shared part of the driver (command line, state directory, SSH, inventory,
waiting); this file is the lab itself: the base image, racoon's build, the bridge and taps, the
guests' identities, and the choice of what runs them.

    lab.py up --state DIR [--guests g1,g2,g3]   choose a backend, build or reuse the base image,
                                                boot, wait for SSH
    lab.py down --state DIR                     stop the guests, remove taps, bridge and state files
    lab.py status [--state DIR]                 show the guests and whether SSH answers
    lab.py reboot --state DIR NAME              power-cycle one guest (its disk is kept)
    lab.py probe                                say which backend `up` would use, and why
    lab.py build [--rebuild]                    only build (or find) the cached base image
    lab.py racoon                               print where racoon is installed in the guests
                                                (empty, with the reason on stderr, when it is not)

Why guests with kernels of their own: the host kernel has no PF_KEY and no ESP, so IPsec needs a
kernel of its own. Two backends run one: user-mode-linux (lab_uml.py: a kernel as a host process,
no virtualisation needed) and qemu (lab_qemu.py: Debian's cloud kernel, with KVM where a guest
really boots with it, else TCG). Neither works everywhere: Debian 12's UML needs its ptrace shim
on CPUs with AMX, and some hosts have a /dev/kvm on which a Linux guest never boots. So `up`
probes by booting a tiny guest (UML first, then qemu), uses the first that runs a process, and
says which in one line; FLEET_IPSEC_LAB_BACKEND=uml|qemu forces one (still probed, so a backend
that cannot work fails at once with the reason). The guests are the same either way: one base
image, the same names, addresses, LANs, racoon, SSH access and inventory.

Everything stays on this machine: a bridge (10.77.0.1/24) with one tap per guest, no uplink.
Guest N (1-based, in --guests order) gets 10.77.0.(10+N) and fd77::(10+N) on vec0, and
10.101.N.1/24 and fd77:101:N::1/64 on dummy0.

racoon: no package registry these machines reach carries ipsec-tools, so the lab builds racoon,
setkey and racoonctl from a source tarball on the host (once per tarball, cached) and installs them
in the base image under /opt/ipsec-tools, deliberately off root's PATH: the roles must use the
paths they are given. The tarball is FLEET_IPSEC_RACOON_SOURCE (a path or an http(s) URL, checked
against FLEET_IPSEC_RACOON_SHA256, by default the digest of ipsec-tools 0.9.1 below), or else the
first racoon-ipsec-tools-*.tar.gz with that digest in a `vendor/` directory beside the checkout
(a workspace that keeps third-party sources there). Without one the lab says so in one line and
the guests have strongSwan only. The build is cached per source digest (racoon-*/ in the cache),
so rebuilding only the image does not rebuild racoon.

One read-only base image is cached in /var/cache/fleet-ipsec-lab/, keyed by a hash of everything
that goes into it (package list, guest files, both kernels' module versions, mirror, suite); each
guest boots from its own copy-on-write file in the state directory. Per guest identity (name,
addresses, the run's SSH public key) goes on the kernel command line, where a boot unit in the
guest reads it: an ed25519 public key is short enough, and unlike hostfs it gives the guest no
view of the host.

What the roles meet in a guest: Debian with the packages below preinstalled and no apt lists
(no uplink: installing anything else fails, and so does update_cache); root SSH with the run's
key; strongSwan as Debian ships it, i.e. both strongswan.service (charon-systemd, swanctl) and
strongswan-starter.service (ipsec.conf) enabled at boot, racing for the vici socket.

One lab per machine: the bridge, the address range and the tap names are fixed. Runtime files
(UML umid directories, qemu monitor sockets, SSH control sockets, the owning state directory)
live in /run/fleet-ipsec-lab/. Stdlib only; needs root, debootstrap, mkfs.ext4, ip, ssh,
ssh-keygen, and linux.uml and uml_mconsole or qemu-system-x86_64 and qemu-img.
"""

import fcntl
import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

import guests
import lab_qemu
import lab_uml
from guests import DriverError, kill, processes, quiet, run, sha256_of

NAME = "lab"  # the log prefix
IMAGE_VERSION = 5  # bump when the build steps change in a way the hash below does not see
CACHE_DIR = Path(os.environ.get("FLEET_IPSEC_LAB_CACHE", "/var/cache/fleet-ipsec-lab"))
RUN_DIR = Path("/run/fleet-ipsec-lab")
SSH_DIR = RUN_DIR / "ssh"  # SSH ControlMaster sockets (short paths: sun_path is 108 bytes)
OWNER_FILE = RUN_DIR / "owner"  # the state directory of the lab that is up
# Guests under qemu without KVM run every instruction through TCG: a module run costs seconds,
# and on a loaded 2-core machine the time from arming the policy rollback to disarming it went
# past the role's default 90 s (the rollback fired and undid a good roll-out).
SLOW_GUEST_VARS = {"setkey_rollback_seconds": 300}
# What runs the guests; `up` takes the first that boots here (see probe()), in this order.
BACKENDS = {"uml": lab_uml.Uml, "qemu": lab_qemu.Qemu}
BACKEND_ENV = "FLEET_IPSEC_LAB_BACKEND"
BRIDGE = "flipsec0"
TAP_PREFIX = BRIDGE + "t"  # flipsec0t1, flipsec0t2, ...
NET = "10.77.0"
BRIDGE_ADDRESS = NET + ".1/24"
NET6 = "fd77:"  # guests fd77::(10+N)/64, their LANs fd77:101:N::/64
BRIDGE_ADDRESS6 = NET6 + ":1/64"
MAX_GUESTS = 50
IMAGE_SIZE = "1536M"  # both kernels' modules: the cloud kernel's tree alone is ~100 MB

# racoon, setkey and racoonctl (ipsec-tools) from source: where they go in the guests, the
# tarball we know (ipsec-tools 0.9.1, the maintained continuation of KAME's 0.8.2 that FreeBSD's
# port and NetBSD carry, with fixes for OpenSSL 3), and how it is configured. Its own libraries
# (libipsec, libracoon) are linked in statically: a shared build finds them through a RUNPATH,
# which libtool leaves out when the build host's loader configuration already lists PREFIX/lib,
# and guests without that entry then cannot start setkey or racoon. Besides libc the programs
# need libssl3 and libcrypt1, which the image has.
RACOON_PREFIX = "/opt/ipsec-tools"
RACOON_TARBALL = "racoon-ipsec-tools-*.tar.gz"
RACOON_SHA256 = "d1cdeebfa6318344cc0af131a52d103dd8449ba2c19c5384d55078767da742e9"
RACOON_CONFIGURE = [
    f"--prefix={RACOON_PREFIX}", "--sysconfdir=/etc/racoon", "--localstatedir=/var",
    "--disable-security-context", "--enable-adminport", "--enable-dpd", "--enable-natt",
    "--enable-frag", "--enable-hybrid", "--disable-gssapi", "--without-readline",
    "--without-libpam", "--without-libldap", "--without-systemdsystemunitdir",
    "--disable-shared",
]
RACOON_BUILD_VERSION = 2  # bump when the build steps change in a way the options do not show
# Where the programs are in the guests: the roles are given these paths, never a bare name.
RACOON_PROGRAMS = {
    "racoon": f"{RACOON_PREFIX}/sbin/racoon",
    "setkey": f"{RACOON_PREFIX}/sbin/setkey",
    "racoonctl": f"{RACOON_PREFIX}/bin/racoonctl",
}
RACOON_SOCKET = "/var/racoon/racoon.sock"  # compiled-in admin socket (--localstatedir=/var)
RACOON_PIDFILE = "/var/run/racoon.pid"  # compiled-in pid file

PACKAGES = [
    "systemd-sysv", "udev", "kmod", "openssh-server", "python3", "iproute2", "tcpdump",
    "strongswan", "strongswan-swanctl", "charon-systemd", "iputils-ping", "procps", "netbase",
    "python3-apt",  # Ansible's apt module needs it, and the guests cannot download it
    "libssl3", "libcrypt1",  # what the racoon build links against, besides libc
]

# Loaded at boot: PF_KEY, XFRM netlink, ESP/AH, tunnel mode, and the usual IKE/ESP algorithms.
MODULES = [
    "af_key", "xfrm_user", "xfrm_algo", "esp4", "esp6", "ah4", "ah6", "xfrm4_tunnel",
    "xfrm6_tunnel", "tunnel4", "tunnel6", "authenc", "authencesn", "echainiv", "seqiv", "cbc",
    "ctr", "gcm", "ghash-generic", "ccm", "hmac", "sha512_generic", "des_generic", "cmac", "xcbc",
    "chacha20poly1305", "dummy",
    # IPv6 is a module in Debian's UML kernel (CONFIG_IPV6=m). esp6 and friends pull it in as a
    # dependency, but the guests' IPv6 addresses should not hang on that.
    "ipv6",
]

# Slow or useless in a throwaway guest without devices (udev alone made boot wait ~17 s).
MASKED_UNITS = [
    "systemd-udevd.service", "systemd-udevd-control.socket", "systemd-udevd-kernel.socket",
    "systemd-udev-trigger.service", "systemd-udev-settle.service", "systemd-hwdb-update.service",
    "getty.target", "getty@.service", "serial-getty@.service", "console-getty.service",
    "systemd-binfmt.service", "proc-sys-fs-binfmt_misc.automount",
    "proc-sys-fs-binfmt_misc.mount", "apt-daily.timer", "apt-daily-upgrade.timer",
    "e2scrub_all.timer", "e2scrub_reap.service", "fstrim.timer", "dpkg-db-backup.timer",
    "systemd-tmpfiles-clean.timer", "sys-kernel-debug.mount", "sys-kernel-tracing.mount",
    "sys-kernel-config.mount", "sys-fs-fuse-connections.mount", "dev-hugepages.mount",
    "systemd-firstboot.service", "systemd-pstore.service", "systemd-logind.service",
    "systemd-sysusers.service", "modprobe@.service", "kmod-static-nodes.service",
    "systemd-journal-flush.service", "systemd-random-seed.service",
    "systemd-update-utmp.service", "systemd-update-utmp-runlevel.service",
]

# The guest files are part of the image's hash: any edit, even of the driver's old path in the
# first comment below, builds a new base image (minutes) and drops the cached one.
GUEST_INIT = r"""#!/bin/sh
# fleet.ipsec lab (molecule/lab/lab.py): identity and network from the kernel command line.
set -eu
name= ip= ip6= gw=none gw6= lan= lan6= key=
for word in $(cat /proc/cmdline); do
    case $word in
        lab.name=*) name=${word#lab.name=} ;;
        lab.ip=*) ip=${word#lab.ip=} ;;
        lab.ip6=*) ip6=${word#lab.ip6=} ;;
        lab.gw6=*) gw6=${word#lab.gw6=} ;;
        lab.lan6=*) lan6=${word#lab.lan6=} ;;
        lab.gw=*) gw=${word#lab.gw=} ;;
        lab.lan=*) lan=${word#lab.lan=} ;;
        lab.key=*) key=${word#lab.key=} ;;
    esac
done
if [ -n "$name" ]; then
    echo "$name" > /proc/sys/kernel/hostname
    echo "$name" > /etc/hostname
    printf '127.0.0.1\tlocalhost\n127.0.1.1\t%s\n::1\tlocalhost ip6-localhost ip6-loopback\n' \
        "$name" > /etc/hosts
fi
ip link set lo up
[ -z "$ip" ] || ip addr replace "$ip" dev vec0
# nodad: the address is usable at once, not after duplicate detection (no one else has it).
[ -z "$ip6" ] || ip -6 addr replace "$ip6" dev vec0 nodad
ip link set vec0 up
[ "$gw" = none ] || ip route replace default via "$gw"
[ -z "$gw6" ] || ip -6 route replace default via "$gw6"
if [ -n "$lan" ]; then
    ip link show dummy0 >/dev/null 2>&1 || ip link add dummy0 type dummy
    ip addr replace "$lan" dev dummy0
    [ -z "$lan6" ] || ip -6 addr replace "$lan6" dev dummy0 nodad
    ip link set dummy0 up
fi
if [ -n "$key" ]; then
    install -d -m 700 /root/.ssh
    echo "ssh-ed25519 $key fleet-ipsec-lab" > /root/.ssh/authorized_keys
    chmod 600 /root/.ssh/authorized_keys
fi
[ -s /etc/ssh/ssh_host_ed25519_key ] || ssh-keygen -q -t ed25519 -N '' -f /etc/ssh/ssh_host_ed25519_key
"""

GUEST_FILES = {
    "usr/local/sbin/fleet-lab-init": (0o755, GUEST_INIT),
    "etc/systemd/system/fleet-lab-init.service": (0o644, """\
[Unit]
Description=fleet.ipsec lab: identity and network from the kernel command line
DefaultDependencies=no
After=local-fs.target systemd-modules-load.service
Before=sysinit.target network-pre.target ssh.service strongswan.service shutdown.target
Wants=network-pre.target
Conflicts=shutdown.target

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/local/sbin/fleet-lab-init

[Install]
WantedBy=sysinit.target
"""),
    "etc/modules-load.d/fleet-lab.conf": (0o644, "\n".join(MODULES) + "\n"),
    "etc/ssh/sshd_config.d/fleet-lab.conf": (0o644, """\
HostKey /etc/ssh/ssh_host_ed25519_key
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UseDNS no
PrintMotd no
PrintLastLog no
"""),
    "etc/systemd/journald.conf.d/fleet-lab.conf": (0o644, "[Journal]\nStorage=volatile\n"),
    # No root entry: the kernel mounts the root rw (`rw` on the command line), nothing waits on a device.
    "etc/fstab": (0o644, "# fleet.ipsec lab: the kernel mounts the root file system rw\n"),
    "etc/resolv.conf": (0o644, "# fleet.ipsec lab: no DNS, the guests have no uplink\n"),
    "etc/hostname": (0o644, "lab\n"),
}


def log(msg):
    guests.say(NAME, msg)


# ---------------------------------------------------------------- base image

def kernel_modules():
    """{release: module tree} of every backend's kernel: one image boots under either."""
    return dict(backend(RUN_DIR, CACHE_DIR).modules() for backend in BACKENDS.values())


def host_suite():
    for line in Path("/etc/os-release").read_text().splitlines():
        if line.startswith("VERSION_CODENAME="):
            return line.split("=", 1)[1].strip('"')
    raise DriverError("no VERSION_CODENAME in /etc/os-release: pass --suite")


def apt_mirror(suite):
    """The first configured apt source for `suite` with component main (deb822 or one-line)."""
    sources = Path("/etc/apt/sources.list.d")
    files = sorted(sources.glob("*.sources")) + [Path("/etc/apt/sources.list")]
    files += sorted(sources.glob("*.list"))
    for f in files:
        if not f.is_file():
            continue
        text = f.read_text()
        if f.suffix == ".sources":
            for para in re.split(r"\n\s*\n", text):
                fields = {}
                for line in para.splitlines():
                    if line and not line.startswith(("#", " ", "\t")) and ":" in line:
                        k, v = line.split(":", 1)
                        fields[k.strip().lower()] = v.split()
                if ("deb" in fields.get("types", []) and suite in fields.get("suites", [])
                        and "main" in fields.get("components", []) and fields.get("uris")
                        and fields.get("enabled", ["yes"]) != ["no"]):
                    return fields["uris"][0]
        else:
            for line in text.splitlines():
                words = re.sub(r"\[[^]]*\]", "", line.split("#", 1)[0]).split()
                if len(words) >= 4 and words[0] == "deb" and words[2] == suite and "main" in words[3:]:
                    return words[1]
    raise DriverError(f"no apt source for suite {suite!r} with component main: pass --mirror")


def image_spec(suite, mirror, racoon=None, kernels=()):
    """What goes into the base image; `racoon` is (tarball path, sha256) or None, `kernels` the
    releases whose modules it gets."""
    return {
        "version": IMAGE_VERSION, "suite": suite, "mirror": mirror, "packages": PACKAGES,
        "masked": MASKED_UNITS, "files": GUEST_FILES, "kernels": sorted(kernels),
        "size": IMAGE_SIZE,
        "racoon": racoon_spec(racoon[1]) if racoon else None,
    }


# ---------------------------------------------------------------- racoon from source

def checkout_dir():
    return Path(__file__).resolve().parents[2]


def expected_sha256(env):
    expected = (env.get("FLEET_IPSEC_RACOON_SHA256") or RACOON_SHA256).strip().lower()
    if not re.fullmatch(r"[0-9a-f]{64}", expected):
        raise DriverError(f"FLEET_IPSEC_RACOON_SHA256={expected!r} is not a sha256 hex digest")
    return expected


def vendor_tarballs(checkout=None):
    """racoon-ipsec-tools-*.tar.gz in the vendor/ directory of any sibling of the checkout.

    A workspace may keep third-party sources next to its checkouts; the lab finds them by name
    and trusts them by digest only, so no workspace layout is written down here.
    """
    checkout = Path(checkout) if checkout else checkout_dir()
    return sorted(p for p in checkout.parent.glob(f"*/vendor/{RACOON_TARBALL}") if p.is_file())


def racoon_source(env=None, checkout=None):
    """(tarball path, sha256) of the racoon source to build, or None if there is none.

    A tarball named by FLEET_IPSEC_RACOON_SOURCE that does not match the expected digest is an
    error: somebody asked for it. A vendor tarball with another digest is merely not used (and
    racoon_missing() names it), since it may be some other version that happens to lie there.
    """
    env = os.environ if env is None else env
    expected = expected_sha256(env)
    given = env.get("FLEET_IPSEC_RACOON_SOURCE", "").strip()
    if given:
        if re.match(r"https?://", given):
            return download(given, expected), expected
        path = Path(given)
        if not path.is_file():
            raise DriverError(f"FLEET_IPSEC_RACOON_SOURCE: {given} is not a file")
        actual = sha256_of(path)
        if actual != expected:
            raise DriverError(f"racoon source {path}: sha256 mismatch, expected {expected}, "
                              f"actual {actual} (set FLEET_IPSEC_RACOON_SHA256 for another tarball)")
        return path, actual
    for candidate in vendor_tarballs(checkout):
        if sha256_of(candidate) == expected:
            return candidate, expected
    return None


def racoon_missing(env=None, checkout=None):
    """The one line that says the lab has no racoon, why, and how to give it one."""
    env = os.environ if env is None else env
    expected = expected_sha256(env)
    checkout = Path(checkout) if checkout else checkout_dir()
    others = [f"{p} has sha256 {sha256_of(p)}" for p in vendor_tarballs(checkout)]
    why = (f"no {RACOON_TARBALL} with sha256 {expected} in {checkout.parent}/*/vendor/"
           + (f" ({'; '.join(others)})" if others else ""))
    return (f"racoon is not available in the lab: {why}; set FLEET_IPSEC_RACOON_SOURCE to the "
            "ipsec-tools source tarball (a path or an http(s) URL; FLEET_IPSEC_RACOON_SHA256 for "
            "another digest). The guests get strongSwan only.")


def download(url, expected):
    """Fetch a tarball once into the cache; only a file with the expected digest is kept."""
    name = Path(urllib.parse.urlsplit(url).path).name or "racoon.tar.gz"
    target = CACHE_DIR / "sources" / f"{expected[:16]}-{name}"
    if target.is_file() and sha256_of(target) == expected:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    # A private partial file: two labs downloading at once must not write into each other's.
    fd, partial = tempfile.mkstemp(prefix=f"{target.name}.", suffix=".partial", dir=target.parent)
    os.close(fd)
    try:
        guests.download(url, partial, expected, NAME)
        os.replace(partial, target)
    except DriverError as e:
        raise DriverError(f"racoon source {e} (set FLEET_IPSEC_RACOON_SHA256 for another tarball)") from None
    except OSError as e:  # URLError is an OSError
        raise DriverError(f"racoon source {url}: {e}") from None
    finally:
        Path(partial).unlink(missing_ok=True)
    return target


def racoon_spec(sha256):
    return {"sha256": sha256, "prefix": RACOON_PREFIX, "configure": RACOON_CONFIGURE,
            "build": RACOON_BUILD_VERSION}


def racoon_stage_path(sha256):
    """Where the build of this source is kept: keyed by the source digest and the build options."""
    key = hashlib.sha256(json.dumps(racoon_spec(sha256), sort_keys=True).encode()).hexdigest()[:16]
    return CACHE_DIR / f"racoon-{key}"


def ensure_racoon(tarball, sha256):
    """The staged install tree (DESTDIR) of racoon built from `tarball`, built once per spec.

    Built on the host, which runs the guests' Debian release, so the binaries link against the
    same libssl3 and libcrypt1 the image gets. The caller holds the cache lock.
    """
    stage = racoon_stage_path(sha256)
    # The stage appears by one rename of a finished tree: if it is there, it is complete.
    if stage.is_dir():
        return stage
    for stale in CACHE_DIR.glob("racoon-build-*"):  # an interrupted earlier build
        shutil.rmtree(stale, ignore_errors=True)
    started = time.monotonic()
    buildlog = CACHE_DIR / "racoon-build.log"
    log(f"building racoon from {tarball} into {stage}; log in {buildlog}")
    tmp = Path(tempfile.mkdtemp(prefix="racoon-build-", dir=CACHE_DIR))
    try:
        with open(buildlog, "w") as out:
            def step(*cmd, cwd):
                out.write(f"+ {' '.join(cmd)}\n")
                out.flush()
                try:
                    run(list(cmd), cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
                except (subprocess.CalledProcessError, FileNotFoundError):
                    raise DriverError(f"racoon build failed at {' '.join(cmd[:2])}: see {buildlog}") from None
            step("tar", "-xzf", str(tarball), "-C", str(tmp), cwd=tmp)
            source = next((p for p in tmp.iterdir() if (p / "configure.ac").is_file()), None)
            if source is None:
                raise DriverError(f"racoon source {tarball}: no top directory with configure.ac")
            step("./bootstrap", cwd=source)
            step("./configure", *RACOON_CONFIGURE, cwd=source)
            step("make", f"-j{os.cpu_count() or 2}", cwd=source)
            step("make", "install", f"DESTDIR={tmp / 'stage'}", cwd=source)
            for program in RACOON_PROGRAMS.values():
                check_program(tmp / "stage" / program.lstrip("/"), buildlog)
            took = time.monotonic() - started
            out.write(f"+ built in {took:.0f} s\n")
        (tmp / "stage").rename(stage)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    log(f"built racoon in {took:.0f} s")
    return stage


def needed_libraries(path):
    """The DT_NEEDED entries of an ELF program (what the loader must find for it)."""
    out = run(["readelf", "-d", str(path)], capture_output=True).stdout
    return re.findall(r"\(NEEDED\)\s+Shared library: \[([^]]+)\]", out)


def check_program(path, buildlog):
    """A built program exists and needs no library of its own build: the guests have only the
    system's libraries, whatever the build host's loader configuration lists."""
    if not path.is_file():
        raise DriverError(f"racoon build installed no {path.name}: see {buildlog}")
    own = [lib for lib in needed_libraries(path) if os.path.basename(lib).startswith(("libipsec", "libracoon"))]
    if own:
        raise DriverError(f"racoon build: {path.name} needs {', '.join(own)}, which the guests will not "
                          f"find (the build must link them statically): see {buildlog}")


def image_path(spec):
    digest = hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]
    return CACHE_DIR / f"base-{digest}.img"


def ensure_image(suite=None, mirror=None, rebuild=False):
    """Return the cached base image for the current spec, building it first if needed."""
    suite = suite or host_suite()
    mirror = mirror or apt_mirror(suite)
    racoon = racoon_source()
    if racoon is None:
        log(racoon_missing())  # one line, and on with strongSwan only: never a silent skip
    modules = kernel_modules()
    spec = image_spec(suite, mirror, racoon, modules)
    image = image_path(spec)
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    with open(CACHE_DIR / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two concurrent builds would only waste time
        if image.exists() and not rebuild:
            return image
        for stale in CACHE_DIR.glob("build-*"):  # an interrupted earlier build
            remove_build_dir(stale)
        stage = ensure_racoon(*racoon) if racoon else None  # cached apart from the image
        started = time.monotonic()
        log(f"building {image} ({suite} from {mirror}); takes a minute or two")
        # The spec first: an image is only ever seen with its spec (racoon_prefix_of reads it).
        (image.with_suffix(".json")).write_text(json.dumps(spec, indent=1, sort_keys=True) + "\n")
        tmp = Path(tempfile.mkdtemp(prefix="build-", dir=CACHE_DIR))
        try:
            build_image(spec, tmp, image, modules, stage)
        finally:
            remove_build_dir(tmp)
        # Superseded images go, except one that running guests boot from: their inode would
        # survive, but `lab.py reboot` boots again from the path.
        in_use = {word for pid, sid, argv in processes() for word in argv if word.startswith("ubd")}
        for old in CACHE_DIR.glob("base-*"):
            if old.stem != image.stem and not any(str(old.with_suffix(".img")) in w for w in in_use):
                old.unlink()
        log(f"built {image} in {time.monotonic() - started:.0f} s")
        return image


def remove_build_dir(path):
    """Delete a build tree, first unmounting what a killed debootstrap may have left mounted in
    it (proc, sys, a /dev bind mount): rmtree must never reach into those."""
    with open("/proc/mounts") as f:
        mounts = [line.split()[1] for line in f]
    inside = [m for m in mounts if m == str(path) or m.startswith(f"{path}/")]
    for mount in sorted(inside, key=len, reverse=True):
        run(["umount", "-l", mount])
    shutil.rmtree(path, ignore_errors=True)


def build_image(spec, tmp, image, modules, racoon_stage=None):
    root = tmp / "root"
    buildlog = CACHE_DIR / "build.log"
    with open(buildlog, "w") as out:
        try:
            run(["debootstrap", "--variant=minbase", "--include=" + ",".join(spec["packages"]),
                 spec["suite"], str(root), spec["mirror"]], stdout=out, stderr=subprocess.STDOUT,
                env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
        except subprocess.CalledProcessError:
            raise DriverError(f"debootstrap failed, see {buildlog}") from None
    # Both kernels' modules, with their indexes.
    for release, tree in modules.items():
        shutil.copytree(tree, root / "usr/lib/modules" / release, symlinks=True)
        run(["chroot", str(root), "depmod", "-a", release])
    if racoon_stage:
        # The programs and their libraries only: no sample racoon.conf in /etc, as after
        # FreeBSD's `pkg install ipsec-tools` (the roles write the configuration).
        prefix = RACOON_PREFIX.lstrip("/")
        shutil.copytree(racoon_stage / prefix, root / prefix, symlinks=True)
    # Guest files, masked units, the boot unit; no host keys (made at first boot, one set per guest).
    for rel, (mode, text) in spec["files"].items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.is_symlink():
            path.unlink()
        path.write_text(text)
        path.chmod(mode)
    units = root / "etc/systemd/system"
    for unit in spec["masked"]:
        (units / unit).unlink(missing_ok=True)
        (units / unit).symlink_to("/dev/null")
    wants = units / "sysinit.target.wants"
    wants.mkdir(exist_ok=True)
    (wants / "fleet-lab-init.service").symlink_to("/etc/systemd/system/fleet-lab-init.service")
    for key in (root / "etc/ssh").glob("ssh_host_*"):
        key.unlink()
    # The guests have no uplink, so package lists are of no use to them, and they cost minutes:
    # mkfs.ext4 -d keeps whole-second mtimes only, which makes apt's caches stale in every guest,
    # and rebuilding them from a 50 MB Packages file in UML took ansible's apt module 5-8 minutes
    # per guest. Without lists apt works from the dpkg status alone (like a container image).
    for junk in [*(root / "var/cache/apt").glob("*.bin"), *(root / "var/cache/apt/archives").glob("*.deb"),
                 *(f for f in (root / "var/lib/apt/lists").iterdir() if f.is_file())]:
        junk.unlink()
    partial = image.with_suffix(".partial")
    run(["mkfs.ext4", "-q", "-F", "-L", "fleetlab", "-E", "root_owner=0:0", "-d", str(root),
         str(partial), spec["size"]], stdout=subprocess.DEVNULL)
    partial.chmod(0o444)  # guests write only to their copy-on-write files
    partial.rename(image)


# ---------------------------------------------------------------- host side

def guest_table(names):
    if len(set(names)) != len(names) or not names or len(names) > MAX_GUESTS:
        raise DriverError(f"--guests needs 1 to {MAX_GUESTS} distinct names")
    table = []
    for i, name in enumerate(names, 1):
        if not re.fullmatch(r"[a-z][a-z0-9-]{0,30}", name):
            raise DriverError(f"guest name {name!r}: use lower-case letters, digits and '-'")
        table.append({
            "name": name, "index": i, "address": f"{NET}.{10 + i}",
            "lan": f"10.101.{i}.0/24", "lan_address": f"10.101.{i}.1",
            "address6": f"{NET6}:{10 + i}", "lan6": f"{NET6}101:{i}::/64",
            "lan_address6": f"{NET6}101:{i}::1",
            "tap": f"{TAP_PREFIX}{i}", "mac": f"02:77:00:00:00:{i:02x}", "umid": f"flipsec-{name}",
        })
    return table


def links():
    out = run(["ip", "-o", "link", "show"], capture_output=True).stdout
    return [line.split(":")[1].strip().split("@")[0] for line in out.splitlines()]


def network_up(table):
    out = run(["ip", "-o", "-4", "addr", "show"], capture_output=True).stdout
    for line in out.splitlines():
        words = line.split()
        if words[3].startswith(NET + ".") and words[1] != BRIDGE:
            raise DriverError(f"{NET}.0/24 is already in use on {words[1]}")
    # No multicast snooping: IPv6 neighbour discovery is multicast, and nothing here sends MLD
    # queries, so a snooping bridge would have only the guests' own reports to go by.
    run(["ip", "link", "add", BRIDGE, "type", "bridge", "stp_state", "0", "forward_delay", "0",
         "mcast_snooping", "0",
         "nf_call_iptables", "0", "nf_call_ip6tables", "0", "nf_call_arptables", "0"])
    run(["ip", "addr", "add", BRIDGE_ADDRESS, "dev", BRIDGE])
    run(["ip", "-6", "addr", "add", BRIDGE_ADDRESS6, "dev", BRIDGE, "nodad"])
    Path(f"/proc/sys/net/ipv4/conf/{BRIDGE}/forwarding").write_text("0\n")  # no routing out
    run(["ip", "link", "set", BRIDGE, "up"])
    for g in table:
        run(["ip", "tuntap", "add", "dev", g["tap"], "mode", "tap"])
        run(["ip", "link", "set", g["tap"], "master", BRIDGE, "up"])


def network_down():
    for name in links():
        if name.startswith(TAP_PREFIX):
            quiet(["ip", "link", "del", name])
    if BRIDGE in links():
        quiet(["ip", "link", "del", BRIDGE])


def runners():
    """One runner per backend, for finding and stopping guests whichever backend booted them."""
    return [backend(RUN_DIR, CACHE_DIR) for backend in BACKENDS.values()]


def sessions():
    """{leader pid: [pids]} of this lab's guests, under any backend."""
    found = {}
    for runner in runners():
        found.update(runner.sessions())
    return found


def stop_guests():
    """Stop every guest of this lab, and close our SSH ControlPersist masters (their title is
    `ssh: SOCKET [mux]`), which would otherwise hold connections to guests that are gone."""
    kill(pid for pid, sid, argv in processes() if argv[0].startswith(f"ssh: {SSH_DIR}/"))
    for runner in runners():
        runner.stop_all()


def owner():
    try:
        return Path(OWNER_FILE.read_text().strip())
    except FileNotFoundError:
        return None


def kernel_words(state, g, pubkey):
    """The guest's identity on its kernel command line, read by the image's boot unit (GUEST_INIT);
    `pubkey` is the bare ed25519 key, short enough for a command line."""
    return [
        "systemd.log_color=0",
        f"systemd.machine_id={hashlib.md5((str(state) + g['name']).encode()).hexdigest()}",
        f"lab.name={g['name']}", f"lab.ip={g['address']}/24",
        # A default route, as real hosts have: a packet for a remote LAN must find a route
        # before the kernel looks at the IPsec policies (the host does not forward it on).
        f"lab.gw={NET}.1",
        f"lab.lan={g['lan_address']}/24", f"lab.key={pubkey}",
        f"lab.ip6={g['address6']}/64", f"lab.lan6={g['lan_address6']}/64",
        f"lab.gw6={BRIDGE_ADDRESS6.split('/', maxsplit=1)[0]}",
    ]


def probe(env=None):
    """(runner, why): the backend `up` uses here, found by booting, and one line saying why.

    FLEET_IPSEC_LAB_BACKEND names one; unset, each backend is tried in BACKENDS order and the
    first whose tiny guest runs a process wins. A backend is judged by booting, never by the
    presence of a device or a package. Raises, naming what each backend lacked, if none boots.
    """
    env = os.environ if env is None else env
    forced = env.get(BACKEND_ENV, "").strip()
    if forced and forced not in BACKENDS:
        raise DriverError(f"{BACKEND_ENV}={forced!r}: use one of {', '.join(BACKENDS)}")
    failures = []
    for name in [forced] if forced else BACKENDS:
        runner = BACKENDS[name](RUN_DIR, CACHE_DIR)
        try:
            how = runner.probe()
        except DriverError as e:
            failures.append(f"{name}: {e}")
            continue
        chosen = f"{BACKEND_ENV}={forced}" if forced else f"the first backend that boots here ({', '.join(BACKENDS)})"
        return runner, "; ".join([f"{chosen}: {how}", *failures])
    raise DriverError("no lab backend boots on this machine: " + "; ".join(failures)
                      + (f" (unset {BACKEND_ENV} to try the others)" if forced else ""))


def runner_of(info):
    """The runner that booted the guests of a record (`lab.json`)."""
    return BACKENDS[info["backend"]](RUN_DIR, CACHE_DIR, accel=info.get("accel"))


def racoon_prefix_of(image):
    """Where the image has racoon installed, from the spec saved beside it; '' if nowhere."""
    try:
        spec = json.loads(image.with_suffix(".json").read_text())
    except FileNotFoundError:
        raise DriverError(f"{image} has no spec beside it: run `lab.py build --rebuild`") from None
    return (spec.get("racoon") or {}).get("prefix", "")


# ---------------------------------------------------------------- the backend

class Lab(guests.Backend):
    """Guests on the lab's bridge, under whichever runner probe() picked; one lab per machine."""

    name = NAME
    script = "molecule/guests/lab.py"
    record = "lab.json"
    machines = "guests"
    per_guest_files = ("*.cow", "*.qcow2", "*.console.log", "*.qemu.log")
    key_comment = "fleet-ipsec-lab"
    group = "lab"
    program = "the guest's kernel"
    # Host keys are made at each guest's first boot; the addresses are the lab's own.
    host_key_checking = "accept-new"
    ssh_options = {"ControlMaster": "auto", "ControlPath": f"{SSH_DIR}/%C", "ControlPersist": "10m"}
    needs_root = "bridge, taps, debootstrap"
    timeout = None  # the runner's boot_timeout
    timeout_default = "120 s; 600 s under qemu without KVM"
    status_finds_state = True
    help = {
        "up": "choose a backend, build or reuse the base image, boot the guests, wait for SSH",
        "down": "stop the guests, remove taps, bridge and state files",
        "status": "show the guests of the lab that is up",
    }

    def __init__(self):
        self.runner = None  # set by cmd_up and cmd_reboot

    def teardown(self, state):
        """Remove the machine's lab (guests, taps, bridge, runtime files) and the given state files.

        Refuses to touch running guests that belong to another state directory."""
        current = owner()
        if current and current != state and sessions():
            raise DriverError(f"the lab is up for {current}: run `lab.py down --state {current}`")
        stop_guests()
        for directory in (current, state):
            if directory:
                self.clean(directory)
        network_down()
        shutil.rmtree(RUN_DIR, ignore_errors=True)

    def claim(self, state):
        SSH_DIR.mkdir(parents=True, exist_ok=True)
        OWNER_FILE.write_text(f"{state}\n")

    def ssh_host(self, machine):
        return [machine["name"], machine["address"]], machine["address"], None

    def host_vars(self, machine):
        return {
            "ansible_host": machine["address"],
            "fleet_lab_lan": machine["lan"],
            "fleet_lab_lan_address": machine["lan_address"],
            "fleet_lab_address6": machine["address6"],
            "fleet_lab_lan6": machine["lan6"],
            "fleet_lab_lan_address6": machine["lan_address6"],
            # Where racoon is installed in this guest; empty: nowhere (strongSwan only).
            "fleet_lab_racoon_prefix": machine["racoon_prefix"],
        }

    def group_vars(self, state, info):
        return {
            # Ansible's own masters would outlive `down` in ~/.ansible/cp, connected to a
            # guest that is gone: keep them where `down` finds and closes them.
            "ansible_ssh_args": f"-o ControlMaster=auto -o ControlPersist=10m -o ControlPath={SSH_DIR}/%C",
            "ansible_ssh_pipelining": True,
            "fleet_lab_backend": info["backend"],
            **(SLOW_GUEST_VARS if info.get("accel") == "tcg" else {}),
        }

    def before_boot(self, state, machines, info, pubkey):
        network_up(machines)

    def boot(self, state, machine, info, pubkey):
        words = kernel_words(state, machine, pubkey.split()[1])
        return self.runner.boot(state, Path(info["image"]), machine, words, info["mem"])

    def reachable(self, machine):
        # ssh itself would sit out the ARP timeout (3 s) each time the guest is not up yet
        try:
            socket.create_connection((machine["address"], 22), timeout=0.5).close()
        except OSError:
            return False
        return True

    def logs(self, state, machine):
        return [state / f"{machine['name']}.qemu.log", state / f"{machine['name']}.console.log"]

    def describe(self, machine):
        return (f"{machine['address']} {machine.get('address6', '')} "
                f"lan {machine['lan']} {machine.get('lan6', '')}")

    def running(self, state, info):
        found = sessions()
        return {g["name"]: g["pid"] for g in info["guests"] if g["pid"] in found}

    def summary(self, state, info):
        return f"state {info['state']}, image {info['image']}, backend {info.get('backend_description', '?')}"

    def not_up(self, state):
        return (f"not up ({len(sessions())} stray guest(s), bridge "
                f"{'present' if BRIDGE in links() else 'absent'})")

    def current_state(self):
        return owner()

    def down(self, state):
        current = owner()
        if current and current != state and sessions():
            self.log(f"the lab is up for {current}, not {state}: leaving it running")
            self.clean(state)
            return 0
        self.teardown(state)
        self.log("down: guests stopped, taps and bridge removed")
        return 0

    def cmd_up(self, args):
        state = Path(args.state).resolve()
        table = guest_table(args.guests.split(","))
        # Before anything is built: a machine that can boot no guest says so at once.
        self.runner, why = probe()
        self.log(f"backend {self.runner.describe()}, chosen by {why}")
        image = ensure_image(args.suite, args.mirror)
        racoon_prefix = racoon_prefix_of(image)
        for g in table:
            g["racoon_prefix"] = racoon_prefix
        info = {"state": str(state), "image": str(image), "bridge": BRIDGE, "bridge_address": BRIDGE_ADDRESS,
                "backend": self.runner.name, "accel": self.runner.accel,
                "backend_description": self.runner.describe(), "backend_reason": why,
                "guests": table, "racoon_prefix": racoon_prefix, "mem": args.mem or self.runner.default_mem,
                "user": "root", "python": "/usr/bin/python3"}
        return self.up(state, table, info, args.timeout or self.runner.boot_timeout, args.keep_on_failure)

    def cmd_reboot(self, args):
        """Power-cycle one guest: cut it off, boot it again from its own copy-on-write disk.

        Not `reboot` inside the guest: a UML guest re-executes itself then, but cannot open its
        tap again, so it would come back without a network.
        """
        state = Path(args.state).resolve()
        info = self.read_record(state)
        if info is None:
            raise DriverError(f"no lab in {state}")
        g = next((g for g in info["guests"] if g["name"] == args.guest), None)
        if g is None:
            raise DriverError(f"no guest {args.guest!r} in {state}")
        self.runner = runner_of(info)
        kill(pid for pid, sid, argv in processes() if argv[0].startswith(f"ssh: {SSH_DIR}/"))
        self.runner.power_off(state, g)
        started = time.monotonic()
        proc = self.boot(state, g, info, (state / "id_ed25519.pub").read_text())
        g["pid"] = proc.pid
        self.write_record(state, info)
        took = self.wait_ready(state, g, proc, started, args.timeout or self.runner.boot_timeout)
        self.log(f"{g['name']}: rebooted, ssh ready after {took:.1f} s")
        return 0

    def add_commands(self, sub, up):
        def image_opts(sp):
            sp.add_argument("--suite", help="Debian suite of the guests (default: the host's)")
            sp.add_argument("--mirror", help="Debian mirror (default: the one apt is configured with)")

        up.add_argument("--guests", default="g1,g2", help="comma-separated guest names (default g1,g2)")
        up.add_argument("--mem", help="guest memory (default: 160M under UML, 320M under qemu)")
        image_opts(up)
        build = sub.add_parser("build", help="build (or find) the cached base image, print its path")
        build.add_argument("--rebuild", action="store_true")
        image_opts(build)
        build.set_defaults(func=cmd_build)
        reboot = sub.add_parser("reboot", help="power-cycle one guest (cut it off, boot from its own disk)")
        reboot.add_argument("--state", required=True)
        reboot.add_argument("--timeout", type=float, help=f"seconds to wait for SSH (default: {self.timeout_default})")
        reboot.add_argument("guest")
        reboot.set_defaults(func=self.cmd_reboot)
        racoon = sub.add_parser("racoon", help="print where the guests have racoon ('' if not, and why)")
        racoon.set_defaults(func=cmd_racoon)
        probe_cmd = sub.add_parser("probe", help=f"print the backend `up` would use ({BACKEND_ENV} "
                                                 "forces one), and why")
        probe_cmd.set_defaults(func=cmd_probe)


def cmd_probe(args):
    runner, why = probe()
    print(runner.name)
    log(f"backend {runner.describe()}, chosen by {why}")
    return 0


def cmd_racoon(args):
    """Print where the guests have racoon (the image need not be built yet), or '' and why not."""
    if racoon_source() is None:
        log(racoon_missing())
        print("")
    else:
        print(RACOON_PREFIX)
    return 0


def cmd_build(args):
    print(ensure_image(args.suite, args.mirror, rebuild=args.rebuild))
    return 0


BACKEND = Lab()

if __name__ == "__main__":
    sys.exit(guests.main(BACKEND, __doc__))
