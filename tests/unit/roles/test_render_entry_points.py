# -*- coding: utf-8 -*-
# Copyright (c) 2026 fleet.ipsec contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Render mode writes what a real run writes: each backend role's render.yml names the same
templates, paths and modes as its config.yml, and a key file is secret (and no_log) in both."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest
import yaml

ROLES = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..', 'roles'))
BACKEND_ROLES = ('racoon', 'setkey', 'strongswan')


def _tasks(role, name):
    with open(os.path.join(ROLES, role, 'tasks', name)) as handle:
        return yaml.safe_load(handle)


def _real_files(role):
    """(src, dest, mode) -> no_log, from the template tasks of config.yml."""
    files = {}
    for task in _tasks(role, 'config.yml'):
        args = task.get('ansible.builtin.template')
        if args:
            files[(args['src'], args['dest'], args['mode'])] = bool(task.get('no_log'))
    return files


def _rendered_files(role):
    """(src, dest, mode) -> (secret, no_log), from the fleet.ipsec.render tasks of render.yml."""
    files = {}
    for task in _tasks(role, 'render.yml'):
        args = task.get('fleet.ipsec.render')
        if args:
            assert args['root'] == '{{ tunnels_root }}', task['name']
            for entry in args['files']:
                files[(entry['src'], entry['dest'], entry['mode'])] = (bool(entry.get('secret')), bool(task.get('no_log')))
    return files


@pytest.mark.parametrize('role', BACKEND_ROLES)
def test_render_writes_the_files_a_real_run_writes(role):
    real = _real_files(role)
    rendered = _rendered_files(role)
    assert real
    assert sorted(rendered) == sorted(real)
    for key, no_log in real.items():
        # A file whose real task hides it is secret in render mode, and its task hides it too.
        assert rendered[key] == (no_log, no_log), key
