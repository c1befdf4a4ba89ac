# -*- coding: utf-8 -*-
# Copyright (c) 2026 fleet.ipsec contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The verify report's data and its machine-readable files (JSON, JUnit XML, Prometheus text).

`collect` turns what verify.yml already has (each host's registered verify result and the
plan) into one JSON-able document; the writers below and the HTML page (report_html) only
format that document. Verdicts and reasons come from verdict.match_ends, through the
verify_report filter, so the files say exactly what the printed table says.

Only whitelisted fields are copied out of the plan and the results: the plan's psk_ref, the
hosts' variables and anything else a result may carry never reach a file.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import tempfile
import xml.etree.ElementTree as ET

from ansible_collections.fleet.ipsec.plugins.filter.verify_report import verify_report
from ansible_collections.fleet.ipsec.plugins.module_utils.verdict import (
    HALF_UP, MISMATCH_ADVICE, NEGOTIATING, NO_POLICY, NO_SA, STALE, UNKNOWN, UP, VERDICTS)

FORMAT = 'fleet.ipsec.verify_report'
VERSION = 1
# Every verdict a tunnel can get, best first (the page's legend and the JSON's counts use it).
ALL_VERDICTS = (UP,) + tuple(v for v in VERDICTS if v != UP) + (UNKNOWN,)
FILES = ('index.html', 'verify.json', 'junit.xml', 'ipsec.prom')

# The mismatch advice is a format string; its fixed opening tells it apart from other reasons.
_MISMATCH_OPENING = MISMATCH_ADVICE.split('%', 1)[0]

# What to do next, per verdict. {limit} is the tunnel's inventory ends, comma-separated;
# {unreachable} the ends that gave no verdict.
NEXT_STEPS = {
    STALE: 'ansible-playbook playbooks/resync.yml --limit {limit}',
    HALF_UP: 'ansible-playbook playbooks/resync.yml --limit {limit}',
    NEGOTIATING: ('wait a few seconds and run ansible-playbook playbooks/verify.yml --limit {limit} again; if it '
                  "stays negotiating, read both IKE daemons' logs (proposals, keys), then run "
                  'ansible-playbook playbooks/resync.yml --limit {limit}'),
    NO_SA: ('ansible-playbook playbooks/verify.yml --limit {limit} (its trigger traffic starts IKE); if there is '
            'still no SA, check that the IKE daemon runs on both ends: ansible-playbook playbooks/site.yml '
            '--limit {limit}'),
    NO_POLICY: 'ansible-playbook playbooks/site.yml --limit {limit} (it installs the missing policies)',
    UNKNOWN: ('verify could not judge {unreachable} (see the reason: unreachable, or its kernel state could not be '
              'read); check that it answers (ansible {unreachable} -m ansible.builtin.ping), then run '
              'ansible-playbook playbooks/verify.yml --limit {limit}'),
}
# Resync gives new SPIs with the same disagreement, so for a mismatch the fix is the settings.
MISMATCH_STEP = ("compare the tunnel's esp settings with what both kernels do (see the reason), fix them in the "
                 'inventory, then run ansible-playbook playbooks/site.yml --limit {limit}; resync.yml cannot fix this')


def next_step(verdict, reasons, inventory_ends, unreachable=()):
    """The command or action to take for a tunnel that is not up, or None when it is up."""
    if verdict == UP:
        return None
    limit = ','.join(inventory_ends)
    if verdict == STALE and any(reason.startswith(_MISMATCH_OPENING) for reason in reasons):
        template = MISMATCH_STEP
    else:
        template = NEXT_STEPS.get(verdict, NEXT_STEPS[UNKNOWN])
    return template.format(limit=limit, unreachable=','.join(unreachable) or limit)


def _number(value):
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _sa_fields(sa, direction):
    sa = sa or {}
    return {
        'spi_' + direction: sa.get('spi_hex') or ('0x%08x' % sa['spi'] if _number(sa.get('spi')) else None),
        'bytes_' + direction: _number(sa.get('bytes')),
        'packets_' + direction: _number(sa.get('packets')),
        'age_' + direction: _number(sa.get('age')),
    }


