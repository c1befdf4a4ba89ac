# -*- coding: utf-8 -*-
# Copyright (c) 2026 fleet.ipsec contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Unit tests for psk: derivation, resolution from a plan, and that no key leaks anywhere."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import hashlib
import hmac
import json

import pytest

from ansible_collections.fleet.ipsec.plugins.module_utils.model import build_fleet
from ansible_collections.fleet.ipsec.plugins.module_utils.plan import build_plan, plan_fleet
from ansible_collections.fleet.ipsec.plugins.module_utils.psk import PskError, derive, resolve

MASTER = 'master-secret-0123456789-abcdef'
OTHER_MASTER = 'another-master-secret-9876543210'
TUNNEL_PSK = 'tunnel-explicit-psk-0123456789'
TOPOLOGY_PSK = 'topology-explicit-psk-0123456789'

HOSTS = {
    'gluon': {'address': '192.0.2.10'},
    'mason': {'address': '198.51.100.1'},
    'quark': {'address': '192.0.2.20', 'subnets': ['10.2.0.0/24']},
    'boson': {'address': '192.0.2.30', 'subnets': ['10.3.0.0/24']},
    'hadron': {'address': '192.0.2.40', 'subnets': ['10.4.0.0/24']},
    'lepton': {'address': '192.0.2.50', 'subnets': ['10.5.0.0/24']},
}

ARTICLE = {'name': 'gluon-mason', 'hosts': ['gluon', 'mason'], 'mode': 'tunnel',
           'selectors': {'gluon': ['192.0.2.10/32'], 'mason': ['0.0.0.0/0']}, 'level': 'require'}


def reference_key(master, tunnel, generation):
    """Recomputed independently of psk.LABEL: the documented label, spelled out."""
    label = 'fleet.ipsec/psk/v1/' + tunnel + '/' + str(generation)
    return hmac.new(master.encode('utf-8'), label.encode('utf-8'), hashlib.sha256).hexdigest()


def inventory(tunnels=None, topologies=None, master=MASTER, defaults=None):
    inv = {'hosts': copy.deepcopy(HOSTS), 'tunnels': copy.deepcopy(tunnels or []),
           'topologies': copy.deepcopy(topologies or []), 'psk_master': master}
    if defaults is not None:
        inv['defaults'] = defaults
    return inv


def resolve_peer(inv, peer):
    return resolve(peer['tunnel'], peer['psk_ref'], master=inv.get('psk_master'),
                   tunnels=inv.get('tunnels'), topologies=inv.get('topologies'))


def peer_keys(inv):
    """{tunnel: [key seen from each inventory end]} for the whole plan."""
    result = {}
    for slice_ in build_plan(inv)['hosts'].values():
        for peer in slice_['peers']:
            result.setdefault(peer['tunnel'], []).append(resolve_peer(inv, peer))
    return result


# ---------------------------------------------------------------------------------------
# derive
# ---------------------------------------------------------------------------------------

def test_derive_is_hmac_sha256_over_documented_label():
    expected = hmac.new(b'master-secret-0123456789-abcdef', b'fleet.ipsec/psk/v1/gluon-mason/1',
                        hashlib.sha256).hexdigest()
    assert derive(MASTER, 'gluon-mason', 1) == expected


@pytest.mark.parametrize('tunnel, generation', [
    ('gluon-mason', 1), ('gluon-mason', 2), ('core-boson-quark', 7), ('x', 123456),
    (u'tunnel-\u00e9t\u00e9', 1),
])
def test_derive_matches_reference(tunnel, generation):
    key = derive(MASTER, tunnel, generation)
    assert key == reference_key(MASTER, tunnel, generation)
    assert len(key) == 64
    assert all(c in '0123456789abcdef' for c in key)


def test_derive_non_ascii_master():
    master = u'm\u00e4ster-secret-with-umlauts-0123'
    assert derive(master, 't', 1) == reference_key(master, 't', 1)


