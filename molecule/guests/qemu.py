# Copyright (c) 2026 fleet.ipsec contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The test-guest driver's qemu backend: one or two VMs from an image profile.

The `freebsd` molecule scenario runs its two FreeBSD VMs through it; tests/vmpair boots the lab's
Debian root filesystem with it. guests.py beside it is the shared part of the driver (command line,
state directory, SSH, inventory, waiting); this file is what qemu does its own way: profiles, the
image cache, the accelerator, first-boot seeds and qemu's command line. It also works on its own
(run it with python3; no root needed, only read-write access to /dev/kvm for hardware acceleration):

    qemu.py up --profile P --state DIR [--vms a,b] [--set KEY=VALUE]...  boot, wait for SSH
    qemu.py down --state DIR                          stop the VMs, delete their disks and state
    qemu.py status --state DIR                        show the VMs and whether SSH answers
    qemu.py fetch --profile P [--set KEY=VALUE]...    download, verify and cache the image only
    qemu.py accel                                     the accelerator `--accel auto` picks, and why

A profile (JSON; `--profile NAME` reads profiles/NAME.json beside this file, anything else is a
path) says everything that is particular to an image; nothing else here knows about one:

    vars          default values of @tokens@ (e.g. version), overridden with --set
    image         {url, checksum_url | sha256, compression: xz|gz|bz2|none, format} or {path, format}
    disk_size, memory, cpus, machine, qemu, nic_model
    kernel, initrd, append   optional direct kernel boot
    seed          {type: none} or {type: nocloud, label, meta_data, user_data[, network_config]}:
                  an ISO 9660 first-boot seed, built from template files beside the profile
    ssh           {user, port}: the account the run's key is installed for
    ready         {command, settle}: a command that prints an identifier of the running boot; the
                  VM is ready when it answers twice, `settle` seconds apart, with the same output
                  (so a first-boot reboot is waited out)
    python        the guest's Python, for the inventory written in the state directory

