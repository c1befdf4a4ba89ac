# Copyright (c) 2026 fleet.ipsec contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The lab driver (molecule/guests/lab.py) end to end, on the backend its probe picks: up, SSH and PF_KEY in every guest, IPv6 between them, racoon
where it was built, down leaves nothing behind.

    FLEET_IPSEC_LAB=1 pytest tests/lab        (as root; the first run builds the base image, ~2 min)
"""

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

LAB = Path(__file__).resolve().parents[2] / "molecule" / "guests" / "lab.py"
GUESTS = ["g1", "g2", "g3"]

pytestmark = [
    pytest.mark.lab,
    pytest.mark.skipif(os.environ.get("FLEET_IPSEC_LAB") != "1",
                       reason="boots user-mode-linux guests: set FLEET_IPSEC_LAB=1 (as root) to run"),
]

# Inside each guest: a PF_KEY socket opens, the XFRM netlink interface answers, and the guest
# says who it is.
GUEST_CHECK = (
    'python3 -c "import socket; socket.socket(socket.AF_KEY, socket.SOCK_RAW, 2)"'
    " && ip xfrm state && ip xfrm policy && hostname"
)


def racoon_check(prefix):
    """racoon, setkey and racoonctl where lab.json says, each finding all its libraries, and
    setkey talking to the kernel over PF_KEY; not on PATH (the roles are given the paths)."""
    racoon, setkey, racoonctl = (shlex.quote(f"{prefix}/{path}")
                                 for path in ("sbin/racoon", "sbin/setkey", "bin/racoonctl"))
    return (
        f"test -x {racoonctl} && {setkey} -D && {racoon} -V"
        f" && ! ldd {racoon} {setkey} {racoonctl} | grep 'not found'"
        " && ! command -v racoon && ! command -v setkey"
    )


def ssh(state, guest, command):
    return subprocess.run(["ssh", "-F", str(state / "ssh_config"), guest, command],
                          capture_output=True, text=True, timeout=60, check=False)


def lab(*args):
    return subprocess.run([sys.executable, str(LAB), *args], capture_output=True, text=True,
                          timeout=600, check=False)


def links():
    out = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True,
                         check=True).stdout
    return [line.split(":")[1].strip().split("@")[0] for line in out.splitlines()]


def live_processes_mentioning(shared_driver, *needles):
    """Every live (not zombie) process whose command line contains one of needles."""
    return [f"{pid}: {' '.join(argv)}" for pid, _sid, argv in shared_driver.processes()
            if any(n in " ".join(argv) for n in needles)]


@pytest.fixture
def state(tmp_path):
    path = tmp_path / "state"
    yield path
    lab("down", "--state", str(path))  # whatever the test did, leave the machine clean


def test_up_ssh_af_key_down(state, shared_driver):
    up = lab("up", "--state", str(state), "--guests", ",".join(GUESTS))
    assert up.returncode == 0, up.stderr
    for name in ("ssh_config", "inventory.yml", "id_ed25519", "lab.json"):
        assert (state / name).is_file(), name

    info = json.loads((state / "lab.json").read_text())
    guests = {g["name"]: g for g in info["guests"]}
    inventory = (state / "inventory.yml").read_text()
    # What `lab.py racoon` promises (scripts/molecule hands it to the scenario) is what booted.
    assert info["racoon_prefix"] == lab("racoon").stdout.strip()
    for guest in GUESTS:
        r = ssh(state, guest, GUEST_CHECK)
        assert r.returncode == 0, f"{guest}: {r.stderr}"
        assert r.stdout.split()[-1] == guest

        # IPv6 through the bridge: each guest reaches the next one's vec0 address.
        peer = guests[GUESTS[(GUESTS.index(guest) + 1) % len(GUESTS)]]
        r = ssh(state, guest, f"ip -6 addr show dev dummy0 | grep -qF "
                              f"{guests[guest]['lan_address6']}/64 && ping -6 -c1 -W5 {peer['address6']}")
        assert r.returncode == 0, f"{guest} -> {peer['address6']}: {r.stdout}{r.stderr}"

        # racoon where it was built; the inventory tells every guest either way.
        prefix = guests[guest]["racoon_prefix"]
        assert prefix == info["racoon_prefix"]
        assert inventory.count(f"fleet_lab_racoon_prefix: {json.dumps(prefix)}") == len(GUESTS)
        if prefix:
            r = ssh(state, guest, racoon_check(prefix))
            assert r.returncode == 0, f"{guest}: racoon in {prefix}: {r.stdout}{r.stderr}"

    status = lab("status", "--state", str(state))
    assert status.returncode == 0, status.stdout + status.stderr

    down = lab("down", "--state", str(state))
    assert down.returncode == 0, down.stderr
    left = [name for name in links() if name.startswith("flipsec0")]
    assert not left, f"network devices left behind: {left}"
    assert not live_processes_mentioning(shared_driver, "linux.uml", "qemu-system", str(state)), "processes left behind"
    assert not state.exists() or not any(state.iterdir()), list(state.iterdir())
    assert not Path("/run/fleet-ipsec-lab").exists()

    again = lab("down", "--state", str(state))
    assert again.returncode == 0, again.stderr
