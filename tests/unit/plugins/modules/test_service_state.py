# -*- coding: utf-8 -*-
# Copyright (c) 2026 fleet.ipsec contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""service_state's reading of `systemctl show`, from a capture on a lab guest (Debian 12):
each unit's state comes from the block that names it, by its name or an alias."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from ansible_collections.fleet.ipsec.plugins.modules import service_state

FIXTURE = os.path.join(os.path.dirname(__file__), 'fixtures', 'systemctl_show_debian12.txt')


class Failed(Exception):
    pass


class FakeModule(object):
    def __init__(self, out):
        self.out = out
        self.argv = None

    def get_bin_path(self, name, required=False):
        return '/bin/' + name

    def run_command(self, argv):
        self.argv = argv
        return 0, self.out, ''

    def fail_json(self, **kwargs):
        raise Failed(kwargs['msg'])


def captured():
    with open(FIXTURE) as handle:
        return handle.read()


def test_each_unit_gets_its_own_block():
    states = service_state._systemd(FakeModule(captured()), ['racoon', 'strongswan', 'strongswan-starter', 'nosuch'])
    assert states['racoon'] == {'installed': True, 'running': True, 'enabled': True}
    assert states['strongswan-starter'] == {'installed': True, 'running': True, 'enabled': True}
    assert states['nosuch'] == {'installed': False, 'running': False, 'enabled': False}


def test_blocks_in_another_order_and_aliases_are_matched_by_name():
    blocks = captured().strip().split('\n\n')
    module = FakeModule('\n\n'.join(reversed(blocks)) + '\n')
    states = service_state._systemd(module, ['strongswan-swanctl', 'ipsec', 'nosuch'])
    assert states['strongswan-swanctl']['running'] and states['ipsec']['enabled']
    assert not states['nosuch']['installed']


def test_a_unit_the_output_does_not_name_is_an_error_not_an_absent_service():
    blocks = captured().strip().split('\n\n')
    module = FakeModule('\n\n'.join(blocks[:1]) + '\n')
    with pytest.raises(Failed, match='strongswan.service'):
        service_state._systemd(module, ['racoon', 'strongswan'])