def test_derive_generation_given_as_string():
    assert derive(MASTER, 'gluon-mason', '3') == reference_key(MASTER, 'gluon-mason', 3)


def test_derive_depends_on_every_input():
    base = derive(MASTER, 'gluon-mason', 1)
    assert derive(MASTER, 'gluon-mason', 2) != base
    assert derive(MASTER, 'mason-gluon', 1) != base
    assert derive(OTHER_MASTER, 'gluon-mason', 1) != base
    assert derive(MASTER, 'gluon-mason', 1) == base


# ---------------------------------------------------------------------------------------
# resolve from a plan
# ---------------------------------------------------------------------------------------

def test_both_ends_resolve_the_same_derived_key():
    inv = inventory(tunnels=[ARTICLE])
    keys = peer_keys(inv)
    assert keys == {'gluon-mason': [reference_key(MASTER, 'gluon-mason', 1)] * 2}


def test_derived_keys_differ_between_tunnels():
    inv = inventory(tunnels=[ARTICLE, {'name': 'qb', 'hosts': ['quark', 'boson']}])
    keys = peer_keys(inv)
    assert keys['qb'][0] == keys['qb'][1] == reference_key(MASTER, 'qb', 1)
    assert keys['qb'][0] != keys['gluon-mason'][0]


def test_generation_change_changes_the_key():
    one = peer_keys(inventory(tunnels=[ARTICLE]))['gluon-mason'][0]
    two = peer_keys(inventory(tunnels=[dict(ARTICLE, psk_generation=2)]))['gluon-mason']
    assert two[0] == two[1] == reference_key(MASTER, 'gluon-mason', 2)
    assert two[0] != one


def test_generation_from_defaults():
    keys = peer_keys(inventory(tunnels=[ARTICLE], defaults={'psk_generation': 5}))
    assert keys['gluon-mason'] == [reference_key(MASTER, 'gluon-mason', 5)] * 2


def test_generation_in_topology_rotates_all_its_tunnels():
    topo = {'name': 'core', 'type': 'mesh', 'hosts': ['quark', 'boson', 'hadron']}
    before = peer_keys(inventory(topologies=[topo]))
    after = peer_keys(inventory(topologies=[dict(topo, psk_generation=2)]))
    assert sorted(before) == sorted(after)
    for name in before:
        assert after[name][0] == after[name][1] == reference_key(MASTER, name, 2)
        assert after[name][0] != before[name][0]


def test_master_change_changes_every_key():
    a = peer_keys(inventory(tunnels=[ARTICLE]))['gluon-mason'][0]
    b = peer_keys(inventory(tunnels=[ARTICLE], master=OTHER_MASTER))['gluon-mason'][0]
    assert a != b


def test_explicit_psk_from_ipsec_tunnels():
    inv = inventory(tunnels=[dict(ARTICLE, psk=TUNNEL_PSK), {'name': 'qb', 'hosts': ['quark', 'boson']}])
    keys = peer_keys(inv)
    assert keys['gluon-mason'] == [TUNNEL_PSK, TUNNEL_PSK]
    assert keys['qb'] == [reference_key(MASTER, 'qb', 1)] * 2


def test_explicit_psk_without_master():
    inv = inventory(tunnels=[dict(ARTICLE, psk=TUNNEL_PSK)], master=None)
    assert peer_keys(inv) == {'gluon-mason': [TUNNEL_PSK, TUNNEL_PSK]}


def test_explicit_psk_from_topology():
    inv = inventory(topologies=[{'name': 'core', 'type': 'mesh', 'hosts': ['quark', 'boson', 'hadron'],
                                 'psk': TOPOLOGY_PSK},
                                {'name': 'br', 'type': 'hub_and_spoke', 'hubs': ['gluon'],
                                 'spokes': ['lepton', 'mason']}])
    keys = peer_keys(inv)
    assert sorted(keys) == ['br-gluon-lepton', 'br-gluon-mason', 'core-boson-hadron', 'core-boson-quark',
                            'core-hadron-quark']
    for name, seen in keys.items():
        assert len(seen) == 2
        if name.startswith('core-'):
            assert seen == [TOPOLOGY_PSK, TOPOLOGY_PSK]
        else:
            assert seen == [reference_key(MASTER, name, 1)] * 2


