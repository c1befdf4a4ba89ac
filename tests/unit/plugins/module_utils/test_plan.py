# -*- coding: utf-8 -*-
# Copyright (c) 2026 fleet.ipsec contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Unit tests for plan.build_plan: the exact per-host slices the roles loop over."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import gc
import json

import pytest

from ansible_collections.fleet.ipsec.plugins.module_utils import model
from ansible_collections.fleet.ipsec.plugins.module_utils.model import ModelError, build_fleet
from ansible_collections.fleet.ipsec.plugins.module_utils.plan import PLAN_VERSION, build_plan, plan_fleet

MASTER = 'master-secret-0123456789-abcdef'

HOSTS = {
    'gluon': {'address': '192.0.2.10'},
    'mason': {'address': '198.51.100.1'},
    'quark': {'address': '192.0.2.20', 'subnets': ['10.2.0.0/24']},
    'boson': {'address': '192.0.2.30', 'subnets': ['10.3.0.0/24', '10.33.0.0/24']},
    'hadron': {'address': '192.0.2.40', 'subnets': ['10.4.0.0/24']},
    'lepton': {'address': '192.0.2.50', 'subnets': ['10.5.0.0/24']},
    'muon': {'address': '192.0.2.60', 'subnets': ['10.6.0.0/24']},
    'v6a': {'address': '2001:db8::a', 'subnets': ['2001:db8:a::/48'], 'backend': 'strongswan'},
    'v6b': {'address': '2001:db8::b', 'subnets': ['2001:db8:b::/48'], 'backend': 'racoon'},
}

IKE_DEFAULT = {'version': 1, 'exchange_mode': 'main', 'encryption': 'aes256', 'hash': 'sha256', 'dh_group': 14,
               'lifetime': 28800, 'dpd_delay': 10, 'dpd_retry': 5, 'dpd_maxfail': 3}
ESP_DEFAULT = {'encryption': 'aes256', 'integrity': 'sha256', 'pfs_group': 14, 'lifetime': 3600}
DERIVED = {'source': 'derived', 'generation': 1, 'origin': 'ipsec_tunnels'}

ARTICLE = {'name': 'gluon-mason', 'hosts': ['gluon', 'mason'], 'mode': 'tunnel',
           'selectors': {'gluon': ['192.0.2.10/32'], 'mason': ['0.0.0.0/0']}, 'level': 'require'}


def plan(tunnels=None, topologies=None, hosts=None, master=MASTER, defaults=None):
    inv = {'hosts': copy.deepcopy(HOSTS if hosts is None else hosts), 'tunnels': copy.deepcopy(tunnels or []),
           'topologies': copy.deepcopy(topologies or []), 'psk_master': master}
    if defaults is not None:
        inv['defaults'] = defaults
    result = build_plan(inv)
    # Whatever the plan is, it is plain JSON data.
    assert json.loads(json.dumps(result)) == result
    return result


def tunnel(name, a, b, **extra):
    result = {'name': name, 'hosts': [a, b]}
    result.update(extra)
    return result


def child(tunnel_name, index, local, remote, tunnel_out, tunnel_in, mode='tunnel', level='require'):
    def prefix(net):
        return int(net.rsplit('/', 1)[1])
    return {'tunnel': tunnel_name, 'name': '%s-%d' % (tunnel_name, index), 'local': local, 'remote': remote,
            'mode': mode, 'level': level, 'tunnel_out': tunnel_out, 'tunnel_in': tunnel_in,
            'precedence': prefix(local) + prefix(remote)}


def idle(addresses, subnets=(), backend='racoon'):
    """The slice of an inventory host no tunnel names (with no facts: taken for FreeBSD)."""
    return {'os_family': 'FreeBSD', 'backend': backend, 'addresses': list(addresses), 'subnets': list(subnets), 'peers': [], 'policies': []}


# Every inventory host has a slice; these are the slices of HOSTS' hosts when no tunnel names them.
IDLE = {
    'gluon': idle(['192.0.2.10']),
    'mason': idle(['198.51.100.1']),
    'quark': idle(['192.0.2.20'], ['10.2.0.0/24']),
    'boson': idle(['192.0.2.30'], ['10.3.0.0/24', '10.33.0.0/24']),
    'hadron': idle(['192.0.2.40'], ['10.4.0.0/24']),
    'lepton': idle(['192.0.2.50'], ['10.5.0.0/24']),
    'muon': idle(['192.0.2.60'], ['10.6.0.0/24']),
    'v6a': idle(['2001:db8::a'], ['2001:db8:a::/48'], 'strongswan'),
    'v6b': idle(['2001:db8::b'], ['2001:db8:b::/48'], 'racoon'),
}


def assert_idle_except(result, busy):
    """Every inventory host has a slice; those not in `busy` are exactly their idle slice."""
    assert sorted(result['hosts']) == sorted(HOSTS)
    for host in set(HOSTS) - set(busy):
        assert result['hosts'][host] == IDLE[host], host


