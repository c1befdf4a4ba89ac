# Copyright (c) 2026 fleet.ipsec contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests of the verdict model (verdict.assess, match_ends, unverified, table).

Real captures first (tests/fixtures/xfrm, tests/fixtures/setkey), judged against peer
records the real plan builds; then every other verdict, made by editing the *parsed*
records (never the dump text), so each test changes exactly one fact.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import ipaddress
import json
import os
import re

import pytest

from ansible_collections.fleet.ipsec.plugins.module_utils import setkey_dump, verdict, xfrm_dump
from ansible_collections.fleet.ipsec.plugins.module_utils.plan import build_plan

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..', 'fixtures')


def text(kind, name):
    with open(os.path.join(FIXTURES, kind, name + '.txt')) as f:
        return f.read()


def xfrm(state=None, policy=None):
    sas = xfrm_dump.parse_state(text('xfrm', state)) if state else []
    policies = xfrm_dump.parse_policy(text('xfrm', policy)) if policy else []
    return sas, policies


def setkey(sad=None, spd=None):
    sas = setkey_dump.parse_sad(text('setkey', sad)) if sad else []
    policies = setkey_dump.parse_spd(text('setkey', spd)) if spd else []
    return sas, policies


def peers_of(hosts, tunnels):
    """host -> its peer records, from the real plan."""
    plan = build_plan({'hosts': hosts, 'tunnels': tunnels, 'topologies': [], 'psk_master': 'x' * 32})
    return dict((name, host['peers']) for name, host in plan['hosts'].items())


# The strongSwan captures: gateway g1 (10.77.0.11, 10.101.1.0/24) and g2 (10.77.0.12, 10.101.2.0/24).
G_HOSTS = {'g1': {'address': '10.77.0.11', 'subnets': ['10.101.1.0/24']},
           'g2': {'address': '10.77.0.12', 'subnets': ['10.101.2.0/24']}}
G_PEERS = peers_of(G_HOSTS, [{'name': 'g1-g2', 'hosts': ['g1', 'g2']}])
# (outbound SPI of g1, outbound SPI of g2), as the dumps show them.
G_SPIS = {'ikev1': ('0xce94f85a', '0xc0800800'), 'ikev2': ('0xc8573433', '0xc79235af')}


def g(ike, host):
    return xfrm('%s-%s-ip-s-xfrm-state' % (ike, host), '%s-%s-ip-xfrm-policy' % (ike, host))


def g1():
    """g1's records of the IKEv1 capture, to edit."""
    return g('ikev1', 'g1')


def judge(peers, sas, policies, baseline=None):
    (result,) = verdict.assess(peers, sas, policies, baseline)
    return result


def spis(result):
    return (result['sa_out'] or {}).get('spi_hex'), (result['sa_in'] or {}).get('spi_hex')


def tunnel_policy(policies, direction):
    """The (non-socket) tunnel policy of the capture in one direction."""
    (policy,) = [p for p in policies if p['dir'] == direction and not p['socket']]
    return policy


# ---------------------------------------------------------------- real captures: up at both ends

@pytest.mark.parametrize('ike', sorted(G_SPIS))
def test_strongswan_captures_are_up_at_both_ends_with_their_spis(ike):
    out_g1, out_g2 = G_SPIS[ike]
    r1 = judge(G_PEERS['g1'], *g(ike, 'g1'))
    r2 = judge(G_PEERS['g2'], *g(ike, 'g2'))
    for result, peer, local, remote in ((r1, 'g2', '10.77.0.11', '10.77.0.12'), (r2, 'g1', '10.77.0.12', '10.77.0.11')):
        assert result['verdict'] == verdict.UP, result['reason']
        assert result['reason'] == 'policies and mature SAs in both directions'
        assert (result['tunnel'], result['peer']) == ('g1-g2', peer)
        assert (result['local_address'], result['peer_address']) == (local, remote)
        assert result['policies'] is True and result['missing_policies'] == []
        assert result['sa_count'] == 2
        assert (result['sa_out']['src'], result['sa_out']['dst']) == (local, remote)
        assert (result['sa_in']['src'], result['sa_in']['dst']) == (remote, local)
        assert set(result['sa_out']) == set(verdict.SA_SUMMARY_KEYS)
    assert spis(r1) == (out_g1, out_g2)
    assert spis(r2) == (out_g2, out_g1)
    assert r1['sa_out']['spi'] == int(out_g1, 16) and r1['sa_in']['spi'] == int(out_g2, 16)
    ((row,)) = verdict.match_ends({'g1': [r1], 'g2': [r2]})
    assert (row['verdict'], row['ends'], row['reasons']) == (verdict.UP, ['g1', 'g2'], [])
    assert row['spis'] == ['%s>%s' % (out_g1, out_g2), '%s>%s' % (out_g2, out_g1)]


def test_ikev1_capture_counters():
    r1 = judge(G_PEERS['g1'], *g('ikev1', 'g1'))
    assert (r1['sa_out']['bytes'], r1['sa_out']['packets'], r1['sa_in']['bytes'], r1['sa_in']['packets']) == (
        840, 10, 756, 9)
    assert (r1['sa_out']['enc_norm'], r1['sa_out']['auth_norm']) == ('aes-cbc', 'hmac-sha256')
    (row,) = verdict.match_ends({'g1': [r1], 'g2': [judge(G_PEERS['g2'], *g('ikev1', 'g2'))]})
    # g2 captured later than g1: its counters are its own (756 out, 756 in)
    assert row['bytes'] == ['840/756', '756/756']


def test_plain_state_dump_is_up_too():
    """`ip xfrm state` without -s: no counters, no times; still mature SAs both ways."""
    sas = xfrm('derived-ikev2-g1-ip-xfrm-state')[0]
    policies = xfrm(policy='ikev2-g1-ip-xfrm-policy')[1]
    result = judge(G_PEERS['g1'], sas, policies)
    assert result['verdict'] == verdict.UP
    assert spis(result) == G_SPIS['ikev2']


def test_capture_of_the_other_gateway_is_not_up_here():
    """g2's dump judged as g1's: the policies point the other way."""
    result = judge(G_PEERS['g1'], *g('ikev1', 'g2'))
    assert result['verdict'] == verdict.NO_POLICY
    assert result['missing_policies'] == ['out 10.101.1.0/24 -> 10.101.2.0/24', 'in 10.101.2.0/24 -> 10.101.1.0/24']


