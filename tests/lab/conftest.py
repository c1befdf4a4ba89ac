# Copyright (c) 2026 fleet.ipsec contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Tests that boot the lab's guests (molecule/guests/lab.py); run with FLEET_IPSEC_LAB=1 as root."""

import importlib
import sys
from pathlib import Path

import pytest

GUESTS_DIR = Path(__file__).resolve().parents[2] / "molecule" / "guests"


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "lab: boots real-kernel user-mode-linux guests (needs root and FLEET_IPSEC_LAB=1)")


@pytest.fixture(scope="session")
def shared_driver():
    """molecule/guests/guests.py, the part of the driver both backends share."""
    if str(GUESTS_DIR) not in sys.path:
        sys.path.insert(0, str(GUESTS_DIR))
    return importlib.import_module("guests")
