# -*- coding: utf-8 -*-
# Copyright (c) 2026 fleet.ipsec contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The re-key after a settings change names each tunnel from its fingerprint
(`<tunnel>: <digest>`, fleet.ipsec.fingerprint) with the expression in
roles/tunnels/tasks/rekey_changed.yml. A tunnel's name may hold ':' (a topology's end given by
IPv6 address): the name must come back whole, or that tunnel is not re-keyed."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest
import yaml

from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar

from ansible_collections.fleet.ipsec.plugins.filter.fingerprint import fingerprint

try:
    from ansible.template import trust_as_template
except ImportError:  # ansible-core < 2.19 trusts every template
    def trust_as_template(value):
        return value

TASKS = os.path.join(os.path.dirname(__file__), '..', '..', '..', '..', 'roles', 'tunnels', 'tasks', 'rekey_changed.yml')


def changed_names(markers):
    with open(TASKS) as handle:
        tasks = yaml.safe_load(handle)
    expression = [task for task in tasks if task['name'] == 'Name the tunnels whose settings changed'][0]
    expression = expression['ansible.builtin.set_fact']['tunnels_changed']
    templar = Templar(loader=DataLoader(), variables={'tunnels_written': {'new_markers': markers}})
    return templar.template(trust_as_template(expression))


@pytest.mark.parametrize('name', [
    'gluon-mason',
    'core-hub-2001:db8::1',
    'sites-2001:db8:0:1::1-2001:db8:0:2::1',
    'a:b: c',
    'odd: 0123456789abcdef-named',
])
def test_a_tunnel_name_comes_back_whole_from_its_fingerprint(name):
    marker = fingerprint({'tunnel': name, 'address': '2001:db8::2'})
    assert marker.startswith(name + ': ')
    assert changed_names([marker]) == [name]


def test_every_changed_tunnel_is_named_in_order():
    names = ['core-hub-2001:db8::1', 'gluon-mason']
    assert changed_names([fingerprint({'tunnel': name}) for name in names]) == names