def test_explicit_psk_tunnel_and_topology_names_do_not_collide():
    # A tunnel named like a topology must not lend its psk to the topology's tunnels.
    inv = inventory(tunnels=[{'name': 'core', 'hosts': ['gluon', 'mason'], 'psk': TUNNEL_PSK}],
                    topologies=[{'name': 'core', 'type': 'mesh', 'hosts': ['quark', 'boson'], 'psk': TOPOLOGY_PSK}])
    keys = peer_keys(inv)
    assert keys['core'] == [TUNNEL_PSK] * 2
    assert keys['core-boson-quark'] == [TOPOLOGY_PSK] * 2


def test_mesh_member_order_does_not_rekey():
    # Mesh tunnel names (the derivation label) sort the two hosts, so reordering a group keeps every key.
    def keys(members):
        return peer_keys(inventory(topologies=[{'name': 'core', 'type': 'mesh', 'hosts': members}]))
    before = keys(['quark', 'boson', 'hadron'])
    assert before == {name: [reference_key(MASTER, name, 1)] * 2
                      for name in ('core-boson-hadron', 'core-boson-quark', 'core-hadron-quark')}
    assert keys(['hadron', 'quark', 'boson']) == before
    assert keys(['boson', 'hadron', 'quark']) == before


def test_resolve_derived_without_master_raises():
    ref = {'source': 'derived', 'generation': 1, 'origin': 'ipsec_tunnels'}
    for master in (None, ''):
        with pytest.raises(PskError) as info:
            resolve('gluon-mason', ref, master=master)
        assert str(info.value) == "tunnel 'gluon-mason': psk: ipsec_psk_master is not set"


def test_resolve_explicit_missing_raises():
    ref = {'source': 'explicit', 'generation': 1, 'origin': 'ipsec_tunnels'}
    with pytest.raises(PskError) as info:
        resolve('gluon-mason', ref, master=MASTER, tunnels=[{'name': 'other', 'psk': TUNNEL_PSK}])
    assert str(info.value) == "tunnel 'gluon-mason': psk: no explicit psk found in ipsec_tunnels"
    assert TUNNEL_PSK not in str(info.value) and MASTER not in str(info.value)


def test_resolve_explicit_topology_missing_raises():
    ref = {'source': 'explicit', 'generation': 1, 'origin': 'topology:core'}
    with pytest.raises(PskError) as info:
        resolve('core-a-b', ref, topologies=None)
    assert str(info.value) == "tunnel 'core-a-b': psk: no explicit psk found in topology:core"


def test_resolve_skips_malformed_entries():
    ref = {'source': 'explicit', 'generation': 1, 'origin': 'ipsec_tunnels'}
    assert resolve('t', ref, tunnels=['t', None, {'name': 't'}, {'name': 't', 'psk': TUNNEL_PSK}]) == TUNNEL_PSK


def test_resolve_explicit_without_origin_looks_in_tunnels():
    assert resolve('t', {'source': 'explicit', 'generation': 1}, tunnels=[{'name': 't', 'psk': TUNNEL_PSK}]) \
        == TUNNEL_PSK


def test_psk_error_does_not_leak_master_or_psks():
    inv = inventory(tunnels=[ARTICLE])
    peer = build_plan(inv)['hosts']['gluon']['peers'][0]
    explicit_ref = dict(peer['psk_ref'], source='explicit')
    with pytest.raises(PskError) as info:
        resolve('gluon-mason', explicit_ref, master=MASTER, tunnels=[{'name': 'x', 'psk': TUNNEL_PSK}],
                topologies=[{'name': 'y', 'psk': TOPOLOGY_PSK}])
    for secret in (MASTER, TUNNEL_PSK, TOPOLOGY_PSK):
        assert secret not in str(info.value) and secret not in repr(info.value)


