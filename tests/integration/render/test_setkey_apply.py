# Copyright (c) 2026 fleet.ipsec contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The setkey role's confirm-or-rollback (roles/setkey/tasks/apply.yml), run for real through a
local connection with a stand-in setkey that logs its calls, at paths that hold a space, quotes
and shell syntax. A run whose reconnection works loads the new policies and disarms the rollback;
a run whose new policies "cut" the controller (the stand-in makes the next module run fail until
the old policies are loaded again) is rolled back by the armed rollback and fails saying so.

No test here needs root, a kernel with PF_KEY or a real setkey."""

import json
import os
import shlex
import signal
import shutil
import subprocess
import sys
import time

import pytest
import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..'))
APPLY = os.path.join(ROOT, 'roles', 'setkey', 'tasks', 'apply.yml')
# Long enough for arming, reconnecting and disarming on a busy machine (the rollback must not
# fire before a reachable run disarms it, nor before a cut run has failed to reconnect).
ROLLBACK_SECONDS = 10
CONFIRM_TIMEOUT = 2

# The ansible commands of the Python that runs the tests (.venv/bin when run as
# `.venv/bin/python -m pytest`), ahead of PATH.
PATH = os.pathsep.join([os.path.dirname(sys.executable), os.environ.get('PATH', '')])
needs_ansible = pytest.mark.skipif(shutil.which('ansible-playbook', path=PATH) is None, reason='ansible-playbook is not installed')

PLAYBOOK = '''
- name: Apply the policies as the setkey role does on a host
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Load with confirm-or-rollback
      ansible.builtin.include_role:
        name: fleet.ipsec.setkey
        tasks_from: apply
'''

# The stand-in setkey: logs each call; loading the new policy file "cuts" the controller off
# when told to (the cut marker makes the interpreter of every later module run a missing path),
# loading the previous one heals it, as the real rollback does.
FAKE_SETKEY = '''#!/bin/sh
printf '%%s\\n' "$*" >> %(log)s
if [ "$1" = -f ]; then
    if [ "$2" = %(previous)s ]; then
        rm -f %(cut)s
    elif [ -e %(cut_on_load)s ]; then
        : > %(cut)s
    fi
fi
'''

# Names with a space, single and double quotes, and shell syntax that must never run.
NASTY = [
    'with space/set key',
    "it's quoted/set'key",
    'all of it/a "b" $(touch INJECTED) `touch INJECTED` ;x',
]


def steps(task):
    """The script and the arguments of a task that runs sh -c."""
    argv = task['ansible.builtin.command']['argv']
    assert argv[:2] == ['/bin/sh', '-c'], argv
    return argv[2], argv[3:]


def test_no_value_is_interpolated_into_a_script():
    """Every sh -c script of apply.yml is constant text: what a user sets reaches it only as
    "$1", "$2", ... (the arguments after the script), never inside the script."""
    with open(APPLY) as handle:
        tasks = yaml.safe_load(handle)
    scripts = [task for task in tasks if 'ansible.builtin.command' in task]
    assert [task['name'] for task in scripts] == ['Arm the rollback and load the new policies', 'Disarm the rollback']
    assert not any('ansible.builtin.shell' in task for task in tasks)
    for task in scripts:
        script, arguments = steps(task)
        assert '{{' not in script and '{%' not in script, task['name']
        assert arguments[0].startswith('fleet-ipsec-')  # $0, then the values as "$1", "$2", ...
    _script, arguments = steps(scripts[0])
    assert arguments[1:] == ['{{ setkey_binary }}', '{{ __setkey_file }}', '{{ __setkey_previous_file }}',
                             '{{ __setkey_rollback_pidfile }}', '{{ setkey_rollback_seconds | int | string }}']


class Host(object):
    """A stand-in host in tmp_path: the policy files, the pid file and setkey at nasty paths."""

    def __init__(self, tmp_path, setkey_name, had_policies=True):
        self.tmp = tmp_path
        self.setkey = tmp_path / 'bin' / setkey_name
        self.policies = tmp_path / "etc 'x' \"y\"" / 'ipsec.conf'
        self.previous = self.policies.parent / 'ipsec.conf.previous'
        self.pidfile = tmp_path / 'run $(x)' / 'rollback.pid'
        self.log = tmp_path / 'setkey.log'
        self.cut = tmp_path / 'cut'
        self.cut_on_load = tmp_path / 'cut-on-load'
        for path in (self.setkey, self.policies, self.pidfile):
            path.parent.mkdir(parents=True, exist_ok=True)
        self.setkey.write_text(FAKE_SETKEY % {name: shlex.quote(str(getattr(self, name)))
                                              for name in ('log', 'previous', 'cut', 'cut_on_load')})
        self.setkey.chmod(0o755)
        # What the write step leaves: the new file, and the old one kept beside it (if any).
        self.policies.write_text('new policies;\n')
        if had_policies:
            self.previous.write_text('old policies;\n')

    def calls(self):
        return self.log.read_text().splitlines() if self.log.exists() else []

    def apply(self, cut=False):
        if cut:
            self.cut_on_load.write_text('')
        book = self.tmp / 'apply.yml'
        book.write_text(PLAYBOOK)
        variables = {
            'setkey_binary': str(self.setkey), '__setkey_file': str(self.policies),
            '__setkey_previous_file': str(self.previous), '__setkey_rollback_pidfile': str(self.pidfile),
            'setkey_rollback_seconds': ROLLBACK_SECONDS, 'setkey_confirm_timeout': CONFIRM_TIMEOUT,
            # While the policies "cut" the controller off, no module can run on the host.
            'ansible_python_interpreter': "{{ '/nonexistent/python3' if %r is exists else %r }}"
                                          % (str(self.cut), sys.executable),
        }
        extra = self.tmp / 'vars.json'
        extra.write_text(json.dumps(variables))
        env = dict(os.environ, PATH=PATH, ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'), ANSIBLE_NOCOLOR='1')
        return subprocess.run(['ansible-playbook', str(book), '-i', 'localhost,', '-c', 'local', '-e', '@%s' % extra],
                              cwd=str(self.tmp), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              universal_newlines=True, check=False, timeout=300)


def shown(run):
    return run.stdout[-6000:] + '\n--- stderr\n' + run.stderr[-3000:]


@needs_ansible
@pytest.mark.parametrize('setkey_name', NASTY, ids=['space', 'quotes', 'shell-syntax'])
def test_reachable_loads_the_new_policies_and_disarms_the_rollback(tmp_path, setkey_name):
    host = Host(tmp_path, setkey_name)
    run = host.apply()
    assert run.returncode == 0, shown(run)
    assert host.calls() == ['-f %s' % host.policies]
    assert not host.pidfile.exists() and not host.previous.exists()
    time.sleep(ROLLBACK_SECONDS + 2)
    assert host.calls() == ['-f %s' % host.policies], 'the disarmed rollback ran'
    assert host.policies.read_text() == 'new policies;\n'
    assert not list(tmp_path.rglob('INJECTED'))


@needs_ansible
@pytest.mark.parametrize('setkey_name, had_policies', [(name, True) for name in NASTY] + [(NASTY[0], False)],
                         ids=['space', 'quotes', 'shell-syntax', 'space-had-none'])
def test_a_cut_management_path_is_rolled_back(tmp_path, setkey_name, had_policies):
    host = Host(tmp_path, setkey_name, had_policies=had_policies)
    run = host.apply(cut=True)
    assert run.returncode != 0, shown(run)
    assert 'the new security policies cut the management path' in run.stdout, shown(run)
    # The rollback ran with the same nasty setkey path: the old policies (or, on a host that had
    # none, an empty SPD) were loaded and put back in the policy file.
    assert host.calls() == ['-f %s' % host.policies, '-f %s' % host.previous], shown(run)
    assert not host.cut.exists()
    assert host.policies.read_text() == ('old policies;\n' if had_policies else 'spdflush;\n')
    if not had_policies:  # the empty policy file the arming step wrote is root's alone (umask 077)
        assert host.previous.stat().st_mode & 0o077 == 0
    assert not list(tmp_path.rglob('INJECTED'))


@needs_ansible
def test_a_rollback_left_armed_by_a_killed_run_is_replaced(tmp_path):
    """A run killed between arming and disarming leaves its rollback armed; the next run (which the
    journal makes apply the same file) must not let it fire behind its back."""
    host = Host(tmp_path, NASTY[0])
    stale = subprocess.Popen(['sleep', '600'])
    try:
        host.pidfile.write_text('%d\n' % stale.pid)
        run = host.apply()
        assert run.returncode == 0, shown(run)
        assert stale.wait(timeout=10) == -signal.SIGTERM
    finally:
        if stale.poll() is None:
            stale.kill()
    assert host.calls() == ['-f %s' % host.policies]