def test_the_debian_capture_with_use_level_and_fwd():
    """debian12-netns: the same net-to-net child among unrelated policies, `level use` inbound."""
    sas = g1()[0]
    policies = xfrm(policy='debian12-netns-ip-s-xfrm-policy')[1]
    assert judge(G_PEERS['g1'], sas, policies)['verdict'] == verdict.UP
    plain = xfrm(policy='debian12-netns-ip-xfrm-policy')[1]
    assert judge(G_PEERS['g1'], sas, plain)['verdict'] == verdict.UP


# ---------------------------------------------------------------- real captures: setkey

def test_setkey_freebsd_vti_tunnel_is_up():
    """FreeBSD if_ipsec: 0.0.0.0/0 <-> 0.0.0.0/0 through 10.0.23.2 <-> 10.0.34.4 (the local end is .23.2)."""
    peers = peers_of({'r2': {'address': '10.0.23.2'}, 'r4': {'address': '10.0.34.4'}},
                     [{'name': 'vti', 'hosts': ['r2', 'r4'], 'selectors': {'r2': ['0.0.0.0/0'], 'r4': ['0.0.0.0/0']}}])
    result = judge(peers['r2'], *setkey('freebsd-vti-setkey-D', 'freebsd-vti-setkey-DP'))
    assert result['verdict'] == verdict.UP, result['reason']
    assert spis(result) == ('0x00001000', '0x00001001')
    assert (result['sa_out']['bytes'], result['sa_in']['bytes']) == (280, 168)
    assert result['sa_out']['age'] == 105 and result['sa_out']['state'] == 'mature'
    # The same dump judged from the far end: its policies are this end's, so not there.
    assert judge(peers['r4'], *setkey('freebsd-vti-setkey-D', 'freebsd-vti-setkey-DP'))['verdict'] == verdict.NO_POLICY


def test_setkey_transport_mode_esp_and_ah_is_up_on_esp():
    """ipsec-tools transport mode 202.141.176.2 <-> .3, ESP+AH: the verdict reads the ESP SAs."""
    peers = peers_of({'itts': {'address': '202.141.176.2'}},
                     [{'name': 'itts', 'hosts': ['itts', '202.141.176.3'], 'mode': 'transport'}])
    (child,) = peers['itts'][0]['children']
    assert (child['tunnel_out'], child['tunnel_in']) == ('', '')
    result = judge(peers['itts'], *setkey('linux-ipsec-tools-itts-setkey-D', 'linux-ipsec-tools-itts-setkey-DP'))
    assert result['verdict'] == verdict.UP, result['reason']
    assert spis(result) == ('0x00003d55', '0x00005fb5')
    assert result['sa_out']['satype'] == 'esp' and result['sa_in']['satype'] == 'esp'
    assert result['sa_count'] == 2  # the two AH SAs do not count


def test_setkey_libreswan_redacted_spis_are_not_up():
    """The libreswan test-suite dump has its SPIs redacted (SPISPI): no SPI, not usable."""
    peers = peers_of({'east': {'address': '192.1.2.45', 'subnets': ['192.0.1.0/24']},
                      'west': {'address': '192.1.2.23', 'subnets': ['192.0.2.0/24']}},
                     [{'name': 'east-west', 'hosts': ['east', 'west']}])
    result = judge(peers['east'], *setkey('freebsd-libreswan-setkey-D', 'freebsd-libreswan-setkey-DP'))
    assert result['policies'] is True
    assert result['verdict'] == verdict.NEGOTIATING
    assert result['sa_out'] is None and result['sa_in'] is None and result['sa_count'] == 2


NATT_PEERS = peers_of({'a': {'address': '192.0.2.10', 'subnets': ['10.1.0.0/16']},
                       'b': {'address': '198.51.100.1', 'subnets': ['10.2.0.0/16']}},
                      [{'name': 'a-b', 'hosts': ['a', 'b']}])


def test_setkey_freebsd_constructed_natt_outbound_only_is_half_up():
    result = judge(NATT_PEERS['a'], *setkey('freebsd-constructed-setkey-D', 'freebsd-constructed-setkey-DP'))
    assert result['policies'] is True
    assert result['verdict'] == verdict.HALF_UP
    assert result['reason'] == 'a mature SA only outbound'
    assert spis(result) == ('0xc0a80101', None)
    assert result['sa_out']['satype'] == 'esp-udp'


def test_setkey_linux_constructed_without_inbound_policy_is_no_policy():
    result = judge(NATT_PEERS['a'], *setkey('linux-ipsec-tools-constructed-setkey-D',
                                            'linux-ipsec-tools-constructed-setkey-DP'))
    assert result['verdict'] == verdict.NO_POLICY
    assert result['missing_policies'] == ['in 10.2.0.0/16 -> 10.1.0.0/16']
    assert 'in 10.2.0.0/16 -> 10.1.0.0/16' in result['reason']
    # the SA is still reported
    assert spis(result) == ('0xcafebabe', None)


def test_setkey_empty_databases():
    sas = setkey('no-sad-entries')[0]
    policies = g1()[1]
    assert judge(G_PEERS['g1'], sas, policies)['verdict'] == verdict.NO_SA
    g1_sas = g1()[0]
    none = setkey(spd='no-spd-entries')[1]
    result = judge(G_PEERS['g1'], g1_sas, none)
    assert result['verdict'] == verdict.NO_POLICY and len(result['missing_policies']) == 2


def test_setkey_dying_sas_are_usable_and_larval_ipcomp_ignored():
    """lkml2003: two dying ESP SAs and a larval IPComp one; its policies, as setkey would print them."""
    peers = peers_of({'h': {'address': '172.16.1.226', 'subnets': ['10.0.1.0/24']}},
                     [{'name': 'h-far', 'hosts': ['h', '172.16.1.247'],
                       'selectors': {'h': ['10.0.1.0/24'], '172.16.1.247': ['10.0.2.0/24']}}])
    sas = setkey('linux-ipsec-tools-lkml2003-setkey-D')[0]
    policies = setkey_dump.parse_spd(
        '10.0.1.0/24[any] 10.0.2.0/24[any] any\n\tout ipsec\n\tesp/tunnel/172.16.1.226-172.16.1.247/require\n'
        '\tspid=1 seq=1 pid=1\n\trefcnt=1\n'
        '10.0.2.0/24[any] 10.0.1.0/24[any] any\n\tin ipsec\n\tesp/tunnel/172.16.1.247-172.16.1.226/require\n'
        '\tspid=2 seq=0 pid=1\n\trefcnt=1\n')
    result = judge(peers['h'], sas, policies)
    assert result['verdict'] == verdict.UP, result['reason']
    assert spis(result) == ('0x04c13c17', '0x0387decb')
    assert result['sa_out']['state'] == 'dying'


