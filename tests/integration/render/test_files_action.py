# Copyright (c) 2026 fleet.ipsec contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""fleet.ipsec.files on its own, in both places it writes: on the host (the module, here through
a local connection as root) and below root on the controller (render mode). Modes, owners,
idempotence, check and diff modes, secrets, markers, the rollback copy, bad input."""

import json
import os
import shutil
import stat
import subprocess
import sys

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..'))
SECRET = 'files-action-secret-4f0c9a'

pytestmark = pytest.mark.skipif(shutil.which('ansible-playbook') is None, reason='ansible-playbook is not installed')

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


def run(tmp_path, mode, files, *extra, value='one', no_log='false', markers=()):
    """Run the action; dest paths are relative to the test's stand-in for /."""
    (tmp_path / 'templates').mkdir(exist_ok=True)
    (tmp_path / 'templates' / 'plain.j2').write_text('value {{ value }}\nmarker-a\n')
    (tmp_path / 'templates' / 'key.j2').write_text('key {{ key }}\n')
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
                                'root': root, 'markers': json.dumps(list(markers))})
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'), ANSIBLE_NOCOLOR='1')
    record = tmp_path / 'record.json'
    if record.exists():
        record.unlink()
    result = subprocess.run(['ansible-playbook', str(book), '-i', 'localhost,', '-c', 'local',
                             '-e', 'record=%s' % record,
                             '-e', 'ansible_python_interpreter=%s' % sys.executable] + list(extra),
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            universal_newlines=True, check=False)
    recorded = json.loads(record.read_text()) if record.exists() else None
    return result, top, recorded


PLAIN = [{'src': 'plain.j2', 'dest': '/etc/deep/plain.conf', 'mode': '0640', 'watch': True}]
KEY = [{'src': 'key.j2', 'dest': '/etc/key.txt', 'mode': '0600', 'secret': True}]


@pytest.mark.parametrize('mode', MODES)
def test_writes_with_mode_and_is_idempotent(tmp_path, mode):
    result, top, recorded = run(tmp_path, mode, PLAIN)
    assert result.returncode == 0, result.stdout
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
    assert result.returncode == 0, result.stdout
    assert not top.exists()
    assert '+value one' in result.stdout
    assert 'changed (secret, not shown)' in result.stdout
    assert SECRET not in result.stdout


@pytest.mark.parametrize('mode', MODES)
def test_a_changed_file_shows_its_diff_and_a_key_never_shows(tmp_path, mode):
    run(tmp_path, mode, PLAIN + KEY)
    result, top, _recorded = run(tmp_path, mode, PLAIN + KEY, '--diff', '-vvv', value='two')
    assert '-value one' in result.stdout and '+value two' in result.stdout
    assert SECRET not in result.stdout
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
])
def test_bad_input_fails_naming_the_field_and_writes_nothing(tmp_path, mode, files, message):
    result, top, _recorded = run(tmp_path, mode, files)
    assert result.returncode != 0
    assert message in result.stdout, result.stdout
    assert not top.exists()
