# Copyright (c) 2026 fleet.ipsec contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The verify report's data and files, over the synthetic 100-host fleet (tests/report/fleets.py).

The browser checks of the page are in tests/report (the `report` stage of scripts/test).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import os
import re
import stat
import sys
import xml.etree.ElementTree as ET

import pytest

from ansible_collections.fleet.ipsec.plugins.module_utils import psk, verdict
from ansible_collections.fleet.ipsec.plugins.plugin_utils import report, report_html

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..', 'report'))
import fleets  # noqa: E402 pylint: disable=wrong-import-position

GENERATED = '2026-12-04T05:00:00Z'
TIMESTAMP = 1796360400
# A master as an operator would write one, and an explicit key: both must stay out of every file.
MASTER = 'Tq7vW2mZ9xK4pL8sR3nB6yH1dF5gJ0cV'
EXPLICIT = 'branch-pair-explicit-key-0123456789'


@pytest.fixture(scope='module')
def fleet():
    hosts, hostvars = fleets.synthetic()
    return hosts, hostvars, report.collect(hosts, hostvars, GENERATED)


@pytest.fixture(scope='module')
def files(fleet):
    return report.render_all(fleet[2], TIMESTAMP, report_html.page)


def by_name(data):
    return dict((t['name'], t) for t in data['tunnels'])


# ---------------------------------------------------------------------------- data

def test_every_tunnel_and_host_with_its_verdict(fleet):
    _hosts, _hostvars, data = fleet
    assert (data['format'], data['version'], data['generated']) == ('fleet.ipsec.verify_report', 1, GENERATED)
    assert data['summary'] == {'hosts': 100, 'tunnels': 300, 'up': 292, 'not_up': 8, 'verdicts': {
        'up': 292, 'half_up': 1, 'stale': 2, 'negotiating': 1, 'no_sa': 1, 'no_policy': 1, 'unknown': 2}}
    tunnels = by_name(data)
    for name, fault in fleets.FAULTS.items():
        assert tunnels[name]['verdict'] == ('stale' if fault == 'mismatch' else fault), name
    assert [t['verdict'] for t in data['tunnels'] if 'br50' in t['name']] == ['unknown', 'unknown']
    assert data['verdicts'][0] == 'up' and set(data['verdicts']) == set(verdict.VERDICTS) | {verdict.UNKNOWN}


def test_the_verdicts_and_reasons_are_the_filters(fleet):
    """One source of truth: the rows of the verify_report filter, which prints verify.yml's table."""
    hosts, hostvars, data = fleet
    from ansible_collections.fleet.ipsec.plugins.filter.verify_report import verify_report
    rows = verify_report(hosts, hostvars)['rows']
    assert [(r['tunnel'], r['verdict'], r['reasons']) for r in rows] == \
        [(t['name'], t['verdict'], t['reasons']) for t in data['tunnels']]


def test_ends_carry_spis_bytes_age_backend_and_mode(fleet):
    tunnel = by_name(fleet[2])['branches-hub-a-br07']
    hub, branch = tunnel['ends']
    assert (hub['name'], branch['name'], tunnel['mode']) == ('hub-a', 'br07', 'tunnel')
    assert (hub['backend'], branch['backend']) == ('racoon', 'strongswan')
    assert hub['spi_out'] == '0x%08x' % fleets._spi('branches-hub-a-br07', 'hub-a')
    # br07 renegotiated alone: what it receives with is not what hub-a sends with.
    assert branch['spi_in'] != hub['spi_out']
    assert isinstance(hub['bytes_out'], int) and hub['bytes_out'] > 0 and isinstance(hub['age_out'], int)
    assert by_name(fleet[2])['core-core01-core02']['mode'] == 'transport'


def test_an_unreachable_end_has_the_reason_it_gave(fleet):
    tunnel = by_name(fleet[2])['branches-hub-a-br50']
    hub, branch = tunnel['ends']
    assert (hub['verdict'], branch['verdict']) == ('up', 'unknown')
    assert branch['reason'] == fleets.UNREACHABLE['br50'] and branch['spi_out'] is None
    hosts = dict((h['name'], h) for h in fleet[2]['hosts'])
    assert hosts['br50']['error'] == fleets.UNREACHABLE['br50'] and hosts['br49']['error'] is None