def _end(name, host_plan, in_play, judged, row_reasons):
    """One end of a tunnel: its own verdict and SAs, or nothing for an end that was not verified.

    An end outside the inventory (given by address), or an inventory host left out of the play
    by --limit, has no verdict of its own.
    """
    end = {'name': name, 'inventory': host_plan is not None, 'verified': in_play,
           'backend': (host_plan or {}).get('backend'), 'verdict': None, 'reason': None, 'missing_policies': [],
           'address': ((host_plan or {}).get('addresses') or [None])[0] if host_plan is not None else name}
    if in_play and judged is None:
        # The end gave no result: match_ends called it unknown and said why ("host: why").
        prefix = name + ': '
        why = [reason[len(prefix):] for reason in row_reasons if reason.startswith(prefix)]
        end.update({'verdict': UNKNOWN, 'reason': why[0] if why else None})
    elif judged is not None:
        end.update({'verdict': judged.get('verdict'), 'reason': judged.get('reason'),
                    'missing_policies': [str(p) for p in judged.get('missing_policies') or []],
                    'address': judged.get('local_address') or end['address']})
    end.update(_sa_fields((judged or {}).get('sa_out'), 'out'))
    end.update(_sa_fields((judged or {}).get('sa_in'), 'in'))
    return end


def _plan_of(hosts, hostvars, plan):
    for host in hosts:
        found = hostvars[host].get(plan)
        if found:
            return found
    return {}


def collect(hosts, hostvars, generated, result='ipsec_verify', plan='tunnels_plan'):
    """The report document for the play's hosts (the schema is in docs/report.md).

    `hostvars` maps each host to its variables (Ansible's hostvars, or a plain dict in tests);
    `generated` is the report's time as an ISO 8601 UTC string.
    """
    hosts = list(hosts)
    rows = verify_report(hosts, hostvars, result, plan)['rows']
    the_plan = _plan_of(hosts, hostvars, plan)
    plan_hosts = the_plan.get('hosts') or {}
    plan_tunnels = dict((t['name'], t) for t in the_plan.get('tunnels') or [])
    registered = {}
    host_records = []
    for host in sorted(hosts):
        outcome = hostvars[host].get(result) or {}
        judged = dict((r.get('tunnel'), r) for r in outcome.get('tunnels') or [])
        registered[host] = judged if 'tunnels' in outcome else None
        host_plan = plan_hosts.get(host) or {}
        host_records.append({
            'name': host,
            'backend': host_plan.get('backend'),
            'os_family': host_plan.get('os_family'),
            'addresses': [str(a) for a in host_plan.get('addresses') or []],
            'source': outcome.get('source'),
            'tunnels': len(host_plan.get('peers') or []),
            # A module failure without tunnel results (unreachable, no setkey or ip): its message.
            'error': None if registered[host] is not None else (outcome.get('msg') or None),
        })
    in_play = set(hosts)
    tunnels = []
    for row in rows:
        planned = plan_tunnels.get(row['tunnel']) or {}
        names = [str(h) for h in planned.get('hosts') or row['ends']]
        ends = [_end(name, plan_hosts.get(name), name in in_play,
                     (registered.get(name) or {}).get(row['tunnel']), row['reasons']) for name in names]
        inventory_ends = [end['name'] for end in ends if end['inventory']]
        unreachable = [end['name'] for end in ends if end['verdict'] == UNKNOWN]
        tunnels.append({
            'name': row['tunnel'],
            'verdict': row['verdict'],
            'up': row['verdict'] == UP,
            'reasons': list(row['reasons']),
            'next_step': next_step(row['verdict'], row['reasons'], inventory_ends, unreachable),
            'mode': planned.get('mode'),
            'level': planned.get('level'),
            'family': planned.get('family'),
            'origin': planned.get('origin'),
            'ends': ends,
        })
    counts = dict((verdict, 0) for verdict in ALL_VERDICTS)
    for tunnel in tunnels:
        counts[tunnel['verdict']] = counts.get(tunnel['verdict'], 0) + 1
    return {
        'format': FORMAT,
        'version': VERSION,
        'generated': generated,
        'summary': {'hosts': len(host_records), 'tunnels': len(tunnels), 'up': counts[UP],
                    'not_up': len(tunnels) - counts[UP], 'verdicts': counts},
        'verdicts': list(ALL_VERDICTS),
        'hosts': host_records,
        'tunnels': tunnels,
    }


# ---------------------------------------------------------------------------- JSON

def to_json(report):
    return json.dumps(report, indent=2, sort_keys=True) + '\n'


# ---------------------------------------------------------------------------- JUnit XML

def to_junit(report):
    """One test case per tunnel, failed when it is not up (CI systems show these as tests)."""
    summary = report['summary']
    counts = {'tests': str(summary['tunnels']), 'failures': str(summary['not_up']), 'errors': '0', 'skipped': '0'}
    suites = ET.Element('testsuites', dict(counts, name='fleet.ipsec verify'))
    suite = ET.SubElement(suites, 'testsuite', dict(counts, name='fleet.ipsec.verify', timestamp=report['generated'],
                                                    time='0'))
    for tunnel in report['tunnels']:
        case = ET.SubElement(suite, 'testcase', {'classname': 'fleet.ipsec.tunnels', 'name': tunnel['name'], 'time': '0'})
        ends = ' '.join(end['name'] for end in tunnel['ends'])
        if tunnel['up']:
            ET.SubElement(case, 'system-out').text = 'up: %s (%s mode)' % (ends, tunnel['mode'])
            continue
        failure = ET.SubElement(case, 'failure', {'type': tunnel['verdict'],
                                                  'message': '%s is %s' % (tunnel['name'], tunnel['verdict'])})
        failure.text = '\n'.join(['ends: %s' % ends] + tunnel['reasons'] + ['next step: %s' % tunnel['next_step']])
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding='unicode') + '\n'


