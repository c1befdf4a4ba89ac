# -*- coding: utf-8 -*-
# Copyright (c) 2026 fleet.ipsec contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Unit tests for model.build_fleet: what it accepts, what it rejects, and how it says so."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import re

import pytest

from ansible_collections.fleet.ipsec.plugins.module_utils import model
from ansible_collections.fleet.ipsec.plugins.module_utils.model import (
    DEFAULT_ESP,
    DEFAULT_IKE,
    ModelError,
    build_fleet,
    parse_address,
    parse_network,
)

MASTER = 'master-secret-0123456789-abcdef'
PSK = 'explicit-psk-value-0123456789'

HOSTS = {
    'gluon': {'address': '192.0.2.10'},
    'mason': {'address': '198.51.100.1', 'subnets': ['10.1.0.0/24']},
    'quark': {'address': '192.0.2.20', 'subnets': ['10.2.0.0/24']},
    'boson': {'address': '192.0.2.30', 'subnets': ['10.3.0.0/24']},
    'hadron': {'address': '192.0.2.40', 'subnets': ['10.4.0.0/24']},
    'v6a': {'address': '2001:db8::a', 'subnets': ['2001:db8:a::/48']},
    'v6b': {'address': '2001:db8::b', 'subnets': ['2001:db8:b::/48']},
    'noaddr': {},
    'racoonhost': {'address': '192.0.2.50', 'backend': 'racoon'},
    'swanhost': {'address': '192.0.2.60', 'backend': 'strongswan'},
    'swanhost2': {'address': '192.0.2.61', 'backend': 'strongswan'},
}

ARTICLE = {'name': 'gluon-mason', 'hosts': ['gluon', 'mason'], 'mode': 'tunnel',
           'selectors': {'gluon': ['192.0.2.10/32'], 'mason': ['0.0.0.0/0']}, 'level': 'require'}


def inventory(tunnels=None, topologies=None, hosts=None, master=MASTER, defaults=None):
    inv = {'hosts': copy.deepcopy(HOSTS if hosts is None else hosts),
           'tunnels': copy.deepcopy(tunnels or []),
           'topologies': copy.deepcopy(topologies or []),
           'psk_master': master}
    if defaults is not None:
        inv['defaults'] = defaults
    return inv


def fleet(**kwargs):
    return build_fleet(inventory(**kwargs))


def errors(**kwargs):
    with pytest.raises(ModelError) as info:
        build_fleet(inventory(**kwargs))
    errs = info.value.errors
    assert errs, 'ModelError without errors'
    assert str(info.value) == '\n'.join(errs)
    return errs


def one_error(**kwargs):
    errs = errors(**kwargs)
    assert len(errs) == 1, errs
    return errs[0]


def tunnel(name, a, b, **extra):
    result = {'name': name, 'hosts': [a, b]}
    result.update(extra)
    return result


def by_name(f):
    return dict((t.name, t) for t in f.tunnels)


def texts(selectors):
    return [s.text for s in selectors]


# ---------------------------------------------------------------------------------------
# parsing helpers
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize('text, expected', [
    ('192.0.2.1', ('192.0.2.1', 4)),
    (' 192.0.2.1 ', ('192.0.2.1', 4)),
    ('2001:DB8:0::1', ('2001:db8::1', 6)),
    ('2001:0db8:0000:0000:0000:0000:0000:0001', ('2001:db8::1', 6)),
])
def test_parse_address_normalizes(text, expected):
    assert parse_address(text) == expected


@pytest.mark.parametrize('text', ['192.0.2.300', 'gluon', '', '192.0.2.0/24', None, 42, '1.2.3',
                                  'fe80::1%eth0', ['192.0.2.1'], {'address': '192.0.2.1'}])
def test_parse_address_rejects(text):
    assert parse_address(text) is None


@pytest.mark.parametrize('text, expected, prefix', [
    ('10.0.0.0/8', '10.0.0.0/8', 8),
    ('192.0.2.10', '192.0.2.10/32', 32),
    ('0.0.0.0/0', '0.0.0.0/0', 0),
    ('2001:db8::/32', '2001:db8::/32', 32),
    ('::/0', '::/0', 0),
    ('2001:db8::1', '2001:db8::1/128', 128),
])
def test_parse_network(text, expected, prefix):
    selector = parse_network(text)
    assert selector.text == expected
    assert selector.prefixlen == prefix


@pytest.mark.parametrize('text', ['10.0.0.1/8', '10.0.0.300/32', '10.0.0.0/33', 'any', '', None,
                                  '2001:db8::1/64', 'fe80::1%eth0', 'fe80::/64%eth0', ['10.0.0.0/8'],
                                  {'net': '10.0.0.0/8'}])
def test_parse_network_rejects_garbage_and_host_bits(text):
    assert parse_network(text) is None


def test_selector_contains():
    wide, narrow, other = parse_network('10.0.0.0/8'), parse_network('10.1.0.0/16'), parse_network('11.0.0.0/8')
    assert wide.contains(narrow)
    assert wide.contains(wide)
    assert not narrow.contains(wide)
    assert not wide.contains(other)
    assert not parse_network('::/0').contains(parse_network('10.0.0.0/8'))


# ---------------------------------------------------------------------------------------
# good inputs (the plan-level shape is in test_plan.py)
# ---------------------------------------------------------------------------------------

def test_article_case_builds_one_tunnel():
    f = fleet(tunnels=[ARTICLE])
    # Every inventory host with an address is an endpoint, tunnel or not: 11 hosts, 'noaddr' has none.
    assert repr(f) == 'Fleet(10 endpoints, 1 tunnels)'
    (t,) = f.tunnels
    assert t.name == 'gluon-mason'
    assert t.origin == 'ipsec_tunnels'
    assert [e.name for e in t.ends] == ['gluon', 'mason']
    assert (t.mode, t.level, t.version, t.family) == ('tunnel', 'require', 4, 'ipv4')
    assert [texts(s) for s in t.selectors] == [['192.0.2.10/32'], ['0.0.0.0/0']]
    assert t.ike == DEFAULT_IKE
    assert t.esp == DEFAULT_ESP
    assert t.psk_ref == {'source': 'derived', 'generation': 1, 'origin': 'ipsec_tunnels'}
    assert repr(t) == "Tunnel('gluon-mason', gluon<->mason)"
    assert t.ends == (f.endpoints['gluon'], f.endpoints['mason'])
    assert sorted(f.endpoints) == sorted(set(HOSTS) - {'noaddr'})
    assert all(e.in_inventory for e in f.endpoints.values())
    assert f.hosts == sorted(HOSTS)


def test_safe_defaults():
    assert DEFAULT_IKE['encryption'] == 'aes256'
    assert DEFAULT_IKE['hash'] == 'sha256'
    assert DEFAULT_IKE['dh_group'] == 14
    assert DEFAULT_IKE['version'] == 1
    assert DEFAULT_IKE['exchange_mode'] == 'main'
    assert DEFAULT_IKE['dpd_delay'] > 0
    assert DEFAULT_ESP == {'encryption': 'aes256', 'integrity': 'sha256', 'pfs_group': 14, 'lifetime': 3600}


def test_tunnel_defaults_mode_and_level():
    (t,) = fleet(tunnels=[tunnel('qm', 'quark', 'mason')]).tunnels
    assert (t.mode, t.level) == ('tunnel', 'require')


def test_defaults_level_and_generation_apply():
    (t,) = fleet(tunnels=[tunnel('qm', 'quark', 'mason')],
                 defaults={'level': 'unique', 'psk_generation': 3}).tunnels
    assert t.level == 'unique'
    assert t.psk_ref['generation'] == 3


def test_net_to_net_uses_subnets():
    (t,) = fleet(tunnels=[tunnel('quark-mason', 'quark', 'mason')]).tunnels
    assert [texts(s) for s in t.selectors] == [['10.2.0.0/24'], ['10.1.0.0/24']]


def test_tunnel_mode_without_subnets_uses_own_address():
    (t,) = fleet(tunnels=[tunnel('gluon-quark', 'gluon', 'quark')]).tunnels
    assert [texts(s) for s in t.selectors] == [['192.0.2.10/32'], ['10.2.0.0/24']]


def test_transport_mode_defaults_to_endpoints():
    (t,) = fleet(tunnels=[tunnel('quark-mason', 'quark', 'mason', mode='transport')]).tunnels
    assert t.mode == 'transport'
    assert [texts(s) for s in t.selectors] == [['192.0.2.20/32'], ['198.51.100.1/32']]


def test_transport_mode_accepts_explicit_endpoint_selectors():
    (t,) = fleet(tunnels=[tunnel('qm', 'quark', 'mason', mode='transport',
                                 selectors={'quark': ['192.0.2.20/32'], 'mason': ['198.51.100.1']})]).tunnels
    assert [texts(s) for s in t.selectors] == [['192.0.2.20/32'], ['198.51.100.1/32']]


def test_ipv6_tunnel():
    (t,) = fleet(tunnels=[tunnel('v6', 'v6a', 'v6b')]).tunnels
    assert t.version == 6 and t.family == 'ipv6'
    assert [texts(s) for s in t.selectors] == [['2001:db8:a::/48'], ['2001:db8:b::/48']]


