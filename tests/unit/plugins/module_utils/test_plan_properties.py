# -*- coding: utf-8 -*-
# Copyright (c) 2026 fleet.ipsec contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Property tests: random fleets in, plans whose two ends of every tunnel agree."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import ipaddress
import json
import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.fleet.ipsec.plugins.module_utils.model import ModelError
from ansible_collections.fleet.ipsec.plugins.module_utils.plan import build_plan
from ansible_collections.fleet.ipsec.plugins.module_utils.psk import resolve

SETTINGS = settings(max_examples=100, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

MODES = ('tunnel', 'transport')
LEVELS = ('require', 'use', 'unique')
IKE_OVERRIDES = st.one_of(
    st.none(),
    st.fixed_dictionaries({}, optional={
        'encryption': st.sampled_from(['aes128', 'aes192', 'aes256']),
        'hash': st.sampled_from(['sha1', 'sha256', 'sha384', 'sha512']),
        'dh_group': st.sampled_from([14, 15, 16, 'modp2048', 'modp4096', '18']),
        'lifetime': st.integers(60, 86400),
    }))
ESP_OVERRIDES = st.one_of(
    st.none(),
    st.fixed_dictionaries({}, optional={
        'encryption': st.sampled_from(['aes128', 'aes256']),
        'integrity': st.sampled_from(['sha256', 'sha512']),
        'pfs_group': st.sampled_from([14, 'modp3072', 'none', 17]),
        'lifetime': st.integers(60, 86400),
    }))
SECRET_TAIL = st.text(alphabet='ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789', min_size=20, max_size=40)


def _secret(draw, prefix):
    # A prefix no plan field can contain, so "not in json" is a meaningful check even after shrinking.
    return '%s!%s' % (prefix, draw(SECRET_TAIL))


def _host_networks(family, index):
    """Networks that only host `index` may claim: no two hosts' choices ever overlap."""
    if family == 4:
        return ['10.%d.0.0/16' % index] + ['10.%d.%d.0/24' % (index, k) for k in range(1, 5)]
    return ['2001:db8:%x::/48' % (index + 1)] + ['2001:db8:%x:%x::/64' % (index + 1, k) for k in range(1, 5)]


def _host_address(family, number):
    return '198.18.0.%d' % number if family == 4 else '2001:db8:ffff::%x' % number


def _external_address(family, number):
    return '203.0.113.%d' % number if family == 4 else '2001:db8:eeee::%x' % number


def _external_networks(family, number):
    return ['172.16.%d.0/24' % number] if family == 4 else ['2001:db8:eeee:%x::/64' % number]


@st.composite
def fleets(draw):
    """A valid inventory: random hosts, mesh, hub_and_spoke, explicit and external tunnels.

    Valid by construction: distinct addresses, per-host networks that never overlap another
    host's, every pair of ends at most once, at most one all-traffic tunnel, IKEv2 only
    without racoon, a psk wherever there is no master. Sometimes one more host, 'idle', with
    no address and no tunnel (it still gets a slice).
    """
    family = draw(st.sampled_from([4, 6]))
    count = draw(st.integers(2, 12))
    numbers = draw(st.lists(st.integers(1, 250), min_size=count, max_size=count, unique=True))
    names = ['h%02d' % i for i in range(count)]
    hosts = {}
    for index, (name, number) in enumerate(zip(names, numbers)):
        own = _host_networks(family, index)
        subnets = draw(st.lists(st.sampled_from(own), max_size=3, unique=True))
        hosts[name] = {'address': _host_address(family, number), 'subnets': subnets,
                       'backend': draw(st.sampled_from([None, 'racoon', 'strongswan']))}
    has_master = draw(st.booleans())
    master = _secret(draw, 'MASTER') if has_master else None

    def psk_fields(force):
        fields = {}
        if force or draw(st.integers(0, 4)) == 0:
            fields['psk'] = _secret(draw, 'PSK')
        if draw(st.booleans()):
            fields['psk_generation'] = draw(st.integers(1, 9))
        return fields

    used = set()
    topologies = []
    order = draw(st.permutations(names))
    mesh_size = draw(st.integers(0, count))
    if mesh_size >= 2:
        members = list(order[:mesh_size])
        topo = {'name': 'mesh', 'type': 'mesh', 'hosts': members,
                'mode': draw(st.sampled_from(MODES)), 'level': draw(st.sampled_from(LEVELS))}
        ike, esp = draw(IKE_OVERRIDES), draw(ESP_OVERRIDES)
        if ike:
            topo['ike'] = ike
        if esp:
            topo['esp'] = esp
        topo.update(psk_fields(not has_master))
        topologies.append(topo)
        used.update(frozenset((a, b)) for i, a in enumerate(members) for b in members[i + 1:])
    else:
        mesh_size = 0
    outside_mesh = list(order[mesh_size:])
    if outside_mesh and draw(st.booleans()):
        hubs = draw(st.lists(st.sampled_from(outside_mesh), min_size=1, max_size=min(2, len(outside_mesh)),
                             unique=True))
        candidates = [n for n in names if n not in hubs]
        if candidates:
            spokes = draw(st.lists(st.sampled_from(candidates), min_size=1, max_size=len(candidates), unique=True))
            topo = {'name': 'hs', 'type': 'hub_and_spoke', 'hubs': hubs, 'spokes': spokes,
                    'mode': draw(st.sampled_from(MODES)), 'level': draw(st.sampled_from(LEVELS))}
            topo.update(psk_fields(not has_master))
            topologies.append(topo)
            used.update(frozenset((h, s)) for h in hubs for s in spokes)

    free = [(a, b) for i, a in enumerate(names) for b in names[i + 1:] if frozenset((a, b)) not in used]
    # At least one explicit tunnel when no topology made any (then every pair is free).
    chosen = draw(st.lists(st.sampled_from(free), min_size=0 if used else 1, max_size=8, unique=True)) if free else []
    tunnels = []
    default_route_given = False
    for index, (a, b) in enumerate(chosen):
        if draw(st.booleans()):
            a, b = b, a
        mode = draw(st.sampled_from(MODES))
        raw = {'name': 'x%02d' % index, 'hosts': [a, b], 'mode': mode}
        if draw(st.booleans()):
            raw['level'] = draw(st.sampled_from(LEVELS))
        selectors = {}
        if mode == 'tunnel' and not default_route_given and draw(st.integers(0, 3)) == 0:
            # The article: one end's own address, all traffic behind the other end.
            default_route_given = True
            selectors[a] = [hosts[a]['address']]
            selectors[b] = ['0.0.0.0/0' if family == 4 else '::/0']
        else:
            for end in (a, b):
                choice = draw(st.integers(0, 2))
                if choice == 1:
                    if mode == 'transport':
                        selectors[end] = [hosts[end]['address']]
                    else:
                        own = _host_networks(family, names.index(end))
                        selectors[end] = draw(st.lists(st.sampled_from(own), min_size=1, max_size=3, unique=True))
        if selectors:
            raw['selectors'] = selectors
        ike = draw(IKE_OVERRIDES)
        racoon = 'racoon' in (hosts[a]['backend'], hosts[b]['backend'])
        if not racoon and draw(st.booleans()):
            ike = dict(ike or {}, version=2)
        if ike:
            raw['ike'] = ike
        esp = draw(ESP_OVERRIDES)
        if esp:
            raw['esp'] = esp
        raw.update(psk_fields(not has_master))
        tunnels.append(raw)

    externals = draw(st.lists(st.integers(1, 250), max_size=2, unique=True))
    for number in externals:
        as_mapping = draw(st.booleans())
        peers = draw(st.lists(st.sampled_from(names), min_size=1, max_size=3, unique=True))
        for host in peers:
            if as_mapping:
                far = {'name': 'ext%d' % number, 'address': _external_address(family, number),
                       'subnets': _external_networks(family, number)}
            else:
                far = _external_address(family, number)
            mode = draw(st.sampled_from(MODES))
            raw = {'name': 'e%d-%s' % (number, host), 'hosts': [host, far] if draw(st.booleans()) else [far, host],
                   'mode': mode}
            raw.update(psk_fields(not has_master))
            tunnels.append(raw)

    if draw(st.booleans()):
        hosts['idle'] = draw(st.sampled_from([None, {}, {'address': ''}]))
    inventory = {'hosts': hosts, 'tunnels': tunnels, 'topologies': topologies, 'psk_master': master}
    return inventory


def _peer(slice_, tunnel):
    found = [p for p in slice_['peers'] if p['tunnel'] == tunnel]
    assert len(found) == 1, (tunnel, found)
    return found[0]


def _key(inventory, peer):
    return resolve(peer['tunnel'], peer['psk_ref'], master=inventory['psk_master'],
                   tunnels=inventory['tunnels'], topologies=inventory['topologies'])


def _dumps(plan):
    return json.dumps(plan, sort_keys=True)


# ---------------------------------------------------------------------------------------
# the two ends of every tunnel agree
# ---------------------------------------------------------------------------------------

@SETTINGS
@given(fleets())
def test_both_ends_mirror_each_other(inventory):
    plan = build_plan(inventory)
    hosts = plan['hosts']
    assert plan['tunnels'], 'generator made a fleet without tunnels'
    for tunnel in plan['tunnels']:
        name = tunnel['name']
        a, b = tunnel['hosts']
        inside = [end for end in (a, b) if end in hosts]
        assert inside, tunnel
        for end in inside:
            _peer(hosts[end], name)
        if len(inside) < 2:
            continue
        pa, pb = _peer(hosts[a], name), _peer(hosts[b], name)
        assert (pa['name'], pb['name']) == (b, a)
        assert pa['address'] == pb['local_address'] and pb['address'] == pa['local_address']
        assert pa['address'] in hosts[b]['addresses'] and pb['address'] in hosts[a]['addresses']
        for field in ('mode', 'ike', 'esp', 'psk_ref'):
            assert pa[field] == pb[field], field
        assert pa['psk_ref'] == tunnel['psk_ref']

        children_a = dict((c['name'], c) for c in pa['children'])
        children_b = dict((c['name'], c) for c in pb['children'])
        assert len(children_a) == len(pa['children']) and len(children_b) == len(pb['children'])
        assert children_a and sorted(children_a) == sorted(children_b)
        for child_name, ca in children_a.items():
            cb = children_b[child_name]
            assert (ca['local'], ca['remote']) == (cb['remote'], cb['local'])
            assert ca['tunnel_out'] == cb['tunnel_in'] and ca['tunnel_in'] == cb['tunnel_out']
            for field in ('tunnel', 'mode', 'level', 'precedence'):
                assert ca[field] == cb[field], field
            if ca['mode'] == 'transport':
                assert ca['tunnel_out'] == ca['tunnel_in'] == ''
            else:
                assert ca['tunnel_out'] == '%s-%s' % (pa['local_address'], pa['address'])

        # The SPD view: A's out (local -> remote via tunnel_out) is B's in (remote -> local via tunnel_in).
        out_a = set((p['local'], p['remote'], p['tunnel_out']) for p in hosts[a]['policies'] if p['tunnel'] == name)
        in_b = set((p['remote'], p['local'], p['tunnel_in']) for p in hosts[b]['policies'] if p['tunnel'] == name)
        out_b = set((p['local'], p['remote'], p['tunnel_out']) for p in hosts[b]['policies'] if p['tunnel'] == name)
        in_a = set((p['remote'], p['local'], p['tunnel_in']) for p in hosts[a]['policies'] if p['tunnel'] == name)
        assert out_a == in_b and out_b == in_a and out_a


@SETTINGS
@given(fleets())
def test_both_ends_resolve_the_same_key_and_no_key_in_plan(inventory):
    plan = build_plan(inventory)
    text = _dumps(plan) + repr(plan)
    keys_by_tunnel = {}
    for slice_ in plan['hosts'].values():
        for peer in slice_['peers']:
            keys_by_tunnel.setdefault(peer['tunnel'], set()).add(_key(inventory, peer))
    for tunnel, keys in keys_by_tunnel.items():
        assert len(keys) == 1, tunnel
        (key,) = keys
        assert len(key) >= 20
        assert key not in text
    if inventory['psk_master']:
        assert inventory['psk_master'] not in text
    for raw in inventory['tunnels'] + inventory['topologies']:
        if 'psk' in raw:
            assert raw['psk'] not in text


@SETTINGS
@given(fleets())
def test_policies_sorted_and_consistent(inventory):
    plan = build_plan(inventory)
    # Every inventory host has a slice, whether or not a tunnel names it.
    assert sorted(plan['hosts']) == sorted(inventory['hosts'])
    named = set(end for tunnel in plan['tunnels'] for end in tunnel['hosts'])
    for host, slice_ in plan['hosts'].items():
        if host not in named:
            assert slice_['peers'] == [] and slice_['policies'] == [], host
        policies = slice_['policies']
        for policy in policies:
            local, remote = ipaddress.ip_network(policy['local']), ipaddress.ip_network(policy['remote'])
            assert policy['precedence'] == local.prefixlen + remote.prefixlen
        for before, after in zip(policies, policies[1:]):
            assert before['precedence'] >= after['precedence']
            if before['precedence'] == after['precedence']:
                assert before['tunnel'] <= after['tunnel']
        peers = slice_['peers']
        assert [p['tunnel'] for p in peers] == sorted(p['tunnel'] for p in peers)
        from_peers = sorted(_dumps(c) for p in peers for c in p['children'])
        assert sorted(_dumps(p) for p in policies) == from_peers
        address = (inventory['hosts'][host] or {}).get('address')
        assert slice_['addresses'] == ([str(ipaddress.ip_address(address))] if address else [])


@SETTINGS
@given(fleets(), st.randoms(use_true_random=False))
def test_deterministic_and_independent_of_tunnel_and_member_order(inventory, rnd):
    first = build_plan(copy.deepcopy(inventory))
    assert _dumps(build_plan(copy.deepcopy(inventory))) == _dumps(first)

    shuffled = copy.deepcopy(inventory)
    rnd.shuffle(shuffled['tunnels'])
    # Reordering a topology's members renames (so re-keys) nothing.
    for topology in shuffled['topologies']:
        for field in ('hosts', 'hubs', 'spokes'):
            if field in topology:
                rnd.shuffle(topology[field])
    items = list(shuffled['hosts'].items())
    rnd.shuffle(items)
    shuffled['hosts'] = dict(items)
    second = build_plan(shuffled)
    assert sorted(first['hosts']) == sorted(second['hosts'])
    for host in first['hosts']:
        assert set(_dumps(p) for p in first['hosts'][host]['policies']) == \
            set(_dumps(p) for p in second['hosts'][host]['policies'])
    # Stronger: the whole plan is the same data (policies order included).
    assert _dumps(first) == _dumps(second)


@SETTINGS
@given(fleets())
def test_topology_tunnel_names(inventory):
    """Mesh tunnels are <topology>-<a>-<b> with a < b; hub-and-spoke ones <topology>-<hub>-<spoke>."""
    plan = build_plan(inventory)
    by_origin = {}
    for tunnel in plan['tunnels']:
        by_origin.setdefault(tunnel['origin'], []).append(tunnel)
    for topology in inventory['topologies']:
        if topology['type'] == 'mesh':
            members = topology['hosts']
            expected = sorted(sorted((a, b)) for i, a in enumerate(members) for b in members[i + 1:])
        else:
            expected = sorted([hub, spoke] for hub in topology['hubs'] for spoke in topology['spokes'])
        tunnels = by_origin.pop('topology:%s' % topology['name'])
        assert sorted(t['hosts'] for t in tunnels) == expected
        for tunnel in tunnels:
            assert tunnel['name'] == '%s-%s-%s' % (topology['name'], tunnel['hosts'][0], tunnel['hosts'][1])
    assert set(by_origin) <= {'ipsec_tunnels'}


# ---------------------------------------------------------------------------------------
# overlap checking against an independent oracle
# ---------------------------------------------------------------------------------------

POOL = ['0.0.0.0/0', '10.0.0.0/8', '10.1.0.0/16', '10.1.1.0/24', '10.1.2.0/24', '10.2.0.0/16',
        '10.2.1.0/24', '10.1.1.128/25']


@st.composite
def overlapping_fleets(draw):
    """Tunnel-mode IPv4 fleets whose selectors come from one small pool of nested networks."""
    count = draw(st.integers(2, 5))
    names = ['n%d' % i for i in range(count)]
    hosts = dict((name, {'address': '198.18.1.%d' % (i + 1)}) for i, name in enumerate(names))
    pairs = [(a, b) for i, a in enumerate(names) for b in names[i + 1:]]
    chosen = draw(st.lists(st.sampled_from(pairs), min_size=1, max_size=len(pairs), unique=True))
    tunnels = []
    for index, (a, b) in enumerate(chosen):
        selectors = dict((end, draw(st.lists(st.sampled_from(POOL), min_size=1, max_size=3, unique=True)))
                         for end in (a, b))
        tunnels.append({'name': 't%d' % index, 'hosts': [a, b], 'selectors': selectors})
    return {'hosts': hosts, 'tunnels': tunnels, 'psk_master': 'MASTER!' + 'k' * 24}


def _conflicts(inventory):
    """Pairs of selector pairs on one host, from different tunnels, that the kernel cannot order.

    Two pairs overlap when both their locals and their remotes overlap (CIDR blocks nest or
    are disjoint). They are fine only when one is strictly nested in the other; equal pairs
    and crosswise nesting are conflicts.
    """
    claims = {}
    for raw in inventory['tunnels']:
        a, b = raw['hosts']
        for local_end, remote_end in ((a, b), (b, a)):
            for local in raw['selectors'][local_end]:
                for remote in raw['selectors'][remote_end]:
                    claims.setdefault(local_end, []).append(
                        (raw['name'], ipaddress.ip_network(local), ipaddress.ip_network(remote)))
    found = []
    for host, items in claims.items():
        for i, (t1, l1, r1) in enumerate(items):
            for t2, l2, r2 in items[i + 1:]:
                if t1 == t2 or not (l1.overlaps(l2) and r1.overlaps(r2)):
                    continue
                first_inside = l1.subnet_of(l2) and r1.subnet_of(r2)
                second_inside = l2.subnet_of(l1) and r2.subnet_of(r1)
                if first_inside != second_inside:
                    continue
                found.append((host, t1, t2))
    return found


OVERLAP_MESSAGE = re.compile(r"^tunnel '([^']+)': selectors\.([^:]+): on host '([^']+)', \S+ -> \S+ claims the "
                             r"same traffic as tunnel '([^']+)' \(\S+ -> \S+\)$")


@SETTINGS
@given(overlapping_fleets())
def test_overlap_rejections_are_real(inventory):
    """Soundness: whatever the model rejects is a real conflict, and it names both tunnels."""
    try:
        build_plan(inventory)
    except ModelError as error:
        conflicts = set(_conflicts(inventory))
        assert conflicts, error.errors
        for message in error.errors:
            match = OVERLAP_MESSAGE.match(message)
            assert match, message
            first, host, host_again, second = match.groups()
            assert host == host_again
            assert (host, first, second) in conflicts or (host, second, first) in conflicts, message


@settings(SETTINGS, derandomize=True)
@given(overlapping_fleets())
def test_accepted_fleets_have_no_conflicts(inventory):
    """Completeness on random pools (derandomized, so stable): what the model accepts has no conflict.

    The exhaustive tests below cover the two-tunnel case completely; this one looks wider.
    """
    try:
        build_plan(inventory)
    except ModelError:
        return
    assert _conflicts(inventory) == []


# Exhaustive: host h with two tunnels (to p and to q), every non-empty choice of selectors
# from two small nested pools, 7**4 = 2401 inventories. Only h has two tunnels, so only h
# can have conflicts.
H_POOL = ['10.0.0.0/8', '10.1.0.0/16', '10.1.1.0/24']
R_POOL = ['192.168.0.0/16', '192.168.1.0/24', '192.168.2.0/24']


def _subsets(pool):
    return [[item for bit, item in enumerate(pool) if mask & (1 << bit)] for mask in range(1, 1 << len(pool))]


def _two_tunnel_inventories():
    hosts = {'h': {'address': '198.18.2.1'}, 'p': {'address': '198.18.2.2'}, 'q': {'address': '198.18.2.3'}}
    for h1 in _subsets(H_POOL):
        for p in _subsets(R_POOL):
            for h2 in _subsets(H_POOL):
                for q in _subsets(R_POOL):
                    yield {'hosts': hosts, 'psk_master': 'MASTER!' + 'k' * 24, 'tunnels': [
                        {'name': 't1', 'hosts': ['h', 'p'], 'selectors': {'h': h1, 'p': p}},
                        {'name': 't2', 'hosts': ['h', 'q'], 'selectors': {'h': h2, 'q': q}}]}


def _classify_all():
    accepted_with_conflict, rejected_without_conflict = [], []
    for inventory in _two_tunnel_inventories():
        conflicts = _conflicts(inventory)
        try:
            build_plan(inventory)
        except ModelError:
            if not conflicts:
                rejected_without_conflict.append(inventory['tunnels'])
        else:
            if conflicts:
                accepted_with_conflict.append(inventory['tunnels'])
    return accepted_with_conflict, rejected_without_conflict


_CLASSIFIED = []


def _classified():
    if not _CLASSIFIED:
        _CLASSIFIED.append(_classify_all())
    return _CLASSIFIED[0]


def test_exhaustive_two_tunnels_no_false_rejection():
    """Soundness, exhaustively: nested pairs are never rejected."""
    assert _classified()[1] == []


def test_exhaustive_two_tunnels_every_conflict_rejected():
    """Completeness, exhaustively: equal and crosswise pairs are always rejected."""
    missed = _classified()[0]
    assert missed == [], '%d missed, e.g. %r' % (len(missed), missed[:3])


# ---------------------------------------------------------------------------------------
# names, ends and addresses that clash
# ---------------------------------------------------------------------------------------

# Host names that prefix each other across a dash ('a' and 'a-b'), topology names that prefix
# each other, and few addresses, so that tunnel names, pairs of ends and addresses clash often.
CLASH_HOSTS = ('a', 'b', 'c', 'a-b', 'b-c', 'd')
CLASH_ADDRESSES = ('192.0.2.1', '192.0.2.2', '192.0.2.3', '192.0.2.4', '2001:db8::1', '2001:db8::2')
CLASH_NETWORKS = ('10.0.0.0/8', '10.1.0.0/16', '10.1.1.0/24', '10.2.0.0/16', '0.0.0.0/0', '2001:db8:1::/48')
OUTSIDE_PEER = '198.51.100.9'
# Where every problem is reported: a tunnel (maybe of a topology), a topology, a host, or a variable.
PROBLEM = re.compile(r"^(tunnel '[^']+'( \(topology '[^']+'\))?|topology '[^']+'|host '[^']+'|ipsec_\w+(\[\d+\])?): ")


@st.composite
def clashing_inventories(draw):
    hosts = {}
    for index, name in enumerate(draw(st.lists(st.sampled_from(CLASH_HOSTS), min_size=2, max_size=6, unique=True))):
        # Mostly an address and a network of its own, sometimes one another host has too.
        clash = draw(st.integers(0, 3)) == 0
        host = {'address': draw(st.sampled_from(CLASH_ADDRESSES)) if clash else '198.18.0.%d' % (index + 1)}
        if draw(st.booleans()):
            host['subnets'] = (draw(st.lists(st.sampled_from(CLASH_NETWORKS), max_size=2, unique=True)) if clash
                               else ['10.%d.0.0/16' % (100 + index)])
        if draw(st.integers(0, 4)) == 0:
            host['backend'] = 'racoon'
        hosts[name] = host
    names = sorted(hosts)
    topologies = []
    for _index in range(draw(st.integers(0, 3))):
        topology = {'name': draw(st.sampled_from(('core', 'core-a', 'edge', 'a'))),
                    'mode': draw(st.sampled_from(MODES))}
        if draw(st.booleans()):
            topology['type'] = 'mesh'
            topology['hosts'] = draw(st.lists(st.sampled_from(names), min_size=2, max_size=5, unique=True))
        else:
            topology['type'] = 'hub_and_spoke'
            topology['hubs'] = draw(st.lists(st.sampled_from(names), min_size=1, max_size=2, unique=True))
            topology['spokes'] = draw(st.lists(st.sampled_from(names + [OUTSIDE_PEER]), min_size=1, max_size=4,
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
            'psk_master': 'clashing-test-master-0123456789'}


@settings(SETTINGS, max_examples=300)
@given(clashing_inventories())
def test_clashes_are_refused_where_they_are_or_planned_apart(inventory):
    """Either every problem names where it is, or each tunnel name and each pair of outer
    addresses occurs once in the plan, and no tunnel joins an address to itself."""
    try:
        plan = build_plan(inventory)
    except ModelError as exc:
        assert exc.errors
        for problem in exc.errors:
            assert PROBLEM.match(problem), problem
        return
    names = [tunnel['name'] for tunnel in plan['tunnels']]
    assert len(names) == len(set(names))

    def address(end):
        return plan['hosts'][end]['addresses'][0] if end in plan['hosts'] else end
    pairs = [frozenset(address(end) for end in tunnel['hosts']) for tunnel in plan['tunnels']]
    assert all(len(pair) == 2 for pair in pairs)
    assert len(pairs) == len(set(pairs))
