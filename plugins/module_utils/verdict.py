# -*- coding: utf-8 -*-
# Copyright (c) 2026 fleet.ipsec contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Kernel state -> the tunnel model: a verdict per tunnel, in the plan's vocabulary.

Pure functions over the parsers' records (setkey_dump / xfrm_dump, same keys) and the
plan's peer records. One host's view is judged by `assess`; the two ends of each tunnel
are matched by `match_ends` on the controller.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress

UP = 'up'
NO_POLICY = 'no_policy'
NEGOTIATING = 'negotiating'
NO_SA = 'no_sa'
HALF_UP = 'half_up'
STALE = 'stale'
VERDICTS = (UP, NO_POLICY, NEGOTIATING, NO_SA, HALF_UP, STALE)
# Only in the controller's table: an end that gave no verdict at all.
UNKNOWN = 'unknown'

# Fields of an SA worth returning: identity, health and counters. Never the keys (the
# parsers do not keep them anyway); of the algorithms, only their normalised names.
SA_SUMMARY_KEYS = ('src', 'dst', 'spi', 'spi_hex', 'state', 'mode', 'satype', 'enc_norm', 'auth_norm',
                   'bytes', 'packets', 'created', 'age')


def _network(text):
    if text is None:
        return None
    try:
        return str(ipaddress.ip_network(text, strict=False))
    except ValueError:
        return text


def _address(text):
    if text is None:
        return None
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return text


def _split(pair):
    """'a-b' (setkey's outer endpoints) -> (a, b); '' -> (None, None)."""
    if not pair:
        return None, None
    # IPv6 addresses contain no '-', so the one dash separates the two addresses.
    first, second = pair.split('-', 1)
    return _address(first), _address(second)


def _policy_index(policies):
    """(dir, src, dst) -> policies, ignoring per-socket policies (an IKE daemon's own)."""
    index = {}
    for policy in policies:
        if policy.get('socket'):
            continue
        key = (policy.get('dir'), _network(policy.get('src')), _network(policy.get('dst')))
        index.setdefault(key, []).append(policy)
    return index


def _policy_matches(policy, mode, outer):
    if policy.get('action') != 'ipsec':
        return False
    for request in policy.get('requests') or []:
        if request.get('proto') != 'esp' or request.get('mode') != mode:
            continue
        if mode == 'transport' or (_address(request.get('src')), _address(request.get('dst'))) == outer:
            return True
    return False


def _has_policy(index, direction, src, dst, mode, outer):
    return any(_policy_matches(p, mode, outer) for p in index.get((direction, _network(src), _network(dst)), ()))


def _sa_index(sas):
    index = {}
    for sa in sas:
        if sa.get('satype') not in ('esp', 'esp-udp') and sa.get('proto') != 'esp':
            continue
        index.setdefault((_address(sa.get('src')), _address(sa.get('dst'))), []).append(sa)
    return index


def _usable(sa):
    # xfrm has no SA states: an installed SA with an SPI is usable.
    return sa.get('state') in (None, 'mature', 'dying') and bool(sa.get('spi'))


def _negotiating(sa):
    return sa.get('state') == 'larval' or not sa.get('spi')


def _in_use(candidates, baseline=None):
    """The SA that carries the traffic of one direction.

    Usually there is one. After a rekey, or when both IKEv1 ends initiated at once, there
    are two: then the one whose byte counter grew during the trigger traffic is the one in
    use; without trigger traffic, the youngest.
    """
    usable = [sa for sa in candidates if _usable(sa)]
    if len(usable) > 1 and baseline is not None:
        grown = [sa for sa in usable if (sa.get('bytes') or 0) > baseline.get(_sa_key(sa), 0)]
        if grown:
            usable = grown
    return _newest(usable)


def _newest(usable):
    if not usable:
        return None
    if all(sa.get('age') is not None for sa in usable):
        return min(usable, key=lambda sa: sa['age'])
    if all(sa.get('created') for sa in usable):
        # 'YYYY-MM-DD HH:MM:SS' sorts as time does.
        return max(usable, key=lambda sa: sa['created'])
    # Without times: Linux lists the SAD newest first (new SAs go to the head of the list).
    return usable[0]


