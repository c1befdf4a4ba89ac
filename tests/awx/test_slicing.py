# Copyright (c) 2026 fleet.ipsec contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Slicing a large fleet's run into jobs over parts of it.

With --limit each slice still has the whole inventory: it plans the whole fleet and touches only
its own hosts, so the slices together write exactly what one run over the fleet writes. AWX's
own job slicing is different: each slice job gets an inventory holding only its hosts, so its
plan is the plan of a smaller fleet. Both are run here on the same three slices."""

import pytest

SLICES = 3
BATCH = 3
SHOW_PLAN = "Show this host's plan"


@pytest.fixture(scope='module')
def slices(fleet_hosts, awx):
    parts = awx.awx_slices(fleet_hosts, SLICES)
    assert all(parts) and sorted(sum(parts, [])) == fleet_hosts
    return parts


@pytest.fixture(scope='module')
def limited(slices, awx_jobs, tmp_path_factory):
    """Each slice's render and plan, and a rolling render in batches of BATCH, side by side:
    ([(hosts, job, root)], [(hosts, job, plan_file)], (job, root))."""
    specs, outputs = [], []
    for number, hosts in enumerate(slices, 1):
        root = tmp_path_factory.mktemp('render-slice%d' % number)
        plan_file = tmp_path_factory.mktemp('plan-slice%d' % number) / 'plan.json'
        specs.append(dict(playbook='site.yml', extravars={'ipsec_render_root': str(root)}, limit=','.join(hosts),
                          ident='render-slice%d' % number))
        specs.append(dict(playbook='plan.yml', extravars={'plan_file': str(plan_file)}, limit=','.join(hosts),
                          ident='plan-slice%d' % number))
        outputs.extend([(hosts, root), (hosts, plan_file)])
    rolling_root = tmp_path_factory.mktemp('render-rolling')
    specs.append(dict(playbook='rollout.yml', extravars={'ipsec_render_root': str(rolling_root), 'ipsec_batch': BATCH},
                      ident='render-rolling'))
    jobs = awx_jobs(specs)
    runs = [(hosts, job, out) for (hosts, out), job in zip(outputs, jobs)]
    return runs[0::2], runs[1::2], (jobs[-1], rolling_root)


@pytest.fixture(scope='module')
def limited_renders(limited):
    return limited[0]


@pytest.fixture(scope='module')
def limited_plans(limited):
    return limited[1]


def test_each_limited_slice_touches_only_its_hosts(limited_renders, limited_plans, awx):
    for hosts, job, root in limited_renders:
        assert (job.runner.status, job.runner.rc) == ('successful', 0), job.stdout[-3000:]
        assert job.touched_hosts() == set(hosts)
        assert set(path.split('/')[0] for path in awx.files_under(root)) == set(hosts)
    for hosts, job, _plan_file in limited_plans:
        assert (job.runner.status, job.runner.rc) == ('successful', 0), job.stdout[-3000:]
        assert set(job.ok_results(SHOW_PLAN)) == set(hosts)


def test_limited_slices_render_what_the_whole_fleet_renders(limited_renders, whole_render, awx):
    _job, whole_root = whole_render
    whole = awx.files_under(whole_root)
    union = {}
    for _hosts, _job, root in limited_renders:
        part = awx.files_under(root)
        assert not set(part) & set(union)
        union.update(part)
    assert sorted(union) == sorted(whole)
    different = [path for path in whole if union[path] != whole[path]]
    assert different == []


def test_limited_slices_plan_the_whole_fleet(limited_plans, whole_plan):
    whole_job, whole_file = whole_plan
    whole_shown = whole_job.ok_results(SHOW_PLAN)
    for hosts, job, plan_file in limited_plans:
        # The fleet's plan, written by each slice, is the same file byte for byte.
        assert plan_file.read_bytes() == whole_file.read_bytes()
        shown = job.ok_results(SHOW_PLAN)
        assert dict((h, shown[h]) for h in hosts) == dict((h, whole_shown[h]) for h in hosts)


def test_a_rolling_rollout_renders_what_one_run_renders(limited, whole_render, fleet_hosts, awx):
    job, root = limited[2]
    assert (job.runner.status, job.runner.rc) == ('successful', 0), job.stdout[-3000:]
    # One play start per batch, and each batch plans the whole fleet again.
    starts = [e for e in job.runner.events if e.get('event') == 'playbook_on_play_start'
              and e['event_data'].get('play') == 'Roll out IPsec in batches']
    batches = -(-len(fleet_hosts) // BATCH)
    assert len(starts) == batches
    plans = [e for e in job.runner.events if e.get('event') == 'runner_on_ok'
             and e['event_data'].get('task', '').startswith('Validate the inventory and compute the plan')]
    assert len(plans) == batches
    assert awx.files_under(root) == awx.files_under(whole_render[1])


def test_awx_job_slicing_plans_only_the_slice(slices, awx_jobs, awx_inventory, whole_render, awx, tmp_path_factory):
    """Why docs/awx.md says not to set Job Slicing on these job templates."""
    _job, whole_root = whole_render
    roots = [tmp_path_factory.mktemp('awx-slice%d' % number) for number in range(1, len(slices) + 1)]
    jobs = awx_jobs([dict(playbook='site.yml', extravars={'ipsec_render_root': str(root)}, ident='awx-slice%d' % number,
                          inventory=awx.sliced_inventory(awx_inventory, hosts))
                     for number, (hosts, root) in enumerate(zip(slices, roots), 1)])
    hostvars = awx_inventory['_meta']['hostvars']
    branches = dict((h, hostvars[h]['ipsec_address']) for h in awx_inventory['branches']['hosts'])

    def hub_text(root):
        return b''.join(content for path, (_mode, content) in awx.files_under(root).items()
                        if path.startswith('hq/')).decode()

    assert all(address in hub_text(whole_root) for address in branches.values())
    for hosts, job, root in zip(slices, jobs, roots):
        if 'hq' in hosts:
            # The slice holding the hub succeeds, and the hub is configured for the branches
            # of its own slice only: a real run would drop its tunnels to all the others.
            assert job.runner.status == 'successful', job.stdout[-3000:]
            text = hub_text(root)
            assert sorted(h for h, address in branches.items() if address in text) == sorted(set(hosts) & set(branches))
            assert len(set(hosts) & set(branches)) < len(branches)
        else:
            # Without the hub in its inventory a slice cannot plan its topology at all.
            assert job.runner.status == 'failed'
            assert 'no host was touched' in job.stdout
            assert awx.files_under(root) == {}
