# -*- coding: utf-8 -*-
# Copyright (c) 2026 fleet.ipsec contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The topology fast path (model._Expansion) against the pair-by-pair path it stands in for.

Ordinary topologies skip the per-pair checks; whatever the inventory, that must change
neither the plan nor a single error message. Each inventory is built twice, once with the
fast path refused, and the two outcomes must be identical.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.fleet.ipsec.plugins.module_utils import model
from ansible_collections.fleet.ipsec.plugins.module_utils.plan import build_plan

from ansible_collections.fleet.ipsec.tests.unit.plugins.module_utils.test_plan_properties import fleets, overlapping_fleets

SETTINGS = settings(max_examples=300, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# Names that prefix each other across a dash ('a' and 'a-b'), topology names that prefix
# each other, and few addresses, so that names, pairs and addresses clash often.
HOSTS = ('a', 'b', 'c', 'a-b', 'b-c', 'd')
ADDRESSES = ('192.0.2.1', '192.0.2.2', '192.0.2.3', '192.0.2.4', '2001:db8::1', '2001:db8::2')
NETWORKS = ('10.0.0.0/8', '10.1.0.0/16', '10.1.1.0/24', '10.2.0.0/16', '0.0.0.0/0', '2001:db8:1::/48')


@st.composite
def clashing_inventories(draw):
    hosts = {}
    for index, name in enumerate(draw(st.lists(st.sampled_from(HOSTS), min_size=2, max_size=6, unique=True))):
        # Mostly an address and a network of its own, sometimes one another host has too.
        clash = draw(st.integers(0, 3)) == 0
        host = {'address': draw(st.sampled_from(ADDRESSES)) if clash else '198.18.0.%d' % (index + 1)}
        if draw(st.booleans()):
            host['subnets'] = (draw(st.lists(st.sampled_from(NETWORKS), max_size=2, unique=True)) if clash
                               else ['10.%d.0.0/16' % (100 + index)])
        if draw(st.integers(0, 4)) == 0:
            host['backend'] = 'racoon'
        hosts[name] = host
    names = sorted(hosts)
    topologies = []
    for _index in range(draw(st.integers(0, 3))):
        topology = {'name': draw(st.sampled_from(('core', 'core-a', 'edge', 'a'))),
                    'mode': draw(st.sampled_from(('tunnel', 'transport')))}
        if draw(st.booleans()):
            topology['type'] = 'mesh'
            topology['hosts'] = draw(st.lists(st.sampled_from(names), min_size=2, max_size=5, unique=True))
        else:
            topology['type'] = 'hub_and_spoke'
            topology['hubs'] = draw(st.lists(st.sampled_from(names), min_size=1, max_size=2, unique=True))
            topology['spokes'] = draw(st.lists(st.sampled_from(names + ['198.51.100.9']), min_size=1, max_size=4,
                                               unique=True))
        if draw(st.integers(0, 3)) == 0:
            topology['ike'] = {'version': 2}
        topologies.append(topology)
    tunnels = []
    for _index in range(draw(st.integers(0, 3))):
        left, right = draw(st.lists(st.sampled_from(names), min_size=2, max_size=2, unique=True))
        name = draw(st.sampled_from(('core-a-b', 'core-b-c', 'edge-a-b', 'x', 'core-a-b-c')))
        tunnels.append({'name': name, 'hosts': [left, right]})
    return {'hosts': hosts, 'topologies': topologies, 'tunnels': tunnels,
            'psk_master': 'expansion-test-master-0123456789'}


def _outcome(inventory):
    try:
        return 'plan', json.dumps(build_plan(inventory), sort_keys=False)
    except model.ModelError as exc:
        return 'errors', exc.errors


def _pair_by_pair(inventory):
    """The outcome with the fast path refused."""
    original = model._Expansion.__dict__['of']
    model._Expansion.of = classmethod(lambda cls, *args: None)
    try:
        return _outcome(inventory)
    finally:
        model._Expansion.of = original


def _same(inventory):
    fast = _outcome(inventory)
    assert fast == _pair_by_pair(inventory)
    return fast


@SETTINGS
@given(inventory=fleets())
def test_valid_fleets_plan_the_same(inventory):
    assert _same(inventory)[0] == 'plan'


@SETTINGS
@given(inventory=overlapping_fleets())
def test_overlapping_fleets_fail_or_plan_the_same(inventory):
    _same(inventory)


@SETTINGS
@given(inventory=clashing_inventories())
def test_clashing_names_pairs_and_addresses_give_the_same_errors(inventory):
    _same(inventory)


def test_the_fast_path_is_taken_for_a_plain_mesh(monkeypatch):
    taken = []
    original = model._Builder._expand

    def spy(self, expansion, pairs, settings):
        taken.append(expansion.prefix)
        return original(self, expansion, pairs, settings)
    monkeypatch.setattr(model._Builder, '_expand', spy)
    hosts = dict(('m%d' % i, {'address': '192.0.2.%d' % (i + 1)}) for i in range(5))
    plan = build_plan({'hosts': hosts, 'psk_master': 'expansion-test-master-0123456789',
                       'topologies': [{'name': 'core', 'type': 'mesh', 'hosts': sorted(hosts)}]})
    assert taken == ['core-']
    assert len(plan['tunnels']) == 10
