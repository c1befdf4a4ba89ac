# Copyright (c) 2026 fleet.ipsec contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests of the verify_report filter, over a fake hostvars built from real captures.

Each host's `ipsec_verify` is what the verify module would register: `tunnels` from
verdict.assess on the strongSwan captures (tests/fixtures/xfrm), or a failure `msg`.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import os

import yaml

from ansible_collections.fleet.ipsec.plugins.filter.verify_report import FilterModule, verify_report
from ansible_collections.fleet.ipsec.plugins.module_utils import verdict, xfrm_dump
from ansible_collections.fleet.ipsec.plugins.module_utils.plan import build_plan

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, '..', '..', '..', 'fixtures', 'xfrm')
PLAYBOOK = os.path.join(HERE, '..', '..', '..', '..', 'playbooks', 'verify.yml')

HOSTS = {'g1': {'address': '10.77.0.11', 'subnets': ['10.101.1.0/24']},
         'g2': {'address': '10.77.0.12', 'subnets': ['10.101.2.0/24']},
         'g3': {'address': '10.77.0.13', 'subnets': ['10.101.3.0/24']},
         'idle': {'address': '10.77.0.99'}}
PLAN = build_plan({'hosts': HOSTS, 'tunnels': [{'name': 'g1-g2', 'hosts': ['g1', 'g2']},
                                               {'name': 'g1-g3', 'hosts': ['g1', 'g3']}],
                   'topologies': [], 'psk_master': 'x' * 32})


def text(name):
    with open(os.path.join(FIXTURES, name + '.txt')) as f:
        return f.read()


def judged(ike, host):
    """What `verify` registers for one gateway of a capture: its g1-g2 verdict (g1's g1-g3 is no_policy)."""
    sas = xfrm_dump.parse_state(text('%s-%s-ip-s-xfrm-state' % (ike, host)))
    policies = xfrm_dump.parse_policy(text('%s-%s-ip-xfrm-policy' % (ike, host)))
    return verdict.assess(PLAN['hosts'][host]['peers'], sas, policies)


def registered(tunnels=None, msg=None, failed=False):
    result = {'changed': False, 'failed': failed}
    if tunnels is not None:
        result.update(source='xfrm', tunnels=tunnels, triggers=[])
    if msg is not None:
        result['msg'] = msg
    return result


def hostvars(**results):
    """hostvars as the filter sees it: every host has the plan; some registered a result."""
    found = {}
    for host in HOSTS:
        found[host] = {'inventory_hostname': host, 'tunnels_plan': PLAN}
        if host in results:
            found[host]['ipsec_verify'] = results[host]
    return found


def row(report, tunnel):
    (found,) = [r for r in report['rows'] if r['tunnel'] == tunnel]
    return found


def g1_g2_only(ike='ikev1'):
    """g1's results without its g1-g3 tunnel (g3 is not part of these tests unless asked)."""
    return [r for r in judged(ike, 'g1') if r['tunnel'] == 'g1-g2']


# ---------------------------------------------------------------- both ends

def test_both_ends_up():
    hv = hostvars(g1=registered(judged('ikev1', 'g1')), g2=registered(judged('ikev1', 'g2')),
                  g3=registered(msg='unreachable'))
    report = verify_report(['g1', 'g2', 'g3', 'idle'], hv)
    up = row(report, 'g1-g2')
    assert (up['ends'], up['verdict'], up['reasons']) == (['g1', 'g2'], verdict.UP, [])
    assert up['spis'] == ['0xce94f85a>0xc0800800', '0xc0800800>0xce94f85a']
    assert up['bytes'] == ['840/756', '756/756']
    assert [r['tunnel'] for r in report['rows']] == ['g1-g2', 'g1-g3']
    assert report['down'] == [row(report, 'g1-g3')]
    assert report['table'] == verdict.table(report['rows'])
    assert report['table'][0].split()[:3] == ['tunnel', 'ends', 'verdict']


def test_all_up_nothing_down():
    hv = hostvars(g1=registered(g1_g2_only()), g2=registered(judged('ikev1', 'g2')))
    plan = copy.deepcopy(PLAN)
    for name in ('g1', 'g3'):
        plan['hosts'][name]['peers'] = [p for p in plan['hosts'][name]['peers'] if p['tunnel'] == 'g1-g2']
    for host in hv.values():
        host['tunnels_plan'] = plan
    report = verify_report(['g1', 'g2', 'g3', 'idle'], hv)
    assert [(r['tunnel'], r['verdict']) for r in report['rows']] == [('g1-g2', verdict.UP)]
    assert report['down'] == []
    assert len(report['table']) == 2


# ---------------------------------------------------------------- failed or silent hosts

def test_a_failed_host_with_msg_gives_unknown_rows():
    msg = 'cannot read the kernel SAD/SPD: neither setkey nor ip is installed'
    hv = hostvars(g1=registered(msg=msg, failed=True), g2=registered(judged('ikev1', 'g2')))
    report = verify_report(['g1', 'g2', 'g3'], hv)
    g1_g2, g1_g3 = row(report, 'g1-g2'), row(report, 'g1-g3')
    # the good end does not hide the unknown one
    assert (g1_g2['ends'], g1_g2['verdict']) == (['g1', 'g2'], verdict.UNKNOWN)
    assert g1_g2['reasons'] == ['g1: ' + msg]
    assert g1_g2['spis'] == ['->-', '0xc0800800>0xce94f85a']
    # g3 registered nothing: the filter's own words
    assert g1_g3['verdict'] == verdict.UNKNOWN
    assert g1_g3['reasons'] == ['g1: ' + msg, 'g3: no verify result (host unreachable or skipped)']
    assert report['down'] == [g1_g2, g1_g3]
    assert any('unknown' in line for line in report['table'][1:])