# ---------------------------------------------------------------- no_policy

@pytest.mark.parametrize('direction, missing', [
    ('in', 'in 10.101.2.0/24 -> 10.101.1.0/24'),
    ('out', 'out 10.101.1.0/24 -> 10.101.2.0/24'),
])
def test_a_missing_policy_is_named(direction, missing):
    sas, policies = g1()
    policies.remove(tunnel_policy(policies, direction))
    result = judge(G_PEERS['g1'], sas, policies)
    assert result['verdict'] == verdict.NO_POLICY
    assert result['policies'] is False
    assert result['missing_policies'] == [missing]
    assert result['reason'] == 'missing policies: ' + missing
    # the SAs are still shown
    assert spis(result) == G_SPIS['ikev1']


@pytest.mark.parametrize('edit', [
    'discard', 'none', 'outer endpoints', 'transport request', 'ah request', 'other selector',
])
def test_a_policy_that_does_not_protect_the_child_is_missing(edit):
    sas, policies = g1()
    policy = tunnel_policy(policies, 'in')
    request = policy['requests'][0]
    if edit == 'discard':
        policy['action'], policy['requests'] = 'discard', []
    elif edit == 'none':
        policy['action'], policy['requests'] = 'none', []
    elif edit == 'outer endpoints':
        request['src'] = '10.77.0.99'
    elif edit == 'transport request':
        request['mode'], request['src'], request['dst'] = 'transport', None, None
    elif edit == 'ah request':
        request['proto'] = 'ah'
    else:
        policy['src'] = '10.101.3.0/24'
    result = judge(G_PEERS['g1'], sas, policies)
    assert result['verdict'] == verdict.NO_POLICY
    assert result['missing_policies'] == ['in 10.101.2.0/24 -> 10.101.1.0/24']


def test_socket_policies_are_ignored():
    sas, policies = g1()
    # The capture's socket policies (0.0.0.0/0, ::/0) change nothing.
    assert sum(1 for p in policies if p['socket']) == 8
    assert judge(G_PEERS['g1'], sas, policies)['verdict'] == verdict.UP
    # A per-socket policy never stands in for a missing tunnel policy, even with the right selectors.
    tunnel_policy(policies, 'in')['socket'] = True
    result = judge(G_PEERS['g1'], sas, policies)
    assert result['verdict'] == verdict.NO_POLICY
    assert result['missing_policies'] == ['in 10.101.2.0/24 -> 10.101.1.0/24']


def test_setkey_per_socket_policies_are_ignored():
    policies = setkey(spd='linux-ipsec-tools-ipop-setkey-DP')[1]
    sockets = [p for p in policies if p['socket']]
    assert len(sockets) == 3
    peers = peers_of({'h': {'address': '192.168.1.10'}},
                     [{'name': 'h-far', 'hosts': ['h', '192.168.1.20'], 'mode': 'transport'}])
    result = judge(peers['h'], [], sockets)
    assert result['verdict'] == verdict.NO_POLICY and len(result['missing_policies']) == 2


def test_a_second_policy_with_the_same_selectors_can_carry_the_child():
    """Several policies per (dir, src, dst) (e.g. a bypass and the tunnel): one matching is enough."""
    sas, policies = g1()
    decoy = copy.deepcopy(tunnel_policy(policies, 'in'))
    decoy['action'], decoy['requests'] = 'none', []
    policies.insert(0, decoy)
    assert judge(G_PEERS['g1'], sas, policies)['verdict'] == verdict.UP


def test_every_child_needs_its_policies():
    peers = peers_of({'b': {'address': '10.77.0.11', 'subnets': ['10.101.1.0/24', '10.111.1.0/24']},
                      'q': {'address': '10.77.0.12', 'subnets': ['10.101.2.0/24']}},
                     [{'name': 'b-q', 'hosts': ['b', 'q']}])
    assert [c['name'] for c in peers['b'][0]['children']] == ['b-q-0', 'b-q-1']
    sas, policies = g1()
    result = judge(peers['b'], sas, policies)
    assert result['verdict'] == verdict.NO_POLICY
    assert result['missing_policies'] == ['out 10.111.1.0/24 -> 10.101.2.0/24', 'in 10.101.2.0/24 -> 10.111.1.0/24']


# ---------------------------------------------------------------- no_sa, negotiating, half_up

def test_no_sa():
    sas, policies = g1()
    result = judge(G_PEERS['g1'], [], policies)
    assert result['verdict'] == verdict.NO_SA
    assert result['reason'] == 'policies are in place but there is no SA'
    assert (result['sa_out'], result['sa_in'], result['sa_count']) == (None, None, 0)
    # SAs to someone else do not count either
    for sa in sas:
        sa['dst'] = sa['src'] = '10.77.0.99'
    assert judge(G_PEERS['g1'], sas, policies)['verdict'] == verdict.NO_SA


def test_no_policy_wins_over_sa_state():
    sas, policies = g1()
    policies.remove(tunnel_policy(policies, 'out'))
    # mature SAs both ways, and no SA at all: a missing policy decides either way
    assert judge(G_PEERS['g1'], sas, policies)['verdict'] == verdict.NO_POLICY
    assert judge(G_PEERS['g1'], [], policies)['verdict'] == verdict.NO_POLICY


@pytest.mark.parametrize('edit', ['larval', 'spi 0', 'spi None'])
def test_larval_or_spi_less_sas_are_negotiating(edit):
    sas, policies = g1()
    for sa in sas:
        if edit == 'larval':
            sa['state'] = 'larval'
        elif edit == 'spi 0':
            sa['spi'] = 0
        else:
            sa['spi'] = sa['spi_hex'] = None
    result = judge(G_PEERS['g1'], sas, policies)
    assert result['verdict'] == verdict.NEGOTIATING
    assert result['reason'] == 'IKE is negotiating (larval SAs only)'
    assert result['sa_out'] is None and result['sa_in'] is None and result['sa_count'] == 2