def test_ipv6_transport():
    (t,) = fleet(tunnels=[tunnel('v6', 'v6a', 'v6b', mode='transport')]).tunnels
    assert [texts(s) for s in t.selectors] == [['2001:db8::a/128'], ['2001:db8::b/128']]


def test_selectors_keyed_by_end_address():
    (t,) = fleet(tunnels=[tunnel('qm', 'quark', 'mason', selectors={'198.51.100.1': ['10.9.0.0/16']})]).tunnels
    assert [texts(s) for s in t.selectors] == [['10.2.0.0/24'], ['10.9.0.0/16']]


def test_selector_given_as_single_string():
    (t,) = fleet(tunnels=[tunnel('qm', 'quark', 'mason', selectors={'mason': '10.9.0.0/16'})]).tunnels
    assert texts(t.selectors[1]) == ['10.9.0.0/16']


def test_dual_stack_subnets_filtered_by_family():
    hosts = {'a': {'address': '192.0.2.1', 'subnets': ['10.1.0.0/24', '2001:db8:1::/64']},
             'b': {'address': '192.0.2.2'}}
    (t,) = fleet(hosts=hosts, tunnels=[tunnel('ab', 'a', 'b')]).tunnels
    assert texts(t.selectors[0]) == ['10.1.0.0/24']


def test_mesh_of_four():
    f = fleet(topologies=[{'name': 'core', 'type': 'mesh', 'hosts': ['gluon', 'quark', 'boson', 'hadron'],
                           'mode': 'transport'}])
    # Mesh names put the two host names in sorted order, whatever the member order.
    assert [t.name for t in f.tunnels] == [
        'core-boson-gluon', 'core-boson-hadron', 'core-boson-quark',
        'core-gluon-hadron', 'core-gluon-quark', 'core-hadron-quark']
    for t in f.tunnels:
        assert t.origin == 'topology:core'
        assert t.mode == 'transport'
        assert t.psk_ref == {'source': 'derived', 'generation': 1, 'origin': 'topology:core'}
        left, right = t.name.split('-')[1:]
        assert left < right
        assert [e.name for e in t.ends] == [left, right]


@pytest.mark.parametrize('members', [
    ['gluon', 'quark', 'boson', 'hadron'],
    ['hadron', 'boson', 'quark', 'gluon'],
    ['quark', 'hadron', 'gluon', 'boson'],
])
def test_mesh_member_order_renames_nothing(members):
    f = fleet(topologies=[{'name': 'core', 'type': 'mesh', 'hosts': members}])
    assert [(t.name, [e.name for e in t.ends], [texts(s) for s in t.selectors]) for t in f.tunnels] == [
        ('core-boson-gluon', ['boson', 'gluon'], [['10.3.0.0/24'], ['192.0.2.10/32']]),
        ('core-boson-hadron', ['boson', 'hadron'], [['10.3.0.0/24'], ['10.4.0.0/24']]),
        ('core-boson-quark', ['boson', 'quark'], [['10.3.0.0/24'], ['10.2.0.0/24']]),
        ('core-gluon-hadron', ['gluon', 'hadron'], [['192.0.2.10/32'], ['10.4.0.0/24']]),
        ('core-gluon-quark', ['gluon', 'quark'], [['192.0.2.10/32'], ['10.2.0.0/24']]),
        ('core-hadron-quark', ['hadron', 'quark'], [['10.4.0.0/24'], ['10.2.0.0/24']]),
    ]


def test_hub_and_spoke_names_keep_the_hub_first():
    # Unlike a mesh, the hub comes first even when it sorts after the spoke.
    f = fleet(topologies=[{'name': 'br', 'type': 'hub_and_spoke', 'hubs': ['quark'], 'spokes': ['mason', 'boson']}])
    assert [(t.name, [e.name for e in t.ends]) for t in f.tunnels] == [
        ('br-quark-boson', ['quark', 'boson']), ('br-quark-mason', ['quark', 'mason'])]


def test_hub_and_spoke_two_hubs_three_spokes():
    f = fleet(hosts=dict(HOSTS, s3={'address': '192.0.2.70', 'subnets': ['10.7.0.0/24']}),
              topologies=[{'name': 'br', 'type': 'hub_and_spoke', 'hubs': ['mason', 'quark'],
                           'spokes': ['boson', 'hadron', 's3'], 'level': 'unique'}])
    names = [t.name for t in f.tunnels]
    assert names == sorted('br-%s-%s' % (h, s) for h in ('mason', 'quark') for s in ('boson', 'hadron', 's3'))
    for t in f.tunnels:
        assert t.ends[0].name in ('mason', 'quark')
        assert t.ends[1].name in ('boson', 'hadron', 's3')
        assert t.level == 'unique' and t.mode == 'tunnel'
        assert texts(t.selectors[0]) == list(HOSTS[t.ends[0].name]['subnets'])


def test_topology_proposals_and_explicit_psk():
    f = fleet(topologies=[{'name': 'core', 'type': 'mesh', 'hosts': ['quark', 'boson'],
                           'ike': {'encryption': 'aes128'}, 'esp': {'pfs_group': 'modp3072'},
                           'psk': PSK, 'psk_generation': 2}], master=None)
    (t,) = f.tunnels
    assert t.ike['encryption'] == 'aes128'
    assert t.esp['pfs_group'] == 15
    assert t.psk_ref == {'source': 'explicit', 'generation': 2, 'origin': 'topology:core'}


def test_peer_outside_inventory_by_address():
    f = fleet(tunnels=[tunnel('gluon-ext', 'gluon', '203.0.113.5')])
    (t,) = f.tunnels
    ext = t.ends[1]
    assert (ext.name, ext.address, ext.in_inventory, ext.version) == ('203.0.113.5', '203.0.113.5', False, 4)
    assert texts(t.selectors[1]) == ['203.0.113.5/32']
    assert repr(ext) == "Endpoint('203.0.113.5', '203.0.113.5')"


def test_peer_outside_inventory_by_address_normalized_ipv6():
    (t,) = fleet(tunnels=[tunnel('v6-ext', 'v6a', '2001:0db8:0:0::99')]).tunnels
    assert t.ends[1].name == '2001:db8::99'


def test_peer_outside_inventory_by_mapping():
    office_peer = {'name': 'office', 'address': '203.0.113.7', 'subnets': ['172.16.0.0/16']}
    f = fleet(tunnels=[tunnel('mason-office', 'mason', office_peer)])
    (t,) = f.tunnels
    office = t.ends[1]
    assert (office.name, office.address, office.in_inventory) == ('office', '203.0.113.7', False)
    assert texts(t.selectors[1]) == ['172.16.0.0/16']
    assert f.endpoints['office'] is office


def test_peer_mapping_without_name_uses_address():
    (t,) = fleet(tunnels=[tunnel('m-x', 'mason', {'address': '203.0.113.7'})]).tunnels
    assert t.ends[1].name == '203.0.113.7'


def test_external_peer_shared_between_tunnels():
    f = fleet(tunnels=[tunnel('m-x', 'mason', '203.0.113.7'), tunnel('q-x', 'quark', '203.0.113.7')])
    ends = [t.ends[1] for t in f.tunnels]
    assert ends[0] is ends[1]


@pytest.mark.parametrize('ike, esp, expect_ike, expect_esp', [
    ({'encryption': 'aes128'}, {}, {'encryption': 'aes128'}, {}),
    ({'hash': 'sha512'}, {'integrity': 'sha512'}, {'hash': 'sha512'}, {'integrity': 'sha512'}),
    ({'dh_group': 'modp4096'}, {'pfs_group': 'modp4096'}, {'dh_group': 16}, {'pfs_group': 16}),
    ({'dh_group': 16}, {'pfs_group': 16}, {'dh_group': 16}, {'pfs_group': 16}),
    ({'dh_group': '16'}, {'pfs_group': 'MODP4096'}, {'dh_group': 16}, {'pfs_group': 16}),
    ({'dh_group': 'modp8192'}, {'pfs_group': 18}, {'dh_group': 18}, {'pfs_group': 18}),
    ({}, {'pfs_group': 'none'}, {}, {'pfs_group': 0}),
    ({}, {'pfs_group': None}, {}, {'pfs_group': 0}),
    ({}, {'pfs_group': False}, {}, {'pfs_group': 0}),
    ({'lifetime': 3600, 'dpd_delay': '30'}, {'lifetime': '600'}, {'lifetime': 3600, 'dpd_delay': 30},
     {'lifetime': 600}),
    ({'version': 2}, {}, {'version': 2}, {}),
    ({'exchange_mode': 'main'}, {}, {}, {}),
    ({'encryption': 'aes192', 'hash': 'sha384'}, {'encryption': 'aes192', 'integrity': 'sha1'},
     {'encryption': 'aes192', 'hash': 'sha384'}, {'encryption': 'aes192', 'integrity': 'sha1'}),
])
def test_proposal_overrides(ike, esp, expect_ike, expect_esp):
    (t,) = fleet(tunnels=[tunnel('qm', 'quark', 'mason', ike=ike, esp=esp)]).tunnels
    assert t.ike == dict(DEFAULT_IKE, **expect_ike)
    assert t.esp == dict(DEFAULT_ESP, **expect_esp)