The image fields may hold @tokens@ of the profile's vars; disk_size, kernel, initrd, append and the
seed templates also per-VM ones: `name`, `index`, `pubkey` (the run's SSH public key line),
`pubkey_blob`, `ssh_port`, `ssh_mac`, `private_mac`, `private_ip`, `private_cidr`,
`private_prefix`, `private_netmask`, `peer_private_ip`, `instance_id`. An unknown token is an error.

Networking: each VM has a qemu user-mode NIC with its SSH port forwarded to 127.0.0.1:<free port>
(the controller's way in, and the VM's NAT to the outside), and, with two VMs, a second NIC on a
private point-to-point link between them (a qemu UDP socket pair on 127.0.0.1): no bridge, no tap,
no root. Images are cached in $FLEET_IPSEC_VMPAIR_CACHE (default /var/cache/fleet-ipsec-vmpair as
root, ~/.cache/fleet-ipsec-vmpair otherwise); each VM boots from its own copy-on-write disk.
Stdlib only; needs qemu-system-x86_64, qemu-img, ssh, ssh-keygen, and genisoimage or xorriso for
seeded profiles.
"""

import bz2
import fcntl
import gzip
import hashlib
import ipaddress
import json
import lzma
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import guests
from guests import DriverError, processes, run

NAME = "vmpair"  # the log prefix
HERE = Path(__file__).resolve().parent
PROFILE_DIR = HERE / "profiles"
DEFAULT_VMS = "vm1,vm2"
DEFAULT_PRIVATE_NET = "10.78.0.0/24"
TOKEN = re.compile(r"@([a-z][a-z0-9_]*)@")
KVM_GET_API_VERSION = 0xAE00
KVM_CREATE_VM = 0xAE01
DECOMPRESSORS = {"xz": lzma.LZMADecompressor, "bz2": bz2.BZ2Decompressor}
PROFILE_DEFAULTS = {
    "vars": {}, "disk_size": None, "memory": "1024", "cpus": None, "machine": "q35",
    "qemu": "qemu-system-x86_64", "nic_model": "virtio-net-pci", "kernel": None, "initrd": None,
    "append": None, "seed": {"type": "none"}, "ssh": {"user": "root", "port": 22},
    "ready": {"command": "true", "settle": 0}, "python": None, "boot_timeout": 600,
}


def log(msg):
    guests.say(NAME, msg)


# ---------------------------------------------------------------- profiles and tokens

def expand(text, tokens, where="profile"):
    """Replace every @token@ in text; an unknown token is an error, not a silent blank."""
    def one(match):
        name = match.group(1)
        if name not in tokens:
            raise DriverError(f"{where}: unknown token @{name}@ (known: {', '.join(sorted(tokens))})")
        return str(tokens[name])
    return TOKEN.sub(one, text)


def load_profile(spec):
    """Read a profile by name (profiles/NAME.json) or path; fill in the defaults."""
    path = Path(spec)
    if not path.suffix and not path.exists():
        path = PROFILE_DIR / f"{spec}.json"
    try:
        data = json.loads(path.read_text())
    except OSError as e:
        raise DriverError(f"profile {spec}: {e.strerror}: {path}") from None
    except ValueError as e:
        raise DriverError(f"profile {path}: not JSON: {e}") from None
    unknown = sorted(set(data) - set(PROFILE_DEFAULTS) - {"description", "image"})
    if unknown:
        raise DriverError(f"profile {path}: unknown keys {unknown}")
    if "image" not in data:
        raise DriverError(f"profile {path}: no image")
    profile = {**PROFILE_DEFAULTS, **data, "dir": str(path.resolve().parent), "path": str(path.resolve())}
    image = profile["image"]
    if ("url" in image) == ("path" in image):
        raise DriverError(f"profile {path}: image needs exactly one of url and path")
    if "url" in image and not (image.get("checksum_url") or image.get("sha256")):
        raise DriverError(f"profile {path}: a downloaded image needs checksum_url or sha256")
    if image.get("compression", "none") not in ("none", "gz", *DECOMPRESSORS):
        raise DriverError(f"profile {path}: compression must be none, gz, bz2 or xz")
    if image.get("format") not in ("qcow2", "raw"):
        raise DriverError(f"profile {path}: image format must be qcow2 or raw")
    if profile["seed"].get("type") not in ("none", "nocloud"):
        raise DriverError(f"profile {path}: seed type must be none or nocloud")
    return profile


def profile_vars(profile, settings):
    """The profile's vars with --set KEY=VALUE overrides applied."""
    result = {k: str(v) for k, v in profile["vars"].items()}
    for item in settings or []:
        key, sep, value = item.partition("=")
        if not sep or not re.fullmatch(r"[a-z][a-z0-9_]*", key):
            raise DriverError(f"--set {item!r}: use KEY=VALUE with a lower-case KEY")
        if key not in result:
            raise DriverError(f"--set {key}: the profile has no such var (vars: {', '.join(sorted(result))})")
        result[key] = value
    return result


def image_source(profile, pvars):
    """Where the image comes from: {url, checksum_url, sha256, name, compression, format} or
    {path, format}, with the profile's vars expanded."""
    image = profile["image"]
    fmt = image["format"]
    if "path" in image:
        path = Path(expand(image["path"], pvars, "image.path"))
        if not path.is_absolute():
            path = Path(profile["dir"]) / path
        return {"path": str(path), "format": fmt}
    url = expand(image["url"], pvars, "image.url")
    return {
        "url": url,
        "checksum_url": expand(image["checksum_url"], pvars, "image.checksum_url") if image.get("checksum_url") else None,
        "sha256": image.get("sha256"),
        "name": url.rsplit("/", 1)[-1],
        "compression": image.get("compression", "none"),
        "format": fmt,
    }


CHECKSUM_BSD = re.compile(r"^SHA256 \((?P<name>[^)]+)\) = (?P<sum>[0-9a-fA-F]{64})\s*$")
CHECKSUM_GNU = re.compile(r"^(?P<sum>[0-9a-fA-F]{64}) [ *](?P<name>\S.*?)\s*$")


def published_sha256(text, name):
    """The SHA-256 a checksum file lists for `name`: BSD style (`SHA256 (name) = hex`, as in
    FreeBSD's CHECKSUM.SHA256) or GNU style (`hex  name`, as in SHA256SUMS)."""
    for line in text.splitlines():
        m = CHECKSUM_BSD.match(line) or CHECKSUM_GNU.match(line)
        if m and m.group("name").lstrip("*./") == name:
            return m.group("sum").lower()
    raise DriverError(f"the checksum file lists no SHA-256 for {name}")


def decompressed_name(name, compression):
    suffix = {"xz": ".xz", "gz": ".gz", "bz2": ".bz2"}.get(compression, "")
    return name[:-len(suffix)] if suffix and name.endswith(suffix) else name


# ---------------------------------------------------------------- image cache

def cache_dir():
    env = os.environ.get("FLEET_IPSEC_VMPAIR_CACHE")
    if env:
        return Path(env)
    if os.geteuid() == 0:
        return Path("/var/cache/fleet-ipsec-vmpair")
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "fleet-ipsec-vmpair"


def fetch_text(url, timeout=60):
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (profile URLs)
        return response.read().decode("utf-8", errors="replace")


def decompress(src, dest, compression):
    with open(src, "rb") as inp, open(dest, "wb") as out:
        if compression == "gz":
            with gzip.GzipFile(fileobj=inp) as gz:
                shutil.copyfileobj(gz, out, 1 << 20)
        else:
            engine = DECOMPRESSORS[compression]()
            while True:
                chunk = inp.read(1 << 20)
                if not chunk:
                    break
                out.write(engine.decompress(chunk))


def cached_copies(images, name, url):
    """Cached images of `url`, oldest first (each has a .json record beside it)."""
    found = []
    for path in images.glob(f"*-{name}"):
        try:
            record = json.loads(path.with_name(path.name + ".json").read_text())
        except (OSError, ValueError):
            continue
        if record.get("url") == url:
            found.append((path.stat().st_mtime, path))
    return [path for _mtime, path in sorted(found)]


def ensure_image(source, cache=None):
    """Return the local, verified, decompressed image for `source` (see image_source).

    A downloaded image is kept in the cache under its published SHA-256, so it is fetched once;
    the (small) checksum file is read again on every run, so a re-published image is noticed.
    Without network, the newest cached copy of the same URL is used, with a warning."""
    if "path" in source:
        path = Path(source["path"])
        if not path.is_file():
            raise DriverError(f"image {path} does not exist")
        return path
    images = (cache or cache_dir()) / "images"
    images.mkdir(parents=True, exist_ok=True)
    name = decompressed_name(source["name"], source["compression"])
    want = source["sha256"]
    if not want:
        try:
            want = published_sha256(fetch_text(source["checksum_url"]), source["name"])
        except (OSError, urllib.error.URLError) as e:
            cached = cached_copies(images, name, source["url"])
            if not cached:
                raise DriverError(f"cannot read {source['checksum_url']} ({e}) and no cached image") from None
            log(f"warning: cannot read {source['checksum_url']} ({e}); using the cached {cached[-1].name}")
            return cached[-1]
    image = images / f"{want[:16]}-{name}"
    with open(images / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two runs at once download once
        if image.exists():
            return image
        for stale in images.glob("fetch-*"):  # an interrupted earlier fetch (we hold the lock)
            shutil.rmtree(stale, ignore_errors=True)
        tmp = Path(tempfile.mkdtemp(prefix="fetch-", dir=images))  # half-done work stays in here
        try:
            unpacked = compressed = tmp / source["name"]
            guests.download(source["url"], compressed, want, NAME)
            if source["compression"] != "none":
                log(f"decompressing {source['name']}")
                unpacked = tmp / name
                decompress(compressed, unpacked, source["compression"])
            image.with_name(image.name + ".json").write_text(json.dumps(
                {"url": source["url"], "sha256": want, "fetched": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())},
                indent=1) + "\n")
            unpacked.rename(image)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return image


# ---------------------------------------------------------------- accelerator

def kvm_usable():
    """(True, why) when qemu can use KVM here: /dev/kvm opens read-write, answers the KVM API and
    creates a VM, and the CPU has hardware virtualisation (vmx/svm). Some kernels offer a /dev/kvm
    that creates VMs without it (e.g. a PVM host), which only runs specially built guests."""
    try:
        fd = os.open("/dev/kvm", os.O_RDWR | os.O_CLOEXEC)
    except OSError as e:
        return False, f"/dev/kvm: {e.strerror}"
    try:
        version = fcntl.ioctl(fd, KVM_GET_API_VERSION, 0)
        if version != 12:
            return False, f"/dev/kvm speaks KVM API {version}, not 12"
        os.close(fcntl.ioctl(fd, KVM_CREATE_VM, 0))
    except OSError as e:
        return False, f"/dev/kvm cannot create a VM: {e.strerror}"
    finally:
        os.close(fd)
    try:
        flags = next((line.split(":", 1)[1].split() for line in Path("/proc/cpuinfo").read_text().splitlines()
                      if line.startswith("flags")), [])
    except OSError:
        flags = []
    if not {"vmx", "svm"} & set(flags):
        return False, "/dev/kvm works but the CPU shows no vmx/svm: not hardware virtualisation"
    return True, "/dev/kvm works and the CPU has hardware virtualisation"


def choose_accel(wanted):
    if wanted != "auto":
        return wanted, f"--accel {wanted}"
    ok, why = kvm_usable()
    return ("kvm" if ok else "tcg"), why


# ---------------------------------------------------------------- per-VM plan

def free_ports(count, kind=socket.SOCK_STREAM):
    """`count` distinct free ports on 127.0.0.1 (all held open while picking, so none repeats)."""
    socks = [socket.socket(socket.AF_INET, kind) for i in range(count)]
    try:
        for sock in socks:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in socks]
    finally:
        for sock in socks:
            sock.close()


