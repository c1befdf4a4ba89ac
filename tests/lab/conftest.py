# Copyright (c) 2026 fleet.ipsec contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Tests that boot user-mode-linux guests (molecule/lab/lab.py); run with FLEET_IPSEC_LAB=1 as root."""


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "lab: boots real-kernel user-mode-linux guests (needs root and FLEET_IPSEC_LAB=1)")
