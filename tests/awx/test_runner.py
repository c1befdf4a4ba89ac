# Copyright (c) 2026 fleet.ipsec contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""plan.yml and render mode under ansible-runner, in a private data dir laid out as AWX lays it
out: the jobs succeed, the plan reaches the job events, the files are written, the collection is
the one installed from the tarball, and no key or master reaches the artifacts AWX keeps."""

import json
import os

import pytest

from ansible_collections.fleet.ipsec.plugins.module_utils.psk import derive

SHOW_PLAN = "Show this host's plan"


@pytest.fixture(scope='module')
def plan(whole_plan):
    _job, plan_file = whole_plan
    with open(str(plan_file)) as handle:
        return json.load(handle)


@pytest.fixture(scope='module')
def secrets(master, plan):
    """The master and every tunnel's derived key."""
    keys = [derive(master, t['name'], t['psk_ref']['generation']) for t in plan['tunnels']
            if t['psk_ref']['source'] == 'derived']
    assert len(keys) == len(plan['tunnels'])
    return [master] + keys


def test_plan_job_succeeds_and_shows_every_hosts_plan(whole_plan, plan, fleet_hosts):
    job, _plan_file = whole_plan
    assert (job.runner.status, job.runner.rc) == ('successful', 0), job.stdout[-3000:]
    shown = job.ok_results(SHOW_PLAN)
    assert sorted(shown) == fleet_hosts
    for host, result in shown.items():
        assert result['tunnels_plan.hosts[inventory_hostname]'] == plan['hosts'][host], host


def test_plan_has_the_topologies_of_the_inventory(plan):
    hosts = plan['hosts']
    # hub and spoke: five branches and the office; mesh: three peers each
    assert sorted(p['name'] for p in hosts['hq']['peers']) == ['br1', 'br2', 'br3', 'br4', 'br5', 'office']
    assert [len(hosts[c]['peers']) for c in ('c1', 'c2', 'c3', 'c4')] == [3, 3, 3, 3]
    # racoon on Linux (br5) against racoon on FreeBSD: SHA-512, from both ends' OS families
    integrity = dict((p['name'], p['esp']['integrity']) for p in hosts['hq']['peers'])
    assert integrity.pop('br5') == 'sha512'
    assert set(integrity.values()) == {'sha256'}


def test_render_job_writes_every_hosts_files(whole_render, fleet_hosts, awx):
    job, root = whole_render
    assert (job.runner.status, job.runner.rc) == ('successful', 0), job.stdout[-3000:]
    files = awx.files_under(root)
    assert sorted(set(path.split(os.sep)[0] for path in files)) == fleet_hosts
    key_files = [path for path in files if path.endswith(('psk.txt', 'secrets.conf'))]
    assert len(key_files) == len(fleet_hosts)
    for path in key_files:
        assert files[path][0] == 0o600, path


def test_rendered_files_hold_the_derived_keys(whole_render, secrets, awx):
    _job, root = whole_render
    text = b''.join(content for _mode, content in awx.files_under(root).values()).decode()
    master, keys = secrets[0], secrets[1:]
    # Each key is written at both ends of its tunnel; hq-office has one end in the inventory.
    counts = sorted(text.count(key) for key in keys)
    assert counts == [1] + [2] * (len(keys) - 1)
    assert master not in text


def test_the_collection_is_the_installed_tarball(whole_render, installed_collections, awx):
    job, _root = whole_render
    # -vvv names each task's file: they must come from ANSIBLE_COLLECTIONS_PATH, not the checkout.
    assert 'task path: %s/ansible_collections/fleet/ipsec/roles/' % installed_collections in job.stdout
    assert 'task path: %s/roles/' % awx.root not in job.stdout


@pytest.mark.parametrize('which', ['whole_plan', 'whole_render'])
def test_no_secret_in_the_artifacts(which, request, secrets):
    job = request.getfixturevalue(which)[0]
    text = job.artifact_text()
    assert os.listdir(os.path.join(job.artifacts, 'job_events'))
    leaked = [index for index, secret in enumerate(secrets) if secret in text]
    assert leaked == [], 'secret %s (0 = the master, N = tunnel N) in artifacts/%s' % (leaked, job.ident)


def test_without_the_vault_credential_the_job_fails_before_any_host(awx_job):
    job = awx_job('plan.yml', vault=False, ident='novault')
    assert job.runner.status == 'failed'
    assert 'Attempting to decrypt but no vault secrets found' in job.stdout
    assert job.ok_results(SHOW_PLAN) == {}