def peer_of(slice_, tunnel_name):
    (peer,) = [p for p in slice_['peers'] if p['tunnel'] == tunnel_name]
    return peer


def policy_keys(slice_):
    return [(p['tunnel'], p['name']) for p in slice_['policies']]


# ---------------------------------------------------------------------------------------
# the article
# ---------------------------------------------------------------------------------------

def test_article_plan_exact():
    result = plan(tunnels=[ARTICLE])
    gluon_child = child('gluon-mason', 0, '192.0.2.10/32', '0.0.0.0/0',
                        '192.0.2.10-198.51.100.1', '198.51.100.1-192.0.2.10')
    mason_child = child('gluon-mason', 0, '0.0.0.0/0', '192.0.2.10/32',
                        '198.51.100.1-192.0.2.10', '192.0.2.10-198.51.100.1')
    assert gluon_child['precedence'] == 32
    assert result == {
        'version': 1,
        'tunnels': [{'name': 'gluon-mason', 'origin': 'ipsec_tunnels', 'hosts': ['gluon', 'mason'],
                     'mode': 'tunnel', 'level': 'require', 'family': 'ipv4', 'psk_ref': DERIVED}],
        'hosts': {
            'quark': {'os_family': 'FreeBSD', 'backend': 'racoon', 'addresses': ['192.0.2.20'], 'subnets': ['10.2.0.0/24'],
                      'peers': [], 'policies': []},
            'boson': {'os_family': 'FreeBSD', 'backend': 'racoon', 'addresses': ['192.0.2.30'], 'subnets': ['10.3.0.0/24', '10.33.0.0/24'],
                      'peers': [], 'policies': []},
            'hadron': {'os_family': 'FreeBSD', 'backend': 'racoon', 'addresses': ['192.0.2.40'], 'subnets': ['10.4.0.0/24'],
                       'peers': [], 'policies': []},
            'lepton': {'os_family': 'FreeBSD', 'backend': 'racoon', 'addresses': ['192.0.2.50'], 'subnets': ['10.5.0.0/24'],
                       'peers': [], 'policies': []},
            'muon': {'os_family': 'FreeBSD', 'backend': 'racoon', 'addresses': ['192.0.2.60'], 'subnets': ['10.6.0.0/24'],
                     'peers': [], 'policies': []},
            'v6a': {'os_family': 'FreeBSD', 'backend': 'strongswan', 'addresses': ['2001:db8::a'], 'subnets': ['2001:db8:a::/48'],
                    'peers': [], 'policies': []},
            'v6b': {'os_family': 'FreeBSD', 'backend': 'racoon', 'addresses': ['2001:db8::b'], 'subnets': ['2001:db8:b::/48'],
                    'peers': [], 'policies': []},
            'gluon': {
                'os_family': 'FreeBSD', 'backend': 'racoon', 'addresses': ['192.0.2.10'], 'subnets': [],
                'peers': [{'tunnel': 'gluon-mason', 'name': 'mason', 'address': '198.51.100.1',
                           'local_address': '192.0.2.10', 'mode': 'tunnel', 'ike': IKE_DEFAULT,
                           'esp': ESP_DEFAULT, 'psk_ref': DERIVED, 'children': [gluon_child], 'leads': True}],
                'policies': [gluon_child],
            },
            'mason': {
                'os_family': 'FreeBSD', 'backend': 'racoon', 'addresses': ['198.51.100.1'], 'subnets': [],
                'peers': [{'tunnel': 'gluon-mason', 'name': 'gluon', 'address': '192.0.2.10',
                           'local_address': '198.51.100.1', 'mode': 'tunnel', 'ike': IKE_DEFAULT,
                           'esp': ESP_DEFAULT, 'psk_ref': DERIVED, 'children': [mason_child], 'leads': False}],
                'policies': [mason_child],
            },
        },
        'management': [],
    }
    assert PLAN_VERSION == 1


def test_article_ike_esp_defaults_spelled_out():
    peer = plan(tunnels=[ARTICLE])['hosts']['gluon']['peers'][0]
    assert peer['ike']['encryption'] == 'aes256'       # AES-256
    assert peer['ike']['hash'] == 'sha256'             # SHA-256
    assert peer['ike']['dh_group'] == 14               # modp2048
    assert peer['esp']['pfs_group'] == 14              # PFS with modp2048
    assert peer['esp']['integrity'] == 'sha256'
    assert peer['ike']['version'] == 1 and peer['ike']['exchange_mode'] == 'main'
    assert peer['ike']['dpd_delay'] > 0                # DPD on by default (DESIGN: restarted peers)


def test_build_plan_equals_plan_fleet_of_build_fleet():
    inv = {'hosts': HOSTS, 'tunnels': [ARTICLE], 'psk_master': MASTER}
    assert build_plan(inv) == plan_fleet(build_fleet(inv))


# ---------------------------------------------------------------------------------------
# net-to-net, transport, IPv6
# ---------------------------------------------------------------------------------------

