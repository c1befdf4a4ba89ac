# -*- coding: utf-8 -*-
# Copyright (c) 2026 fleet.ipsec contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The shared part of the test-guest driver (molecule/guests/guests.py) without booting anything:
the command lines the project's scripts, playbooks and CI run, the state directory, ssh_config and
inventory as ssh and YAML read them, waiting for SSH, `up`'s bookkeeping and clean-up, stopping
processes, and how a failure is reported."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest
import yaml

GUESTS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'molecule', 'guests')


@pytest.fixture
def driver(monkeypatch):
    """The shared module and both backends, as the backends' scripts import them."""
    monkeypatch.syspath_prepend(GUESTS_DIR)
    # up() ignores SIGINT and SIGTERM while it tears a failed run down, and main() takes SIGTERM
    # over: neither may outlive a test in pytest's own process.
    monkeypatch.setattr(signal, 'signal', lambda *args: None)
    import guests  # pylint: disable=import-error,import-outside-toplevel
    import qemu  # pylint: disable=import-error,import-outside-toplevel
    import lab  # pylint: disable=import-error,import-outside-toplevel
    return guests, lab, qemu


# ---------------------------------------------------------------- the command lines callers use

# What scripts/lab, scripts/molecule, molecule/*/create.yml, destroy.yml and faults.yml, the tests
# and CI run, with what each must come out as.
LAB_COMMANDS = [
    (['up', '--state', '/s', '--guests', 'mason,gluon'], 'cmd_up', {'guests': 'mason,gluon', 'timeout': None}),
    (['up', '--state', '/s', '--guests', 'g1,g2,g3,g4,g5,g6'], 'cmd_up', {'mem': None, 'keep_on_failure': False}),
    (['probe'], 'cmd_probe', {}),
    (['down', '--state', '/s'], None, {'state': '/s'}),
    (['status', '--state', '/s'], None, {'state': '/s'}),
    (['status'], None, {'state': None}),
    (['reboot', '--state', '/s', 'g2'], 'cmd_reboot', {'guest': 'g2', 'timeout': None}),
    (['build'], 'cmd_build', {'rebuild': False, 'suite': None}),
    (['racoon'], 'cmd_racoon', {}),
]
QEMU_COMMANDS = [
    (['up', '--profile', 'freebsd', '--set', 'version=15.1', '--state', '/s', '--vms', 'mason,gluon'], 'cmd_up',
     {'profile': 'freebsd', 'set': ['version=15.1'], 'vms': 'mason,gluon', 'timeout': None, 'accel': 'auto'}),
    (['up', '--profile', '/p/debian-lab.json', '--state', '/s', '--vms', 'd1,d2'], 'cmd_up',
     {'private_net': '10.78.0.0/24'}),
    (['down', '--state', '/s'], None, {'state': '/s'}),
    (['status', '--state', '/s'], None, {'state': '/s'}),
    (['accel'], 'cmd_accel', {}),
    (['fetch', '--profile', 'freebsd'], 'cmd_fetch', {'set': None}),
]


@pytest.mark.parametrize('backend, argv, func, values',
                         [('lab',) + c for c in LAB_COMMANDS] + [('qemu',) + c for c in QEMU_COMMANDS])
def test_the_command_lines_the_project_runs(driver, backend, argv, func, values):
    guests, lab, qemu = driver
    module = {'lab': lab, 'qemu': qemu}[backend]
    args = guests.parser(module.BACKEND, module.__doc__).parse_args(argv)
    assert args.command == argv[0]
    if func:
        assert args.func.__name__ == func
    for name, value in values.items():
        assert getattr(args, name) == value, name


@pytest.mark.parametrize('backend, argv', [
    ('lab', ['status', '--guests', 'g1']),  # an option of up only
    ('lab', ['fetch', '--profile', 'freebsd']),  # a command of the other backend
    ('qemu', ['status']),  # qemu runs side by side: it cannot guess which state is meant
    ('qemu', ['reboot', '--state', '/s', 'vm1']),
    ('qemu', ['up', '--state', '/s']),  # no profile
])
def test_what_a_backend_does_not_have_is_refused(driver, backend, argv, capsys):
    guests, lab, qemu = driver
    module = {'lab': lab, 'qemu': qemu}[backend]
    with pytest.raises(SystemExit) as stopped:
        guests.parser(module.BACKEND, module.__doc__).parse_args(argv)
    assert stopped.value.code == 2
    assert 'error' in capsys.readouterr().err