def plan_vms(names, private_net, ports=None, link_ports=None):
    """Per VM: name, index, SSH port, MACs and private address. `ports` and `link_ports` (lists)
    fix the host ports, for tests; by default free ones are picked."""
    if not 1 <= len(names) <= 2 or len(set(names)) != len(names):
        raise DriverError("--vms names one or two distinct VMs (two get a private link)")
    net = ipaddress.ip_network(private_net)
    if net.version != 4 or net.num_addresses < 16:
        raise DriverError(f"--private-net {private_net}: use an IPv4 network of /28 or larger")
    ports = ports or free_ports(len(names))
    link_ports = link_ports or free_ports(len(names), socket.SOCK_DGRAM)
    vms = []
    for i, name in enumerate(names, 1):
        if not re.fullmatch(r"[a-z][a-z0-9-]{0,30}", name):
            raise DriverError(f"VM name {name!r}: use lower-case letters, digits and '-'")
        address = net.network_address + 10 + i
        vms.append({
            "name": name, "index": i, "ssh_port": ports[i - 1], "link_port": link_ports[i - 1],
            "ssh_mac": f"52:54:00:a0:00:{i:02x}", "private_mac": f"52:54:00:a1:00:{i:02x}",
            "private_ip": str(address), "private_cidr": f"{address}/{net.prefixlen}",
            "private_prefix": str(net.prefixlen), "private_netmask": str(net.netmask),
        })
    for vm in vms:
        peers = [v for v in vms if v is not vm]
        vm["peer_private_ip"] = peers[0]["private_ip"] if peers else ""
        vm["peer_link_port"] = peers[0]["link_port"] if peers else None
    return vms