def test_net_to_net_with_subnet_defaults():
    result = plan(tunnels=[tunnel('boson-quark', 'boson', 'quark', level='unique')])
    out_b, out_q = '192.0.2.30-192.0.2.20', '192.0.2.20-192.0.2.30'
    boson, quark = result['hosts']['boson'], result['hosts']['quark']
    assert boson['subnets'] == ['10.3.0.0/24', '10.33.0.0/24']
    assert boson['peers'][0]['children'] == [
        child('boson-quark', 0, '10.3.0.0/24', '10.2.0.0/24', out_b, out_q, level='unique'),
        child('boson-quark', 1, '10.33.0.0/24', '10.2.0.0/24', out_b, out_q, level='unique'),
    ]
    assert quark['peers'][0]['children'] == [
        child('boson-quark', 0, '10.2.0.0/24', '10.3.0.0/24', out_q, out_b, level='unique'),
        child('boson-quark', 1, '10.2.0.0/24', '10.33.0.0/24', out_q, out_b, level='unique'),
    ]
    assert all(p['precedence'] == 48 for p in boson['policies'] + quark['policies'])
    assert boson['policies'] == boson['peers'][0]['children']
    assert quark['peers'][0]['address'] == '192.0.2.30'
    assert quark['peers'][0]['local_address'] == '192.0.2.20'


def test_child_names_follow_selector_product_order():
    result = plan(tunnels=[tunnel('bq', 'boson', 'quark', selectors={
        'boson': ['10.3.0.0/24', '10.33.0.0/24'], 'quark': ['10.2.0.0/24', '10.22.0.0/24', '10.222.0.0/24']})])
    children = result['hosts']['boson']['peers'][0]['children']
    assert [(c['name'], c['local'], c['remote']) for c in children] == [
        ('bq-0', '10.3.0.0/24', '10.2.0.0/24'), ('bq-1', '10.3.0.0/24', '10.22.0.0/24'),
        ('bq-2', '10.3.0.0/24', '10.222.0.0/24'), ('bq-3', '10.33.0.0/24', '10.2.0.0/24'),
        ('bq-4', '10.33.0.0/24', '10.22.0.0/24'), ('bq-5', '10.33.0.0/24', '10.222.0.0/24'),
    ]
    mirrored = result['hosts']['quark']['peers'][0]['children']
    assert [(c['name'], c['remote'], c['local']) for c in mirrored] == [
        (c['name'], c['local'], c['remote']) for c in children]


def test_transport_mode_defaults_to_endpoints():
    result = plan(tunnels=[tunnel('quark-boson', 'quark', 'boson', mode='transport')])
    assert result['tunnels'][0]['mode'] == 'transport'
    quark, boson = result['hosts']['quark'], result['hosts']['boson']
    assert quark['policies'] == [child('quark-boson', 0, '192.0.2.20/32', '192.0.2.30/32', '', '', mode='transport')]
    assert boson['policies'] == [child('quark-boson', 0, '192.0.2.30/32', '192.0.2.20/32', '', '', mode='transport')]
    assert quark['policies'][0]['precedence'] == 64
    assert quark['peers'][0]['mode'] == 'transport'


def test_ipv6_tunnel():
    result = plan(tunnels=[tunnel('v6', 'v6a', 'v6b')])
    (t,) = result['tunnels']
    assert t['family'] == 'ipv6'
    a, b = result['hosts']['v6a'], result['hosts']['v6b']
    assert a['backend'] == 'strongswan' and b['backend'] == 'racoon'
    assert a['addresses'] == ['2001:db8::a']
    assert a['policies'] == [child('v6', 0, '2001:db8:a::/48', '2001:db8:b::/48',
                                   '2001:db8::a-2001:db8::b', '2001:db8::b-2001:db8::a')]
    assert b['policies'] == [child('v6', 0, '2001:db8:b::/48', '2001:db8:a::/48',
                                   '2001:db8::b-2001:db8::a', '2001:db8::a-2001:db8::b')]
    assert a['policies'][0]['precedence'] == 96


def test_ipv6_transport_precedence():
    result = plan(tunnels=[tunnel('v6', 'v6a', 'v6b', mode='transport')])
    (p,) = result['hosts']['v6a']['policies']
    assert (p['local'], p['remote'], p['precedence'], p['tunnel_out']) == (
        '2001:db8::a/128', '2001:db8::b/128', 256, '')


# ---------------------------------------------------------------------------------------
# topologies
# ---------------------------------------------------------------------------------------

MESH_HOSTS = ['quark', 'boson', 'hadron', 'lepton']


