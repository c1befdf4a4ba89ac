# Copyright (c) 2026 fleet.ipsec contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A command's stdout is data, its stderr is not. When cryptography 51 began printing a
CryptographyDeprecationWarning at every ansible-core command, the tests that read stdout and
stderr as one stream failed to parse the JSON they asked for (13 of them). awx.run keeps the two
apart, parses stdout only and shows stderr when a command fails."""

import json
import os
import subprocess

import pytest


def inventory_command(awx):
    return [awx.tool('ansible-inventory'), '-i', os.path.join(awx.fleet, 'inventory.yml'), '--list', '--export']


def test_a_warning_on_stderr_does_not_spoil_the_json_on_stdout(awx, warning_on_stderr):
    command = inventory_command(awx)
    # The warning does reach the command: read as one stream, as run() used to, it is no JSON.
    merged = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True,
                            check=True).stdout
    assert warning_on_stderr in merged
    with pytest.raises(ValueError):
        json.loads(merged)
    inventory = json.loads(awx.run(command))
    assert inventory['_meta']['hostvars']


def test_a_failing_command_shows_its_stderr(awx, warning_on_stderr):
    with pytest.raises(AssertionError) as failed:
        awx.run([awx.tool('ansible-inventory'), '-i', '/nonexistent/inventory.yml', '--list', '--host', 'nothere'])
    message = str(failed.value)
    assert 'exited' in message and '--- stderr' in message
    assert warning_on_stderr in message.split('--- stderr', 1)[1]
