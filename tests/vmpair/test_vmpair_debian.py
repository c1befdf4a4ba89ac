# Copyright (c) 2026 fleet.ipsec contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The qemu backend (molecule/guests/qemu.py) end to end, without FreeBSD: the lab's Debian root filesystem with a
Debian kernel, two VMs under qemu (TCG where there is no KVM), SSH through the forwarded ports,
the private link between them, and `down` leaving nothing behind.

    FLEET_IPSEC_VMPAIR=1 pytest tests/vmpair     (as root: the lab's base image is built by lab.py)

The same driver code boots the freebsd scenario's VMs; only the profile differs.
"""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

DRIVER = Path(__file__).resolve().parents[2] / "molecule" / "guests" / "qemu.py"
VMS = ["d1", "d2"]

pytestmark = [
    pytest.mark.vmpair,
    pytest.mark.skipif(os.environ.get("FLEET_IPSEC_VMPAIR") != "1",
                       reason="boots two qemu VMs: set FLEET_IPSEC_VMPAIR=1 (as root) to run"),
]


def vmpair(*args, timeout=900):
    return subprocess.run([sys.executable, str(DRIVER), *args], capture_output=True, text=True,
                          timeout=timeout, check=False)


def ssh(state, name, command):
    return subprocess.run(["ssh", "-F", str(state / "ssh_config"), "-o", "BatchMode=yes", name, command],
                          capture_output=True, text=True, timeout=60, check=False)


@pytest.fixture(scope="module")
def profile(tmp_path_factory, driver, debian_guest):
    kernel, initrd = debian_guest.kernel_and_initrd(driver.cache_dir())
    return debian_guest.write_profile(tmp_path_factory.mktemp("profile") / "debian-lab.json",
                                      debian_guest.lab_base_image(), kernel, initrd)


@pytest.fixture
def state(tmp_path):
    path = tmp_path / "state"
    yield path
    vmpair("down", "--state", str(path))  # whatever the test did, leave the machine clean


def qemu_processes(driver, state):
    return [f"{pid}: {' '.join(argv)}" for pid, _sid, argv in driver.processes()
            if "qemu-system" in argv[0] and str(state) in " ".join(argv)]


def test_debian_pair_boots_to_ssh_with_a_private_link(profile, state, record_property, driver):
    started = time.monotonic()
    up = vmpair("up", "--profile", str(profile), "--state", str(state), "--vms", ",".join(VMS))
    took = time.monotonic() - started
    assert up.returncode == 0, up.stderr
    info = json.loads((state / "vmpair.json").read_text())
    record_property("accel", info["accel"])
    record_property("boot_to_ssh_seconds", info["boot_seconds"])
    print(f"\nvmpair: {len(VMS)} Debian VMs ({info['accel']}) ready for SSH after {info['boot_seconds']} s "
          f"({took:.0f} s with disk and key set-up)", file=sys.stderr)

    for vm in info["vms"]:
        r = ssh(state, vm["name"], "hostname; ip -o -4 addr show priv0")
        assert r.returncode == 0, f"{vm['name']}: {r.stderr}"
        assert r.stdout.split()[0] == vm["name"]
        assert vm["private_cidr"] in r.stdout

    r = ssh(state, "d1", f"ping -c 3 -W 2 {info['vms'][1]['private_ip']}")  # over the private link
    assert r.returncode == 0, r.stdout + r.stderr

    # The NoCloud seed is the second disk: an ISO 9660 volume labelled cidata with the run's key.
    pubkey = (state / "id_ed25519.pub").read_text().split()[1]
    r = ssh(state, "d2", f"dd if=/dev/vdb bs=2048 skip=16 count=1 2>/dev/null | head -c 72 | tail -c 32; echo; "
                         f"grep -a -c {pubkey} /dev/vdb")
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.split() == ["cidata", "1"], r.stdout

    status = vmpair("status", "--state", str(state))
    assert status.returncode == 0, status.stdout + status.stderr

    down = vmpair("down", "--state", str(state))
    assert down.returncode == 0, down.stderr
    assert not state.exists()
    assert not qemu_processes(driver, state)
