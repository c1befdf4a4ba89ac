# Copyright (c) 2026 fleet.ipsec contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A run that does not reach a host must not change what its reachable peers are given.

The hosts here are the controller itself (local connection), so facts are really gathered for
the hosts a run reaches and for no other. site.yml refuses when a host of the run has a peer the
run knows nothing of; what is known (the inventory's ipsec_os_family and ipsec_address, or facts
from the fact cache) lets it go on."""

import os
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..'))

pytestmark = pytest.mark.skipif(shutil.which('ansible-playbook') is None, reason='ansible-playbook is not installed')

INVENTORY = '''all:
  vars:
    ansible_connection: local
    ansible_python_interpreter: {python}
    ipsec_psk_master: a-master-key-long-enough-for-the-model
    ipsec_tunnels:
      - {{name: a-b, hosts: [a, b]}}
      - {{name: c-d, hosts: [c, d]}}
  hosts:
    a: {{ipsec_address: 192.0.2.1}}
    b: {{ipsec_address: 192.0.2.2{b_extra}}}
    c: {{ipsec_address: 192.0.2.3}}
    d: {{ipsec_address: 192.0.2.4}}
'''

# The plan step exactly as site.yml runs it, without the steps that would touch this machine.
PLAN_AS_SITE = '''- name: Gather as site.yml does
  hosts: all
  gather_facts: false
  tasks:
    - name: Gather
      ansible.builtin.setup:
        gather_subset: [min]
    - name: Plan as a roll-out does
      ansible.builtin.import_role:
        name: fleet.ipsec.tunnels
        tasks_from: plan
      vars:
        tunnels_unknown_peers: refuse
'''


def run(tmp_path, playbook, *args, b_extra='', env=None):
    inventory = tmp_path / 'inventory.yml'
    inventory.write_text(INVENTORY.format(python=sys.executable, b_extra=b_extra))
    environment = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'), ANSIBLE_NOCOLOR='1', **(env or {}))
    return subprocess.run(['ansible-playbook', '-i', str(inventory), playbook] + list(args), cwd=ROOT, env=environment,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, check=False)


def plan_as_site(tmp_path, *args, **kwargs):
    playbook = tmp_path / 'plan_as_site.yml'
    playbook.write_text(PLAN_AS_SITE)
    return run(tmp_path, str(playbook), *args, **kwargs)


def output(result):
    return '%s\n--- stderr\n%s' % (result.stdout[-4000:], result.stderr[-2000:])


def test_site_refuses_a_host_whose_peer_the_run_does_not_know_and_touches_none(tmp_path):
    # --check: should the refusal ever fail, the run still changes nothing on this machine.
    result = run(tmp_path, os.path.join(ROOT, 'playbooks', 'site.yml'), '--limit', 'a', '--check')
    assert result.returncode != 0, output(result)
    assert 'tunnel a-b: a is in this run, its peer b is not known' in result.stdout, output(result)
    assert 'No host was touched' in result.stdout
    # c-d has no end in the run: not named.
    assert 'tunnel c-d' not in result.stdout
    assert 'Write the configuration files' not in result.stdout, output(result)


def test_the_inventory_can_say_what_the_run_does_not_see(tmp_path):
    result = plan_as_site(tmp_path, '--limit', 'a', b_extra=', ipsec_os_family: Debian')
    assert result.returncode == 0, output(result)
    assert 'is not known' not in result.stdout


def test_ipsec_os_family_alone_is_not_enough_when_the_address_would_come_from_facts(tmp_path):
    # b's ipsec_address is set in INVENTORY; here a's peer is known by its OS family only when both are.
    result = plan_as_site(tmp_path, '--limit', 'b')
    assert result.returncode != 0 and 'tunnel a-b: b is in this run, its peer a is not known' in result.stdout, output(result)


def test_cached_facts_of_an_earlier_run_are_used(tmp_path):
    cache = {'ANSIBLE_CACHE_PLUGIN': 'jsonfile', 'ANSIBLE_CACHE_PLUGIN_CONNECTION': str(tmp_path / 'facts')}
    assert plan_as_site(tmp_path, env=cache).returncode == 0
    result = plan_as_site(tmp_path, '--limit', 'a', env=cache)
    assert result.returncode == 0, output(result)
    assert 'is not known' not in result.stdout


def test_other_playbooks_warn_and_go_on(tmp_path):
    playbook = tmp_path / 'plan_warn.yml'
    playbook.write_text(PLAN_AS_SITE.replace('refuse', 'warn'))
    result = run(tmp_path, str(playbook), '--limit', 'a')
    assert result.returncode == 0, output(result)
    assert 'its peer b is not known' in result.stdout + result.stderr