def summarize_sa(sa):
    if sa is None:
        return None
    return dict((key, sa.get(key)) for key in SA_SUMMARY_KEYS)


def assess_peer(peer, sa_index, policy_index, baseline=None):
    """The verdict for one tunnel of this host (a plan peer record).

    `baseline`, when given, maps (src, dst, spi) to the byte count seen before trigger
    traffic was sent: an outbound SA that grew while the inbound one did not means the
    peer is not answering through these SAs, the article's "keys out of sync".
    """
    local, remote = _address(peer['local_address']), _address(peer['address'])
    missing = []
    for child in peer['children']:
        mode = child['mode']
        out_outer, in_outer = _split(child['tunnel_out']), _split(child['tunnel_in'])
        if not _has_policy(policy_index, 'out', child['local'], child['remote'], mode, out_outer):
            missing.append('out %s -> %s' % (child['local'], child['remote']))
        if not _has_policy(policy_index, 'in', child['remote'], child['local'], mode, in_outer):
            missing.append('in %s -> %s' % (child['remote'], child['local']))
    outbound = sa_index.get((local, remote), [])
    inbound = sa_index.get((remote, local), [])
    sa_out, sa_in = _in_use(outbound, baseline), _in_use(inbound, baseline)
    result = {
        'tunnel': peer['tunnel'],
        'peer': peer['name'],
        'local_address': local,
        'peer_address': remote,
        'policies': not missing,
        'missing_policies': missing,
        'sa_out': summarize_sa(sa_out),
        'sa_in': summarize_sa(sa_in),
        'sa_count': len(outbound) + len(inbound),
    }
    if missing:
        verdict, reason = NO_POLICY, 'missing policies: %s' % '; '.join(missing)
    elif sa_out and sa_in:
        verdict, reason = UP, 'policies and mature SAs in both directions'
        if baseline is not None:
            grew_out = (sa_out.get('bytes') or 0) > baseline.get(_sa_key(sa_out), 0)
            grew_in = (sa_in.get('bytes') or 0) > baseline.get(_sa_key(sa_in), 0)
            if grew_out and not grew_in:
                verdict = STALE
                # Which of the two it is, only the other end's SPIs tell (match_ends).
                reason = ('trigger traffic left through SPI %s but nothing came back through SPI %s: '
                          'the peer does not use these SAs, or drops what they carry'
                          % (sa_out.get('spi_hex'), sa_in.get('spi_hex')))
    elif sa_out or sa_in:
        verdict = HALF_UP
        reason = 'a mature SA only %s' % ('outbound' if sa_out else 'inbound')
    elif any(_negotiating(sa) for sa in outbound + inbound):
        verdict, reason = NEGOTIATING, 'IKE is negotiating (larval SAs only)'
    else:
        verdict, reason = NO_SA, 'policies are in place but there is no SA'
    result['verdict'] = verdict
    result['reason'] = reason
    return result


def _sa_key(sa):
    return (_address(sa.get('src')), _address(sa.get('dst')), sa.get('spi'))


def byte_baseline(sas):
    return dict((_sa_key(sa), sa.get('bytes') or 0) for sa in sas)


def assess(peers, sas, policies, baseline=None):
    """Verdicts for every tunnel of one host, in the plan's peer order."""
    sa_index = _sa_index(sas)
    policy_index = _policy_index(policies)
    return [assess_peer(peer, sa_index, policy_index, baseline) for peer in peers]


