# Copyright (c) 2026 fleet.ipsec contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""fleet.ipsec.files on its own, in both places it writes: on the host (the module, here through
a local connection as root) and below root on the controller (render mode). Modes, owners,
idempotence, check and diff modes, secrets, markers, the rollback copy, bad input, and what is
found at a destination: a symbolic link (replaced, never followed), a FIFO, a directory or a
socket (refused), links and '..' below a render root (refused)."""

import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import time

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..'))
SECRET = 'files-action-secret-4f0c9a'

# The ansible commands of the Python that runs the tests (.venv/bin when run as
# `.venv/bin/python -m pytest`), ahead of PATH.
PATH = os.pathsep.join([os.path.dirname(sys.executable), os.environ.get('PATH', '')])
pytestmark = pytest.mark.skipif(shutil.which('ansible-playbook', path=PATH) is None, reason='ansible-playbook is not installed')

PLAYBOOK = '''
- hosts: localhost
  gather_facts: false
  vars:
    value: %(value)s
    key: %(secret)s
  tasks:
    - name: Write
      fleet.ipsec.files:
        root: %(root)s
        host_dir: %(host_dir)s
        files: %(files)s
        markers: %(markers)s
      register: written
      no_log: %(no_log)s
    - name: Record
      ansible.builtin.copy:
        content: "{{ written | to_json }}"
        dest: "{{ record }}"
        mode: "0600"
      when: not ansible_check_mode
'''

MODES = ['host', 'render']


def run(tmp_path, mode, files, *extra, value='one', no_log='false', markers=(), host_dir=None, timeout=300):
    """Run the action; dest paths are relative to the test's stand-in for /. In render mode,
    host_dir is the action's host_dir below root (top). A run that takes longer than timeout
    seconds is killed, with every process it started, and fails the test."""
    (tmp_path / 'templates').mkdir(exist_ok=True)
    (tmp_path / 'templates' / 'plain.j2').write_text('value {{ value }}\nmarker-a\n')
    (tmp_path / 'templates' / 'key.j2').write_text('key {{ key }}\n')
    (tmp_path / 'templates' / 'keyvalue.j2').write_text('key {{ key }}-{{ value }}\n')
    top = tmp_path / 'top'
    if mode == 'host':
        # The module writes real paths: put them below the test's directory.
        files = [dict(entry, dest=str(top) + entry['dest']) if entry['dest'].startswith('/') else entry
                 for entry in files]
        files = [dict(entry, previous=str(top) + entry['previous']) if 'previous' in entry else entry for entry in files]
        root = '"{{ omit }}"'
    else:
        root = json.dumps(str(top))
    book = tmp_path / 'book.yml'
    book.write_text(PLAYBOOK % {'value': value, 'secret': SECRET, 'files': json.dumps(files), 'no_log': no_log,
                                'root': root, 'markers': json.dumps(list(markers)),
                                'host_dir': json.dumps(host_dir) if host_dir is not None else '"{{ omit }}"'})
    env = dict(os.environ, PATH=PATH, ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'), ANSIBLE_NOCOLOR='1')
    record = tmp_path / 'record.json'
    if record.exists():
        record.unlink()
    # stderr apart: warnings land there, and only stdout is parsed (shown() has both).
    command = ['ansible-playbook', str(book), '-i', 'localhost,', '-c', 'local', '-e', 'record=%s' % record,
               '-e', 'ansible_python_interpreter=%s' % sys.executable] + list(extra)
    # A run stuck on a destination (a FIFO opened for reading blocks until a writer comes) is
    # killed with every process it started, and fails instead of hanging.
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               universal_newlines=True, start_new_session=True)
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_tree(process.pid)
        stdout, stderr = process.communicate()
        pytest.fail('ansible-playbook did not finish within %d s (hung on a destination?):\n%s\n%s'
                    % (timeout, stdout[-3000:], stderr[-3000:]))
    result = subprocess.CompletedProcess(command, process.returncode, stdout, stderr)
    recorded = json.loads(record.read_text()) if record.exists() else None
    return result, top, recorded


def kill_tree(pid):
    """SIGKILL pid and every process below it. Ansible's workers start sessions of their own
    (a process group kill misses them), so they are found by parent id in /proc, all of them
    before any is killed (a killed parent's children are handed to init)."""
    children = {}
    for name in os.listdir('/proc') if os.path.isdir('/proc') else ():
        if name.isdigit():
            try:
                with open('/proc/%s/stat' % name) as handle:
                    parent = int(handle.read().rsplit(')', 1)[1].split()[1])
            except (IOError, OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(name))
    tree, todo = [pid], [pid]
    while todo:
        below = children.get(todo.pop(), [])
        tree.extend(below)
        todo.extend(below)
    for member in tree:
        try:
            os.kill(member, signal.SIGKILL)
        except OSError:
            pass


def shown(result):
    """Everything a run printed, for assertion messages and for what must never be printed."""
    return result.stdout + '\n--- stderr\n' + result.stderr


PLAIN = [{'src': 'plain.j2', 'dest': '/etc/deep/plain.conf', 'mode': '0640', 'watch': True}]
KEY = [{'src': 'key.j2', 'dest': '/etc/key.txt', 'mode': '0600', 'secret': True}]


@pytest.mark.parametrize('mode', MODES)
def test_writes_with_mode_and_is_idempotent(tmp_path, mode):
    result, top, recorded = run(tmp_path, mode, PLAIN)
    assert result.returncode == 0, shown(result)
    path = top / 'etc' / 'deep' / 'plain.conf'
    assert path.read_text() == 'value one\nmarker-a\n'
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    entry = recorded['files'][0]
    assert (entry['changed'], entry['existed'], entry['mode'], entry['mode_was']) == (True, False, '0640', None)
    assert entry['path'] == str(path)
    assert recorded['changed_files'] == [entry['dest']]
    again, _top, recorded = run(tmp_path, mode, PLAIN)
    assert recorded['files'][0]['changed'] is False
    assert recorded['changed_files'] == []
    assert again.stdout.split('TASK [Write]')[1].split('TASK [Record]')[0].strip().endswith('ok: [localhost]')


@pytest.mark.parametrize('mode', MODES)
def test_a_wrong_mode_is_fixed_and_reported(tmp_path, mode):
    run(tmp_path, mode, KEY)
    path = tmp_path / 'top' / 'etc' / 'key.txt'
    os.chmod(str(path), 0o644)
    _result, _top, recorded = run(tmp_path, mode, KEY)
    entry = recorded['files'][0]
    assert (entry['changed'], entry['mode'], entry['mode_was']) == (True, '0600', '0644')
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_on_the_host_a_wrong_owner_is_fixed_and_reported(tmp_path):
    if os.geteuid() != 0:
        pytest.skip('needs root to give a file away')
    run(tmp_path, 'host', KEY)
    path = tmp_path / 'top' / 'etc' / 'key.txt'
    os.chown(str(path), 65534, 65534)
    _result, _top, recorded = run(tmp_path, 'host', KEY)
    assert recorded['files'][0]['changed'] is True
    assert recorded['files'][0]['owner_was'] == 'nobody'
    assert (path.stat().st_uid, path.stat().st_gid) == (0, 0)


@pytest.mark.parametrize('mode', MODES)
def test_check_mode_writes_nothing_and_diff_shows_plain_content_only(tmp_path, mode):
    result, top, _recorded = run(tmp_path, mode, PLAIN + KEY, '--check', '--diff')
    assert result.returncode == 0, shown(result)
    assert not top.exists()
    assert '+value one' in result.stdout
    assert 'changed (secret, not shown)' in result.stdout
    assert SECRET not in shown(result)


@pytest.mark.parametrize('mode', MODES)
def test_a_changed_file_shows_its_diff_and_a_key_never_shows(tmp_path, mode):
    run(tmp_path, mode, PLAIN + KEY)
    result, top, _recorded = run(tmp_path, mode, PLAIN + KEY, '--diff', '-vvv', value='two')
    assert '-value one' in result.stdout and '+value two' in result.stdout
    assert SECRET not in shown(result)
    assert (top / 'etc' / 'key.txt').read_text() == 'key %s\n' % SECRET


@pytest.mark.parametrize('mode', MODES)
def test_new_markers_are_those_missing_from_the_old_content(tmp_path, mode):
    _result, _top, recorded = run(tmp_path, mode, PLAIN, markers=['marker-a', 'marker-b'])
    assert recorded['new_markers'] == []  # nothing existed before: nothing to re-key
    _result, _top, recorded = run(tmp_path, mode, PLAIN, value='two', markers=['marker-a', 'marker-b'])
    assert recorded['new_markers'] == ['marker-b']
    _result, _top, recorded = run(tmp_path, mode, PLAIN, value='two', markers=['marker-b'])
    assert recorded['new_markers'] == []  # unchanged file: nothing was renegotiated with old settings


def test_on_the_host_the_old_content_is_kept_for_a_rollback(tmp_path):
    files = [dict(PLAIN[0], previous='/etc/deep/plain.conf.previous')]
    run(tmp_path, 'host', files)
    previous = tmp_path / 'top' / 'etc' / 'deep' / 'plain.conf.previous'
    assert not previous.exists()
    run(tmp_path, 'host', files, value='two')
    assert previous.read_text() == 'value one\nmarker-a\n'
    assert stat.S_IMODE(previous.stat().st_mode) == 0o640


@pytest.mark.parametrize('mode', MODES)
@pytest.mark.parametrize('files, message', [
    ([{'src': 'plain.j2', 'dest': 'etc/plain.conf', 'mode': '0644'}], "files[0].dest: 'etc/plain.conf' is not an absolute path"),
    ([{'src': 'plain.j2', 'dest': '/etc/plain.conf', 'mode': 'rw'}], "files[0].mode: 'rw' is not an octal mode"),
    ([{'src': 'plain.j2', 'dest': '/etc/plain.conf', 'mode': '0644', 'colour': 'red'}], 'files[0]: unknown key(s) colour'),
    ([{'src': 'missing.j2', 'dest': '/etc/plain.conf', 'mode': '0644'}], 'missing.j2'),
    ([{'src': 'plain.j2', 'dest': '/etc/../plain.conf', 'mode': '0644'}], "/etc/../plain.conf' has a '..' component; refusing it"),
])
def test_bad_input_fails_naming_the_field_and_writes_nothing(tmp_path, mode, files, message):
    result, top, _recorded = run(tmp_path, mode, files)
    assert result.returncode != 0
    assert message in result.stdout, shown(result)
    assert not top.exists()


# What may be found at a destination. TARGET is a file outside the test's stand-in for / that a
# link at a destination points to: it must come out of every run as it went in.
TARGET_TEXT = 'target-content-never-to-be-shown-7d1e\n'


def plant_link(tmp_path, content=TARGET_TEXT):
    """A symbolic link at PLAIN's destination to a file outside top (mode 0644, owned by nobody
    when the test runs as root). Returns (link, target, the target's stat)."""
    target = tmp_path / 'target.conf'
    target.write_text(content)
    os.chmod(str(target), 0o644)
    if os.geteuid() == 0:
        os.chown(str(target), 65534, 65534)
    link = tmp_path / 'top' / 'etc' / 'deep' / 'plain.conf'
    link.parent.mkdir(parents=True)
    link.symlink_to(target)
    return link, target, os.stat(str(target))


@pytest.mark.parametrize('mode', MODES)
@pytest.mark.parametrize('same_content', [False, True], ids=['other-content', 'same-content'])
def test_a_link_at_the_destination_is_replaced_and_never_followed(tmp_path, mode, same_content):
    # same-content: the rendered file equals the target's content, so a writer that compared
    # through the link would only have fixed the mode and owner, of the target.
    link, target, was = plant_link(tmp_path, 'value one\nmarker-a\n' if same_content else TARGET_TEXT)
    target_text = target.read_text()
    result, _top, recorded = run(tmp_path, mode, PLAIN, '--diff', markers=['marker-a', 'marker-b'])
    assert result.returncode == 0, shown(result)
    # The link itself was replaced by a regular file, atomically (rename over it).
    assert not link.is_symlink()
    assert stat.S_ISREG(os.lstat(str(link)).st_mode)
    assert link.read_text() == 'value one\nmarker-a\n'
    assert stat.S_IMODE(os.lstat(str(link)).st_mode) == 0o640
    # The target: same content, mode, owner and inode.
    now = os.stat(str(target))
    assert target.read_text() == target_text
    assert (stat.S_IMODE(now.st_mode), now.st_uid, now.st_gid, now.st_ino) == \
        (stat.S_IMODE(was.st_mode), was.st_uid, was.st_gid, was.st_ino)
    # The diff says what was there and shows nothing read through the link.
    assert 'was a symbolic link to %s' % target in result.stdout, shown(result)
    assert 'target-content-never' not in shown(result)
    entry = recorded['files'][0]
    assert (entry['changed'], entry['existed'], entry['link_was'], entry['mode_was']) == (True, True, str(target), None)
    assert recorded['new_markers'] == []  # nothing was read through the link: nothing to re-key
    again, _top, recorded = run(tmp_path, mode, PLAIN)
    assert recorded['files'][0]['changed'] is False, shown(again)


@pytest.mark.parametrize('mode', MODES)
@pytest.mark.parametrize('kind', ['FIFO', 'directory', 'socket'])
def test_a_fifo_directory_or_socket_at_the_destination_is_refused_before_anything_is_written(tmp_path, mode, kind, plant):
    path = tmp_path / 'top' / 'etc' / 'deep' / 'plain.conf'
    plant(path, kind)
    started = time.monotonic()
    # The key comes first in the list, and is not written either: every destination is
    # looked at before any is written. A FIFO opened for reading would hang the run: the
    # timeout fails the test instead.
    result, top, _recorded = run(tmp_path, mode, KEY + PLAIN, timeout=120)
    took = time.monotonic() - started
    assert result.returncode != 0, shown(result)
    assert '%s is a %s, not a regular file; refusing to replace it' % (path, kind) in result.stdout, shown(result)
    assert took < 110
    assert not (top / 'etc' / 'key.txt').exists()
    assert {'FIFO': stat.S_ISFIFO, 'directory': stat.S_ISDIR, 'socket': stat.S_ISSOCK}[kind](os.lstat(str(path)).st_mode)
    if kind == 'directory':
        assert (path / 'inside').read_text() == 'keep me\n'


def test_on_the_host_a_fifo_at_the_rollback_copy_is_refused(tmp_path):
    files = [dict(PLAIN[0], previous='/etc/deep/plain.conf.previous')]
    run(tmp_path, 'host', files)
    previous = tmp_path / 'top' / 'etc' / 'deep' / 'plain.conf.previous'
    os.mkfifo(str(previous))
    result, top, _recorded = run(tmp_path, 'host', files, value='two', timeout=120)
    assert result.returncode != 0
    assert '%s is a FIFO, not a regular file' % previous in result.stdout, shown(result)
    assert (top / 'etc' / 'deep' / 'plain.conf').read_text() == 'value one\nmarker-a\n'


@pytest.mark.parametrize('where', ['host_dir', 'etc'])
def test_render_mode_follows_no_link_below_its_root(tmp_path, where):
    elsewhere = tmp_path / 'elsewhere'
    elsewhere.mkdir()
    top = tmp_path / 'top'
    top.mkdir()
    # A link planted where the host's directory goes, or deeper, where its /etc goes.
    link = top / ('gluon' if where == 'host_dir' else 'etc')
    link.symlink_to(elsewhere, target_is_directory=True)
    for extra in ((), ('--check',)):
        result, _top, _recorded = run(tmp_path, 'render', PLAIN + KEY, *extra,
                                      host_dir='gluon' if where == 'host_dir' else None)
        assert result.returncode != 0, shown(result)
        assert '%s is a symbolic link (to %s)' % (link, elsewhere) in result.stdout, shown(result)
        assert 'host localhost' in result.stdout
        assert os.listdir(str(elsewhere)) == []


@pytest.mark.parametrize('host_dir', ['../../../escaped', '/escaped', 'a/../../escaped', '..', '.'])
def test_render_mode_never_writes_outside_its_root(tmp_path, host_dir):
    escaped = [tmp_path.parent.parent / 'escaped', tmp_path.parent / 'escaped', tmp_path / 'escaped', tmp_path / 'etc']
    for path in escaped:
        assert not path.exists(), path
    result, top, _recorded = run(tmp_path, 'render', PLAIN + KEY, host_dir=host_dir)
    assert result.returncode != 0, shown(result)
    assert 'host localhost: refusing to write its files below %s/%s' % (top, host_dir) in result.stdout, shown(result)
    for path in escaped + [top]:
        assert not path.exists(), path


@pytest.mark.parametrize('mode', MODES)
@pytest.mark.parametrize('how', ['secret', 'no_log'])
def test_a_key_never_reaches_the_registered_result(tmp_path, mode, how):
    # secret: true on the file, or only no_log on the task: either way the registered result
    # (recorded here, as a later task that prints it would show it) holds neither the old key
    # nor the new one, with --diff and -vvv, and says only that the key file changed.
    key = [{'src': 'keyvalue.j2', 'dest': '/etc/key.txt', 'mode': '0600'}]
    if how == 'secret':
        key[0]['secret'] = True
    no_log = 'true' if how == 'no_log' else 'false'
    run(tmp_path, mode, key, no_log=no_log)
    result, top, recorded = run(tmp_path, mode, key, '--diff', '-vvv', value='two', no_log=no_log)
    assert result.returncode == 0, shown(result)
    assert (top / 'etc' / 'key.txt').read_text() == 'key %s-two\n' % SECRET
    assert recorded['changed_files'] == [recorded['files'][0]['dest']]
    assert SECRET not in json.dumps(recorded)
    assert SECRET not in shown(result)
    assert [item.get('prepared') for item in recorded['diff']] == \
        ['%s: changed (secret, not shown)\n' % recorded['files'][0]['dest']]