def test_one_larval_sa_is_negotiating():
    sas, policies = g1()
    sas[1]['state'] = 'larval'
    sas[0]['state'] = 'dead'
    assert judge(G_PEERS['g1'], sas, policies)['verdict'] == verdict.NEGOTIATING


def test_dead_sas_are_no_sa():
    sas, policies = g1()
    for sa in sas:
        sa['state'] = 'dead'
    assert judge(G_PEERS['g1'], sas, policies)['verdict'] == verdict.NO_SA


@pytest.mark.parametrize('keep, which', [(0, 'outbound'), (1, 'inbound')])
def test_one_direction_only_is_half_up(keep, which):
    sas, policies = g1()
    assert (sas[0]['src'], sas[1]['src']) == ('10.77.0.11', '10.77.0.12')
    result = judge(G_PEERS['g1'], [sas[keep]], policies)
    assert result['verdict'] == verdict.HALF_UP
    assert result['reason'] == 'a mature SA only ' + which
    assert (result['sa_out'] is None) == (which == 'inbound')
    assert (result['sa_in'] is None) == (which == 'outbound')


def test_mature_one_way_and_larval_the_other_is_half_up():
    sas, policies = g1()
    sas[1]['state'] = 'larval'
    assert judge(G_PEERS['g1'], sas, policies)['verdict'] == verdict.HALF_UP


def test_non_esp_sas_are_not_counted():
    sas, policies = g1()
    for sa in sas:
        sa['satype'] = sa['proto'] = 'ah'
    result = judge(G_PEERS['g1'], sas, policies)
    assert result['verdict'] == verdict.NO_SA and result['sa_count'] == 0


# ---------------------------------------------------------------- stale (byte baseline)

def test_out_grew_and_in_did_not_is_stale():
    sas, policies = g1()
    baseline = verdict.byte_baseline(sas)
    assert baseline == {('10.77.0.11', '10.77.0.12', 0xce94f85a): 840, ('10.77.0.12', '10.77.0.11', 0xc0800800): 756}
    sas[0]['bytes'] += 84 * 3  # three pings left...
    result = judge(G_PEERS['g1'], sas, policies, baseline)  # ...and nothing came back
    assert result['verdict'] == verdict.STALE
    assert '0xce94f85a' in result['reason'] and '0xc0800800' in result['reason']
    # One end cannot tell out of sync from a mismatch; match_ends, seeing both, advises.
    assert 'resync' not in result['reason']


@pytest.mark.parametrize('grow_out, grow_in', [(True, True), (False, True), (False, False)])
def test_other_byte_movements_are_up(grow_out, grow_in):
    sas, policies = g1()
    baseline = verdict.byte_baseline(sas)
    sas[0]['bytes'] += 252 if grow_out else 0
    sas[1]['bytes'] += 252 if grow_in else 0
    assert judge(G_PEERS['g1'], sas, policies, baseline)['verdict'] == verdict.UP


def test_sas_born_after_the_baseline_count_from_zero():
    sas, policies = g1()
    baseline = verdict.byte_baseline([])
    sas[1]['bytes'] = 0
    assert judge(G_PEERS['g1'], sas, policies, baseline)['verdict'] == verdict.STALE
    sas[1]['bytes'] = 84
    assert judge(G_PEERS['g1'], sas, policies, baseline)['verdict'] == verdict.UP


def test_without_a_baseline_there_is_no_stale():
    sas, policies = g1()
    sas[1]['bytes'] = 0
    assert judge(G_PEERS['g1'], sas, policies)['verdict'] == verdict.UP


def test_baseline_with_counterless_sas_does_not_crash():
    """Regression: bytes=None (plain `ip xfrm state`) with a baseline once raised TypeError."""
    sas = xfrm('derived-ikev2-g1-ip-xfrm-state')[0]
    policies = xfrm(policy='ikev2-g1-ip-xfrm-policy')[1]
    assert all(sa['bytes'] is None for sa in sas)
    result = judge(G_PEERS['g1'], sas, policies, verdict.byte_baseline(sas))
    assert result['verdict'] == verdict.UP


# ---------------------------------------------------------------- transport mode

TRANSPORT_PEERS = peers_of({'q': {'address': '192.0.2.20'}, 'b': {'address': '192.0.2.30'}},
                           [{'name': 'q-b', 'hosts': ['q', 'b'], 'mode': 'transport'}])


def transport_records(local='192.0.2.20', remote='192.0.2.30'):
    """g1's records turned into a transport-mode pair between two hosts."""
    sas, policies = g1()
    out, in_ = tunnel_policy(policies, 'out'), tunnel_policy(policies, 'in')
    ends = {'10.77.0.11': local, '10.77.0.12': remote}
    for sa in sas:
        sa['src'], sa['dst'], sa['mode'] = ends[sa['src']], ends[sa['dst']], 'transport'
    for policy, src, dst in ((out, local, remote), (in_, remote, local)):
        policy['src'], policy['dst'] = src + '/32', dst + '/32'
        request = policy['requests'][0]
        request['mode'], request['src'], request['dst'] = 'transport', None, None
    return sas, [out, in_]


def test_transport_mode_without_outer_endpoints_is_up():
    (child,) = TRANSPORT_PEERS['q'][0]['children']
    assert (child['local'], child['remote'], child['tunnel_out'], child['tunnel_in']) == (
        '192.0.2.20/32', '192.0.2.30/32', '', '')
    result = judge(TRANSPORT_PEERS['q'], *transport_records())
    assert result['verdict'] == verdict.UP, result['reason']
    assert spis(result) == G_SPIS['ikev1']


def test_transport_mode_request_endpoints_do_not_matter():
    sas, policies = transport_records()
    policies[0]['requests'][0]['src'] = '192.0.2.99'
    assert judge(TRANSPORT_PEERS['q'], sas, policies)['verdict'] == verdict.UP


def test_transport_child_is_not_carried_by_a_tunnel_policy():
    sas, policies = transport_records()
    policies[1]['requests'][0].update(mode='tunnel', src='192.0.2.30', dst='192.0.2.20')
    result = judge(TRANSPORT_PEERS['q'], sas, policies)
    assert result['verdict'] == verdict.NO_POLICY
    assert result['missing_policies'] == ['in 192.0.2.30/32 -> 192.0.2.20/32']


