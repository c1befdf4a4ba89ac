# Copyright (c) 2026 fleet.ipsec contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run fleet.ipsec the way AWX and Automation Platform run it.

Every job gets a private data dir of its own, laid out as AWX lays it out for ansible-runner:
project/ (the fleet's project: a git repository in AWX), inventory/hosts (an executable that
prints the inventory AWX holds, as JSON), env/extravars, env/envvars, env/cmdline and
env/passwords (the vault credential: AWX answers ansible-playbook's vault prompt). The
collection comes from the tarball `ansible-galaxy collection build` makes of this checkout,
installed into a directory named by ANSIBLE_COLLECTIONS_PATH, as in an execution environment;
community.general comes from the `ansible` package in .venv. Nothing comes from Galaxy.
"""

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import types

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
FLEET = os.path.join(os.path.dirname(__file__), 'fleet')
VAULT_PASSWORD_FILE = os.path.join(FLEET, 'vault-password.txt')

# The prompt AWX's vault credential answers (a credential without a vault id adds
# --ask-vault-pass to the command line).
VAULT_PROMPT = r'Vault password:\s*?$'

pytestmark = pytest.mark.skipif(shutil.which('ansible-playbook') is None, reason='ansible-playbook is not installed')


def tool(name):
    """A command of .venv (the one beside this interpreter), else from PATH."""
    candidate = os.path.join(os.path.dirname(sys.executable), name)
    return candidate if os.access(candidate, os.X_OK) else shutil.which(name)


def run(command, **kwargs):
    """The stdout of a command that must succeed. stderr is captured apart and never parsed: a
    library's warning there (cryptography's deprecation warning, which ansible-core printed at
    every command) is not data. Both are shown when the command fails."""
    done = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                          check=False, **kwargs)
    assert done.returncode == 0, '%s exited %d\n--- stdout\n%s\n--- stderr\n%s' % (
        ' '.join(str(c) for c in command), done.returncode, done.stdout[-3000:], done.stderr[-3000:])
    return done.stdout


def galaxy_version():
    with open(os.path.join(ROOT, 'galaxy.yml')) as handle:
        for line in handle:
            if line.startswith('version:'):
                return line.split(':', 1)[1].strip()
    raise AssertionError('galaxy.yml has no version')


@pytest.fixture(scope='session')
def collection_tarball(tmp_path_factory):
    """fleet-ipsec-<version>.tar.gz of this checkout, as `ansible-galaxy collection build` makes it."""
    out = tmp_path_factory.mktemp('build')
    run([tool('ansible-galaxy'), 'collection', 'build', '--output-path', str(out), ROOT])
    tarball = out / ('fleet-ipsec-%s.tar.gz' % galaxy_version())
    assert tarball.is_file()
    return tarball


@pytest.fixture(scope='session')
def installed_collections(collection_tarball, tmp_path_factory):
    """A collections directory holding fleet.ipsec installed from the tarball (no Galaxy)."""
    path = tmp_path_factory.mktemp('collections')
    # --force and a cwd away from the checkout: ansible.cfg there links the checkout in as
    # fleet.ipsec, and ansible-galaxy would take that for installed already.
    run([tool('ansible-galaxy'), 'collection', 'install', '--offline', '--no-deps', '--force', '-p', str(path),
         str(collection_tarball)], cwd=str(path))
    assert (path / 'ansible_collections' / 'fleet' / 'ipsec' / 'MANIFEST.json').is_file()
    return path


@pytest.fixture(scope='session')
def awx_inventory():
    """The fleet's inventory as AWX holds it once imported: `ansible-inventory --list --export`
    (variables as written, templates untemplated), which is what its inventory script prints."""
    return json.loads(run([tool('ansible-inventory'), '-i', os.path.join(FLEET, 'inventory.yml'), '--list', '--export']))


def sliced_inventory(inventory, hosts):
    """What AWX's own job slicing hands one slice: the same inventory with only these hosts."""
    hosts = set(hosts)
    data = json.loads(json.dumps(inventory))
    data['_meta']['hostvars'] = dict((h, v) for h, v in data['_meta']['hostvars'].items() if h in hosts)
    for name, group in data.items():
        if name != '_meta' and 'hosts' in group:
            group['hosts'] = [h for h in group['hosts'] if h in hosts]
    return data


def awx_slices(host_names, count):
    """AWX's split of an inventory into `count` slices: hosts by name, every count-th one."""
    ordered = sorted(host_names)
    return [ordered[offset::count] for offset in range(count)]


@pytest.fixture(scope='session')
def fleet_hosts(awx_inventory):
    return sorted(awx_inventory['_meta']['hostvars'])


@pytest.fixture(scope='session')
def master():
    """The fleet's master key, read from the project's vault the way Ansible reads it."""
    plain = run([tool('ansible-vault'), 'view', '--vault-password-file', VAULT_PASSWORD_FILE,
                 os.path.join(FLEET, 'project', 'vars', 'vault.yml')])
    value = plain.split('vault_ipsec_psk_master:', 1)[1].strip().strip('"')
    assert len(value) >= 20
    return value