def test_a_failed_host_with_tunnels_keeps_its_verdicts():
    """verify fails when a tunnel is down, and still registers every tunnel: no unknown then."""
    tunnels = judged('ikev1', 'g1')
    msg = '; '.join('%s: %s (%s)' % (r['tunnel'], r['verdict'], r['reason']) for r in tunnels if r['verdict'] != 'up')
    hv = hostvars(g1=registered(tunnels, msg=msg, failed=True), g2=registered(judged('ikev1', 'g2')),
                  g3=registered(msg='x'))
    report = verify_report(['g1', 'g2', 'g3'], hv)
    assert row(report, 'g1-g2')['verdict'] == verdict.UP
    assert row(report, 'g1-g3')['verdict'] == verdict.UNKNOWN
    assert row(report, 'g1-g3')['reasons'][0].startswith('g1: missing policies: out 10.101.1.0/24 -> 10.101.3.0/24')


def test_a_skipped_host_without_peers_adds_nothing():
    hv = hostvars(g1=registered(g1_g2_only()), g2=registered(judged('ikev1', 'g2')),
                  idle={'changed': False, 'skipped': True, 'skip_reason': 'Conditional result was False'})
    report = verify_report(['g1', 'g2', 'idle'], hv)
    assert [r['tunnel'] for r in report['rows']] == ['g1-g2', 'g1-g3']
    # g1 was judged on g1-g2 only: its g1-g3 is unknown, with the default reason
    assert row(report, 'g1-g3')['reasons'] == ['g1: no verify result (host unreachable or skipped)']


def test_a_host_without_the_plan_has_no_expected_tunnels():
    hv = hostvars(g1=registered(g1_g2_only()))
    del hv['g2']['tunnels_plan']
    report = verify_report(['g1', 'g2'], hv)
    assert row(report, 'g1-g2')['ends'] == ['g1']


def test_one_end_outside_the_play():
    hv = hostvars(g1=registered(g1_g2_only()), g2=registered(judged('ikev1', 'g2')))
    report = verify_report(['g1'], hv)
    assert row(report, 'g1-g2')['ends'] == ['g1']
    assert row(report, 'g1-g2')['verdict'] == verdict.UP


def test_the_playbook_joins_every_host_of_the_play():
    with open(PLAYBOOK) as f:
        (play,) = yaml.safe_load(f)
    (task,) = [t for t in play['tasks'] if 'ipsec_report' in (t.get('ansible.builtin.set_fact') or {})]
    expression = task['ansible.builtin.set_fact']['ipsec_report']
    assert 'verify_report' in expression
    assert 'ansible_play_hosts_all' in expression


# ---------------------------------------------------------------- stale

def test_ends_up_with_different_spis_are_stale():
    """g1 still holds the IKEv1 SAs; g2 rebooted and negotiated the IKEv2 ones with someone."""
    hv = hostvars(g1=registered(g1_g2_only('ikev1')), g2=registered(judged('ikev2', 'g2')))
    report = verify_report(['g1', 'g2'], hv)
    stale = row(report, 'g1-g2')
    assert stale['verdict'] == verdict.STALE
    assert stale['reasons'] == [
        'g1 sends with SPI 0xce94f85a but g2 receives with SPI 0xc8573433 (keys out of sync; run resync)',
        'g2 sends with SPI 0xc79235af but g1 receives with SPI 0xc0800800 (keys out of sync; run resync)']
    assert stale['spis'] == ['0xce94f85a>0xc0800800', '0xc79235af>0xc8573433']
    assert stale in report['down']
    assert any('stale' in line for line in report['table'])


def test_stale_from_one_end_by_traffic():
    g1 = judged('ikev1', 'g1')
    why = 'trigger traffic left through SPI 0xce94f85a but nothing came back'
    g1[0] = dict(g1[0], verdict=verdict.STALE, reason=why)
    hv = hostvars(g1=registered(g1), g2=registered(judged('ikev1', 'g2')))
    report = verify_report(['g1', 'g2'], hv)
    assert row(report, 'g1-g2')['verdict'] == verdict.STALE
    assert row(report, 'g1-g2')['reasons'] == ['g1: ' + why, verdict.RESYNC_ADVICE]


# ---------------------------------------------------------------- options

def test_other_register_and_plan_names():
    hv = dict((host, {'verify_out': registered(judged('ikev1', host)) if host in ('g1', 'g2') else {},
                      'my_plan': PLAN}) for host in HOSTS)
    report = verify_report(['g1', 'g2'], hv, result='verify_out', plan='my_plan')
    assert row(report, 'g1-g2')['verdict'] == verdict.UP
    # under the default names nothing is registered and no plan is found
    assert verify_report(['g1', 'g2'], hv)['rows'] == []


def test_no_hosts():
    assert verify_report([], hostvars()) == {'rows': [], 'table': verdict.table([]), 'down': []}


def test_filter_is_registered():
    assert FilterModule().filters() == {'verify_report': verify_report}