def test_host_selector_without_prefix_compares_equal():
    """setkey prints a host as `a.b.c.d[any]`; a kernel record without /32 still matches."""
    sas, policies = transport_records()
    policies[0]['src'] = '192.0.2.20'
    assert judge(TRANSPORT_PEERS['q'], sas, policies)['verdict'] == verdict.UP


# ---------------------------------------------------------------- IPv6

V6_PEERS = peers_of({'v6a': {'address': '2001:db8::a', 'subnets': ['2001:db8:a::/48']},
                     'v6b': {'address': '2001:db8::b', 'subnets': ['2001:db8:b::/48']}},
                    [{'name': 'v6', 'hosts': ['v6a', 'v6b']}])


def expanded(form):
    """'2001:db8::a' -> '2001:0DB8:0000:...:000A' (and keep a /prefix)."""
    address, slash, prefix = form.partition('/')
    return ipaddress.ip_address(address).exploded.upper() + slash + prefix


def v6_records(form):
    sas, policies = g1()
    out, in_ = tunnel_policy(policies, 'out'), tunnel_policy(policies, 'in')
    ends = {'10.77.0.11': form('2001:db8::a'), '10.77.0.12': form('2001:db8::b')}
    for sa in sas:
        sa['src'], sa['dst'] = ends[sa['src']], ends[sa['dst']]
    nets = {'10.101.1.0/24': form('2001:db8:a::/48'), '10.101.2.0/24': form('2001:db8:b::/48')}
    for policy in (out, in_):
        policy['src'], policy['dst'] = nets[policy['src']], nets[policy['dst']]
        request = policy['requests'][0]
        request['src'], request['dst'] = ends[request['src']], ends[request['dst']]
    return sas, [out, in_]


@pytest.mark.parametrize('form', [lambda a: a, expanded], ids=['compressed', 'expanded'])
def test_ipv6_kernel_forms_compare_equal_to_the_plan(form):
    result = judge(V6_PEERS['v6a'], *v6_records(form))
    assert result['verdict'] == verdict.UP, result['reason']
    assert spis(result) == G_SPIS['ikev1']
    assert (result['local_address'], result['peer_address']) == ('2001:db8::a', '2001:db8::b')


def test_ipv6_expanded_plan_compares_equal_to_compressed_kernel():
    peers = copy.deepcopy(V6_PEERS['v6a'])
    peer = peers[0]
    peer['address'], peer['local_address'] = expanded(peer['address']), expanded(peer['local_address'])
    for child in peer['children']:
        child['local'], child['remote'] = expanded(child['local']), expanded(child['remote'])
        child['tunnel_out'] = '-'.join(expanded(a) for a in child['tunnel_out'].split('-'))
        child['tunnel_in'] = '-'.join(expanded(a) for a in child['tunnel_in'].split('-'))
    result = judge(peers, *v6_records(lambda a: a))
    assert result['verdict'] == verdict.UP, result['reason']
    assert (result['local_address'], result['peer_address']) == ('2001:db8::a', '2001:db8::b')


def test_ipv6_missing_policy_is_still_missing():
    sas, policies = v6_records(expanded)
    result = judge(V6_PEERS['v6a'], sas, policies[:1])
    assert result['verdict'] == verdict.NO_POLICY
    assert result['missing_policies'] == ['in 2001:db8:b::/48 -> 2001:db8:a::/48']


# ---------------------------------------------------------------- rekey: the newest SA

def rekeyed(old_age, new_age):
    sas, policies = g1()
    old_out, old_in = sas
    new_out, new_in = copy.deepcopy(old_out), copy.deepcopy(old_in)
    new_out.update(spi=0x0a0a0a0a, spi_hex='0x0a0a0a0a', bytes=0)
    new_in.update(spi=0x0b0b0b0b, spi_hex='0x0b0b0b0b', bytes=0)
    for sa, age in ((old_out, old_age), (old_in, old_age), (new_out, new_age), (new_in, new_age)):
        sa['age'] = age
    return [old_out, new_out, old_in, new_in], policies


@pytest.mark.parametrize('order', ['old first', 'new first'])
def test_rekey_the_newest_sa_is_chosen(order):
    sas, policies = rekeyed(3000, 10)
    if order == 'new first':
        sas.reverse()
    result = judge(G_PEERS['g1'], sas, policies)
    assert result['verdict'] == verdict.UP
    # the new SPIs are lower than the old ones: the age decides, not the SPI
    assert spis(result) == ('0x0a0a0a0a', '0x0b0b0b0b')
    assert result['sa_out']['age'] == 10 and result['sa_count'] == 4


def test_rekey_a_larval_new_sa_is_not_chosen():
    sas, policies = rekeyed(3000, 1)
    sas[1]['state'] = 'larval'
    result = judge(G_PEERS['g1'], sas, policies)
    assert result['verdict'] == verdict.UP
    assert spis(result) == ('0xce94f85a', '0x0b0b0b0b')


def test_rekey_a_dying_old_sa_is_still_usable_alone():
    sas, policies = rekeyed(3000, 10)
    for sa in sas:
        sa['state'] = 'dying' if sa['age'] == 3000 else 'dead'
    result = judge(G_PEERS['g1'], sas, policies)
    assert result['verdict'] == verdict.UP
    assert spis(result) == G_SPIS['ikev1']


@pytest.mark.parametrize('order', ['old first', 'new first'])
def test_rekey_newest_by_created_when_age_is_unknown(order):
    """Regression: xfrm records carry `created` but no age; age None once counted as the youngest."""
    sas, policies = g1()
    old_out = sas[0]
    new_out = copy.deepcopy(old_out)
    new_out.update(spi=0x0a0a0a0a, spi_hex='0x0a0a0a0a', created='2026-11-27 19:58:04')
    assert old_out['age'] is None and old_out['created'] == '2026-11-27 18:58:04'
    outbound = [old_out, new_out] if order == 'old first' else [new_out, old_out]
    result = judge(G_PEERS['g1'], outbound + [sas[1]], policies)
    assert spis(result)[0] == '0x0a0a0a0a'


def test_rekey_a_known_age_is_not_beaten_by_an_unknown_one():
    sas, policies = rekeyed(3000, 10)
    sas[0]['age'] = None  # the old outbound SA, its age unknown but its `created` older
    sas[1]['created'] = '2026-11-27 19:48:04'
    result = judge(G_PEERS['g1'], sas, policies)
    assert spis(result)[0] == '0x0a0a0a0a'