def test_proposal_overrides_are_per_tunnel():
    f = fleet(tunnels=[tunnel('qm', 'quark', 'mason', ike={'encryption': 'aes128'}),
                       tunnel('bm', 'boson', 'mason')])
    t = by_name(f)
    assert t['qm'].ike['encryption'] == 'aes128'
    assert t['bm'].ike['encryption'] == 'aes256'


def test_inventory_defaults_for_proposals():
    (t,) = fleet(tunnels=[tunnel('qm', 'quark', 'mason', esp={'integrity': 'sha384'})],
                 defaults={'ike': {'dh_group': 'modp3072'}, 'esp': {'pfs_group': 16}}).tunnels
    assert t.ike['dh_group'] == 15
    assert t.esp == dict(DEFAULT_ESP, pfs_group=16, integrity='sha384')


def test_module_defaults_are_not_mutated():
    before_ike, before_esp = dict(DEFAULT_IKE), dict(DEFAULT_ESP)
    f = fleet(tunnels=[tunnel('qm', 'quark', 'mason')])
    f.tunnels[0].ike['encryption'] = 'mutated'
    f.tunnels[0].esp['pfs_group'] = 99
    assert DEFAULT_IKE == before_ike and DEFAULT_ESP == before_esp
    (t,) = fleet(tunnels=[tunnel('qm', 'quark', 'mason')]).tunnels
    assert t.ike == before_ike and t.esp == before_esp


def test_ikev2_between_strongswan_hosts():
    (t,) = fleet(tunnels=[tunnel('ss', 'swanhost', 'swanhost2', ike={'version': 2})]).tunnels
    assert t.ike['version'] == 2


def test_ikev1_racoon_with_strongswan():
    (t,) = fleet(tunnels=[tunnel('rs', 'racoonhost', 'swanhost')]).tunnels
    assert [e.backend for e in t.ends] == ['racoon', 'strongswan']


def test_nested_selectors_accepted_and_ordered():
    f = fleet(tunnels=[ARTICLE, tunnel('gluon-quark', 'gluon', 'quark', mode='transport')])
    t = by_name(f)
    assert texts(t['gluon-quark'].selectors[0]) == ['192.0.2.10/32']
    assert texts(t['gluon-quark'].selectors[1]) == ['192.0.2.20/32']


def test_nested_selectors_net_to_net_accepted():
    # On mason: 10.1.0.0/24 -> 10.0.0.0/8 via quark and 10.1.0.0/24 -> 10.3.0.0/24 via boson (nested
    # remotes); 10.1.0.0/25 -> 10.3.0.0/24 is nested inside 10.1.0.0/24 -> 10.0.0.0/8 as well.
    f = fleet(tunnels=[
        tunnel('mq', 'mason', 'quark', selectors={'quark': ['10.0.0.0/8']}),
        tunnel('mb', 'mason', 'boson', selectors={'boson': ['10.3.0.0/24']}),
        tunnel('mh', 'mason', 'hadron', selectors={'mason': ['10.1.0.0/25'], 'hadron': ['10.3.0.0/24']}),
    ])
    assert len(f.tunnels) == 3


def test_same_selectors_on_different_hosts_are_fine():
    # 0.0.0.0/0 behind mason for two clients: each client's host owns its own pair.
    f = fleet(tunnels=[ARTICLE, tunnel('quark-mason', 'quark', 'mason',
                                       selectors={'quark': ['192.0.2.20/32'], 'mason': ['0.0.0.0/0']})])
    assert len(f.tunnels) == 2


def test_tunnels_sorted_by_name():
    f = fleet(tunnels=[tunnel('zz', 'quark', 'mason'), tunnel('aa', 'boson', 'mason'),
                       tunnel('mm', 'hadron', 'mason')])
    assert [t.name for t in f.tunnels] == ['aa', 'mm', 'zz']


def test_hosts_may_be_none_values():
    hosts = dict(HOSTS, unused=None)
    f = fleet(hosts=hosts, tunnels=[tunnel('qm', 'quark', 'mason')])
    assert len(f.tunnels) == 1
    assert 'unused' in f.hosts and 'unused' not in f.endpoints


def test_empty_inventory_is_an_empty_fleet():
    f = build_fleet({})
    assert f.tunnels == [] and f.endpoints == {} and list(f.hosts) == []
    assert repr(f) == 'Fleet(0 endpoints, 0 tunnels)'


def test_every_inventory_host_is_listed_and_an_endpoint_without_tunnels():
    f = fleet(tunnels=[tunnel('qm', 'quark', 'mason')])
    assert f.hosts == sorted(HOSTS)
    assert sorted(f.endpoints) == sorted(set(HOSTS) - {'noaddr'})
    # Hosts no tunnel names are endpoints too, with their own address, subnets and backend.
    idle = f.endpoints['racoonhost']
    assert (idle.name, idle.address, idle.version, idle.subnets, idle.backend, idle.in_inventory) == (
        'racoonhost', '192.0.2.50', 4, (), 'racoon', True)
    assert texts(f.endpoints['v6b'].subnets) == ['2001:db8:b::/48']


def test_inventory_without_tunnels():
    f = fleet()
    assert f.tunnels == []
    assert f.hosts == sorted(HOSTS)
    assert repr(f) == 'Fleet(10 endpoints, 0 tunnels)'


# ---------------------------------------------------------------------------------------
# bad inputs
# ---------------------------------------------------------------------------------------

def test_unparsable_selector_message():
    err = one_error(tunnels=[dict(ARTICLE, selectors={'gluon': ['192.0.2.10/32'], 'mason': ['10.0.0.300/32']})])
    assert err == "tunnel 'gluon-mason': selectors.mason[0]: '10.0.0.300/32' is not an IP network"


def test_selector_host_bits_set():
    err = one_error(tunnels=[tunnel('qm', 'quark', 'mason', selectors={'quark': ['10.2.0.0/24', '10.1.0.1/24']})])
    assert err == "tunnel 'qm': selectors.quark[1]: '10.1.0.1/24' is not an IP network"


def test_selector_listed_twice():
    err = one_error(tunnels=[tunnel('qm', 'quark', 'mason', selectors={'quark': ['10.2.0.0/24', '10.2.0.0/24 ']})])
    assert err.startswith("tunnel 'qm': selectors.quark[1]: ") and 'twice' in err


def test_unparsable_host_address():
    hosts = dict(HOSTS, bad={'address': '192.0.2.256'})
    err = one_error(hosts=hosts, tunnels=[tunnel('bm', 'bad', 'mason')])
    assert err == "host 'bad': ipsec_address: '192.0.2.256' is not an IP address"


def test_unparsable_and_host_bits_in_subnets():
    hosts = dict(HOSTS, bad={'address': '192.0.2.99', 'subnets': ['10.9.0.0/24', '10.9.1.1/24', 'lan']})
    errs = errors(hosts=hosts, tunnels=[tunnel('bm', 'bad', 'mason')])
    assert errs == ["host 'bad': ipsec_subnets[1]: '10.9.1.1/24' is not an IP network",
                    "host 'bad': ipsec_subnets[2]: 'lan' is not an IP network"]


def test_bad_host_address_on_a_host_no_tunnel_names():
    hosts = dict(HOSTS, idle={'address': '192.0.2.256'}, idle2={'address': '192.0.2.98', 'subnets': ['lan']})
    errs = errors(hosts=hosts, tunnels=[tunnel('qm', 'quark', 'mason')])
    assert errs == ["host 'idle': ipsec_address: '192.0.2.256' is not an IP address",
                    "host 'idle2': ipsec_subnets[0]: 'lan' is not an IP network"]


def test_bad_host_address_reported_once_for_many_tunnels():
    hosts = dict(HOSTS, bad={'address': 'nope'})
    errs = errors(hosts=hosts, tunnels=[tunnel('bm', 'bad', 'mason'), tunnel('bq', 'bad', 'quark')])
    assert errs == ["host 'bad': ipsec_address: 'nope' is not an IP address"]


def test_unknown_backend():
    hosts = dict(HOSTS, odd={'address': '192.0.2.99', 'backend': 'libreswan'})
    err = one_error(hosts=hosts, tunnels=[tunnel('om', 'odd', 'mason')])
    assert err.startswith("host 'odd': ipsec_backend: 'libreswan' is not a backend")


def test_mixed_families_endpoints():
    err = one_error(tunnels=[tunnel('mixed', 'quark', 'v6a')])
    assert err == "tunnel 'mixed': hosts: 'quark' is IPv4 and 'v6a' is IPv6 (one address family per tunnel)"


def test_mixed_families_external_peer():
    err = one_error(tunnels=[tunnel('mixed', 'quark', '2001:db8::99')])
    assert err.startswith("tunnel 'mixed': hosts: ") and 'IPv6' in err


def test_mixed_families_selector_vs_endpoints():
    err = one_error(tunnels=[tunnel('qm', 'quark', 'mason', selectors={'mason': ['2001:db8::/32']})])
    assert err == ("tunnel 'qm': selectors.mason[0]: '2001:db8::/32' is IPv6 but the tunnel's endpoints "
                   "are IPv4 (one address family per tunnel)")