def test_mesh_of_four():
    result = plan(topologies=[{'name': 'core', 'type': 'mesh', 'hosts': MESH_HOSTS, 'mode': 'transport'}])
    # The two host names of a mesh tunnel are in sorted order, not member order.
    assert [t['name'] for t in result['tunnels']] == [
        'core-boson-hadron', 'core-boson-lepton', 'core-boson-quark',
        'core-hadron-lepton', 'core-hadron-quark', 'core-lepton-quark']
    ref = {'source': 'derived', 'generation': 1, 'origin': 'topology:core'}
    for t in result['tunnels']:
        assert t['origin'] == 'topology:core' and t['mode'] == 'transport' and t['psk_ref'] == ref
        assert t['name'] == 'core-%s-%s' % tuple(t['hosts'])
        assert t['hosts'] == sorted(t['hosts'])
    assert_idle_except(result, MESH_HOSTS)
    for host in MESH_HOSTS:
        slice_ = result['hosts'][host]
        peers = slice_['peers']
        assert len(peers) == 3
        assert [p['tunnel'] for p in peers] == sorted(p['tunnel'] for p in peers)
        assert sorted(p['name'] for p in peers) == sorted(set(MESH_HOSTS) - {host})
        assert len(slice_['policies']) == 3
        for p in peers:
            (c,) = p['children']
            assert c['local'] == HOSTS[host]['address'] + '/32'
            assert c['remote'] == p['address'] + '/32'
            assert c['tunnel_out'] == c['tunnel_in'] == ''


@pytest.mark.parametrize('members', [
    ['boson', 'hadron', 'lepton', 'quark'],
    ['lepton', 'quark', 'boson', 'hadron'],
    ['quark', 'lepton', 'hadron', 'boson'],
])
def test_mesh_member_order_changes_nothing(members):
    # Reordering a group renames nothing (so re-keys nothing): the whole plan is the same data.
    expected = plan(topologies=[{'name': 'core', 'type': 'mesh', 'hosts': MESH_HOSTS}])
    assert plan(topologies=[{'name': 'core', 'type': 'mesh', 'hosts': members}]) == expected


def test_hub_and_spoke_two_hubs_three_spokes():
    hubs, spokes = ['quark', 'boson'], ['hadron', 'lepton', 'muon']
    result = plan(topologies=[{'name': 'br', 'type': 'hub_and_spoke', 'hubs': hubs, 'spokes': spokes,
                               'level': 'use'}])
    # Hub first, even where it sorts after the spoke (br-quark-hadron).
    assert [t['name'] for t in result['tunnels']] == sorted('br-%s-%s' % (h, s) for h in hubs for s in spokes)
    assert all(t['hosts'] == t['name'].split('-')[1:] for t in result['tunnels'])
    assert_idle_except(result, hubs + spokes)
    for hub in hubs:
        slice_ = result['hosts'][hub]
        assert sorted(p['name'] for p in slice_['peers']) == sorted(spokes)
        local_nets = set(HOSTS[hub]['subnets'])
        for p in slice_['peers']:
            assert {c['local'] for c in p['children']} == local_nets
            assert {c['remote'] for c in p['children']} == set(HOSTS[p['name']]['subnets'])
            for c in p['children']:
                assert c['level'] == 'use'
                assert c['tunnel_out'] == '%s-%s' % (HOSTS[hub]['address'], p['address'])
                assert c['tunnel_in'] == '%s-%s' % (p['address'], HOSTS[hub]['address'])
    for spoke in spokes:
        slice_ = result['hosts'][spoke]
        assert sorted(p['name'] for p in slice_['peers']) == sorted(hubs)
        # quark has one subnet, boson two: three children on every spoke.
        assert len(slice_['policies']) == 3
        assert all(p['precedence'] == 48 for p in slice_['policies'])


# ---------------------------------------------------------------------------------------
# peers outside the inventory
# ---------------------------------------------------------------------------------------

def test_external_peer_by_address():
    result = plan(tunnels=[tunnel('quark-ext', 'quark', '203.0.113.5')])
    # The outside peer has no slice; every inventory host has one.
    assert_idle_except(result, ['quark'])
    assert '203.0.113.5' not in result['hosts']
    assert result['tunnels'][0]['hosts'] == ['quark', '203.0.113.5']
    (peer,) = result['hosts']['quark']['peers']
    assert (peer['name'], peer['address'], peer['local_address']) == ('203.0.113.5', '203.0.113.5', '192.0.2.20')
    assert peer['children'] == [child('quark-ext', 0, '10.2.0.0/24', '203.0.113.5/32',
                                      '192.0.2.20-203.0.113.5', '203.0.113.5-192.0.2.20')]


def test_external_peer_by_mapping():
    result = plan(tunnels=[tunnel('ext-quark', {'name': 'office', 'address': '203.0.113.7',
                                                'subnets': ['172.16.0.0/16', '172.17.0.0/16']}, 'quark')])
    assert_idle_except(result, ['quark'])
    assert 'office' not in result['hosts']
    assert result['tunnels'][0]['hosts'] == ['office', 'quark']
    (peer,) = result['hosts']['quark']['peers']
    assert (peer['name'], peer['address']) == ('office', '203.0.113.7')
    # The external end is first in the tunnel, so its selectors drive the child order.
    assert peer['children'] == [
        child('ext-quark', 0, '10.2.0.0/24', '172.16.0.0/16', '192.0.2.20-203.0.113.7', '203.0.113.7-192.0.2.20'),
        child('ext-quark', 1, '10.2.0.0/24', '172.17.0.0/16', '192.0.2.20-203.0.113.7', '203.0.113.7-192.0.2.20'),
    ]