class Job:
    """One finished ansible-runner job: its runner, private data dir and artifacts."""

    def __init__(self, runner, private_data_dir, ident):
        self.runner = runner
        self.private_data_dir = private_data_dir
        self.ident = ident
        self.artifacts = os.path.join(private_data_dir, 'artifacts', ident)

    @property
    def stdout(self):
        with open(os.path.join(self.artifacts, 'stdout')) as handle:
            return handle.read()

    def artifact_text(self):
        """Every file of artifacts/<ident>/ (stdout, job_events/*.json, command, ...), as text."""
        texts = []
        for directory, _dirs, names in os.walk(self.artifacts):
            for name in sorted(names):
                with open(os.path.join(directory, name), errors='replace') as handle:
                    texts.append(handle.read())
        return '\n'.join(texts)

    def ok_results(self, task):
        """{host: result} of the runner_on_ok events of the task named `task`."""
        found = {}
        for event in self.runner.events:
            data = event.get('event_data', {})
            if event.get('event') == 'runner_on_ok' and data.get('task') == task:
                found[data['host']] = data['res']
        return found

    def touched_hosts(self):
        """Hosts the play ran on, from the closing stats."""
        stats = self.runner.stats or {}
        return set().union(*(set(stats.get(key) or {}) for key in ('ok', 'changed', 'failures', 'dark', 'skipped')))


@pytest.fixture(scope='session')
def awx_jobs(installed_collections, awx_inventory, tmp_path_factory):
    """awx_jobs([dict(playbook=..., **options), ...]) -> [Job, ...], run side by side, as AWX runs
    the jobs of one workflow (the slices of a sliced job, say). Options: extravars, limit,
    verbosity, ident, inventory (replaces the fleet's: AWX's job slicing hands each slice a
    smaller one), vault=False (launched without the vault credential)."""
    import ansible_runner  # pylint: disable=import-outside-toplevel  # only once ansible-playbook is known to be there

    collections_path = '%s:%s' % (installed_collections, sysconfig.get_paths()['purelib'])
    with open(VAULT_PASSWORD_FILE) as handle:
        vault_password = handle.read().strip()

    def prepare(playbook, extravars=None, limit=None, verbosity=0, inventory=None, ident='job', vault=True):
        data_dir = tmp_path_factory.mktemp('awx-job')
        shutil.copytree(os.path.join(FLEET, 'project'), str(data_dir / 'project'))
        (data_dir / 'inventory').mkdir()
        (data_dir / 'env').mkdir()
        script = data_dir / 'inventory' / 'hosts'
        # AWX's inventory is a program that prints what the database holds.
        payload = json.dumps(inventory or awx_inventory)
        script.write_text('#!%s\nimport sys\nsys.stdout.write(%r if "--list" in sys.argv else "{}")\n'
                          % (sys.executable, payload))
        script.chmod(0o700)
        env = {
            'ANSIBLE_COLLECTIONS_PATH': collections_path,
            'ANSIBLE_NOCOLOR': '1',
            'ANSIBLE_FORCE_COLOR': '0',
            'PATH': os.pathsep.join([os.path.dirname(sys.executable), os.environ.get('PATH', '')]),
        }
        (data_dir / 'env' / 'envvars').write_text(json.dumps(env))
        (data_dir / 'env' / 'extravars').write_text(json.dumps(extravars or {}))
        if vault:
            (data_dir / 'env' / 'cmdline').write_text('--ask-vault-pass')
            (data_dir / 'env' / 'passwords').write_text(json.dumps({VAULT_PROMPT: vault_password}))
        return dict(private_data_dir=str(data_dir), playbook=playbook, ident=ident, limit=limit,
                    verbosity=verbosity or None, quiet=True)

    def jobs(specs):
        started = []
        for spec in specs:
            options = prepare(**spec)
            thread, runner = ansible_runner.run_async(**options)
            started.append((thread, runner, options))
        for thread, _runner, _options in started:
            thread.join()
        return [Job(runner, options['private_data_dir'], options['ident']) for _thread, runner, options in started]

    return jobs


@pytest.fixture(scope='session')
def awx_job(awx_jobs):
    """awx_job(playbook, **options) -> Job: one job (options as awx_jobs)."""
    return lambda playbook, **options: awx_jobs([dict(options, playbook=playbook)])[0]


@pytest.fixture(scope='session')
def whole_fleet(awx_jobs, tmp_path_factory):
    """plan.yml (with the fleet's plan written to plan_file) and render mode, over the whole fleet.
    Render runs at the verbosity of a job template's "3 (Debug)"."""
    plan_file = tmp_path_factory.mktemp('plan') / 'plan.json'
    root = tmp_path_factory.mktemp('render')
    plan, render = awx_jobs([dict(playbook='plan.yml', extravars={'plan_file': str(plan_file)}, ident='plan'),
                             dict(playbook='site.yml', extravars={'ipsec_render_root': str(root)}, verbosity=3,
                                  ident='render')])
    return (plan, plan_file), (render, root)


@pytest.fixture(scope='session')
def whole_plan(whole_fleet):
    return whole_fleet[0]


@pytest.fixture(scope='session')
def whole_render(whole_fleet):
    return whole_fleet[1]


def files_under(root):
    """{relative path: (mode, bytes)} of every file below root."""
    found = {}
    for directory, _dirs, names in os.walk(str(root)):
        for name in names:
            path = os.path.join(directory, name)
            with open(path, 'rb') as handle:
                found[os.path.relpath(path, str(root))] = (os.stat(path).st_mode & 0o7777, handle.read())
    return found


@pytest.fixture(scope='session')
def awx():
    """The helpers above, for the test modules (a conftest is not imported by name)."""
    return types.SimpleNamespace(root=ROOT, fleet=FLEET, run=run, tool=tool, galaxy_version=galaxy_version,
                                 sliced_inventory=sliced_inventory, awx_slices=awx_slices, files_under=files_under)