# ---------------------------------------------------------------------------------------
# no key anywhere outside resolve()
# ---------------------------------------------------------------------------------------

OFFICE = {'name': 'office', 'address': '203.0.113.7', 'subnets': ['172.16.0.0/16']}


def _leaky_inventory():
    return inventory(
        tunnels=[ARTICLE,
                 {'name': 'qb', 'hosts': ['quark', 'boson'], 'psk': TUNNEL_PSK, 'psk_generation': 3},
                 {'name': 'q-ext', 'hosts': ['quark', OFFICE]},
                 {'name': 'b-ext', 'hosts': ['boson', '203.0.113.8'], 'mode': 'transport'}],
        topologies=[{'name': 'core', 'type': 'mesh', 'hosts': ['hadron', 'lepton', 'mason'], 'psk': TOPOLOGY_PSK},
                    {'name': 'br', 'type': 'hub_and_spoke', 'hubs': ['gluon'], 'spokes': ['lepton', 'hadron']}],
    )


def _all_keys(inv):
    keys = {MASTER, TUNNEL_PSK, TOPOLOGY_PSK}
    for seen in peer_keys(inv).values():
        keys.update(seen)
    # Derived keys for every tunnel and a few generations, whatever their source.
    for t in build_plan(inv)['tunnels']:
        for generation in (1, 2, 3):
            keys.add(derive(MASTER, t['name'], generation))
    return keys


def _assert_clean(text, keys):
    for key in keys:
        assert key not in text
        # Nor a recognisable half of it (e.g. a truncated hex key in a debug repr).
        assert key[:16] not in text


def test_keys_resolved_as_expected_in_leaky_inventory():
    keys = peer_keys(_leaky_inventory())
    assert keys['qb'] == [TUNNEL_PSK] * 2
    assert keys['core-hadron-lepton'] == [TOPOLOGY_PSK] * 2
    assert keys['q-ext'] == [reference_key(MASTER, 'q-ext', 1)]
    assert keys['br-gluon-lepton'] == [reference_key(MASTER, 'br-gluon-lepton', 1)] * 2


def test_plan_never_contains_a_key():
    inv = _leaky_inventory()
    keys = _all_keys(inv)
    result = build_plan(inv)
    for text in (json.dumps(result), repr(result), str(result), json.dumps(result, sort_keys=True, indent=2)):
        _assert_clean(text, keys)


def test_fleet_tunnels_and_endpoints_never_contain_a_key():
    inv = _leaky_inventory()
    keys = _all_keys(inv)
    fleet = build_fleet(inv)
    texts = [repr(fleet), str(fleet), repr(vars(fleet)), repr(fleet.tunnels), repr(fleet.endpoints)]
    for tunnel in fleet.tunnels:
        texts.extend([repr(tunnel), str(tunnel)])
        # Every attribute a debugger or a careless log line could print.
        for slot in type(tunnel).__slots__:
            texts.append(repr(getattr(tunnel, slot)))
        texts.append(json.dumps({'ike': tunnel.ike, 'esp': tunnel.esp, 'psk_ref': tunnel.psk_ref}))
        for end in tunnel.ends:
            texts.extend([repr(end), str(end)])
            for slot in type(end).__slots__:
                texts.append(repr(getattr(end, slot)))
    for end in fleet.endpoints.values():
        texts.extend([repr(end), str(end)])
    for text in texts:
        _assert_clean(text, keys)


def test_plan_fleet_output_has_no_key():
    inv = _leaky_inventory()
    keys = _all_keys(inv)
    _assert_clean(json.dumps(plan_fleet(build_fleet(inv))), keys)


def test_tunnel_objects_do_not_hold_the_psk():
    fleet = build_fleet(_leaky_inventory())
    for tunnel in fleet.tunnels:
        assert set(tunnel.psk_ref) == {'source', 'generation', 'origin'}
        assert not hasattr(tunnel, '__dict__')