def test_mixed_families_selector_in_ipv6_tunnel():
    err = one_error(tunnels=[tunnel('v6', 'v6a', 'v6b', selectors={'v6a': ['10.0.0.0/8']})])
    assert err.startswith("tunnel 'v6': selectors.v6a[0]: '10.0.0.0/8' is IPv4")


def test_tunnel_to_itself_by_name():
    err = one_error(tunnels=[tunnel('self', 'quark', 'quark')])
    assert err == "tunnel 'self': hosts: a tunnel from 'quark' to itself"


def test_tunnel_to_itself_by_own_address():
    err = one_error(tunnels=[tunnel('self', 'quark', '192.0.2.20')])
    assert err.startswith("tunnel 'self': hosts: a tunnel from ") and 'itself' in err


def test_tunnel_between_hosts_sharing_an_address():
    hosts = dict(HOSTS, twin={'address': '192.0.2.20'})
    err = one_error(hosts=hosts, tunnels=[tunnel('tw', 'quark', 'twin')])
    assert err.startswith("tunnel 'tw': hosts: ") and 'itself' in err


def test_host_neither_in_inventory_nor_address():
    err = one_error(tunnels=[tunnel('gx', 'gluon', 'nosuchhost')])
    assert err == "tunnel 'gx': hosts[1]: host 'nosuchhost' is neither in the inventory nor given an address"


def test_host_in_inventory_without_address():
    err = one_error(tunnels=[tunnel('gn', 'noaddr', 'gluon')])
    assert err == "tunnel 'gn': hosts[0]: host 'noaddr' has no ipsec_address (and no default address was found)"


def test_host_with_none_hostvars_and_empty_address():
    hosts = dict(HOSTS, nothing=None, empty={'address': ''})
    errs = errors(hosts=hosts, tunnels=[tunnel('a', 'nothing', 'gluon'), tunnel('b', 'empty', 'mason')])
    assert len(errs) == 2
    assert errs[0].startswith("tunnel 'a': hosts[0]: host 'nothing' has no ipsec_address")
    assert errs[1].startswith("tunnel 'b': hosts[0]: host 'empty' has no ipsec_address")


def test_topology_member_without_address():
    err = one_error(topologies=[{'name': 'core', 'type': 'mesh', 'hosts': ['quark', 'noaddr', 'boson']}])
    assert err == "topology 'core': hosts[1]: host 'noaddr' has no ipsec_address (and no default address was found)"


def test_end_not_a_string():
    err = one_error(tunnels=[tunnel('gx', 'gluon', 42)])
    assert err == "tunnel 'gx': hosts[1]: 42 is not a host name or address"


@pytest.mark.parametrize('hosts', [['gluon'], ['gluon', 'mason', 'quark'], 'gluon', None])
def test_hosts_must_be_two_ends(hosts):
    raw = {'name': 'bad', 'hosts': hosts}
    if hosts is None:
        del raw['hosts']
    err = one_error(tunnels=[raw])
    assert err.startswith("tunnel 'bad': hosts: must list exactly two ends")


def test_peer_mapping_unknown_field():
    err = one_error(tunnels=[tunnel('mx', 'mason', {'name': 'x', 'address': '203.0.113.9', 'psk': PSK})])
    assert err.startswith("tunnel 'mx': hosts[1]: unknown field(s) psk")
    assert PSK not in err


def test_peer_mapping_naming_an_inventory_host():
    err = one_error(tunnels=[tunnel('mx', 'mason', {'name': 'quark', 'address': '203.0.113.9'})])
    assert err.startswith("tunnel 'mx': hosts[1]: 'quark' is an inventory host")


def test_peer_mapping_without_address():
    err = one_error(tunnels=[tunnel('mx', 'mason', {'name': 'office'})])
    assert err == "tunnel 'mx': hosts[1]: peer 'office' outside the inventory needs an address"


def test_peer_mapping_bad_address_names_tunnel():
    err = one_error(tunnels=[tunnel('mx', 'mason', {'name': 'office', 'address': '203.0.113.999'})])
    assert err == "tunnel 'mx': hosts[1].address: '203.0.113.999' is not an IP address"


def test_peer_mapping_bad_subnets_name_tunnel():
    errs = errors(tunnels=[tunnel('mx', {'name': 'office', 'address': '203.0.113.9',
                                         'subnets': ['172.16.0.0/16', '10.0.0.1/8', 'lan']}, 'mason')])
    assert errs == ["tunnel 'mx': hosts[0].subnets[1]: '10.0.0.1/8' is not an IP network",
                    "tunnel 'mx': hosts[0].subnets[2]: 'lan' is not an IP network"]


def test_peer_mapping_bad_address_in_topology_names_topology():
    err = one_error(topologies=[{'name': 'br', 'type': 'hub_and_spoke', 'hubs': ['mason'],
                                 'spokes': ['quark', {'name': 'office', 'address': 'office.example'}]}])
    assert err == "topology 'br': spokes[1].address: 'office.example' is not an IP address"


def test_duplicate_tunnel_names_explicit():
    errs = errors(tunnels=[tunnel('dup', 'quark', 'mason'), tunnel('dup', 'boson', 'mason')])
    assert errs == ["tunnel 'dup': name: duplicate tunnel name (first defined in ipsec_tunnels)"]


def test_duplicate_tunnel_name_explicit_vs_topology():
    errs = errors(tunnels=[tunnel('core-boson-quark', 'hadron', 'mason')],
                  topologies=[{'name': 'core', 'type': 'mesh', 'hosts': ['quark', 'boson']}])
    assert errs == ["tunnel 'core-boson-quark' (topology 'core'): name: duplicate tunnel name "
                    "(first defined in ipsec_tunnels)"]


def test_duplicate_tunnel_name_between_topologies():
    hosts = dict(HOSTS, **{'b-c': {'address': '192.0.2.81'}, 'd': {'address': '192.0.2.82'},
                           'c': {'address': '192.0.2.83'}})
    errs = errors(hosts=hosts, topologies=[{'name': 'a', 'type': 'mesh', 'hosts': ['b-c', 'd']},
                                           {'name': 'a-b', 'type': 'mesh', 'hosts': ['c', 'd']}])
    assert errs == ["tunnel 'a-b-c-d' (topology 'a-b'): name: duplicate tunnel name (first defined in topology:a)"]


@pytest.mark.parametrize('tunnels, topologies, where', [
    ([tunnel('one', 'quark', 'mason'), tunnel('two', 'quark', 'mason')], [], "tunnel 'two'"),
    ([tunnel('one', 'quark', 'mason'), tunnel('two', 'mason', 'quark')], [], "tunnel 'two'"),
    ([tunnel('one', 'boson', 'quark')], [{'name': 'core', 'type': 'mesh', 'hosts': ['quark', 'boson']}],
     "tunnel 'core-boson-quark' (topology 'core')"),
    ([], [{'name': 'core', 'type': 'mesh', 'hosts': ['quark', 'boson', 'hadron']},
          {'name': 'br', 'type': 'hub_and_spoke', 'hubs': ['hadron'], 'spokes': ['mason', 'quark']}],
     "tunnel 'br-hadron-quark' (topology 'br')"),
    ([tunnel('one', 'mason', '203.0.113.5'), tunnel('two', '203.0.113.5', 'mason')], [], "tunnel 'two'"),
    # The pair is the two addresses: an outside peer by bare address and by a mapping is one pair.
    ([tunnel('one', 'mason', '203.0.113.5'), tunnel('two', 'mason', {'name': 'office', 'address': '203.0.113.5'})],
     [], "tunnel 'two'"),
])
def test_same_pair_twice(tunnels, topologies, where):
    errs = errors(tunnels=tunnels, topologies=topologies)
    assert len(errs) == 1, errs
    assert errs[0].startswith(where + ': hosts: ')
    assert 'already paired by tunnel' in errs[0]


def test_same_pair_by_name_and_by_address():
    errs = errors(tunnels=[tunnel('one', 'quark', 'mason', selectors={'mason': ['10.1.0.0/24']}),
                           tunnel('two', 'quark', '198.51.100.1', selectors={'198.51.100.1': ['172.16.0.0/16']})])
    assert errs == ["tunnel 'two': hosts: 'quark' and 'mason' are already paired by tunnel 'one'"]


def test_same_pair_by_name_and_by_address_in_topology():
    errs = errors(tunnels=[tunnel('x', 'boson', 'quark')],
                  topologies=[{'name': 'core', 'type': 'mesh', 'hosts': ['quark', '192.0.2.30']}])
    # 192.0.2.30 is boson's address, so it is boson: the mesh pair is named after it.
    assert errs == ["tunnel 'core-boson-quark' (topology 'core'): hosts: 'boson' and 'quark' are "
                    "already paired by tunnel 'x'"]