def match_ends(results_by_host):
    """Join both ends of each tunnel and check they hold the same SAs.

    `results_by_host` maps a host to its `assess` results. Returns one row per tunnel
    with the combined verdict: an end that is up while the other end's SPIs differ is
    `stale` (the article's reboot case); otherwise the worse of the two verdicts.
    """
    order = dict((verdict, rank) for rank, verdict in enumerate((UP, NEGOTIATING, HALF_UP, NO_SA, STALE, NO_POLICY, UNKNOWN)))
    by_tunnel = {}
    for host, results in sorted(results_by_host.items()):
        for result in results or []:
            by_tunnel.setdefault(result['tunnel'], []).append((host, result))
    rows = []
    for tunnel, ends in sorted(by_tunnel.items()):
        verdict = max((result['verdict'] for _host, result in ends), key=lambda v: order.get(v, len(order)))
        reasons = ['%s: %s' % (host, result['reason']) for host, result in ends if result['verdict'] != UP]
        stale = [result for _host, result in ends if result['verdict'] == STALE]
        if len(stale) == 2 and _crosswise_spis(*stale):
            reasons.append(MISMATCH_ADVICE % (_hex(stale[0]['sa_out']), _hex(stale[1]['sa_out'])))
        elif stale:
            reasons.append(RESYNC_ADVICE)
        if len(ends) == 2:
            (host_a, a), (host_b, b) = ends
            if a['verdict'] == UP and b['verdict'] == UP:
                directions = ((host_a, a['sa_out'], host_b, b['sa_in']), (host_b, b['sa_out'], host_a, a['sa_in']))
                for sender, out, receiver, into in directions:
                    if _spi(out) != _spi(into):
                        verdict = STALE
                        reasons.append('%s sends with SPI %s but %s receives with SPI %s (keys out of sync; run resync)'
                                       % (sender, _hex(out), receiver, _hex(into)))
        rows.append({
            'tunnel': tunnel,
            'ends': [host for host, _result in ends],
            'verdict': verdict,
            'reasons': reasons,
            'spis': ['%s>%s' % (_hex(result['sa_out']), _hex(result['sa_in'])) for _host, result in ends],
            'bytes': ['%s/%s' % (_bytes(result['sa_out']), _bytes(result['sa_in'])) for _host, result in ends],
            'age': [_age(result['sa_out']) for _host, result in ends],
        })
    return rows


RESYNC_ADVICE = 'an end does not use the SAs the other sends with (keys out of sync; run resync)'
# Both ends hold the same pair of SAs and send through them, yet neither accepts what arrives:
# re-keying gives new SPIs with the same disagreement, so resync is the wrong advice.
MISMATCH_ADVICE = ('both ends hold the same SAs (SPIs %s and %s) and send through them, but neither '
                   'accepts what the other sends: the ends process these SAs differently (e.g. an integrity '
                   'algorithm the two kernels truncate differently), which resync cannot fix; see the '
                   "kernel's ESP error counters (XfrmInStateProtoError in /proc/net/xfrm_stat on Linux, "
                   '`netstat -s -p esp` on the BSDs) and the tunnel\'s esp settings')


def _crosswise_spis(a, b):
    """True when each end's outbound SA is the other's inbound one (by SPI), both present."""
    out_a, in_a, out_b, in_b = (_spi(a['sa_out']), _spi(a['sa_in']), _spi(b['sa_out']), _spi(b['sa_in']))
    return None not in (out_a, in_a) and out_a == in_b and out_b == in_a


def unverified(expected_peers, results, why):
    """A host's results plus an `unknown` one for each of its tunnels it did not judge.

    Without this, a host whose verify failed would drop out of the join and its tunnels
    would show only the other end's (possibly good) verdict.
    """
    judged = set(result['tunnel'] for result in results)
    missing = [{'tunnel': peer['tunnel'], 'peer': peer.get('name'), 'verdict': UNKNOWN, 'reason': why,
                'policies': None, 'missing_policies': [], 'sa_out': None, 'sa_in': None, 'sa_count': 0}
               for peer in expected_peers if peer['tunnel'] not in judged]
    return list(results) + missing


def _spi(sa):
    return sa.get('spi') if sa else None


def _hex(sa):
    return sa.get('spi_hex') or ('0x%08x' % sa['spi']) if sa and sa.get('spi') else '-'


def _bytes(sa):
    return '-' if not sa else str(sa.get('bytes') or 0)


def _age(sa):
    if not sa or sa.get('age') is None:
        return '-'
    return '%ss' % sa['age']


def table(rows):
    """A fixed-width text table: tunnel, ends, verdict, SPIs, bytes, age."""
    header = ('tunnel', 'ends', 'verdict', 'SPIs (out>in per end)', 'bytes (out/in per end)', 'age')
    lines = [header]
    for row in rows:
        lines.append((row['tunnel'], ' '.join(row['ends']), row['verdict'], ' '.join(row['spis']),
                      ' '.join(row['bytes']), ' '.join(row['age'])))
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    return ['  '.join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip() for line in lines]
