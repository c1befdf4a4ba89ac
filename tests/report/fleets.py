# Copyright (c) 2026 fleet.ipsec contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Recorded verify results for the report tests: what verify.yml's hosts would hold.

`synthetic()` is a 100-host fleet (two hubs with 84 spokes, a 16-host core mesh that holds
the hubs, 12 branch-to-branch tunnels: 300 tunnels) planned by the real planner. Each host's
kernel state (policies and SAs, as the parsers return them) is made from its plan, with
faults put into a few tunnels, and judged by the real verdict code (`verdict.assess`), so the
verdicts are the ones verify would give for such kernels.

The captured fleet (kernel dumps from tests/fixtures through the verify module) is built by
test_playbook.py, which runs the real verify.yml.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib

from ansible_collections.fleet.ipsec.plugins.module_utils import verdict
from ansible_collections.fleet.ipsec.plugins.module_utils.plan import build_plan

HUBS = ['hub-a', 'hub-b']
CORE = HUBS + ['core%02d' % i for i in range(1, 15)]
BRANCHES = ['br%02d' % i for i in range(1, 85)]
# Branch pairs with a tunnel of their own (a shop and its warehouse, say).
BRANCH_PAIRS = [('br%02d' % (2 * i + 1), 'br%02d' % (2 * i + 2)) for i in range(12)]

# tunnel -> how it is broken. Chosen so that every verdict shows up, in each topology.
FAULTS = {
    'branches-hub-a-br07': 'stale',        # br07 rebooted and lost the SAs hub-a still sends with
    'branches-hub-b-br19': 'half_up',      # br19 lost its inbound SA
    'core-core03-core09': 'no_sa',         # neither end has an SA
    'branches-hub-b-br33': 'no_policy',    # br33's outbound policy is gone
    'core-core05-core11': 'negotiating',   # larval SAs only
    'br05-br06': 'mismatch',               # same SAs, both send, neither accepts
}
# A host whose verify failed: its tunnels are `unknown`.
UNREACHABLE = {'br50': 'Failed to connect to the host via ssh: ssh: connect to host 10.0.1.50 port 22: '
                       'Connection timed out'}


def _address(host):
    if host in CORE:
        return '10.0.0.%d' % (CORE.index(host) + 1)
    return '10.0.1.%d' % (BRANCHES.index(host) + 1)


def _subnet(host):
    if host in CORE:
        return '10.%d.0.0/16' % (100 + CORE.index(host))
    return '10.200.%d.0/24' % (BRANCHES.index(host) + 1)


def inventory(psk_master='x' * 32):
    hosts = dict((h, {'address': _address(h), 'subnets': [_subnet(h)],
                      'backend': 'racoon' if h in CORE else 'strongswan',
                      'os_family': 'FreeBSD' if h in CORE else 'Debian'}) for h in CORE + BRANCHES)
    return {
        'hosts': hosts,
        'tunnels': [{'name': '%s-%s' % pair, 'hosts': list(pair)} for pair in BRANCH_PAIRS],
        'topologies': [
            {'name': 'core', 'type': 'mesh', 'hosts': list(CORE), 'mode': 'transport'},
            {'name': 'branches', 'type': 'hub_and_spoke', 'hubs': list(HUBS), 'spokes': list(BRANCHES)},
        ],
        'psk_master': psk_master,
    }


def _spi(tunnel, sender, salt=''):
    """A stable SPI for the SA `sender` sends with on `tunnel` (both ends agree on it)."""
    return 0x100 + int(hashlib.sha256(('%s|%s|%s' % (tunnel, sender, salt)).encode()).hexdigest()[:7], 16)


def _sa(src, dst, spi, mode, size, age, state='mature'):
    return {'src': src, 'dst': dst, 'spi': spi, 'spi_hex': '0x%08x' % spi, 'state': state, 'mode': mode,
            'satype': 'esp', 'enc_norm': 'aes-cbc-256', 'auth_norm': 'hmac-sha256', 'bytes': size,
            'packets': size // 84, 'created': None, 'age': age}


def _policy(direction, child, outer):
    src, dst = (child['local'], child['remote']) if direction == 'out' else (child['remote'], child['local'])
    request = {'proto': 'esp', 'mode': child['mode'], 'level': 'require'}
    if outer:
        request['src'], request['dst'] = outer.split('-', 1)
    return {'dir': direction, 'src': src, 'dst': dst, 'action': 'ipsec', 'socket': False, 'requests': [request]}


def kernel(host, peers):
    """(SAs, policies, baseline) of `host`'s kernel: every tunnel up but the FAULTS."""
    sas, policies, baseline = [], [], {}
    for index, peer in enumerate(peers):
        tunnel, other = peer['tunnel'], peer['name']
        fault = FAULTS.get(tunnel)
        local, remote = peer['local_address'], peer['address']
        for child in peer['children']:
            for direction, outer in (('out', child['tunnel_out']), ('in', child['tunnel_in'])):
                if fault == 'no_policy' and host == 'br33' and direction == 'out':
                    continue
                policies.append(_policy(direction, child, outer))
        if fault == 'no_sa':
            continue
        size, age = 84 * (3 + (index * 7 + len(host)) % 40), 30 + (index * 53 + len(tunnel) * 11) % 3000
        out_spi, in_spi = _spi(tunnel, host), _spi(tunnel, other)
        if fault == 'stale' and host == 'br07':
            # After its reboot br07 negotiated again, alone: its SAs are new, hub-a's are the old ones.
            out_spi, in_spi = _spi(tunnel, host, 'rebooted'), _spi(tunnel, other, 'rebooted')
        out_sa = _sa(local, remote, out_spi, peer['mode'], size, age)
        in_sa = _sa(remote, local, in_spi, peer['mode'], size, age)
        if fault == 'negotiating':
            out_sa.update(state='larval', spi=0, spi_hex=None, bytes=0, packets=0)
            in_sa.update(state='larval', spi=0, spi_hex=None, bytes=0, packets=0)
        if fault == 'mismatch':
            # The trigger traffic left through the outbound SA; nothing came in.
            baseline[(local, remote, out_spi)] = size - 84
            baseline[(remote, local, in_spi)] = size
        sas.append(out_sa)
        if not (fault == 'half_up' and host == 'br19'):
            sas.append(in_sa)
    return sas, policies, baseline


def registered(host, peers):
    """What verify registers on `host`: its module result (a failure when a tunnel is not up)."""
    if host in UNREACHABLE:
        return {'unreachable': True, 'changed': False, 'msg': UNREACHABLE[host]}
    sas, policies, baseline = kernel(host, peers)
    results = verdict.assess(peers, sas, policies, baseline or None)
    down = [r for r in results if r['verdict'] != verdict.UP]
    outcome = {'changed': False, 'source': 'setkey' if host in CORE else 'xfrm', 'tunnels': results, 'triggers': []}
    if down:
        outcome.update(failed=True, msg='; '.join('%s: %s (%s)' % (r['tunnel'], r['verdict'], r['reason']) for r in down))
    return outcome


def synthetic(psk_master='x' * 32):
    """(hosts, hostvars) of the 100-host fleet as verify.yml leaves them."""
    plan = build_plan(inventory(psk_master))
    hostvars = {}
    for host in CORE + BRANCHES:
        hostvars[host] = {'tunnels_plan': plan, 'ipsec_verify': registered(host, plan['hosts'][host]['peers'])}
    return sorted(hostvars), hostvars