@pytest.mark.parametrize('tunnels, topologies, where', [
    ([tunnel('x', '203.0.113.5', '203.0.113.6')], [], "tunnel 'x'"),
    ([tunnel('x', '203.0.113.5', {'name': 'office', 'address': '203.0.113.6'})], [], "tunnel 'x'"),
    ([], [{'name': 'ext', 'type': 'mesh', 'hosts': ['203.0.113.5', {'name': 'office', 'address': '203.0.113.6'}]}],
     "tunnel 'ext-203.0.113.5-office' (topology 'ext')"),
])
def test_tunnel_between_two_outside_peers_rejected(tunnels, topologies, where):
    errs = errors(tunnels=tunnels, topologies=topologies)
    assert errs == [where + ': hosts: neither end is an inventory host, so no host would carry this tunnel']


def test_external_peer_name_with_conflicting_addresses():
    errs = errors(tunnels=[tunnel('m-off', 'mason', {'name': 'office', 'address': '203.0.113.5'}),
                           tunnel('q-off', 'quark', {'name': 'office', 'address': '203.0.113.6'})])
    # The second place is named; the first definition is what it conflicts with.
    assert errs == ["tunnel 'q-off': hosts[1]: peer 'office' (203.0.113.6) is defined differently elsewhere: 'office' (203.0.113.5)"]


def test_external_peer_name_with_conflicting_subnets():
    errs = errors(tunnels=[tunnel('m-off', 'mason', {'name': 'office', 'address': '203.0.113.5',
                                                     'subnets': ['172.16.0.0/16']}),
                           tunnel('q-off', {'name': 'office', 'address': '203.0.113.5',
                                            'subnets': ['172.17.0.0/16']}, 'quark')])
    assert errs == ["tunnel 'q-off': hosts[0]: peer 'office' (203.0.113.5 with subnets 172.17.0.0/16) is defined "
                    "differently elsewhere: 'office' (203.0.113.5 with subnets 172.16.0.0/16)"]


def test_external_peer_address_given_as_mapping_with_conflicting_subnets():
    errs = errors(tunnels=[tunnel('a', 'mason', {'address': '203.0.113.5', 'subnets': ['172.16.0.0/16']}),
                           tunnel('b', 'quark', {'address': '203.0.113.5', 'subnets': ['172.17.0.0/16']})])
    assert errs == ["tunnel 'b': hosts[1]: peer '203.0.113.5' (203.0.113.5 with subnets 172.17.0.0/16) is defined "
                    "differently elsewhere: '203.0.113.5' (203.0.113.5 with subnets 172.16.0.0/16)"]


def test_external_peer_mapping_repeated_identically_is_one_endpoint():
    office = {'name': 'office', 'address': '203.0.113.5', 'subnets': ['172.16.0.0/16']}
    f = fleet(tunnels=[tunnel('m-off', 'mason', office), tunnel('q-off', 'quark', office)])
    ends = [t.ends[1] for t in f.tunnels]
    assert ends[0] is ends[1] is f.endpoints['office']
    assert [texts(t.selectors[1]) for t in f.tunnels] == [['172.16.0.0/16'], ['172.16.0.0/16']]


def test_external_peer_validity_independent_of_tunnel_order():
    with_subnets = tunnel('m-off', 'mason', {'name': 'office', 'address': '203.0.113.5',
                                             'subnets': ['172.16.0.0/16']})
    without = tunnel('q-off', 'quark', {'name': 'office', 'address': '203.0.113.5'})
    outcomes = []
    for tunnels in ([with_subnets, without], [without, with_subnets]):
        try:
            f = fleet(tunnels=tunnels)
        except ModelError as error:
            outcomes.append(('rejected', len(error.errors)))
        else:
            outcomes.append(('accepted', [(t.name, [texts(s) for s in t.selectors]) for t in f.tunnels]))
    assert outcomes[0] == outcomes[1]


def test_overlap_equal_pairs_across_tunnels():
    errs = errors(tunnels=[ARTICLE, tunnel('gluon-quark', 'gluon', 'quark',
                                           selectors={'gluon': ['192.0.2.10/32'], 'quark': ['0.0.0.0/0']})])
    assert errs == ["tunnel 'gluon-quark': selectors.gluon: on host 'gluon', 192.0.2.10/32 -> 0.0.0.0/0 claims "
                    "the same traffic as tunnel 'gluon-mason' (192.0.2.10/32 -> 0.0.0.0/0)"]


def test_overlap_equal_pairs_from_subnets():
    # Two spokes claiming the same subnet collide on the hub.
    hosts = dict(HOSTS, s1={'address': '192.0.2.91', 'subnets': ['10.50.0.0/24']},
                 s2={'address': '192.0.2.92', 'subnets': ['10.50.0.0/24']})
    errs = errors(hosts=hosts, topologies=[{'name': 'br', 'type': 'hub_and_spoke', 'hubs': ['mason'],
                                            'spokes': ['s1', 's2']}])
    assert len(errs) == 1
    assert errs[0].startswith("tunnel 'br-mason-s") and "on host 'mason'" in errs[0]


def test_overlap_crosswise_nesting():
    # On quark: narrow local -> wide remote (via mason) and wide local -> narrow remote (via boson):
    # 10.2.0.0/24 -> 172.16.5.0/24 matches both, and neither pair is nested in the other.
    errs = errors(tunnels=[
        tunnel('qm', 'quark', 'mason', selectors={'quark': ['10.2.0.0/24'], 'mason': ['172.16.0.0/12']}),
        tunnel('qb', 'quark', 'boson', selectors={'quark': ['10.0.0.0/8'], 'boson': ['172.16.5.0/24']}),
    ])
    assert len(errs) == 1, errs
    assert "on host 'quark'" in errs[0]
    assert 'claims the same traffic' in errs[0]
    assert "'qm'" in errs[0] and "'qb'" in errs[0]


def test_overlap_crosswise_ipv6():
    errs = errors(tunnels=[
        tunnel('a', 'v6a', 'v6b', selectors={'v6a': ['2001:db8:a:1::/64'], 'v6b': ['2001:db8:b::/48']}),
        tunnel('b', 'v6a', '2001:db8::99', selectors={'v6a': ['2001:db8:a::/48'], '2001:db8::99': ['2001:db8:b:5::/64']}),
    ])
    assert len(errs) == 1 and "on host 'v6a'" in errs[0]


def test_overlap_crosswise_behind_same_tunnel_entry():
    errs = errors(tunnels=[
        tunnel('t1', 'quark', 'mason', selectors={'quark': ['10.0.0.0/8', '10.2.0.0/16'],
                                                  'mason': ['192.168.0.0/16', '192.168.1.0/24']}),
        tunnel('t2', 'quark', 'boson', selectors={'quark': ['10.0.0.0/8'], 'boson': ['192.168.2.0/24']}),
    ])
    # 10.2.0.0/16 -> 192.168.0.0/16 (t1) and 10.0.0.0/8 -> 192.168.2.0/24 (t2): same precedence, same traffic.
    assert errs == ["tunnel 't1': selectors.quark: on host 'quark', 10.2.0.0/16 -> 192.168.0.0/16 claims the same "
                    "traffic as tunnel 't2' (10.0.0.0/8 -> 192.168.2.0/24)"]


def test_crosswise_same_start_detected_without_same_tunnel_entry():
    # Control for the test above: without t1's own 192.168.1.0/24 in the way.
    errs = errors(tunnels=[
        tunnel('t1', 'quark', 'mason', selectors={'quark': ['10.2.0.0/16'], 'mason': ['192.168.0.0/16']}),
        tunnel('t2', 'quark', 'boson', selectors={'quark': ['10.0.0.0/8'], 'boson': ['192.168.2.0/24']}),
    ])
    assert len(errs) == 1 and "'t1'" in errs[0] and "'t2'" in errs[0]


def test_nested_pairs_not_rejected_both_directions():
    # narrow local + narrow remote inside wide local + wide remote: nested, fine.
    f = fleet(tunnels=[
        tunnel('qm', 'quark', 'mason', selectors={'quark': ['10.2.0.0/24'], 'mason': ['172.16.5.0/24']}),
        tunnel('qb', 'quark', 'boson', selectors={'quark': ['10.0.0.0/8'], 'boson': ['172.16.0.0/12']}),
    ])
    assert len(f.tunnels) == 2


def test_nested_pairs_equal_local_and_equal_remote_in_other_order():
    f = fleet(tunnels=[
        tunnel('qm', 'quark', 'mason', selectors={'quark': ['10.0.0.0/8'], 'mason': ['172.16.0.0/12']}),
        tunnel('qb', 'quark', 'boson', selectors={'quark': ['10.2.0.0/24'], 'boson': ['172.16.0.0/12']}),
    ])
    assert len(f.tunnels) == 2


def test_crosswise_within_one_tunnel_is_fine():
    # The product of one tunnel's selectors always holds the intersecting pair.
    (t,) = fleet(tunnels=[tunnel('qm', 'quark', 'mason', selectors={
        'quark': ['10.0.0.0/8', '10.2.0.0/16'], 'mason': ['192.168.0.0/16', '192.168.1.0/24']})]).tunnels
    assert len(t.selectors[0]) == 2


def test_overlap_on_external_peer_side_is_not_checked():
    f = fleet(tunnels=[tunnel('m-x', 'mason', '203.0.113.5', selectors={'203.0.113.5': ['172.16.0.0/16']}),
                       tunnel('q-x', 'quark', '203.0.113.5', selectors={'203.0.113.5': ['172.16.0.0/16']})])
    assert len(f.tunnels) == 2