def test_external_peer_in_transport_mode():
    result = plan(tunnels=[tunnel('q-x', 'quark', {'name': 'office', 'address': '203.0.113.7',
                                                   'subnets': ['172.16.0.0/16']}, mode='transport')])
    (p,) = result['hosts']['quark']['policies']
    assert (p['local'], p['remote']) == ('192.0.2.20/32', '203.0.113.7/32')


# ---------------------------------------------------------------------------------------
# proposals
# ---------------------------------------------------------------------------------------

def test_proposal_overrides_reach_both_peers():
    result = plan(tunnels=[
        tunnel('qb', 'quark', 'boson', ike={'encryption': 'aes128', 'hash': 'sha512', 'dh_group': 'modp4096'},
               esp={'encryption': 'aes128', 'integrity': 'sha512', 'pfs_group': 'none'}),
        tunnel('qh', 'quark', 'hadron', ike={'dh_group': 16}, esp={'pfs_group': 16}),
    ])
    for host in ('quark', 'boson'):
        peer = peer_of(result['hosts'][host], 'qb')
        assert peer['ike'] == dict(IKE_DEFAULT, encryption='aes128', hash='sha512', dh_group=16)
        assert peer['esp'] == dict(ESP_DEFAULT, encryption='aes128', integrity='sha512', pfs_group=0)
    for host in ('quark', 'hadron'):
        peer = peer_of(result['hosts'][host], 'qh')
        assert peer['ike'] == dict(IKE_DEFAULT, dh_group=16)
        assert peer['esp'] == dict(ESP_DEFAULT, pfs_group=16)


def test_topology_proposals_in_every_peer():
    result = plan(topologies=[{'name': 'core', 'type': 'mesh', 'hosts': ['quark', 'boson', 'hadron'],
                               'esp': {'lifetime': 900}}])
    for slice_ in result['hosts'].values():
        for peer in slice_['peers']:
            assert peer['esp'] == dict(ESP_DEFAULT, lifetime=900)
            assert peer['ike'] == IKE_DEFAULT


# ---------------------------------------------------------------------------------------
# ordering: precedence, then tunnel name
# ---------------------------------------------------------------------------------------

def test_nested_selectors_more_specific_first():
    result = plan(tunnels=[ARTICLE, tunnel('gluon-quark', 'gluon', 'quark', mode='transport')])
    gluon = result['hosts']['gluon']
    assert [p['tunnel'] for p in gluon['peers']] == ['gluon-mason', 'gluon-quark']
    assert gluon['policies'] == [
        child('gluon-quark', 0, '192.0.2.10/32', '192.0.2.20/32', '', '', mode='transport'),
        child('gluon-mason', 0, '192.0.2.10/32', '0.0.0.0/0', '192.0.2.10-198.51.100.1', '198.51.100.1-192.0.2.10'),
    ]
    assert [p['precedence'] for p in gluon['policies']] == [64, 32]
    assert result['hosts']['quark']['policies'] == [
        child('gluon-quark', 0, '192.0.2.20/32', '192.0.2.10/32', '', '', mode='transport')]
    assert result['hosts']['mason']['policies'][0]['local'] == '0.0.0.0/0'


def test_nested_net_to_net_order():
    # mason: 10.9.0.0/16 -> 10.0.0.0/8 via quark (24) and -> 10.3.0.0/24 via boson (40)
    # and 10.9.1.0/24 -> 10.3.0.0/24 via hadron (48).
    result = plan(tunnels=[
        tunnel('a-wide', 'mason', 'quark', selectors={'mason': ['10.9.0.0/16'], 'quark': ['10.0.0.0/8']}),
        tunnel('b-mid', 'mason', 'boson', selectors={'mason': ['10.9.0.0/16'], 'boson': ['10.3.0.0/24']}),
        tunnel('c-narrow', 'mason', 'hadron', selectors={'mason': ['10.9.1.0/24'], 'hadron': ['10.3.0.0/24']}),
    ])
    mason = result['hosts']['mason']
    assert [(p['tunnel'], p['precedence']) for p in mason['policies']] == [
        ('c-narrow', 48), ('b-mid', 40), ('a-wide', 24)]


def test_equal_precedence_keeps_tunnel_name_order():
    result = plan(tunnels=[tunnel('zeta', 'quark', 'boson'), tunnel('alpha', 'quark', 'hadron'),
                           tunnel('mid', 'quark', 'lepton')])
    assert policy_keys(result['hosts']['quark']) == [
        ('alpha', 'alpha-0'), ('mid', 'mid-0'), ('zeta', 'zeta-0'), ('zeta', 'zeta-1')]
    assert [p['tunnel'] for p in result['hosts']['quark']['peers']] == ['alpha', 'mid', 'zeta']


