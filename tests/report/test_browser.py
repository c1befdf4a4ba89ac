# Copyright (c) 2026 fleet.ipsec contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The verify report in a real browser (Debian's headless Chromium), the `report` stage of scripts/test.

1. The captured fleet: the real playbooks/verify.yml, with the real verify module reading the
   captured kernel dumps of tests/fixtures (tests/report/captured.py), writes the report with
   -e ipsec_report_dir; its verdicts must be the dumps' and its files must hold no key.
2. The synthetic 100-host fleet (hub and spoke plus mesh, 300 tunnels, 8 not up).

Each report is opened in Chromium by check_report.py (no console error, nothing fetched, one
edge and one row per tunnel, no overlapping nodes, sorting works) and photographed into
$FLEET_IPSEC_ARTIFACTS (default tests/output/report/), which CI keeps.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import os
import shutil
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

import captured  # noqa: E402 pylint: disable=wrong-import-position
import check_report  # noqa: E402 pylint: disable=wrong-import-position
import fleets  # noqa: E402 pylint: disable=wrong-import-position

from ansible_collections.fleet.ipsec.plugins.module_utils import psk  # noqa: E402 pylint: disable=wrong-import-position
from ansible_collections.fleet.ipsec.plugins.plugin_utils import report, report_html  # noqa: E402 pylint: disable=wrong-import-position

ARTIFACTS = os.environ.get('FLEET_IPSEC_ARTIFACTS', os.path.join(ROOT, 'tests', 'output', 'report'))
MASTER = 'q8Xn2Lw5Rb7Tz1Vc4Hm9Kp3Js6Df0Ga'


@pytest.fixture(scope='module', autouse=True)
def chromium():
    missing = [p for p in (check_report.CHROMIUM, check_report.CHROMEDRIVER) if not os.access(p, os.X_OK)]
    if missing:
        pytest.fail('%s missing: apt-get install -y chromium chromium-driver (scripts/bootstrap does)' % missing)


def artifact(name):
    if not os.path.isdir(ARTIFACTS):
        os.makedirs(ARTIFACTS)
    return os.path.join(ARTIFACTS, name)


def test_captured_fleet_through_verify_yml(tmp_path):
    inventory = captured.make(str(tmp_path), MASTER)
    out = artifact('captured')
    shutil.rmtree(out, ignore_errors=True)
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'), ANSIBLE_NOCOLOR='1', ANSIBLE_FORCE_COLOR='0')
    run = subprocess.run(
        ['ansible-playbook', os.path.join(ROOT, 'playbooks', 'verify.yml'), '-i', inventory,
         '-e', json.dumps({'ipsec_verify_trigger': False, 'ipsec_verify_timeout': 0, 'ipsec_report_dir': out})],
        cwd=ROOT, env=env, check=False, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, timeout=300)
    # Two tunnels are not up, so the play fails at its last task, after the report was written.
    # (stderr apart: only stdout is parsed.)
    assert run.returncode == 2, run.stdout[-3000:] + '\n--- stderr\n' + run.stderr[-2000:]
    assert 'TASK [Write the report files' in run.stdout and 'TASK [Fail when any tunnel is not up]' in run.stdout
    with open(os.path.join(out, 'verify.json')) as f:
        data = json.load(f)
    assert dict((t['name'], t['verdict']) for t in data['tunnels']) == captured.EXPECTED
    ends = dict((t['name'], dict((e['name'], e) for e in t['ends'])) for t in data['tunnels'])
    # The SPIs of the strongSwan capture, read through the fake `ip` by the module (g1 out = g2 in).
    assert (ends['g1-g2']['g1']['spi_out'], ends['g1-g2']['g2']['spi_in']) == ('0xce94f85a', '0xce94f85a')
    assert (ends['vti']['r2']['bytes_out'], ends['vti']['r4']['inventory']) == (280, False)
    assert ends['east-west']['east']['verdict'] == 'negotiating'
    assert 'cannot read the kernel SAD/SPD' in ends['g1-g3']['g3']['reason']
    hosts = dict((h['name'], h['source']) for h in data['hosts'])
    assert (hosts['g1'], hosts['r2'], hosts['g3']) == ('xfrm', 'setkey', None)

    keys = [MASTER] + [psk.derive(MASTER, t['name'], 1) for t in captured.TUNNELS]
    digests = [hashlib.sha256(k.encode()).hexdigest() for k in keys]
    for name in report.FILES:
        with open(os.path.join(out, name)) as f:
            text = f.read()
        assert [k for k in keys + digests if k in text] == [], name

    facts = check_report.run(out, screenshot=artifact('report-captured.png'), tunnels=len(captured.EXPECTED),
                             width=1300, height=1100)
    assert len(facts['edges']) == len(facts['rows']) == 5
    assert len(facts['nodes']) == 9  # seven hosts and two ends outside the inventory


def test_synthetic_100_host_fleet():
    hosts, hostvars = fleets.synthetic()
    data = report.collect(hosts, hostvars, '2026-12-04T05:00:00Z')
    out = artifact('synthetic')
    report.write_all(out, report.render_all(data, 1796360400, report_html.page))
    facts = check_report.run(out, screenshot=artifact('report-100-hosts.png'), tunnels=300)
    assert len(facts['nodes']) == 100
    assert sorted(p[0] for p in facts['problems']) == sorted(t['name'] for t in data['tunnels'] if not t['up'])
    assert len(facts['problems']) == 8


def test_the_checker_catches_a_missing_edge(tmp_path):
    """The checker can fail: a page that lost one tunnel's edge is refused."""
    hosts, hostvars = fleets.synthetic()
    data = report.collect(hosts, hostvars, '2026-12-04T05:00:00Z')
    contents = report.render_all(data, 1796360400, report_html.page)
    page = contents['index.html']
    start = page.index('<a href="#', page.index('<g class="edges">'))
    contents['index.html'] = page[:start] + page[page.index('</a>', start) + 4:]
    report.write_all(str(tmp_path), contents)
    with pytest.raises(check_report.CheckFailed, match='one edge per tunnel'):
        check_report.run(str(tmp_path))


def test_the_checker_catches_a_console_error(tmp_path):
    hosts, hostvars = fleets.synthetic()
    data = report.collect(hosts, hostvars, '2026-12-04T05:00:00Z')
    contents = report.render_all(data, 1796360400, report_html.page)
    contents['index.html'] = contents['index.html'].replace('</body>', '<script>undefinedFunction();</script></body>')
    report.write_all(str(tmp_path), contents)
    with pytest.raises(check_report.CheckFailed, match='no console error'):
        check_report.run(str(tmp_path))