def test_transport_mode_with_non_endpoint_selectors():
    errs = errors(tunnels=[tunnel('qm', 'quark', 'mason', mode='transport',
                                  selectors={'quark': ['10.2.0.0/24'], 'mason': ['198.51.100.1/32', '0.0.0.0/0']})])
    assert errs == [
        "tunnel 'qm': selectors.quark[0]: transport mode protects only the endpoints themselves; "
        "'10.2.0.0/24' is not 192.0.2.20",
        "tunnel 'qm': selectors.mason[1]: transport mode protects only the endpoints themselves; "
        "'0.0.0.0/0' is not 198.51.100.1",
    ]


@pytest.mark.parametrize('extra, field, bad', [
    ({'mode': 'tunnelled'}, 'mode', "'tunnelled' is not a mode"),
    ({'mode': None}, 'mode', 'None is not a mode'),
    ({'level': 'required'}, 'level', "'required' is not a level"),
    ({'ike': {'encryption': 'des'}}, 'ike.encryption', "'des' is not a supported algorithm"),
    ({'ike': {'encryption': '3des'}}, 'ike.encryption', "'3des' is not a supported algorithm"),
    ({'ike': {'hash': 'md5'}}, 'ike.hash', "'md5' is not a supported algorithm"),
    ({'esp': {'encryption': 'blowfish'}}, 'esp.encryption', "'blowfish' is not a supported algorithm"),
    ({'esp': {'integrity': 'md5'}}, 'esp.integrity', "'md5' is not a supported algorithm"),
    ({'ike': {'dh_group': 'modp1024'}}, 'ike.dh_group', "'modp1024' is not a supported group"),
    ({'ike': {'dh_group': 2}}, 'ike.dh_group', '2 is not a supported group'),
    ({'ike': {'dh_group': 'none'}}, 'ike.dh_group', "'none' is not a supported group"),
    ({'ike': {'dh_group': True}}, 'ike.dh_group', 'True is not a supported group'),
    ({'esp': {'pfs_group': 5}}, 'esp.pfs_group', '5 is not a supported group'),
    ({'esp': {'pfs_group': 'ecp256'}}, 'esp.pfs_group', "'ecp256' is not a supported group"),
    ({'ike': {'version': 3}}, 'ike.version', '3 is not an IKE version'),
    ({'ike': {'version': 'ikev2'}}, 'ike.version', "'ikev2' is not an IKE version"),
    ({'ike': {'exchange_mode': 'aggressive'}}, 'ike.exchange_mode', "'aggressive' is not supported"),
    ({'ike': {'lifetime': 0}}, 'ike.lifetime', '0 is not a positive whole number'),
    ({'ike': {'dpd_delay': -1}}, 'ike.dpd_delay', '-1 is not a positive whole number'),
    ({'esp': {'lifetime': '1h'}}, 'esp.lifetime', "'1h' is not a positive whole number"),
    ({'esp': {'lifetime': True}}, 'esp.lifetime', 'True is not a positive whole number'),
    ({'ike': {'cipher': 'aes256'}}, 'ike.cipher', 'unknown field; known: '),
    ({'esp': {'hash': 'sha256'}}, 'esp.hash', 'unknown field; known: '),
    ({'ike': 'aes256'}, 'ike', "must be a mapping, got 'aes256'"),
    ({'esp': ['aes256']}, 'esp', 'must be a mapping'),
    ({'psk_generation': 0}, 'psk_generation', '0 is not a positive whole number'),
    ({'psk_generation': 'next'}, 'psk_generation', "'next' is not a positive whole number"),
    ({'selectors': ['10.0.0.0/8']}, 'selectors', 'must map each end to its networks'),
    ({'selectors': {'boson': ['10.3.0.0/24']}}, 'selectors', 'names no end of this tunnel: boson'),
])
def test_bad_tunnel_fields(extra, field, bad):
    err = one_error(tunnels=[tunnel('qm', 'quark', 'mason', **extra)])
    prefix = "tunnel 'qm': %s: " % field
    assert err.startswith(prefix), err
    assert bad in err, err


def test_unknown_tunnel_fields():
    err = one_error(tunnels=[tunnel('qm', 'quark', 'mason', selector={}, modes='tunnel')])
    assert err.startswith("tunnel 'qm': unknown field(s) modes, selector; known: ")


def test_unknown_tunnel_field_reported_with_other_errors():
    errs = errors(tunnels=[tunnel('qm', 'quark', 'mason', colour='blue', level='always')])
    assert len(errs) == 2
    assert all(e.startswith("tunnel 'qm': ") for e in errs)


def test_defaults_proposals_validated():
    errs = errors(tunnels=[tunnel('qm', 'quark', 'mason')], defaults={'ike': {'hash': 'md5'}, 'esp': {'x': 1}})
    assert errs[0].startswith("defaults: ike.hash: 'md5'")
    assert errs[1].startswith('defaults: esp.x: unknown field')


def test_defaults_bad_level_reported_per_tunnel():
    errs = errors(tunnels=[tunnel('qm', 'quark', 'mason'), tunnel('bm', 'boson', 'mason')],
                  defaults={'level': 'sometimes'})
    assert errs == ["tunnel 'qm': level: 'sometimes' is not a level; use one of require, use, unique",
                    "tunnel 'bm': level: 'sometimes' is not a level; use one of require, use, unique"]


def test_proposal_error_repeated_for_each_tunnel_using_it():
    # The proposal cache must not swallow the error for the second tunnel with the same bad proposal.
    errs = errors(tunnels=[tunnel('qm', 'quark', 'mason', ike={'hash': 'md5'}),
                           tunnel('bm', 'boson', 'mason', ike={'hash': 'md5'})])
    assert [e.split(':')[0] for e in errs] == ["tunnel 'qm'", "tunnel 'bm'"]


@pytest.mark.parametrize('value', [True, False])
def test_ike_version_bool_rejected(value):
    err = one_error(tunnels=[tunnel('qm', 'quark', 'mason', ike={'version': value})])
    assert err == "tunnel 'qm': ike.version: %r is not an IKE version; use 1 or 2" % value


def test_ikev2_with_racoon_end():
    err = one_error(tunnels=[tunnel('rs', 'racoonhost', 'swanhost', ike={'version': 2})])
    assert err == "tunnel 'rs': ike.version: racoon speaks IKEv1 only; an end here runs racoon"


def test_ikev2_with_racoon_end_in_topology():
    errs = errors(topologies=[{'name': 'core', 'type': 'mesh', 'hosts': ['swanhost', 'swanhost2', 'racoonhost'],
                               'ike': {'version': 2}}])
    assert errs == [
        "tunnel 'core-racoonhost-swanhost' (topology 'core'): ike.version: racoon speaks IKEv1 only; an end here runs racoon",
        "tunnel 'core-racoonhost-swanhost2' (topology 'core'): ike.version: racoon speaks IKEv1 only; an end here runs racoon",
    ]


def test_ikev2_via_defaults_with_racoon_end():
    err = one_error(tunnels=[tunnel('rs', 'racoonhost', 'swanhost')], defaults={'ike': {'version': 2}})
    assert 'racoon speaks IKEv1 only' in err


SHORT_PSK = 'short-psk-1234'   # 14 characters


def test_psk_too_short_and_not_echoed():
    err = one_error(tunnels=[tunnel('qm', 'quark', 'mason', psk=SHORT_PSK)])
    assert err == "tunnel 'qm': psk: is shorter than 20 characters"
    assert SHORT_PSK not in err


def test_psk_exactly_twenty_is_enough():
    (t,) = fleet(tunnels=[tunnel('qm', 'quark', 'mason', psk='x' * 20)], master=None).tunnels
    assert t.psk_ref['source'] == 'explicit'


def test_psk_not_a_string():
    err = one_error(tunnels=[tunnel('qm', 'quark', 'mason', psk=12345678901234567890123)])
    assert err.startswith("tunnel 'qm': psk: ")
    assert '12345678901234567890123' not in err


def test_psk_too_short_in_topology():
    err = one_error(topologies=[{'name': 'core', 'type': 'mesh', 'hosts': ['quark', 'boson'], 'psk': SHORT_PSK}])
    assert err == "topology 'core': psk: is shorter than 20 characters"


def test_explicit_psk_wins_over_master():
    (t,) = fleet(tunnels=[tunnel('qm', 'quark', 'mason', psk=PSK)]).tunnels
    assert t.psk_ref == {'source': 'explicit', 'generation': 1, 'origin': 'ipsec_tunnels'}


@pytest.mark.parametrize('master', ['too-short-master', 'x' * 19, 12345, ['a' * 30]])
def test_master_too_short_or_not_a_string(master):
    errs = errors(tunnels=[tunnel('qm', 'quark', 'mason')], master=master)
    assert errs == ['ipsec_psk_master: must be a string of at least 20 characters']
    assert all(str(master) not in e for e in errs)


def test_master_unused_still_validated():
    errs = errors(tunnels=[tunnel('qm', 'quark', 'mason', psk=PSK)], master='short')
    assert errs == ['ipsec_psk_master: must be a string of at least 20 characters']