# ---------------------------------------------------------------------------- Prometheus

def _label(value):
    return str(value).replace('\\', '\\\\').replace('\n', '\\n').replace('"', '\\"')


def _series(name, labels, value):
    inner = ','.join('%s="%s"' % (key, _label(val)) for key, val in labels)
    return '%s{%s} %s' % (name, inner, value) if inner else '%s %s' % (name, value)


def to_prometheus(report, timestamp):
    """The text exposition format node_exporter's textfile collector reads (no sample times)."""
    out = []

    def family(name, kind, text, samples):
        out.append('# HELP %s %s' % (name, text))
        out.append('# TYPE %s %s' % (name, kind))
        out.extend(samples)

    tunnels = report['tunnels']
    family('fleet_ipsec_tunnel_up', 'gauge',
           '1 when the tunnel is up at both ends with matching SPIs, else 0.',
           [_series('fleet_ipsec_tunnel_up', [('tunnel', t['name'])], 1 if t['up'] else 0) for t in tunnels])
    family('fleet_ipsec_tunnel_verdict', 'gauge',
           "The tunnel's verdict: 1 for the one it has, 0 for the others.",
           [_series('fleet_ipsec_tunnel_verdict', [('tunnel', t['name']), ('verdict', v)], 1 if t['verdict'] == v else 0)
            for t in tunnels for v in ALL_VERDICTS])
    per_sa = [(t['name'], end, direction) for t in tunnels for end in t['ends'] if end['inventory']
              for direction in ('out', 'in')]
    family('fleet_ipsec_sa_bytes', 'gauge',
           'Bytes through the SA in use, per end and direction (a new SA starts again from 0).',
           [_series('fleet_ipsec_sa_bytes', [('tunnel', name), ('host', end['name']), ('direction', direction)],
                    end['bytes_' + direction])
            for name, end, direction in per_sa if end['bytes_' + direction] is not None])
    family('fleet_ipsec_sa_age_seconds', 'gauge',
           'Seconds since the SA in use was created, per end and direction.',
           [_series('fleet_ipsec_sa_age_seconds', [('tunnel', name), ('host', end['name']), ('direction', direction)],
                    end['age_' + direction])
            for name, end, direction in per_sa if end['age_' + direction] is not None])
    family('fleet_ipsec_tunnels', 'gauge', 'Tunnels per verdict.',
           [_series('fleet_ipsec_tunnels', [('verdict', v)], n) for v, n in sorted(report['summary']['verdicts'].items())])
    family('fleet_ipsec_report_timestamp_seconds', 'gauge', 'When verify.yml wrote this report (Unix time).',
           [_series('fleet_ipsec_report_timestamp_seconds', [], '%d' % int(timestamp))])
    return '\n'.join(out) + '\n'


# ---------------------------------------------------------------------------- files

def write_atomically(path, text, mode=0o644):
    """Replace `path` in one step; True when its content changed.

    node_exporter's textfile collector may read the directory at any moment: it must see the
    old file or the new one, never a half-written one, hence a temporary file in the same
    directory (same file system) and a rename.
    """
    data = text.encode('utf-8')
    try:
        with open(path, 'rb') as current:
            if current.read() == data:
                return False
    except (IOError, OSError):
        pass
    directory = os.path.dirname(path) or '.'
    handle, temporary = tempfile.mkstemp(dir=directory, prefix='.%s.' % os.path.basename(path))
    try:
        with os.fdopen(handle, 'wb') as out:
            os.fchmod(out.fileno(), mode)
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.rename(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
    return True


def render_all(report, timestamp, html):
    """File name -> content. `html` renders the page (report_html.page), passed in so that the
    machine-readable files need neither networkx nor the page code."""
    return {
        'index.html': html(report),
        'verify.json': to_json(report),
        'junit.xml': to_junit(report),
        'ipsec.prom': to_prometheus(report, timestamp),
    }


def write_all(directory, contents):
    """Write every file into `directory` (made if missing); the names of those that changed."""
    if not os.path.isdir(directory):
        os.makedirs(directory, 0o755)
    return [name for name in FILES if name in contents
            and write_atomically(os.path.join(directory, name), contents[name])]
