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
from operator import itemgetter

from ansible_collections.fleet.ipsec.plugins.module_utils.model import build_fleet, host_platform

PLAN_VERSION = 1
_PRECEDENCE = itemgetter('precedence')


# Key order of each record kind; records are copies of these with the values filled in.
_TUNNEL = dict.fromkeys(('name', 'origin', 'hosts', 'mode', 'level', 'family', 'psk_ref'))
# At most ten keys per record: CPython's next dict size up is nearly twice as big.
_PEER = dict.fromkeys(('tunnel', 'name', 'address', 'local_address', 'mode', 'ike', 'esp', 'psk_ref', 'children'))
_CHILD = dict.fromkeys(('tunnel', 'name', 'local', 'remote', 'mode', 'level', 'tunnel_out', 'tunnel_in',
                        'precedence'))


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


def _templates(shared):
    """Tunnel, peer and child records with what all tunnels of `shared` have in common."""
    tunnel = _TUNNEL.copy()
    tunnel['origin'] = shared.origin
    tunnel['mode'] = shared.mode
    tunnel['level'] = shared.level
    tunnel['family'] = shared.family
    tunnel['psk_ref'] = shared.psk_ref
    peer = _PEER.copy()
    peer['mode'] = shared.mode
    peer['ike'] = shared.ike
    peer['esp'] = shared.esp
    peer['psk_ref'] = shared.psk_ref
    child = _CHILD.copy()
    child['mode'] = shared.mode
    child['level'] = shared.level
    # Transport mode has no outer addresses; tunnel mode sets them per tunnel.
    child['tunnel_out'] = child['tunnel_in'] = ''
    return tunnel, peer, child


# ESP integrity for a pair whose ends cut HMAC-SHA-256 differently (see model.Endpoint): both
# would agree on SHA-256 and then drop each other's packets. SHA-384 and SHA-512 are cut the same
# way everywhere (RFC 4868), so such a pair gets SHA-512, a stronger choice, not a weaker one.
SHA256_MISMATCH_INTEGRITY = 'sha512'


def _esp_for(esp, first_end, second_end):
    """The ESP proposal of one tunnel when it must differ from its topology's, else None."""
    if esp['integrity'] != 'sha256' or first_end.sha256_icv96 == second_end.sha256_icv96:
        return None
    widened = dict(esp)
    widened['integrity'] = SHA256_MISMATCH_INTEGRITY
    return widened