@pytest.mark.parametrize('master', [None, ''])
def test_no_psk_and_no_master(master):
    errs = errors(tunnels=[tunnel('qm', 'quark', 'mason')],
                  topologies=[{'name': 'core', 'type': 'mesh', 'hosts': ['boson', 'hadron']}], master=master)
    assert errs == ["tunnel 'qm': psk: no psk is set and there is no ipsec_psk_master to derive one from",
                    "topology 'core': psk: no psk is set and there is no ipsec_psk_master to derive one from"]


@pytest.mark.parametrize('raw, expected', [
    ({'name': 'core', 'type': 'ring', 'hosts': ['quark', 'boson']},
     "topology 'core': type: 'ring' is not a topology type; use one of mesh, hub_and_spoke"),
    ({'name': 'core', 'hosts': ['quark', 'boson']},
     "topology 'core': type: None is not a topology type; use one of mesh, hub_and_spoke"),
    ({'name': 'br', 'type': 'hub_and_spoke', 'hubs': ['mason', 'quark'], 'spokes': ['boson', 'quark']},
     "topology 'br': spokes: also listed as hubs: quark"),
    ({'name': 'core', 'type': 'mesh', 'hosts': []}, "topology 'core': hosts: must be a non-empty list of hosts"),
    ({'name': 'core', 'type': 'mesh'}, "topology 'core': hosts: must be a non-empty list of hosts"),
    ({'name': 'core', 'type': 'mesh', 'hosts': 'quark'}, "topology 'core': hosts: must be a non-empty list of hosts"),
    ({'name': 'br', 'type': 'hub_and_spoke', 'hubs': [], 'spokes': ['boson']},
     "topology 'br': hubs: must be a non-empty list of hosts"),
    ({'name': 'br', 'type': 'hub_and_spoke', 'hubs': ['mason']},
     "topology 'br': spokes: must be a non-empty list of hosts"),
    ({'name': 'core', 'type': 'mesh', 'hosts': ['quark', 'boson', 'quark']},
     "topology 'core': hosts[2]: 'quark' is listed twice"),
    ({'name': 'br', 'type': 'hub_and_spoke', 'hubs': ['mason', 'mason'], 'spokes': ['boson']},
     "topology 'br': hubs[1]: 'mason' is listed twice"),
    ({'name': 'core', 'type': 'mesh', 'hosts': ['quark', 'boson'], 'selectors': {}},
     "topology 'core': unknown field(s) selectors; known: esp, hosts, hubs, ike, level, mode, name, psk, "
     "psk_generation, spokes, type"),
    ({'name': 'core', 'type': 'mesh', 'hosts': ['quark', 'nosuch']},
     "topology 'core': hosts[1]: host 'nosuch' is neither in the inventory nor given an address"),
    ({'name': 'core', 'type': 'mesh', 'hosts': ['quark', 'boson'], 'mode': 'bridge'},
     "topology 'core': mode: 'bridge' is not a mode; use one of tunnel, transport"),
    ({'name': 'core', 'type': 'mesh', 'hosts': ['quark', 'boson'], 'ike': {'dh_group': 1}},
     "topology 'core': ike.dh_group: 1 is not a supported group"),
    ({'type': 'mesh', 'hosts': ['quark', 'boson']}, 'ipsec_topologies[0]: name: is required'),
    ('mesh', 'ipsec_topologies[0]: must be a mapping'),
])
def test_topology_errors(raw, expected):
    err = one_error(topologies=[raw])
    assert err.startswith(expected), err


def test_topology_mixed_family_pair():
    errs = errors(topologies=[{'name': 'core', 'type': 'mesh', 'hosts': ['quark', 'v6a']}])
    assert errs == ["tunnel 'core-quark-v6a' (topology 'core'): hosts: 'quark' is IPv4 and 'v6a' is IPv6 "
                    "(one address family per tunnel)"]


def test_topology_member_given_as_mapping():
    f = fleet(topologies=[{'name': 'br', 'type': 'hub_and_spoke', 'hubs': ['mason'],
                           'spokes': [{'name': 'office', 'address': '203.0.113.7', 'subnets': ['172.16.0.0/16']}]}])
    (t,) = f.tunnels
    assert t.name == 'br-mason-office'
    office = t.ends[1]
    assert (office.name, office.address, office.in_inventory) == ('office', '203.0.113.7', False)
    assert [texts(s) for s in t.selectors] == [['10.1.0.0/24'], ['172.16.0.0/16']]


def test_mesh_member_given_as_mapping_shared_with_another_topology():
    office = {'name': 'office', 'address': '203.0.113.7'}
    f = fleet(topologies=[{'name': 'core', 'type': 'mesh', 'hosts': ['quark', office, 'boson']},
                          {'name': 'br', 'type': 'hub_and_spoke', 'hubs': ['mason'], 'spokes': [office]}])
    t = by_name(f)
    assert sorted(t) == ['br-mason-office', 'core-boson-office', 'core-boson-quark', 'core-office-quark']
    assert [e.name for e in t['core-office-quark'].ends] == ['office', 'quark']
    assert t['br-mason-office'].ends[1] is t['core-office-quark'].ends[0] is f.endpoints['office']


def test_topology_member_mapping_listed_twice():
    office = {'name': 'office', 'address': '203.0.113.7'}
    err = one_error(topologies=[{'name': 'core', 'type': 'mesh', 'hosts': ['mason', office, office]}])
    assert err == "topology 'core': hosts[2]: 'office' is listed twice"


def test_topology_unknown_field_does_not_hide_other_errors():
    errs = errors(topologies=[{'name': 'core', 'type': 'ring', 'hosts': ['quark', 'boson'], 'colour': 'red'},
                              {'name': 'core2', 'type': 'mesh', 'hosts': ['quark', 'boson'], 'colour': 'red',
                               'mode': 'bogus'}])
    assert errs == [
        "topology 'core': unknown field(s) colour; known: esp, hosts, hubs, ike, level, mode, name, psk, "
        "psk_generation, spokes, type",
        "topology 'core': type: 'ring' is not a topology type; use one of mesh, hub_and_spoke",
        "topology 'core2': unknown field(s) colour; known: esp, hosts, hubs, ike, level, mode, name, psk, "
        "psk_generation, spokes, type",
        "topology 'core2': mode: 'bogus' is not a mode; use one of tunnel, transport",
    ]


@pytest.mark.parametrize('raw', [
    {'name': 'core', 'type': 'ring', 'hosts': ['quark', 'boson'], 'mode': 'bogus'},
    {'name': 'core', 'type': 'hub_and_spoke', 'hubs': ['mason', 'quark'], 'spokes': ['boson', 'quark'],
     'mode': 'bogus'},
], ids=['unknown-type', 'hub-also-spoke'])
def test_topology_structure_error_does_not_hide_settings_errors(raw):
    errs = errors(topologies=[raw])
    assert len(errs) == 2, errs
    # The shared settings are checked first, then the structure.
    assert errs[0] == "topology 'core': mode: 'bogus' is not a mode; use one of tunnel, transport"


@pytest.mark.parametrize('hosts, tunnels, expected', [
    (dict(HOSTS, bad={'address': ['192.0.2.99']}), [tunnel('bm', 'bad', 'mason')],
     "host 'bad': ipsec_address: ['192.0.2.99'] is not an IP address"),
    (dict(HOSTS, bad={'address': '192.0.2.99', 'subnets': [['10.9.0.0/24']]}), [tunnel('bm', 'bad', 'mason')],
     "host 'bad': ipsec_subnets[0]: ['10.9.0.0/24'] is not an IP network"),
    (HOSTS, [tunnel('qm', 'quark', 'mason', selectors={'mason': [{'net': '10.0.0.0/8'}]})],
     "tunnel 'qm': selectors.mason[0]: {'net': '10.0.0.0/8'} is not an IP network"),
    (HOSTS, [tunnel('qm', 'quark', {'name': 'office', 'address': ['203.0.113.7']})],
     "tunnel 'qm': hosts[1].address: ['203.0.113.7'] is not an IP address"),
    (HOSTS, [tunnel('qm', 'quark', ['203.0.113.7'])],
     "tunnel 'qm': hosts[1]: ['203.0.113.7'] is not a host name or address"),
    (dict(HOSTS, idle={'address': {'v4': '192.0.2.99'}}), [],
     "host 'idle': ipsec_address: {'v4': '192.0.2.99'} is not an IP address"),
], ids=['address-list', 'subnet-list', 'selector-dict', 'peer-address-list', 'end-list', 'idle-address-dict'])
def test_unhashable_values_are_model_errors(hosts, tunnels, expected):
    assert one_error(hosts=hosts, tunnels=tunnels) == expected


@pytest.mark.parametrize('tunnels, topologies', [
    ([{'name': 'qm', 'hosts': ['quark', 'mason'], 1: 'x'}], []),
    ([], [{'name': 'core', 'type': 'mesh', 'hosts': ['quark', 'boson'], True: 'x'}]),
    ([tunnel('mx', 'mason', {'name': 'office', 'address': '203.0.113.9', 2: 'x'})], []),
], ids=['tunnel', 'topology', 'peer-mapping'])
def test_non_string_keys_are_model_errors(tunnels, topologies):
    err = one_error(tunnels=tunnels, topologies=topologies)
    assert 'unknown field' in err