def vm_tokens(pvars, vm, pubkey, run_id):
    return {
        **pvars, "name": vm["name"], "index": vm["index"], "pubkey": pubkey,
        "pubkey_blob": pubkey.split()[1], "ssh_port": vm["ssh_port"], "ssh_mac": vm["ssh_mac"],
        "private_mac": vm["private_mac"], "private_ip": vm["private_ip"],
        "private_cidr": vm["private_cidr"], "private_prefix": vm["private_prefix"],
        "private_netmask": vm["private_netmask"], "peer_private_ip": vm["peer_private_ip"],
        "instance_id": f"vmpair-{vm['name']}-{run_id}",
    }


def qemu_argv(profile, vm, tokens, accel, disk, seed, state, memory=None, cpus=None):
    """The qemu command line of one VM (a pure function: see tests/vmpair)."""
    nic = profile["nic_model"]
    guest_port = int(profile["ssh"].get("port", 22))
    argv = [
        profile["qemu"], "-name", f"vmpair-{vm['name']}",
        "-machine", f"{profile['machine']},accel={accel}",
        "-cpu", "host" if accel == "kvm" else "max",
        "-smp", str(cpus or profile["cpus"] or (2 if accel == "kvm" else 1)),
        "-m", str(memory or profile["memory"]),
        "-nodefaults", "-no-user-config", "-display", "none",
        "-serial", f"file:{state / (vm['name'] + '.console.log')}",
        "-rtc", "base=utc",
        "-device", "virtio-rng-pci",
        # Throwaway disks: no flushes to the host's disk (cache=unsafe), much faster under TCG.
        "-drive", f"file={disk},if=virtio,format=qcow2,cache=unsafe,discard=unmap,backing.file.locking=off",
    ]
    if seed:
        argv += ["-drive", f"file={seed},if=virtio,format=raw,readonly=on"]
    argv += [
        "-netdev", f"user,id=mgmt,hostfwd=tcp:127.0.0.1:{vm['ssh_port']}-:{guest_port}",
        "-device", f"{nic},netdev=mgmt,mac={vm['ssh_mac']}",
    ]
    if vm["peer_link_port"]:
        argv += [
            "-netdev", f"socket,id=link,udp=127.0.0.1:{vm['peer_link_port']},localaddr=127.0.0.1:{vm['link_port']}",
            "-device", f"{nic},netdev=link,mac={vm['private_mac']}",
        ]
    for key in ("kernel", "initrd", "append"):
        if profile[key]:
            value = expand(profile[key], tokens, key)
            if key != "append" and not os.path.isabs(value):
                value = os.path.join(profile["dir"], value)
            argv += [f"-{key}", value]
    return argv