# ---------------------------------------------------------------- ssh_config and inventory

def test_ssh_config_as_ssh_reads_it(driver, tmp_path):
    guests = driver[0]
    guests.write_ssh_config(tmp_path, [(['a', '10.0.0.1'], '10.0.0.1', None), (['b'], '127.0.0.1', 2202)],
                            'admin', {'StrictHostKeyChecking': 'no'}, 'x.py')
    text = (tmp_path / 'ssh_config').read_text()
    assert text.startswith('# written by x.py up, removed by x.py down\n')
    assert 'Host b\n  HostName 127.0.0.1\n  Port 2202\n' in text
    if not shutil.which('ssh'):
        pytest.skip('no ssh to read the file back with')

    def resolved(alias):
        out = subprocess.run(['ssh', '-G', '-F', str(tmp_path / 'ssh_config'), alias], capture_output=True,
                             text=True, check=True).stdout
        return dict(line.split(' ', 1) for line in out.splitlines() if ' ' in line)

    a, b, by_address = resolved('a'), resolved('b'), resolved('10.0.0.1')
    assert (a['hostname'], a['port'], a['user']) == ('10.0.0.1', '22', 'admin')
    assert (b['hostname'], b['port']) == ('127.0.0.1', '2202')
    assert by_address['hostname'] == '10.0.0.1'  # the lab's guests answer to their address too
    assert b['identityfile'] == str(tmp_path / 'id_ed25519')
    assert b['userknownhostsfile'] == str(tmp_path / 'known_hosts')
    assert (b['identitiesonly'], b['stricthostkeychecking']) == ('yes', 'false')


def test_inventory_values_come_back_as_written(driver, tmp_path):
    """Values are written as JSON scalars: YAML must read the same strings, numbers and booleans,
    even where a bare scalar would not survive (a colon, a #, an empty string, IPv6)."""
    guests = driver[0]
    hosts = {'g1': {'ansible_host': 'fd77::11', 'port': 2201, 'empty': '', 'odd': 'a: b # c'}, 'g2': {}}
    group_vars = {'ansible_ssh_pipelining': True, 'ansible_ssh_common_args': '-F /s/ssh_config'}
    guests.write_inventory(tmp_path, 'lab', hosts, group_vars, 'x.py')
    inventory = yaml.safe_load((tmp_path / 'inventory.yml').read_text())
    group = inventory['all']['children']['lab']
    assert group['hosts']['g1'] == hosts['g1']
    assert group['hosts']['g2'] is None  # a host without variables is still a host
    assert group['vars'] == group_vars


# ---------------------------------------------------------------- a backend that boots nothing

class FakeProc:
    """A guest process for the driver's bookkeeping: running until `exit_code` is set."""

    def __init__(self, pid, exit_code=None):
        self.pid = pid
        self.returncode = exit_code

    def poll(self):
        return self.returncode


def fake_backend(guests, boots=None):
    class Fake(guests.Backend):
        name = 'fake'
        script = 'fake.py'
        record = 'fake.json'
        machines = 'guests'
        per_guest_files = ('*.disk', '*.console.log')
        group = 'fakes'
        program = 'fakevm'
        poll = 0.01

        def __init__(self):
            self.events = []

        def stop_guests(self, state):
            self.events.append('stop')

        def claim(self, state):
            self.events.append('claim')

        def ssh_host(self, machine):
            return [machine['name']], '127.0.0.1', machine['port']

        def host_vars(self, machine):
            return {'ansible_port': machine['port']}

        def before_boot(self, state, machines, info, pubkey):
            self.events.append('before_boot')
            for m in machines:
                (state / (m['name'] + '.disk')).write_text(pubkey)

        def boot(self, state, machine, info, pubkey):
            if boots:
                return boots(machine)
            return FakeProc(4000 + machine['port'])

        def describe(self, machine):
            return 'port {0}'.format(machine['port'])

    return Fake()


def test_clean_removes_what_up_wrote_and_nothing_else(driver, tmp_path):
    guests = driver[0]
    backend = fake_backend(guests)
    state = tmp_path / 'state'
    state.mkdir()
    for name in ['fake.json', 'a.disk', 'a.console.log'] + guests.ACCESS_FILES:
        (state / name).write_text('x')
    (state / 'notes.txt').write_text('mine')
    backend.teardown(state)
    assert backend.events == ['stop']
    assert [p.name for p in state.iterdir()] == ['notes.txt']
    (state / 'notes.txt').unlink()
    backend.clean(state)
    assert not state.exists()
    backend.clean(state)  # nothing left: no error


