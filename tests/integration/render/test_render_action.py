# Copyright (c) 2026 fleet.ipsec contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""fleet.ipsec.render on its own: modes, idempotence, check and diff modes, secrets, bad input."""

import json
import os
import shutil
import stat
import subprocess
import sys

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..'))
SECRET = 'render-action-secret-4f0c9a'

pytestmark = pytest.mark.skipif(shutil.which('ansible-playbook') is None, reason='ansible-playbook is not installed')

PLAYBOOK = '''
- hosts: localhost
  gather_facts: false
  vars:
    value: %(value)s
    key: %(secret)s
  tasks:
    - name: Render
      fleet.ipsec.render:
        root: "{{ out }}"
        files: %(files)s
      register: rendered
      no_log: %(no_log)s
    - name: Record
      ansible.builtin.copy:
        content: "{{ rendered.files | default([]) | to_json }}"
        dest: "{{ record }}"
        mode: "0600"
      when: not ansible_check_mode
'''


def run(tmp_path, files, *extra, value='one', no_log='false'):
    (tmp_path / 'templates').mkdir(exist_ok=True)
    (tmp_path / 'templates' / 'plain.j2').write_text('value {{ value }}\n')
    (tmp_path / 'templates' / 'key.j2').write_text('key {{ key }}\n')
    book = tmp_path / 'book.yml'
    book.write_text(PLAYBOOK % {'value': value, 'secret': SECRET, 'files': json.dumps(files), 'no_log': no_log})
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'), ANSIBLE_NOCOLOR='1')
    out = tmp_path / 'out'
    record = tmp_path / 'record.json'
    if record.exists():
        record.unlink()
    result = subprocess.run(['ansible-playbook', str(book), '-i', 'localhost,', '-c', 'local',
                             '-e', 'out=%s record=%s' % (out, record),
                             '-e', 'ansible_python_interpreter=%s' % sys.executable] + list(extra),
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            universal_newlines=True, check=False)
    recorded = json.loads(record.read_text()) if record.exists() else None
    return result, out, recorded


PLAIN = [{'src': 'plain.j2', 'dest': '/etc/deep/plain.conf', 'mode': '0640'}]
KEY = [{'src': 'key.j2', 'dest': '/etc/key.txt', 'mode': '0600', 'secret': True}]


def test_writes_below_root_with_mode_and_is_idempotent(tmp_path):
    result, out, recorded = run(tmp_path, PLAIN)
    assert result.returncode == 0, result.stdout
    path = out / 'etc' / 'deep' / 'plain.conf'
    assert path.read_text() == 'value one\n'
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert recorded == [{'path': str(path), 'changed': True, 'mode': '0640', 'mode_was': None}]
    again, _out, recorded = run(tmp_path, PLAIN)
    assert recorded[0]['changed'] is False
    assert again.stdout.split('TASK [Render]')[1].split('TASK [Record]')[0].strip().endswith('ok: [localhost]')


def test_a_wrong_mode_is_fixed_and_reported(tmp_path):
    run(tmp_path, KEY)
    path = tmp_path / 'out' / 'etc' / 'key.txt'
    os.chmod(str(path), 0o644)
    _result, _out, recorded = run(tmp_path, KEY)
    assert recorded == [{'path': str(path), 'changed': True, 'mode': '0600', 'mode_was': '0644'}]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_check_mode_writes_nothing_and_diff_shows_plain_content_only(tmp_path):
    result, out, _recorded = run(tmp_path, PLAIN + KEY, '--check', '--diff')
    assert result.returncode == 0, result.stdout
    assert not out.exists()
    assert '+value one' in result.stdout
    assert 'content changed (secret, not shown)' in result.stdout
    assert SECRET not in result.stdout


def test_a_changed_key_file_never_shows_its_key(tmp_path):
    run(tmp_path, KEY)
    result, out, _recorded = run(tmp_path, KEY, '--diff', '-vvv', value='two')
    assert SECRET not in result.stdout
    assert (out / 'etc' / 'key.txt').read_text() == 'key %s\n' % SECRET


@pytest.mark.parametrize('files, message', [
    ([{'src': 'plain.j2', 'dest': 'etc/plain.conf', 'mode': '0644'}], "files[0].dest: 'etc/plain.conf' is not an absolute path"),
    ([{'src': 'plain.j2', 'dest': '/etc/plain.conf', 'mode': 'rw'}], "files[0].mode: 'rw' is not an octal mode"),
    ([{'src': 'plain.j2', 'dest': '/etc/plain.conf', 'mode': '0644', 'owner': 'root'}], 'files[0]: unknown key(s) owner'),
    ([{'src': 'missing.j2', 'dest': '/etc/plain.conf', 'mode': '0644'}], 'missing.j2'),
])
def test_bad_input_fails_naming_the_field_and_writes_nothing(tmp_path, files, message):
    result, out, _recorded = run(tmp_path, files)
    assert result.returncode != 0
    assert message in result.stdout, result.stdout
    assert not out.exists()