def virtual_size(path, fmt="qcow2"):
    out = run(["qemu-img", "info", "-U", "-f", fmt, "--output=json", str(path)], capture_output=True).stdout
    return json.loads(out)["virtual-size"]


def seed_tool():
    """argv prefix of an ISO 9660 writer with mkisofs options (genisoimage, mkisofs, xorriso)."""
    for name in ("genisoimage", "mkisofs", "xorrisofs"):
        path = shutil.which(name)
        if path:
            return [path]
    path = shutil.which("xorriso")
    if path:
        return [path, "-as", "mkisofs"]
    raise DriverError("a seeded profile needs genisoimage or xorriso (see molecule/vmpair/requirements-apt.txt)")


def seed_files(profile, tokens):
    """{file name on the seed: (mode, text)} for a nocloud seed, templates expanded."""
    seed = profile["seed"]
    files = {}
    for key, name, mode in (("meta_data", "meta-data", 0o644), ("user_data", "user-data", 0o755),
                            ("network_config", "network-config", 0o644)):
        if not seed.get(key):
            if key != "network_config":
                raise DriverError(f"profile {profile['path']}: a nocloud seed needs seed.{key}")
            continue
        template = Path(profile["dir"]) / seed[key]
        try:
            text = template.read_text()
        except OSError as e:
            raise DriverError(f"seed template {template}: {e.strerror}") from None
        files[name] = (mode, expand(text, tokens, str(template)))
    return files