@pytest.fixture
def keygen():
    if not shutil.which('ssh-keygen'):
        pytest.skip('no ssh-keygen')


def test_up_writes_access_record_and_times(driver, tmp_path, monkeypatch, keygen):
    guests = driver[0]
    backend = fake_backend(guests)
    monkeypatch.setattr(guests, 'ssh', lambda state, name, command, timeout=30: (0, 'boot-1'))
    state = tmp_path / 'state'
    machines = [{'name': 'a', 'port': 2201}, {'name': 'b', 'port': 2202}]
    info = {'guests': machines, 'user': 'admin', 'python': '/usr/bin/python3'}
    assert backend.up(state, machines, info, timeout=5, keep_on_failure=False) == 0
    assert backend.events == ['stop', 'claim', 'before_boot']  # leftovers first, then this run
    record = json.loads((state / 'fake.json').read_text())
    assert [(m['name'], m['pid']) for m in record['guests']] == [('a', 6201), ('b', 6202)]
    assert all(m['ready_seconds'] >= 0 for m in record['guests']) and record['boot_seconds'] >= 0
    pubkey = (state / 'id_ed25519.pub').read_text().strip()
    assert pubkey.startswith('ssh-ed25519 ') and (state / 'a.disk').read_text() == pubkey
    inventory = yaml.safe_load((state / 'inventory.yml').read_text())['all']['children']['fakes']
    assert inventory['hosts']['b'] == {'ansible_port': 2202}
    assert inventory['vars']['ansible_user'] == 'admin'
    assert inventory['vars']['ansible_python_interpreter'] == '/usr/bin/python3'
    assert inventory['vars']['ansible_ssh_common_args'] == '-F {0}'.format(state / 'ssh_config')


@pytest.mark.parametrize('keep', [False, True])
def test_a_failed_up_is_torn_down_unless_kept(driver, tmp_path, keep, keygen, capsys):
    guests = driver[0]

    def boots(machine):
        if machine['name'] == 'b':
            raise guests.DriverError('b would not start')
        return FakeProc(1)

    backend = fake_backend(guests, boots)
    state = tmp_path / 'state'
    machines = [{'name': 'a', 'port': 2201}, {'name': 'b', 'port': 2202}]
    with pytest.raises(guests.DriverError, match='b would not start'):
        backend.up(state, machines, {'guests': machines}, timeout=5, keep_on_failure=keep)
    assert backend.events.count('stop') == (1 if keep else 2)
    assert (state / 'inventory.yml').exists() == keep
    assert ('--keep-on-failure' in capsys.readouterr().err) != keep


# ---------------------------------------------------------------- waiting for SSH

def test_wait_ready_wants_the_same_boot_twice(driver, tmp_path, monkeypatch):
    """A guest that answers, reboots (another boot id) and answers again is ready only once the
    second boot has answered twice, `settle` seconds apart."""
    guests = driver[0]
    backend = fake_backend(guests)
    answers = iter([(255, ''), (0, 'boot-1'), (255, ''), (0, 'boot-2'), (0, 'boot-3')] + [(0, 'boot-3')] * 100)
    calls = []

    def ssh(state, name, command, timeout=30):
        calls.append(command)
        return next(answers)

    monkeypatch.setattr(guests, 'ssh', ssh)
    started = time.monotonic()
    took = backend.wait_ready(tmp_path, {'name': 'a'}, FakeProc(1), started, timeout=10, ready=('cat boot_id', 0.05))
    assert set(calls) == {'cat boot_id'}
    assert len(calls) >= 6  # boot-3 once, then again after settling
    assert took >= 0.05


def test_wait_ready_reports_an_exited_guest_with_its_log(driver, tmp_path, monkeypatch):
    guests = driver[0]
    backend = fake_backend(guests)
    (tmp_path / 'a.console.log').write_text('booting\nkernel panic\n')
    monkeypatch.setattr(guests, 'ssh', lambda *a, **k: pytest.fail('no SSH to a guest that has exited'))
    with pytest.raises(guests.DriverError) as error:
        backend.wait_ready(tmp_path, {'name': 'a'}, FakeProc(1, exit_code=3), time.monotonic(), timeout=10)
    assert 'a: fakevm exited with 3' in str(error.value) and '  | kernel panic' in str(error.value)