def test_many_children_keep_index_order_within_a_tunnel():
    nets = ['10.%d.0.0/24' % i for i in range(100, 112)]
    result = plan(tunnels=[tunnel('t', 'quark', 'boson', selectors={'boson': nets})])
    names = [p['name'] for p in result['hosts']['quark']['policies']]
    assert names == ['t-%d' % i for i in range(12)]


def test_policies_sorted_by_precedence_descending_mixed():
    result = plan(tunnels=[
        ARTICLE,
        tunnel('gluon-quark', 'gluon', 'quark', selectors={'quark': ['10.2.0.0/24', '10.2.0.0/25', '10.2.0.128/26']}),
        tunnel('gluon-boson', 'gluon', 'boson', mode='transport'),
    ])
    precedences = [p['precedence'] for p in result['hosts']['gluon']['policies']]
    assert precedences == sorted(precedences, reverse=True)
    assert precedences == [64, 58, 57, 56, 32]


# ---------------------------------------------------------------------------------------
# structure
# ---------------------------------------------------------------------------------------

def test_policies_are_exactly_the_peers_children():
    result = plan(topologies=[{'name': 'br', 'type': 'hub_and_spoke', 'hubs': ['quark', 'boson'],
                               'spokes': ['hadron', 'lepton']}],
                  tunnels=[tunnel('q-m', 'quark', 'muon', mode='transport')])
    for slice_ in result['hosts'].values():
        from_peers = sorted(json.dumps(c, sort_keys=True) for p in slice_['peers'] for c in p['children'])
        assert sorted(json.dumps(c, sort_keys=True) for c in slice_['policies']) == from_peers


def test_every_peer_record_has_its_tunnel():
    result = plan(tunnels=[ARTICLE, tunnel('qb', 'quark', 'boson')],
                  topologies=[{'name': 'core', 'type': 'mesh', 'hosts': ['hadron', 'lepton', 'muon']}])
    tunnels = {t['name']: t for t in result['tunnels']}
    for host, slice_ in result['hosts'].items():
        for peer in slice_['peers']:
            t = tunnels[peer['tunnel']]
            assert host in t['hosts'] and peer['name'] in t['hosts']
            assert peer['psk_ref'] == t['psk_ref']
            assert peer['mode'] == t['mode']
            assert all(c['tunnel'] == peer['tunnel'] and c['name'].startswith(peer['tunnel'] + '-')
                       for c in peer['children'])


def test_plan_has_a_slice_for_every_inventory_host():
    hosts = dict(HOSTS, noaddr={}, nothing=None, blank={'address': '', 'subnets': ['10.9.0.0/24']})
    result = plan(hosts=hosts, tunnels=[tunnel('qb', 'quark', 'boson')])
    assert sorted(result['hosts']) == sorted(hosts)
    for host in set(HOSTS) - {'quark', 'boson'}:
        assert result['hosts'][host] == IDLE[host], host
    # A host without an address has a slice with no addresses (its subnets are not used either).
    for host in ('noaddr', 'nothing', 'blank'):
        assert result['hosts'][host] == idle([]), host
    assert [p['tunnel'] for p in result['hosts']['quark']['peers']] == ['qb']


def test_inventory_without_tunnels_gives_idle_slices():
    result = plan()
    assert result == {'version': 1, 'tunnels': [], 'hosts': IDLE, 'management': []}


def test_bad_address_on_a_host_no_tunnel_names_is_an_error():
    with pytest.raises(ModelError) as info:
        plan(hosts=dict(HOSTS, idle={'address': '192.0.2.300'}), tunnels=[tunnel('qb', 'quark', 'boson')])
    assert info.value.errors == ["host 'idle': ipsec_address: '192.0.2.300' is not an IP address"]


def test_empty_inventory_gives_empty_plan():
    assert build_plan({}) == {'version': 1, 'tunnels': [], 'hosts': {}, 'management': []}


# ---------------------------------------------------------------------------------------
# management networks (bypass policies ahead of every tunnel policy)
# ---------------------------------------------------------------------------------------

def test_management_networks_normalized_and_deduplicated():
    inv = {'hosts': HOSTS, 'tunnels': [ARTICLE], 'psk_master': MASTER,
           'management': ['10.0.0.0/8', '203.0.113.9', ' 10.0.0.0/8', '2001:db8::1', '203.0.113.9/32']}
    assert build_plan(inv)['management'] == ['10.0.0.0/8', '203.0.113.9/32', '2001:db8::1/128']


def test_management_single_string():
    # (Not 192.0.2.0/24: that would cover gluon, an end of the tunnel, and be refused.)
    inv = {'hosts': HOSTS, 'tunnels': [ARTICLE], 'psk_master': MASTER, 'management': '192.0.2.128/25'}
    assert build_plan(inv)['management'] == ['192.0.2.128/25']