@pytest.mark.parametrize('name, step', [
    ('branches-hub-a-br07', 'ansible-playbook playbooks/resync.yml --limit hub-a,br07'),
    ('branches-hub-b-br19', 'ansible-playbook playbooks/resync.yml --limit hub-b,br19'),
    ('branches-hub-b-br33', 'ansible-playbook playbooks/site.yml --limit hub-b,br33'),
    ('core-core03-core09', 'ansible-playbook playbooks/verify.yml --limit core03,core09'),
    ('core-core05-core11', 'ansible-playbook playbooks/verify.yml --limit core05,core11'),
    ('branches-hub-a-br50', 'ansible br50 -m ansible.builtin.ping'),
    ('br05-br06', 'ansible-playbook playbooks/site.yml --limit br05,br06'),
])
def test_next_steps(fleet, name, step):
    assert step in by_name(fleet[2])[name]['next_step']


def test_a_mismatch_is_not_sent_to_resync(fleet):
    tunnel = by_name(fleet[2])['br05-br06']
    assert any(r.startswith('both ends hold the same SAs') for r in tunnel['reasons'])
    assert 'resync.yml cannot fix this' in tunnel['next_step']
    assert by_name(fleet[2])['core-core01-core02']['next_step'] is None


def test_an_outside_end_is_named_and_not_limited():
    step = report.next_step(verdict.HALF_UP, [], ['gluon'])
    assert step == 'ansible-playbook playbooks/resync.yml --limit gluon'


# ---------------------------------------------------------------------------- files

def test_json_is_the_document_and_stable(fleet, files):
    assert json.loads(files['verify.json']) == fleet[2]
    again = report.render_all(report.collect(fleet[0], fleet[1], GENERATED), TIMESTAMP, report_html.page)
    assert again == files  # layout included: a fixed seed


def test_junit_one_case_per_tunnel_failed_when_not_up(fleet, files):
    suites = ET.fromstring(files['junit.xml'].split('\n', 1)[1])
    (suite,) = suites.findall('testsuite')
    cases = suite.findall('testcase')
    assert (suite.get('tests'), suite.get('failures'), len(cases)) == ('300', '8', 300)
    failed = dict((c.get('name'), c.find('failure')) for c in cases if c.find('failure') is not None)
    assert sorted(failed) == sorted(t['name'] for t in fleet[2]['tunnels'] if not t['up'])
    assert failed['branches-hub-b-br19'].get('type') == 'half_up'
    assert 'next step: ansible-playbook playbooks/resync.yml --limit hub-b,br19' in failed['branches-hub-b-br19'].text


SAMPLE = re.compile(r'^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\[\\"n])*",?)*\})? -?[0-9.e+]+$')


def test_prometheus_text_format(files):
    lines = files['ipsec.prom'].splitlines()
    families = {}
    for line in lines:
        if line.startswith('# TYPE '):
            _hash, _type, name, kind = line.split(' ')
            families[name] = kind
            continue
        if line.startswith('# HELP '):
            continue
        assert SAMPLE.match(line), line
        assert line.split('{')[0].split(' ')[0] in families, line
    up = [line for line in lines if line.startswith('fleet_ipsec_tunnel_up{')]
    assert len(up) == 300 and sum(int(line.rsplit(' ', 1)[1]) for line in up) == 292
    assert 'fleet_ipsec_tunnel_up{tunnel="branches-hub-b-br19"} 0' in lines
    assert any(line.startswith('fleet_ipsec_sa_bytes{tunnel="branches-hub-a-br07",host="hub-a",direction="out"} ')
               for line in lines)
    assert 'fleet_ipsec_tunnels{verdict="stale"} 2' in lines
    assert 'fleet_ipsec_report_timestamp_seconds %d' % TIMESTAMP in lines