def test_wait_all_names_every_guest_that_did_not_answer(driver, tmp_path, monkeypatch):
    guests = driver[0]
    backend = fake_backend(guests)
    monkeypatch.setattr(guests, 'ssh', lambda state, name, command, timeout=30: (0 if name == 'a' else 255, ''))
    machines = [{'name': 'a'}, {'name': 'b'}, {'name': 'c'}]
    procs = {m['name']: FakeProc(1) for m in machines}
    with pytest.raises(guests.DriverError) as error:
        backend.wait_all(tmp_path, machines, procs, time.monotonic(), timeout=0.3)
    message = str(error.value)
    assert 'b: no SSH after' in message and 'c: no SSH after' in message and 'a:' not in message


def test_probe_spares_ssh_while_the_guest_cannot_answer(driver, tmp_path, monkeypatch):
    guests = driver[0]
    backend = fake_backend(guests)
    reachable = iter([False, False, True])
    backend.reachable = lambda machine: next(reachable)
    calls = []
    monkeypatch.setattr(guests, 'ssh', lambda *a, **k: calls.append(a) or (0, ''))
    backend.wait_ready(tmp_path, {'name': 'a'}, FakeProc(1), time.monotonic(), timeout=5)
    assert len(calls) == 1


# ---------------------------------------------------------------- processes and failures

def test_stop_ends_processes_that_ignore_sigterm(driver):
    guests = driver[0]
    polite = subprocess.Popen(['sleep', '60'])
    stubborn = subprocess.Popen(['sh', '-c', 'trap "" TERM; while :; do sleep 0.1; done'])
    time.sleep(0.2)  # let the shell set its trap
    try:
        running = {pid for pid, _sid, _argv in guests.processes()}
        assert {polite.pid, stubborn.pid} <= running
        guests.stop([polite.pid, stubborn.pid], grace=0.5)
        polite.wait(5)
        stubborn.wait(5)
        assert stubborn.returncode == -signal.SIGKILL
        assert not guests.alive(polite.pid)
    finally:
        for proc in (polite, stubborn):
            proc.kill()
            proc.wait()


@pytest.mark.parametrize('failure, status, said', [
    (lambda g: g.DriverError('no bridge'), 1, 'fake: error: no bridge'),
    (lambda g: subprocess.CalledProcessError(2, ['ip', 'link']), 1, 'fake: error: Command'),
    (lambda g: FileNotFoundError(2, 'No such file or directory', 'linux.uml'), 1, 'fake: error: [Errno 2]'),
    (lambda g: KeyboardInterrupt(), 130, 'fake: interrupted'),
])
def test_main_reports_a_failure_in_one_line(driver, failure, status, said, capsys):
    guests = driver[0]
    backend = fake_backend(guests)

    def cmd_up(args):
        raise failure(guests)

    backend.cmd_up = cmd_up
    assert guests.main(backend, 'Fake.\n\nMore.', ['up', '--state', '/nonexistent']) == status
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and err.startswith(said)


def test_down_of_nothing_succeeds(driver, tmp_path, capsys):
    guests = driver[0]
    backend = fake_backend(guests)
    assert guests.main(backend, 'Fake.', ['down', '--state', str(tmp_path / 'never')]) == 0
    assert backend.events == ['stop']
    assert not (tmp_path / 'never').exists()


def test_download_is_checked_against_its_sha256(driver, tmp_path):
    guests = driver[0]
    source = tmp_path / 'published.bin'
    source.write_bytes(b'payload' * 1000)
    good = guests.sha256_of(source)
    guests.download(source.as_uri(), tmp_path / 'ok.bin', good, 'fake')
    assert (tmp_path / 'ok.bin').read_bytes() == source.read_bytes()
    with pytest.raises(guests.DriverError, match='refusing it') as error:
        guests.download(source.as_uri(), tmp_path / 'bad.bin', '0' * 64, 'fake')
    assert good in str(error.value) and not (tmp_path / 'bad.bin').exists()


def test_backends_share_the_driver_and_keep_their_records(driver):
    """create.yml of the lab and freebsd scenarios read these records by name and key."""
    guests, lab, qemu = driver
    assert isinstance(lab.BACKEND, guests.Backend) and isinstance(qemu.BACKEND, guests.Backend)
    assert lab.DriverError is guests.DriverError is qemu.DriverError
    assert (lab.BACKEND.record, lab.BACKEND.machines, lab.BACKEND.group) == ('lab.json', 'guests', 'lab')
    assert (qemu.BACKEND.record, qemu.BACKEND.machines, qemu.BACKEND.group) == ('vmpair.json', 'vms', 'vmpair')
    assert sys.modules['guests'] is guests
