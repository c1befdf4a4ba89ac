# -*- coding: utf-8 -*-
# Copyright (c) 2026 fleet.ipsec contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The plan: the validated fleet cut into one slice per host.

A slice is plain JSON-able data (see docs/plan.md) that templates loop over. It holds no
key: peers carry a `psk_ref`, resolved by `psk.resolve` only inside no_log tasks.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import gc
import hashlib
import json
from itertools import product
from operator import itemgetter

from ansible_collections.fleet.ipsec.plugins.module_utils.model import build_fleet

PLAN_VERSION = 1
_PRECEDENCE = itemgetter('precedence')
_PAIR_PRECEDENCE = itemgetter(3)

# ESP integrity for a pair whose ends cut HMAC-SHA-256 differently (see model.Endpoint): both
# would agree on SHA-256 and then drop each other's packets. SHA-384 and SHA-512 are cut the same
# way everywhere (RFC 4868), so such a pair gets SHA-512, a stronger choice, not a weaker one.
SHA256_MISMATCH_INTEGRITY = 'sha512'


def _empty_slice(endpoint, platform):
    """A host's slice before its tunnels are added; a host with no address has none."""
    os_family, backend = platform
    return {
        'os_family': os_family,
        'backend': backend,
        'addresses': [endpoint.address] if endpoint else [],
        'subnets': [s.text for s in endpoint.subnets] if endpoint else [],
        'peers': [],
        'policies': [],
    }


def _esp_for(tunnel):
    """The tunnel's ESP proposal: its topology's, unless its ends cut HMAC-SHA-256 differently."""
    esp = tunnel.shared.esp
    if esp['integrity'] != 'sha256' or tunnel.first.sha256_icv96 == tunnel.second.sha256_icv96:
        return esp
    widened = dict(esp)
    widened['integrity'] = SHA256_MISMATCH_INTEGRITY
    return widened


def _selector_pairs(tunnel):
    """Each child of a tunnel as (name, first end's selector, second end's selector, precedence).

    Indexed from the first end's point of view, so both ends name them alike.
    """
    firsts, seconds = tunnel.first_selectors, tunnel.second_selectors
    if len(firsts) == 1 and len(seconds) == 1:
        # Nearly every tunnel; spelt out, it saves about 0.3 s of a 1,000-host mesh (measured).
        return ((tunnel.name + '-0', firsts[0], seconds[0], firsts[0].prefixlen + seconds[0].prefixlen),)
    return [('%s-%d' % (tunnel.name, index), first, second, first.prefixlen + second.prefixlen)
            for index, (first, second) in enumerate(product(firsts, seconds))]


def _add_end(host, tunnel, is_first, pairs, outer, esp):
    """One end's side of a tunnel: its peer record, whose children also go to the host's policies.

    `pairs` (from _selector_pairs) and `outer`, the (first-to-second, second-to-first) outer
    addresses, are the first end's view; `is_first` says whether this end is that one. A child
    is one record in both places (a 1,000-host mesh makes a million of them).
    """
    shared = tunnel.shared
    name = tunnel.name
    mode = shared.mode
    level = shared.level
    if is_first:
        local_end, remote_end = tunnel.first, tunnel.second
        outbound, inbound = outer
    else:
        local_end, remote_end = tunnel.second, tunnel.first
        inbound, outbound = outer
    children = []
    for child_name, first, second, precedence in pairs:
        local, remote = (first, second) if is_first else (second, first)
        children.append({'tunnel': name, 'name': child_name, 'local': local.text, 'remote': remote.text,
                         'mode': mode, 'level': level, 'tunnel_out': outbound, 'tunnel_in': inbound,
                         'precedence': precedence})
    host['policies'].extend(children)
    # leads: the end that re-keys the tunnel when its settings change (one end only: two ends
    # re-keying at once collide, see roles/tunnels/tasks/rekey_changed.yml).
    host['peers'].append({'tunnel': name, 'name': remote_end.name, 'address': remote_end.address,
                          'local_address': local_end.address, 'mode': mode, 'ike': shared.ike, 'esp': esp,
                          'psk_ref': shared.psk_ref, 'children': children, 'leads': is_first})


def plan_fleet(fleet):
    """Cut a Fleet into per-host slices; returns the whole plan as plain data."""
    hosts = dict((name, _empty_slice(fleet.endpoints.get(name), fleet.platforms[name])) for name in fleet.hosts)
    tunnels = []
    precedences = set()
    for tunnel in fleet.tunnels:
        shared = tunnel.shared
        first, second = tunnel.first, tunnel.second
        tunnels.append({'name': tunnel.name, 'origin': shared.origin, 'hosts': [first.name, second.name],
                        'mode': shared.mode, 'level': shared.level, 'family': tunnel.family,
                        'psk_ref': shared.psk_ref})
        pairs = _selector_pairs(tunnel)
        precedences.update(map(_PAIR_PRECEDENCE, pairs))
        # Transport mode has no outer addresses.
        if shared.mode == 'transport':
            outer = ('', '')
        else:
            outer = (first.address + '-' + second.address, second.address + '-' + first.address)
        esp = _esp_for(tunnel)
        if first.in_inventory:
            _add_end(hosts[first.name], tunnel, True, pairs, outer, esp)
        if second.in_inventory:
            _add_end(hosts[second.name], tunnel, False, pairs, outer, esp)
    # Policies are in tunnel-name order; when precedences differ, the sort (stable) puts the
    # higher first. When none differ, sorting a million policies in order would still cost
    # 0.1-0.4 s (measured).
    if len(precedences) > 1:
        for host in hosts.values():
            host['policies'].sort(key=_PRECEDENCE, reverse=True)
    return {'version': PLAN_VERSION, 'tunnels': tunnels, 'hosts': hosts,
            'management': [s.text for s in fleet.management]}


def peer_fingerprint(peer):
    """`<tunnel>: <digest>` of everything a peer record says (addresses, proposals, selectors,
    key reference; never a key).

    Backends write it beside each peer's block, so the next run can tell which tunnels it
    changed and re-key exactly those in the same run.
    """
    text = json.dumps(peer, sort_keys=True, separators=(',', ':'))
    return '%s: %s' % (peer['tunnel'], hashlib.sha256(text.encode('utf-8')).hexdigest()[:16])


def build_plan(inventory):
    """Validate an inventory (see model.build_fleet) and return its plan.

    The cyclic garbage collector is paused meanwhile: a large fleet allocates millions of
    small acyclic records, and repeated full collections over them cost more than the
    planning itself (measured: half the time of a 1,000-host mesh).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return plan_fleet(build_fleet(inventory))
    finally:
        if was_enabled:
            gc.enable()