@pytest.mark.parametrize('selectors', [{'mason': []}, {'mason': None, 'quark': []}])
def test_empty_selector_list_rejected(selectors):
    # None (or leaving the end out) means "the default networks"; an explicit empty list is a mistake.
    err = one_error(tunnels=[tunnel('qm', 'quark', 'mason', selectors=selectors)])
    end = [k for k, v in selectors.items() if v is not None][0]
    assert err == "tunnel 'qm': selectors.%s: is empty; leave it out to protect the default networks" % end


def test_ipv6_scoped_address_rejected():
    hosts = {'a': {'address': 'fe80::1%eth0'}, 'b': {'address': 'fe80::2%eth0'}}
    errs = errors(hosts=hosts, tunnels=[tunnel('ab', 'a', 'b')])
    assert errs == ["host 'a': ipsec_address: 'fe80::1%eth0' is not an IP address",
                    "host 'b': ipsec_address: 'fe80::2%eth0' is not an IP address"]


def test_ipv6_zone_ids_rejected_in_subnets_selectors_and_peers():
    hosts = {'a': {'address': 'fe80::1'}, 'b': {'address': 'fe80::2', 'subnets': ['fe80::/64%eth0']}}
    errs = errors(hosts=hosts, tunnels=[tunnel('ab', 'a', 'b', selectors={'a': ['fe80::1%eth0']}),
                                        tunnel('ax', 'a', 'fe80::9%eth0')])
    assert errs == ["host 'b': ipsec_subnets[0]: 'fe80::/64%eth0' is not an IP network",
                    "tunnel 'ab': selectors.a[0]: 'fe80::1%eth0' is not an IP network",
                    "tunnel 'ax': hosts[1]: host 'fe80::9%eth0' is neither in the inventory nor given an address"]


@pytest.mark.parametrize('tunnels, expected', [
    ('gluon-mason', ['ipsec_tunnels: must be a list']),
    (['gluon-mason'], ['ipsec_tunnels[0]: must be a mapping']),
    ([{'hosts': ['quark', 'mason']}], ['ipsec_tunnels[0]: name: is required']),
    ([{'name': 7, 'hosts': ['quark', 'mason']}], ['ipsec_tunnels[0]: name: is required']),
])
def test_tunnel_list_shape(tunnels, expected):
    inv = inventory()
    inv['tunnels'] = tunnels
    with pytest.raises(ModelError) as info:
        build_fleet(inv)
    assert info.value.errors == expected


def test_topologies_must_be_a_list():
    inv = inventory()
    inv['topologies'] = {'name': 'core'}
    with pytest.raises(ModelError) as info:
        build_fleet(inv)
    assert info.value.errors == ['ipsec_topologies: must be a list']


# ---------------------------------------------------------------------------------------
# all problems together, and no secret in any message
# ---------------------------------------------------------------------------------------

LONG_PSK_A = 'long-explicit-psk-AAAA-0123456789'
LONG_PSK_B = 'long-explicit-psk-BBBB-0123456789'


def test_all_errors_reported_together():
    errs = errors(tunnels=[
        tunnel('t-mode', 'quark', 'mason', mode='bogus', psk=LONG_PSK_A),
        tunnel('t-sel', 'boson', 'mason', selectors={'mason': ['10.0.0.300/32']}),
        tunnel('t-self', 'hadron', 'hadron'),
        tunnel('t-psk', 'gluon', 'quark', psk=SHORT_PSK),
        tunnel('t-fine', 'gluon', 'boson', psk=LONG_PSK_B),
    ])
    assert len(errs) >= 4
    for name in ('t-mode', 't-sel', 't-self', 't-psk'):
        assert any(e.startswith("tunnel '%s': " % name) for e in errs), (name, errs)
    assert not any("'t-fine'" in e for e in errs)


def test_three_distinct_problems_three_errors():
    errs = errors(tunnels=[
        tunnel('a', 'quark', 'mason', level='sometimes'),
        tunnel('b', 'boson', 'nosuch'),
        tunnel('c', 'hadron', 'v6a'),
    ])
    assert len(errs) == 3
    assert [e.split(':')[0] for e in errs] == ["tunnel 'a'", "tunnel 'b'", "tunnel 'c'"]


def _secret_rich_inventory(master):
    return inventory(
        master=master,
        tunnels=[
            tunnel('s1', 'quark', 'mason', psk=LONG_PSK_A, mode='bogus'),
            tunnel('s2', 'boson', 'mason', psk=SHORT_PSK, ike={'hash': 'md5'}),
            tunnel('s3', 'hadron', 'mason', psk=LONG_PSK_B, selectors={'mason': ['x']}),
            tunnel('s4', 'gluon', 'nosuch', psk=LONG_PSK_B),
            tunnel('s5', 'gluon', {'name': 'o', 'address': '203.0.113.8', 'psk': LONG_PSK_A}),
            tunnel('s6', 'gluon', 'quark'),
        ],
        topologies=[{'name': 'top', 'type': 'mesh', 'hosts': ['v6a', 'v6b'], 'psk': SHORT_PSK},
                    {'name': 'top2', 'type': 'ring', 'hosts': ['v6a', 'v6b'], 'psk': LONG_PSK_A}],
    )


@pytest.mark.parametrize('master', ['short-master', 'a-long-enough-master-secret-value', None])
def test_no_secret_in_any_error(master):
    with pytest.raises(ModelError) as info:
        build_fleet(_secret_rich_inventory(master))
    text = str(info.value) + repr(info.value) + repr(info.value.errors)
    assert len(info.value.errors) >= 7
    for secret in (LONG_PSK_A, LONG_PSK_B, SHORT_PSK, master):
        if secret:
            assert secret not in text


def test_error_lines_name_their_place():
    with pytest.raises(ModelError) as info:
        build_fleet(_secret_rich_inventory('short-master'))
    pattern = re.compile(r"^(tunnel '[^']+'( \(topology '[^']+'\))?|topology '[^']+'|host '[^']+'|"
                         r"ipsec_psk_master|ipsec_tunnels(\[\d+\])?|ipsec_topologies(\[\d+\])?|defaults): ")
    for err in info.value.errors:
        assert pattern.match(err), err


def test_build_fleet_does_not_mutate_inventory():
    inv = inventory(tunnels=[ARTICLE, tunnel('qm', 'quark', 'mason', ike={'dh_group': 'modp4096'})],
                    topologies=[{'name': 'core', 'type': 'mesh', 'hosts': ['boson', 'hadron']}])
    before = copy.deepcopy(inv)
    build_fleet(inv)
    assert inv == before


def test_caches_do_not_leak_between_builds():
    # Same host names, different addresses in two builds.
    f1 = fleet(hosts={'a': {'address': '192.0.2.1'}, 'b': {'address': '192.0.2.2'}}, tunnels=[tunnel('ab', 'a', 'b')])
    f2 = fleet(hosts={'a': {'address': '192.0.2.11'}, 'b': {'address': '192.0.2.12', 'subnets': ['10.0.0.0/8']}},
               tunnels=[tunnel('ab', 'a', 'b')])
    assert texts(f1.tunnels[0].selectors[1]) == ['192.0.2.2/32']
    assert texts(f2.tunnels[0].selectors[1]) == ['10.0.0.0/8']
    assert f2.tunnels[0].ends[0].address == '192.0.2.11'


def test_module_constants():
    assert model.PSK_MIN_LENGTH == 20
    assert set(model.DH_GROUPS.values()) == {14, 15, 16, 17, 18}
    assert min(model.DH_GROUP_NUMBERS) >= 14


def test_limits_on_what_names_and_keys_may_contain():
    # docs/plan.md, "What names and keys may contain"; test_hostile_input.py has the refusals.
    from ansible_collections.fleet.ipsec.plugins.module_utils import psk
    assert model.PSK_MIN_LENGTH == psk.PSK_MIN_LENGTH == 20
    assert psk.PSK_MAX_LENGTH == 982
    assert (model.NAME_MAX_LENGTH, model.HOST_NAME_MAX_LENGTH, model.TUNNEL_NAME_MAX_LENGTH) == (64, 253, 100)
    assert model.INT_MAX == 2147483647
    assert model.OS_FAMILIES == ('Debian', 'FreeBSD', 'NetBSD', 'RedHat')


@pytest.mark.parametrize('raw, expected', [
    ({'dh_group': 'modp3072', 'lifetime': '7200', 'version': 1}, {'dh_group': 15, 'lifetime': 7200, 'version': 1}),
    ({'dh_group': '\u00b9\u2075'}, None),
    ({'lifetime': '\u00b2'}, None),
])
def test_proposal_numbers_are_ascii_digits(raw, expected):
    errors = model._Errors()
    merged = model._check_proposals('defaults', raw, DEFAULT_IKE, 'ike', errors)
    if expected is None:
        assert len(errors.items) == 1 and errors.items[0].startswith('defaults: ike.')
    else:
        assert not errors.items
        assert dict((k, merged[k]) for k in expected) == expected
