# -*- coding: utf-8 -*-
# Copyright (c) 2026 fleet.ipsec contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The OS families the model accepts are exactly those the roles have vars files for.

model.BACKEND_OS_FAMILIES is the one list; the roles' vars/<family>.yml files cannot import it,
so this test holds the two equal: a family added on one side only fails here, not on a host.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest
import yaml

from ansible_collections.fleet.ipsec.plugins.module_utils import model

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
ROLES = os.path.join(ROOT, 'roles')


def backend_roles():
    with open(os.path.join(ROLES, 'tunnels', 'vars', 'main.yml')) as handle:
        return yaml.safe_load(handle)['tunnels_backend_roles']


def role_families(role):
    directory = os.path.join(ROLES, role, 'vars')
    return set(name[:-len('.yml')] for name in os.listdir(directory) if name.endswith('.yml') and name != 'main.yml')


def test_every_backend_of_the_model_has_roles_and_the_reverse():
    assert set(backend_roles()) == set(model.BACKENDS) == set(model.BACKEND_OS_FAMILIES)


@pytest.mark.parametrize('backend', sorted(model.BACKEND_OS_FAMILIES))
def test_each_role_of_a_backend_has_a_vars_file_for_exactly_its_families(backend):
    roles = backend_roles()[backend]
    assert roles
    for role in roles:
        assert role_families(role) == set(model.BACKEND_OS_FAMILIES[backend]), role


def test_os_families_is_the_union_and_holds_the_default():
    assert set(model.OS_FAMILIES) == set(f for families in model.BACKEND_OS_FAMILIES.values() for f in families)
    assert model.DEFAULT_OS_FAMILY in model.BACKEND_OS_FAMILIES['racoon']
    assert model.DEFAULT_OS_FAMILY in model.BACKEND_OS_FAMILIES['strongswan']


def test_every_family_a_role_knows_is_accepted_by_the_model():
    for role in os.listdir(ROLES):
        if os.path.isdir(os.path.join(ROLES, role, 'vars')):
            assert role_families(role) <= set(model.OS_FAMILIES), role


def test_the_tunnels_role_has_a_vars_file_for_every_family():
    # Its paths (the journal) are needed on every host, whatever the backend.
    assert role_families('tunnels') == set(model.OS_FAMILIES)