def plain_rekey():
    """Two outbound SAs from a plain `ip xfrm state` (no age, no created), listed as the kernel
    lists them: newest first (__xfrm_state_insert list_add()s at the head of state_all and the
    dump walks from the head; the -s captures show it: ikev1-g1 lists 18:58:04 before 18:58:02)."""
    sas = xfrm('derived-ikev2-g1-ip-xfrm-state')[0]
    policies = xfrm(policy='ikev2-g1-ip-xfrm-policy')[1]
    old_out, in_ = sas
    new_out = copy.deepcopy(old_out)
    new_out.update(spi=0x0a0a0a0a, spi_hex='0x0a0a0a0a')
    assert old_out['age'] is None and old_out['created'] is None
    return [new_out, old_out, in_], policies


def test_dump_order_newest_first_in_the_captures():
    for host in ('g1', 'g2'):
        sas = g('ikev1', host)[0]
        assert sas[0]['created'] > sas[1]['created']


def test_rekey_without_times_takes_the_first_listed_xfrm_sa():
    sas, policies = plain_rekey()
    assert spis(judge(G_PEERS['g1'], sas, policies))[0] == '0x0a0a0a0a'


def test_results_keep_the_plans_peer_order():
    peers = peers_of({'g1': G_HOSTS['g1'], 'g2': G_HOSTS['g2'], 'g3': {'address': '10.77.0.13'}},
                     [{'name': 'g1-g2', 'hosts': ['g1', 'g2']}, {'name': 'g1-g3', 'hosts': ['g1', 'g3']}])
    results = verdict.assess(peers['g1'], *g1())
    assert [(r['tunnel'], r['verdict']) for r in results] == [('g1-g2', verdict.UP), ('g1-g3', verdict.NO_POLICY)]
    assert verdict.assess([], *g1()) == []


# ---------------------------------------------------------------- match_ends

def end(tunnel, verdict_, out=None, in_=None, bytes_=(0, 0), age=None, reason=None):
    """An `assess` result, as far as match_ends reads it."""
    def sa(spi, count):
        if spi is None:
            return None
        return {'spi': spi, 'spi_hex': '0x%08x' % spi, 'bytes': count, 'age': age}
    return {'tunnel': tunnel, 'peer': 'x', 'verdict': verdict_, 'reason': reason or 'because ' + verdict_,
            'sa_out': sa(out, bytes_[0]), 'sa_in': sa(in_, bytes_[1])}


def test_match_both_up_with_crossed_spis_is_up():
    rows = verdict.match_ends({'mason': [end('t', 'up', 2, 1, (10, 20), 5)],
                               'gluon': [end('t', 'up', 1, 2, (20, 10), 7)]})
    assert rows == [{'tunnel': 't', 'ends': ['gluon', 'mason'], 'verdict': 'up', 'reasons': [],
                     'spis': ['0x00000001>0x00000002', '0x00000002>0x00000001'],
                     'bytes': ['20/10', '10/20'], 'age': ['7s', '5s']}]


def test_match_spis_differ_is_stale_naming_hosts_and_spis():
    rows = verdict.match_ends({'gluon': [end('t', 'up', 0x11, 0x22)], 'mason': [end('t', 'up', 0x33, 0x44)]})
    (row,) = rows
    assert row['verdict'] == verdict.STALE
    # one reason per direction that disagrees, sender first
    assert row['reasons'] == [
        'gluon sends with SPI 0x00000011 but mason receives with SPI 0x00000044 (keys out of sync; run resync)',
        'mason sends with SPI 0x00000033 but gluon receives with SPI 0x00000022 (keys out of sync; run resync)']


def test_match_stale_when_only_one_direction_differs():
    (row,) = verdict.match_ends({'gluon': [end('t', 'up', 0x11, 0x22)], 'mason': [end('t', 'up', 0x99, 0x11)]})
    assert row['verdict'] == verdict.STALE


def test_match_stale_reason_names_the_spis_that_differ():
    """Regression: the reason once always compared A's out with B's in, even when those agreed."""
    (row,) = verdict.match_ends({'gluon': [end('t', 'up', 0x11, 0x22)], 'mason': [end('t', 'up', 0x99, 0x11)]})
    assert row['reasons'] == [
        'mason sends with SPI 0x00000099 but gluon receives with SPI 0x00000022 (keys out of sync; run resync)']


def test_match_an_end_without_spis_is_not_up():
    """Two `up` ends always hold SAs; an `up` result without them is not taken for a match."""
    (row,) = verdict.match_ends({'gluon': [end('t', 'up', 0x11, 0x22)], 'mason': [end('t', 'up')]})
    assert row['verdict'] == verdict.STALE
    assert len(row['reasons']) == 2 and all(' SPI -' in r for r in row['reasons'])


def test_match_one_end_missing_gives_a_row_with_one_end():
    (row,) = verdict.match_ends({'gluon': [end('t', 'up', 1, 2)], 'mason': []})
    assert (row['ends'], row['verdict'], row['reasons']) == (['gluon'], verdict.UP, [])
    assert row['spis'] == ['0x00000001>0x00000002']
    (row,) = verdict.match_ends({'gluon': [end('t', 'no_sa')], 'mason': None})
    assert (row['ends'], row['verdict'], row['reasons']) == (['gluon'], verdict.NO_SA, ['gluon: because no_sa'])
    assert (row['spis'], row['bytes'], row['age']) == (['->-'], ['-/-'], ['-'])


def test_match_rows_are_sorted_by_tunnel():
    rows = verdict.match_ends({'a': [end('zeta', 'up', 1, 2), end('alpha', 'no_sa')], 'b': [end('zeta', 'up', 2, 1)]})
    assert [(r['tunnel'], r['ends'], r['verdict']) for r in rows] == [
        ('alpha', ['a'], 'no_sa'), ('zeta', ['a', 'b'], 'up')]
    assert verdict.match_ends({}) == []


WORST = [verdict.UP, verdict.NEGOTIATING, verdict.HALF_UP, verdict.NO_SA, verdict.STALE, verdict.NO_POLICY,
         verdict.UNKNOWN]