def test_prometheus_label_values_are_escaped():
    data = {'tunnels': [{'name': 'odd"name\\x', 'up': True, 'verdict': 'up', 'ends': []}],
            'summary': {'verdicts': {'up': 1}}}
    assert 'fleet_ipsec_tunnel_up{tunnel="odd\\"name\\\\x"} 1' in report.to_prometheus(data, 0).splitlines()


def test_the_page_is_self_contained_and_draws_every_tunnel(fleet, files):
    page = files['index.html']
    assert page.count('<path class="edge ') == 300
    assert page.count('<tr id="t') == 300
    assert page.count('<li class="problem"') == 8
    # No resource from anywhere: no src, no stylesheet link, and the only URL is the SVG namespace.
    assert not re.search(r'\ssrc=|<link|@import|url\(', page)
    assert re.findall(r'https?://[^"\s<]+', page) == ['http://www.w3.org/2000/svg']


def test_a_missing_layout_library_is_a_clear_error(fleet, monkeypatch):
    monkeypatch.setitem(sys.modules, 'networkx', None)
    with pytest.raises(report_html.LayoutError, match='pip install networkx numpy scipy'):
        report_html.page(fleet[2])


# ---------------------------------------------------------------------------- secrets

def test_no_key_key_hash_or_master_in_any_file():
    """Real key strings go in everywhere verify.yml's data could carry them; none comes out."""
    hosts, hostvars = fleets.synthetic(MASTER)
    plan = hostvars[hosts[0]]['tunnels_plan']
    keys = [psk.derive(MASTER, t['name'], 1) for t in plan['tunnels']] + [EXPLICIT, MASTER]
    for host in hosts:
        hostvars[host] = dict(hostvars[host], ipsec_psk_master=MASTER, ipsec_tunnels=[{'psk': EXPLICIT}])
        # A result that carries more than verify returns (as a future version or another module might).
        for result in hostvars[host]['ipsec_verify'].get('tunnels') or []:
            for sa in (result['sa_out'], result['sa_in']):
                if sa:
                    sa['key'] = keys[hash(result['tunnel']) % len(keys)]
            result['psk'] = EXPLICIT
    data = report.collect(hosts, hostvars, GENERATED)
    text = ''.join(report.render_all(data, TIMESTAMP, report_html.page).values())
    needles = []
    for key in keys:
        raw = key.encode()
        needles += [key, raw.hex()]
        needles += [getattr(hashlib, name)(raw).hexdigest() for name in ('md5', 'sha1', 'sha256', 'sha512')]
    assert len(keys) == 302

    def found(haystack):
        return [needle for needle in needles if needle.lower() in haystack.lower()]
    assert found(text) == []
    # The grep itself works: a derived key's SHA-256 slipped into the page would be found.
    leaked = hashlib.sha256(keys[0].encode()).hexdigest()
    assert found(text.replace('</footer>', leaked + '</footer>')) == [leaked]


# ---------------------------------------------------------------------------- atomic writes

def test_files_are_replaced_atomically(tmp_path):
    path = str(tmp_path / 'ipsec.prom')
    assert report.write_atomically(path, 'a 1\n') is True
    assert report.write_atomically(path, 'a 1\n') is False
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o644
    inode = os.stat(path).st_ino
    assert report.write_atomically(path, 'a 2\n') is True
    # A new file took the name (a rename), rather than the old one being rewritten in place.
    assert os.stat(path).st_ino != inode
    assert os.listdir(str(tmp_path)) == ['ipsec.prom']


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    path = str(tmp_path / 'ipsec.prom')
    report.write_atomically(path, 'old 1\n')

    def fail(_src, _dst):
        raise OSError('disk full')
    monkeypatch.setattr(os, 'rename', fail)
    with pytest.raises(OSError):
        report.write_atomically(path, 'new 1\n')
    with open(path) as f:
        assert f.read() == 'old 1\n'
    assert os.listdir(str(tmp_path)) == ['ipsec.prom']


def test_write_all_makes_the_directory(tmp_path, files):
    target = str(tmp_path / 'a' / 'b')
    assert report.write_all(target, files) == list(report.FILES)
    assert sorted(os.listdir(target)) == sorted(report.FILES)
    assert report.write_all(target, files) == []