def test_management_errors_collected_with_others():
    inv = {'hosts': HOSTS, 'tunnels': [tunnel('x', 'quark', 'quark')], 'psk_master': MASTER,
           'management': ['10.0.0.0/8', '10.0.0.1/8', 'controller']}
    with pytest.raises(ModelError) as info:
        build_plan(inv)
    assert info.value.errors == [
        "tunnel 'x': hosts: a tunnel from 'quark' to itself",
        "ipsec_management_networks[1]: '10.0.0.1/8' is not an IP network or address",
        "ipsec_management_networks[2]: 'controller' is not an IP network or address",
    ]


def test_management_selectors_standalone():
    from ansible_collections.fleet.ipsec.plugins.module_utils.model import management_selectors
    assert [s.text for s in management_selectors(['192.0.2.7', '10.0.0.0/8'])] == ['192.0.2.7/32', '10.0.0.0/8']
    assert management_selectors(None) == []
    with pytest.raises(ModelError) as info:
        management_selectors(['nope'])
    assert info.value.errors == ["ipsec_management_networks[0]: 'nope' is not an IP network or address"]


def test_build_plan_raises_model_error():
    with pytest.raises(ModelError):
        build_plan({'hosts': HOSTS, 'tunnels': [tunnel('x', 'quark', 'quark')], 'psk_master': MASTER})


def test_gc_restored_after_success_and_error():
    assert gc.isenabled()
    build_plan({'hosts': HOSTS, 'tunnels': [ARTICLE], 'psk_master': MASTER})
    assert gc.isenabled()
    with pytest.raises(ModelError):
        build_plan({'hosts': HOSTS, 'tunnels': [tunnel('x', 'quark', 'quark')], 'psk_master': MASTER})
    assert gc.isenabled()


def test_gc_left_disabled_when_caller_disabled_it():
    gc.disable()
    try:
        build_plan({'hosts': HOSTS, 'tunnels': [ARTICLE], 'psk_master': MASTER})
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_build_plan_does_not_mutate_inventory():
    inv = {'hosts': copy.deepcopy(HOSTS), 'tunnels': [copy.deepcopy(ARTICLE)], 'psk_master': MASTER,
           'topologies': [{'name': 'core', 'type': 'mesh', 'hosts': ['quark', 'boson'], 'ike': {'dh_group': '15'}}]}
    before = copy.deepcopy(inv)
    build_plan(inv)
    assert inv == before


def test_deterministic_json():
    inv = {'hosts': HOSTS, 'tunnels': [ARTICLE, tunnel('qb', 'quark', 'boson')], 'psk_master': MASTER,
           'topologies': [{'name': 'core', 'type': 'mesh', 'hosts': ['hadron', 'lepton', 'muon']}]}
    assert json.dumps(build_plan(inv), sort_keys=True) == json.dumps(build_plan(inv), sort_keys=True)


def test_generation_and_explicit_psk_in_psk_ref():
    result = plan(tunnels=[tunnel('qb', 'quark', 'boson', psk_generation=4),
                           tunnel('qh', 'quark', 'hadron', psk='an-explicit-psk-of-enough-length')])
    refs = {t['name']: t['psk_ref'] for t in result['tunnels']}
    assert refs['qb'] == {'source': 'derived', 'generation': 4, 'origin': 'ipsec_tunnels'}
    assert refs['qh'] == {'source': 'explicit', 'generation': 1, 'origin': 'ipsec_tunnels'}
    assert 'an-explicit-psk-of-enough-length' not in json.dumps(result)


# ---------------------------------------------------------------- platforms and integrity

LINUX_RACOON = {'address': '10.77.0.11', 'os_family': 'Debian', 'backend': 'racoon'}
LINUX_STRONGSWAN = {'address': '10.77.0.14', 'os_family': 'Debian'}
FREEBSD_RACOON = {'address': '198.51.100.1', 'os_family': 'FreeBSD'}
FREEBSD_STRONGSWAN = {'address': '198.51.100.2', 'os_family': 'FreeBSD', 'backend': 'strongswan'}


def pair_esp(a, b, **extra):
    """The ESP proposal each end of one tunnel between hosts a and b gets."""
    result = plan([tunnel('a-b', 'a', 'b', mode='transport', **extra)], hosts={'a': a, 'b': b})
    return [result['hosts'][h]['peers'][0]['esp'] for h in ('a', 'b')]


def test_os_family_picks_the_default_backend():
    result = plan(hosts={'bsd': FREEBSD_RACOON, 'linux': LINUX_STRONGSWAN, 'unknown': {'address': '192.0.2.1'},
                         'net': {'address': '192.0.2.2', 'os_family': 'NetBSD'}})
    platforms = dict((name, (host['os_family'], host['backend'])) for name, host in result['hosts'].items())
    assert platforms == {'bsd': ('FreeBSD', 'racoon'), 'linux': ('Debian', 'strongswan'),
                         'unknown': ('FreeBSD', 'racoon'), 'net': ('NetBSD', 'racoon')}