@pytest.mark.parametrize('a', WORST)
@pytest.mark.parametrize('b', WORST)
def test_match_worst_verdict_wins(a, b):
    (row,) = verdict.match_ends({'gluon': [end('t', a, 1, 2)], 'mason': [end('t', b, 2, 1)]})
    assert row['verdict'] == max(a, b, key=WORST.index)
    advice = []
    if a == b == verdict.STALE:
        advice = [verdict.MISMATCH_ADVICE % ('0x00000001', '0x00000002')]
    elif verdict.STALE in (a, b):
        advice = [verdict.RESYNC_ADVICE]
    assert row['reasons'] == ['%s: because %s' % (host, v) for host, v in (('gluon', a), ('mason', b))
                              if v != 'up'] + advice


def test_both_ends_stale_on_the_same_sas_is_not_a_resync_case():
    # Seen in the lab: racoon (PF_KEY, HMAC-SHA-256 cut to 96 bits) against strongSwan (128 bits).
    # Each end sends through the SA the other receives on, and neither accepts anything.
    (row,) = verdict.match_ends({'a': [end('t', 'stale', 0x0d, 0x03, (1088, 0))],
                                 'c': [end('t', 'stale', 0x03, 0x0d, (896, 0))]})
    assert row['verdict'] == verdict.STALE
    assert not any('run resync' in reason for reason in row['reasons'])
    assert 'resync cannot fix' in row['reasons'][-1]
    assert 'XfrmInStateProtoError' in row['reasons'][-1]
    assert '0x0000000d and 0x00000003' in row['reasons'][-1]


def test_both_ends_stale_on_different_sas_is_a_resync_case():
    (row,) = verdict.match_ends({'a': [end('t', 'stale', 0x0d, 0x03)], 'c': [end('t', 'stale', 0x04, 0x0e)]})
    assert row['reasons'][-1] == verdict.RESYNC_ADVICE


def test_match_up_is_better_than_everything_and_unknown_worst():
    assert set(WORST) == set(verdict.VERDICTS) | {verdict.UNKNOWN}
    for v in WORST[1:]:
        (row,) = verdict.match_ends({'a': [end('t', 'up', 1, 2)], 'b': [end('t', v)]})
        assert row['verdict'] == v
        (row,) = verdict.match_ends({'a': [end('t', verdict.UNKNOWN)], 'b': [end('t', v)]})
        assert row['verdict'] == verdict.UNKNOWN


def test_unverified_adds_unknown_for_expected_peers_without_result():
    expected = G_PEERS['g1'] + [{'tunnel': 'g1-g3', 'name': 'g3'}]
    judged = [end('g1-g2', 'up', 1, 2)]
    results = verdict.unverified(expected, judged, 'cannot read the kernel SAD/SPD')
    assert results[0] is judged[0]
    assert results[1] == {'tunnel': 'g1-g3', 'peer': 'g3', 'verdict': verdict.UNKNOWN,
                          'reason': 'cannot read the kernel SAD/SPD', 'policies': None, 'missing_policies': [],
                          'sa_out': None, 'sa_in': None, 'sa_count': 0}
    assert verdict.unverified(expected, [], 'down') == [
        dict(results[1], tunnel='g1-g2', peer='g2', reason='down'), dict(results[1], reason='down')]
    assert verdict.unverified([], judged, 'x') == judged


def test_unverified_end_makes_the_tunnel_unknown():
    results = {'g1': verdict.unverified(G_PEERS['g1'], [], 'host unreachable'),
               'g2': [judge(G_PEERS['g2'], *g('ikev1', 'g2'))]}
    (row,) = verdict.match_ends(results)
    assert row['verdict'] == verdict.UNKNOWN
    assert row['reasons'] == ['g1: host unreachable']
    assert row['spis'] == ['->-', '0xc0800800>0xce94f85a']


# ---------------------------------------------------------------- table

HEADER = ('tunnel', 'ends', 'verdict', 'SPIs', 'bytes', 'age')


def test_table_columns_and_alignment():
    rows = verdict.match_ends({
        'gluon': [end('gluon-mason', 'up', 0x99e806d, 0xd8d15b6, (840, 756), 12), end('g-long-tunnel-name', 'no_sa')],
        'mason': [end('gluon-mason', 'up', 0xd8d15b6, 0x99e806d, (756, 840), 12)],
    })
    lines = verdict.table(rows)
    assert len(lines) == 3
    header = lines[0]
    assert header.split()[0] == 'tunnel'
    starts = [header.index(word) for word in HEADER]
    assert starts == sorted(starts) and starts[0] == 0
    assert header.startswith('tunnel') and header.endswith('age')
    # every cell starts at its header's column, after at least two spaces
    cells = {
        1: ['g-long-tunnel-name', 'gluon', 'no_sa', '->-', '-/-', '-'],
        2: ['gluon-mason', 'gluon mason', 'up', '0x099e806d>0x0d8d15b6 0x0d8d15b6>0x099e806d',
            '840/756 756/840', '12s 12s'],
    }
    for index, row_cells in cells.items():
        line = lines[index]
        for start, cell in zip(starts, row_cells):
            assert line[start:start + len(cell)] == cell, (line, cell)
            assert start == 0 or line[start - 2:start] == '  '
        assert line == line.rstrip()


def test_table_of_nothing_is_the_header():
    (line,) = verdict.table([])
    assert [line.index(word) for word in HEADER] == sorted(line.index(word) for word in HEADER)


# ---------------------------------------------------------------- no key material, over every fixture

_HEX_GROUP = re.compile(r'[0-9a-fA-F]{8}\Z')
_XFRM_KEY = re.compile(r'^\s*(?:enc|auth|auth-trunc|aead)\s+\S+\s+0x([0-9a-fA-F]+)', re.M)


def key_strings(kind, name):
    """The key hex of a dump: setkey's E:/A: groups (and continuation lines), xfrm's 0x... keys."""
    dump = text(kind, name)
    keys = set()
    if kind == 'xfrm':
        for key in _XFRM_KEY.findall(dump):
            keys.add(key)
            keys.update(key[i:i + 8] for i in range(len(key) - 7))
        return keys
    in_key = False
    for line in dump.split('\n'):
        toks = line.split()
        if toks and toks[0] in ('E:', 'A:'):
            in_key, toks = True, toks[2:]
            group = ''.join(t for t in toks if _HEX_GROUP.match(t))
            if group:
                keys.add(group)
        elif not (in_key and toks and all(_HEX_GROUP.match(t) for t in toks)):
            in_key = False
            continue
        keys.update(t for t in toks if _HEX_GROUP.match(t))
    return keys


