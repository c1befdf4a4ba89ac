# Copyright (c) 2026 fleet.ipsec contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""playbooks/plan.yml for real: the article's plan is printed and written, without secrets;
a bad inventory fails with every problem named, and nothing is written."""

import json
import os
import shutil
import subprocess

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..'))

pytestmark = pytest.mark.skipif(shutil.which('ansible-playbook') is None, reason='ansible-playbook is not installed')


def plan_playbook(*args):
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'), ANSIBLE_NOCOLOR='1')
    return subprocess.run(['ansible-playbook', os.path.join(ROOT, 'playbooks', 'plan.yml')] + list(args),
                          cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, check=False)  # stderr apart: only stdout is parsed


def test_article_plan_is_printed_and_written(tmp_path):
    plan_file = str(tmp_path / 'plan.json')
    run = plan_playbook('-i', 'examples/article/inventory.yml', '--vault-password-file',
                        'examples/article/vault-password.txt', '-e', 'plan_file=%s' % plan_file)
    assert run.returncode == 0, run.stdout[-3000:] + '\n--- stderr\n' + run.stderr[-2000:]
    assert '"tunnel_out": "192.0.2.10-198.51.100.1"' in run.stdout
    with open(plan_file) as handle:
        plan = json.load(handle)
    gluon = plan['hosts']['gluon']['policies']
    assert [(p['local'], p['remote'], p['level']) for p in gluon] == [('192.0.2.10/32', '0.0.0.0/0', 'require')]
    assert plan['hosts']['mason']['peers'][0]['address'] == '192.0.2.10'
    vault = subprocess.run(['ansible-vault', 'view', '--vault-password-file', 'examples/article/vault-password.txt',
                            'examples/article/group_vars/all/vault.yml'], cwd=ROOT, stdout=subprocess.PIPE,
                           universal_newlines=True, check=True).stdout
    master = vault.split(':', 1)[1].strip()
    assert master not in run.stdout + run.stderr
    with open(plan_file) as handle:
        assert master not in handle.read()


def test_bad_inventory_fails_with_every_problem_and_writes_nothing(tmp_path):
    inventory = tmp_path / 'bad.yml'
    inventory.write_text('''all:
  hosts:
    mason: {ipsec_address: 198.51.100.1}
    gluon: {ipsec_address: 192.0.2.300}
  vars:
    ipsec_tunnels:
      - {name: gluon-mason, hosts: [gluon, mason], mode: tunel, psk: short}
      - {name: mason-self, hosts: [mason, mason]}
''')
    plan_file = tmp_path / 'plan.json'
    run = plan_playbook('-i', str(inventory), '-e', 'plan_file=%s' % plan_file)
    assert run.returncode != 0
    for expected in ("host 'gluon': ipsec_address: '192.0.2.300' is not an IP address",
                     "tunnel 'gluon-mason': mode: 'tunel' is not a mode",
                     "tunnel 'gluon-mason': psk: is shorter than 20 characters",
                     "tunnel 'mason-self': psk: no psk is set and there is no ipsec_psk_master",
                     "tunnel 'mason-self': hosts: a tunnel from 'mason' to itself"):
        assert expected in run.stdout, '%s\n--- stdout\n%s\n--- stderr\n%s' % (expected, run.stdout[-3000:], run.stderr[-2000:])
    assert 'short' not in run.stdout.split('The IPsec inventory has', 1)[1].split('PLAY RECAP')[0].replace('shorter', '')
    assert not plan_file.exists()