def test_each_host_platform_is_worked_out_once(monkeypatch):
    asked = []

    def counting(raw_host):
        asked.append(raw_host.get('address'))
        return original(raw_host)
    original = model.host_platform
    monkeypatch.setattr(model, 'host_platform', counting)
    result = plan([tunnel('a-b', 'a', 'b')], hosts={'a': LINUX_RACOON, 'b': FREEBSD_RACOON, 'idle': {}})
    assert sorted(asked, key=str) == sorted([LINUX_RACOON['address'], FREEBSD_RACOON['address'], None], key=str)
    # The one answer serves both the slice and the integrity choice.
    assert result['hosts']['a']['backend'] == 'racoon' and result['hosts']['idle']['backend'] == 'racoon'
    assert result['hosts']['a']['peers'][0]['esp']['integrity'] == 'sha512'


@pytest.mark.parametrize('a, b', [
    (LINUX_RACOON, dict(LINUX_RACOON, address='10.77.0.12')),     # both PF_KEY on Linux: 96 bits each
    (LINUX_STRONGSWAN, FREEBSD_RACOON),                             # 128 bits each
    (FREEBSD_RACOON, FREEBSD_STRONGSWAN),
])
def test_sha256_stays_where_both_ends_cut_it_alike(a, b):
    assert pair_esp(a, b) == [ESP_DEFAULT, ESP_DEFAULT]


@pytest.mark.parametrize('other', [LINUX_STRONGSWAN, FREEBSD_RACOON, FREEBSD_STRONGSWAN])
def test_sha256_becomes_sha512_between_linux_racoon_and_a_128_bit_end(other):
    # Measured in the lab: racoon on Linux against strongSwan agreed on SHA-256, then dropped
    # every packet (XfrmInStateProtoError); with SHA-512 the pair came up.
    widened = dict(ESP_DEFAULT, integrity='sha512')
    assert pair_esp(LINUX_RACOON, other) == [widened, widened]
    assert pair_esp(other, LINUX_RACOON) == [widened, widened]


def test_other_integrity_choices_are_kept_for_a_mixed_pair():
    for integrity in ('sha1', 'sha384', 'sha512'):
        esp = dict(ESP_DEFAULT, integrity=integrity)
        assert pair_esp(LINUX_RACOON, LINUX_STRONGSWAN, esp={'integrity': integrity}) == [esp, esp]


def test_widening_touches_only_the_mixed_pairs_of_a_topology():
    hosts = {'r1': LINUX_RACOON, 'r2': dict(LINUX_RACOON, address='10.77.0.12'), 's': LINUX_STRONGSWAN}
    result = plan(topologies=[{'name': 'm', 'type': 'mesh', 'hosts': ['r1', 'r2', 's'], 'mode': 'transport'}],
                  hosts=hosts)
    integrity = dict(((host, peer['tunnel']), peer['esp']['integrity'])
                     for host, slice_ in result['hosts'].items() for peer in slice_['peers'])
    assert integrity == {('r1', 'm-r1-r2'): 'sha256', ('r2', 'm-r1-r2'): 'sha256',
                         ('r1', 'm-r1-s'): 'sha512', ('s', 'm-r1-s'): 'sha512',
                         ('r2', 'm-r2-s'): 'sha512', ('s', 'm-r2-s'): 'sha512'}


def test_fingerprint_changes_with_settings_and_generation_only():
    from ansible_collections.fleet.ipsec.plugins.module_utils.plan import peer_fingerprint
    base = plan([ARTICLE])['hosts']['gluon']['peers'][0]
    fingerprint = peer_fingerprint(base)
    assert fingerprint.startswith('gluon-mason: ') and len(fingerprint.split(': ')[1]) == 16
    assert peer_fingerprint(copy.deepcopy(base)) == fingerprint
    for changed in (dict(ARTICLE, esp={'integrity': 'sha512'}), dict(ARTICLE, psk_generation=2),
                    dict(ARTICLE, mode='transport', selectors={})):
        assert peer_fingerprint(plan([changed])['hosts']['gluon']['peers'][0]) != fingerprint
    # A new master changes keys, not settings: rotate_keys.yml re-keys for that.
    assert peer_fingerprint(plan([ARTICLE], master='another-master-0123456789')['hosts']['gluon']['peers'][0]) \
        == fingerprint


def test_exactly_one_end_of_every_tunnel_leads():
    result = plan(tunnels=[ARTICLE, {'name': 'v6', 'hosts': ['v6b', 'v6a']}])
    for tunnel in result['tunnels']:
        leads = [peer['leads'] for host in tunnel['hosts'] for peer in result['hosts'][host]['peers']
                 if peer['tunnel'] == tunnel['name']]
        assert sorted(leads) == [False, True], tunnel['name']
        first = result['hosts'][tunnel['hosts'][0]]['peers']
        assert [peer['leads'] for peer in first if peer['tunnel'] == tunnel['name']] == [True]