def plan_fleet(fleet):
    """Cut a Fleet into per-host slices; returns the whole plan as plain data.

    A child (one selector pair, seen from one host) is one record that serves both the
    peer's `children` and the host's `policies`: the same object in both places, since a
    1,000-host mesh makes two million of them. Records are copies of templates holding
    what the tunnels of one topology share, so per tunnel only what differs is set.
    """
    hosts = {}
    # Per inventory host, the bound appends of its policies and peers: a mesh of 1,000
    # hosts looks them up a million times.
    sinks = {}
    endpoints = fleet.endpoints
    for name in fleet.hosts:
        host = hosts[name] = _empty_slice(endpoints.get(name), fleet.platforms.get(name) or host_platform({}))
        sinks[name] = (host['policies'].append, host['peers'].append)
    tunnels = []
    append_tunnel = tunnels.append
    shared = None
    # Whether children differ in precedence: when none do, every host's policies are in
    # order already, and sorting a million of them would still cost a tenth of a second
    # (each key read is a cache miss). `common` is the last precedence seen.
    common = None
    mixed = False
    for tunnel in fleet.tunnels:
        if tunnel.shared is not shared:
            shared = tunnel.shared
            tunnel_mode = shared.mode != 'transport'
            tunnel_template, peer_template, child_template = _templates(shared)
            new_tunnel = tunnel_template.copy
            new_peer = peer_template.copy
            new_child = child_template.copy
        name = tunnel.name
        first_end = tunnel.first
        second_end = tunnel.second
        # Nearly always the topology's own proposal; see _esp_for.
        esp = _esp_for(shared.esp, first_end, second_end)
        first_name = first_end.name
        second_name = second_end.name
        first_address = first_end.address
        second_address = second_end.address
        record = new_tunnel()
        record['name'] = name
        record['hosts'] = [first_name, second_name]
        append_tunnel(record)
        if tunnel_mode:
            forward = first_address + '-' + second_address
            backward = second_address + '-' + first_address
        first_sink = sinks.get(first_name) if first_end.in_inventory else None
        second_sink = sinks.get(second_name) if second_end.in_inventory else None
        first_selectors = tunnel.first_selectors
        second_selectors = tunnel.second_selectors
        if len(first_selectors) == 1 and len(second_selectors) == 1:
            # Nearly every tunnel: one selector pair, so one child per end and no loops.
            first_text = first_selectors[0].text
            second_text = second_selectors[0].text
            child_name = name + '-0'
            precedence = first_selectors[0].prefixlen + second_selectors[0].prefixlen
            if precedence != common:
                mixed = common is not None
                common = precedence
            # The two ends' records are written out, not looped over: a loop over two tuples of
            # eight costs 0.2 s of 1.3 s for a 1,000-host mesh (measured).
            if first_sink is not None:
                child = new_child()
                child['tunnel'] = name
                child['name'] = child_name
                child['local'] = first_text
                child['remote'] = second_text
                if tunnel_mode:
                    child['tunnel_out'] = forward
                    child['tunnel_in'] = backward
                child['precedence'] = precedence
                first_sink[0](child)
                peer = new_peer()
                peer['tunnel'] = name
                peer['name'] = second_name
                peer['address'] = second_address
                peer['local_address'] = first_address
                peer['children'] = [child]
                if esp is not None:
                    peer['esp'] = esp
                first_sink[1](peer)
            if second_sink is not None:
                child = new_child()
                child['tunnel'] = name
                child['name'] = child_name
                child['local'] = second_text
                child['remote'] = first_text
                if tunnel_mode:
                    child['tunnel_out'] = backward
                    child['tunnel_in'] = forward
                child['precedence'] = precedence
                second_sink[0](child)
                peer = new_peer()
                peer['tunnel'] = name
                peer['name'] = first_name
                peer['address'] = first_address
                peer['local_address'] = second_address
                peer['children'] = [child]
                if esp is not None:
                    peer['esp'] = esp
                second_sink[1](peer)
            continue
        pairs = [(first, second, '%s-%d' % (name, index)) for index, (first, second) in
                 enumerate([(f, s) for f in first_selectors for s in second_selectors])]
        for first, second, child_name in pairs:
            precedence = first.prefixlen + second.prefixlen
            if precedence != common:
                mixed = common is not None
                common = precedence
        # Both ends, each seeing itself as local: (sink, local end, remote end, flip).
        for sink, local_end, remote_end, flip in ((first_sink, first_end, second_end, False),
                                                  (second_sink, second_end, first_end, True)):
            if sink is None:
                continue
            children = []
            for first, second, child_name in pairs:
                local, remote = (second, first) if flip else (first, second)
                child = new_child()
                child['tunnel'] = name
                child['name'] = child_name
                child['local'] = local.text
                child['remote'] = remote.text
                if tunnel_mode:
                    child['tunnel_out'] = backward if flip else forward
                    child['tunnel_in'] = forward if flip else backward
                child['precedence'] = local.prefixlen + remote.prefixlen
                children.append(child)
                sink[0](child)
            peer = new_peer()
            peer['tunnel'] = name
            peer['name'] = remote_end.name
            peer['address'] = remote_end.address
            peer['local_address'] = local_end.address
            peer['children'] = children
            if esp is not None:
                peer['esp'] = esp
            sink[1](peer)
    if mixed:
        for host in hosts.values():
            # Stable: equal precedence keeps tunnel-name order (fleet.tunnels is sorted).
            host['policies'].sort(key=_PRECEDENCE, reverse=True)
    return {'version': PLAN_VERSION, 'tunnels': tunnels, 'hosts': hosts,
            'management': [s.text for s in fleet.management]}


def peer_fingerprint(peer):
    """`<tunnel>: <digest>` of everything a peer record says (addresses, proposals, selectors,
    key reference; never a key).

    Backends write it beside each peer's block, so the next run can tell which tunnels it
    changed and re-key exactly those, on both ends, in the same run.
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
