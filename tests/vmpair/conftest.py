# Copyright (c) 2026 fleet.ipsec contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Tests of the test-guest driver's qemu backend (molecule/guests/qemu.py): offline ones always, the
qemu boot with FLEET_IPSEC_VMPAIR=1."""

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GUESTS = ROOT / "molecule" / "guests"


def load(name, path):
    """Import a file that is not on sys.path (the driver's backends are scripts, not a package)."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "vmpair: boots qemu VMs through molecule/guests/qemu.py (needs FLEET_IPSEC_VMPAIR=1)")


@pytest.fixture(scope="session")
def driver():
    if str(GUESTS) not in sys.path:
        sys.path.insert(0, str(GUESTS))  # where the backend finds the shared driver, guests.py
    return load("qemu", GUESTS / "qemu.py")


@pytest.fixture(scope="session")
def debian_guest():
    return load("debian_guest", ROOT / "tests" / "vmpair" / "debian_guest.py")