def build_seed(profile, tokens, dest):
    """Write the NoCloud seed ISO: volume label `seed.label` (default cidata), Rock Ridge with
    rationalised modes, so user-data keeps its execute bit (some nuageinit versions run it from
    the mounted seed)."""
    files = seed_files(profile, tokens)
    label = profile["seed"].get("label", "cidata")
    with tempfile.TemporaryDirectory(prefix="vmpair-seed-") as tmp:
        for name, (mode, text) in files.items():
            path = Path(tmp) / name
            path.write_text(text)
            path.chmod(mode)
        argv = seed_tool() + ["-quiet", "-input-charset", "utf-8", "-output", str(dest), "-volid", label,
                              "-J", "-r", *sorted(files)]
        result = subprocess.run(argv, cwd=tmp, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise DriverError(f"building the seed failed: {' '.join(argv)}\n{result.stderr}")
    return dest


# ---------------------------------------------------------------- the backend

def qemu_processes(state):
    """{VM name: pid} of the live qemu processes of this state directory, found by their command
    line (`-name vmpair-NAME` and a path in the state directory)."""
    found = {}
    for pid, _sid, argv in processes():
        if ("qemu-system" in os.path.basename(argv[0]) and "-name" in argv[:-1]
                and any(f"{state}/" in arg for arg in argv)):
            found[argv[argv.index("-name") + 1].removeprefix("vmpair-")] = pid
    return found


class Qemu(guests.Backend):
    """qemu VMs reached through forwarded ports on 127.0.0.1; any number of runs side by side."""

    name = NAME
    script = "molecule/guests/qemu.py"
    record = "vmpair.json"
    machines = "vms"
    per_guest_files = ("*.qcow2", "*.seed.iso", "*.console.log", "*.qemu.log")
    key_comment = "vmpair"
    group = "vmpair"
    program = "qemu"
    # Every first boot makes new host keys, behind 127.0.0.1 ports another run may have used.
    host_key_checking = "no"
    poll = 2.0  # a refused login behind a forwarded port costs a full SSH attempt
    timeout = None
    timeout_default = "the profile's boot_timeout"
    help = {
        "up": "boot the VMs from the profile's image and wait for SSH",
        "down": "stop the VMs, delete their disks and the state files",
        "status": "show the VMs of a state directory",
    }

    def __init__(self):
        self.planned = {}  # what cmd_up found and before_boot needs: profile, vars, image, ...

    def stop_guests(self, state):
        guests.stop(sorted(qemu_processes(state).values()))

    def ssh_host(self, machine):
        return [machine["name"]], "127.0.0.1", machine["ssh_port"]

    def host_vars(self, machine):
        return {"ansible_host": "127.0.0.1", "ansible_port": machine["ssh_port"],
                "vmpair_private_ip": machine["private_ip"]}

    def before_boot(self, state, machines, info, pubkey):
        plan = self.planned
        profile, source, image = plan["profile"], plan["source"], plan["image"]
        run_id = hashlib.sha256(f"{state}{time.time()}".encode()).hexdigest()[:8]
        for vm in machines:
            tokens = vm_tokens(plan["vars"], vm, pubkey, run_id)
            disk = state / f"{vm['name']}.qcow2"
            create = ["qemu-img", "create", "-q", "-f", "qcow2", "-F", source["format"], "-b", str(image), str(disk)]
            if profile["disk_size"]:
                create.append(expand(profile["disk_size"], tokens, "disk_size"))
            run(create)
            if virtual_size(disk) < virtual_size(image, source["format"]):
                raise DriverError(f"disk_size {profile['disk_size']} is smaller than the image {image}")
            seed = None
            if profile["seed"]["type"] == "nocloud":
                seed = build_seed(profile, tokens, state / f"{vm['name']}.seed.iso")
            vm["argv"] = qemu_argv(profile, vm, tokens, info["accel"], disk, seed, state, plan["memory"], plan["cpus"])

    def boot(self, state, machine, info, pubkey):
        with open(state / f"{machine['name']}.qemu.log", "w") as out:
            return subprocess.Popen(machine["argv"], stdin=subprocess.DEVNULL, stdout=out,  # pylint: disable=consider-using-with
                                    stderr=subprocess.STDOUT, start_new_session=True)

    def logs(self, state, machine):
        return [state / f"{machine['name']}.qemu.log", state / f"{machine['name']}.console.log"]

    def describe(self, machine):
        return f"ssh 127.0.0.1:{machine['ssh_port']}, private {machine['private_cidr']}"

    def running(self, state, info):
        return qemu_processes(state)

    def summary(self, state, info):
        return f"{state}, image {info['image']}, accelerator {info['accel']}"

    def not_up(self, state):
        return f"nothing up in {state} ({len(qemu_processes(state))} stray qemu process(es))"

    def cmd_up(self, args):
        state = Path(args.state).resolve()
        profile = load_profile(args.profile)
        pvars = profile_vars(profile, args.set)
        vms = plan_vms(args.vms.split(","), args.private_net)
        accel, why = choose_accel(args.accel)
        log(f"accelerator {accel} ({why})")
        source = image_source(profile, pvars)
        image = ensure_image(source)
        self.planned = {"profile": profile, "vars": pvars, "source": source, "image": image,
                        "memory": args.memory, "cpus": args.cpus}
        info = {"state": str(state), "profile": profile["path"], "vars": pvars, "image": str(image),
                "accel": accel, "accel_reason": why, "user": profile["ssh"].get("user", "root"),
                "python": profile["python"], "vms": vms}
        ready = (profile["ready"]["command"], profile["ready"].get("settle", 0))
        return self.up(state, vms, info, args.timeout or profile["boot_timeout"], args.keep_on_failure, ready)

    def add_commands(self, sub, up):
        def profile_opts(sp):
            sp.add_argument("--profile", required=True, help="profile name (profiles/NAME.json) or path")
            sp.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a profile var")

        profile_opts(up)
        up.add_argument("--vms", default=DEFAULT_VMS, help=f"one or two VM names (default {DEFAULT_VMS})")
        up.add_argument("--private-net", default=DEFAULT_PRIVATE_NET, help="network of the private link")
        up.add_argument("--accel", choices=["auto", "kvm", "tcg"], default="auto")
        up.add_argument("--memory", help="MiB per VM (default: the profile's)")
        up.add_argument("--cpus", type=int, help="vCPUs per VM (default: the profile's, else 2 with KVM, 1 without)")
        fetch = sub.add_parser("fetch", help="download, verify and cache the profile's image; print its path")
        profile_opts(fetch)
        fetch.set_defaults(func=cmd_fetch)
        accel = sub.add_parser("accel", help="print the accelerator --accel auto would pick, and why")
        accel.set_defaults(func=cmd_accel)


def cmd_fetch(args):
    profile = load_profile(args.profile)
    print(ensure_image(image_source(profile, profile_vars(profile, args.set))))
    return 0


def cmd_accel(args):
    accel, why = choose_accel("auto")
    print(f"{accel}: {why}")
    return 0


BACKEND = Qemu()

if __name__ == "__main__":
    sys.exit(guests.main(BACKEND, __doc__))
