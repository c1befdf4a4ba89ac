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
    """Answers systemctl show with each of outputs in turn, the last one from then on."""

    def __init__(self, *outputs):
        self.outputs = list(outputs)
        self.calls = 0

    def get_bin_path(self, name, required=False):
        return '/bin/' + name

    def run_command(self, argv):
        out = self.outputs[min(self.calls, len(self.outputs) - 1)]
        self.calls += 1
        return 0, out, ''

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


@pytest.fixture
def no_sleep(monkeypatch):
    monkeypatch.setattr(service_state.time, 'sleep', lambda _seconds: None)


def test_an_empty_answer_is_asked_again(no_sleep):
    # What the lab's guests printed now and then: nothing, with exit code 0.
    module = FakeModule('', captured())
    states = service_state._systemd(module, ['racoon', 'strongswan'])
    assert module.calls == 2 and states['strongswan']['running']


def test_a_unit_the_output_never_names_is_an_error_not_an_absent_service(no_sleep):
    blocks = captured().strip().split('\n\n')
    module = FakeModule('\n\n'.join(blocks[:1]) + '\n')
    with pytest.raises(Failed, match='strongswan.service'):
        service_state._systemd(module, ['racoon', 'strongswan'])
    assert module.calls == service_state._SHOW_ATTEMPTS