def _all(kind):
    return sorted(f[:-4] for f in os.listdir(os.path.join(FIXTURES, kind)) if f.endswith('.txt'))


SETKEY_SAD = [n for n in _all('setkey') if n.endswith('-D') or n == 'no-sad-entries']
SETKEY_SPD = [n for n in _all('setkey') if n.endswith('-DP') or n == 'no-spd-entries']
XFRM_STATE = [n for n in _all('xfrm') if 'state' in n]
XFRM_POLICY = [n for n in _all('xfrm') if 'policy' in n]


def scenarios():
    """(sas, policies) for every fixture: each SA dump with its SPD, and each SPD alone."""
    found = []
    for sad in SETKEY_SAD:
        spd = sad + 'P' if sad + 'P' in SETKEY_SPD else 'no-spd-entries'
        found.append(('setkey', sad, setkey(sad, spd)))
    for spd in SETKEY_SPD:
        found.append(('setkey', spd, setkey(spd=spd)))
    for state in XFRM_STATE:
        for policy in XFRM_POLICY:
            found.append(('xfrm', state + '+' + policy, xfrm(state, policy)))
    for policy in XFRM_POLICY:
        found.append(('xfrm', policy, xfrm(policy=policy)))
    return found


def fixture_peers(sas, policies):
    """A peer record for each end of each SA pair the dump shows, children from its out policies."""
    children = []
    for policy in policies:
        if policy['dir'] != 'out' or policy['socket'] or policy['action'] != 'ipsec' or not policy['src']:
            continue
        request = policy['requests'][0]
        outer = '%s-%s' % (request['src'], request['dst']) if request['mode'] == 'tunnel' and request['src'] else ''
        back = '-'.join(reversed(outer.split('-'))) if outer else ''
        children.append({'local': policy['src'], 'remote': policy['dst'], 'mode': request['mode'],
                         'tunnel_out': outer, 'tunnel_in': back})
    by_host = {}
    for sa in sas:
        pair = sorted((sa['src'], sa['dst']))
        name = 't-%s-%s' % tuple(pair)
        for local, remote in ((sa['src'], sa['dst']), (sa['dst'], sa['src'])):
            peers = by_host.setdefault(local, {})
            peers[name] = {'tunnel': name, 'name': remote, 'address': remote, 'local_address': local,
                           'children': children or [{'local': local + '/32', 'remote': remote + '/32',
                                                     'mode': 'transport', 'tunnel_out': '', 'tunnel_in': ''}]}
    return dict((host, [peers[t] for t in sorted(peers)]) for host, peers in by_host.items())


def test_the_secrets_scenarios_cover_every_fixture():
    named = set()
    for _kind, name, _records in scenarios():
        named.update(name.split('+'))
    assert named == set(_all('setkey')) | set(_all('xfrm'))
    keys = set()
    for kind in ('setkey', 'xfrm'):
        for name in _all(kind):
            keys |= key_strings(kind, name)
    assert len(keys) > 50, 'the key extraction found (almost) nothing'


@pytest.mark.parametrize('kind, name, records', scenarios(), ids=[s[1] for s in scenarios()])
def test_no_key_material_in_verdicts_rows_or_table(kind, name, records):
    sas, policies = records
    keys = set()
    for part in name.split('+'):
        keys |= key_strings(kind, part)
    results = {}
    for host, peers in sorted(fixture_peers(sas, policies).items()):
        results[host] = verdict.assess(peers, sas, policies)
        results[host + '-baseline'] = verdict.assess(peers, sas, policies, dict(
            (key, 0) for key in verdict.byte_baseline(sas)))
    results['absent'] = verdict.unverified([{'tunnel': 'absent', 'name': 'x'}], [], 'no result')
    rows = verdict.match_ends(results)
    lines = verdict.table(rows)
    blob = json.dumps([results, rows, lines]) + repr([results, rows, lines])
    blob_lower = blob.lower()
    for key in keys:
        assert key.lower() not in blob_lower, 'key material %s... in a result of %s' % (key[:4], name)


def test_simultaneous_negotiation_picks_the_sas_that_carry_traffic():
    """Both IKEv1 ends initiated at once: two SA pairs per end, one in use each way.

    Seen in the lab: judging by age alone picked an idle inbound SA and called the tunnel
    stale although every ping was answered.
    """
    peer_g1 = {'tunnel': 't', 'name': 'g2', 'address': '10.77.0.12', 'local_address': '10.77.0.11', 'children': []}
    peer_g2 = {'tunnel': 't', 'name': 'g1', 'address': '10.77.0.11', 'local_address': '10.77.0.12', 'children': []}

    def sa(src, dst, spi, bytes_):
        return {'src': src, 'dst': dst, 'spi': spi, 'spi_hex': '0x%08x' % spi, 'satype': 'esp', 'state': None,
                'bytes': bytes_, 'age': 5, 'created': '2026-11-27 21:00:00'}

    # g1 sends with 0x1 (g2 receives with it), g2 sends with 0x4; 0x2 and 0x3 stay idle.
    g1_before = [sa('10.77.0.11', '10.77.0.12', 0x1, 0), sa('10.77.0.11', '10.77.0.12', 0x3, 0),
                 sa('10.77.0.12', '10.77.0.11', 0x2, 0), sa('10.77.0.12', '10.77.0.11', 0x4, 0)]
    g1_after = [sa('10.77.0.11', '10.77.0.12', 0x1, 840), sa('10.77.0.11', '10.77.0.12', 0x3, 0),
                sa('10.77.0.12', '10.77.0.11', 0x2, 0), sa('10.77.0.12', '10.77.0.11', 0x4, 840)]
    g2_before = [dict(record) for record in g1_before]
    g2_after = [dict(record) for record in g1_after]
    g1 = verdict.assess([peer_g1], g1_after, [], verdict.byte_baseline(g1_before))
    g2 = verdict.assess([peer_g2], g2_after, [], verdict.byte_baseline(g2_before))
    assert (g1[0]['sa_out']['spi'], g1[0]['sa_in']['spi']) == (0x1, 0x4)
    assert (g2[0]['sa_out']['spi'], g2[0]['sa_in']['spi']) == (0x4, 0x1)
    # No policies were given, so each end says no_policy; the SPIs still match across ends.
    rows = verdict.match_ends({'g1': g1, 'g2': g2})
    assert not any('keys out of sync' in reason for reason in rows[0]['reasons'])
