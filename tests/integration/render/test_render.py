# Copyright (c) 2026 fleet.ipsec contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Render mode: converge the examples into directories, compare with golden files, and
check idempotence, check mode, permissions and that no key ever reaches the output.

Runs ansible-playbook for real (from .venv). Regenerate the golden files after an intended
change with FLEET_IPSEC_UPDATE_GOLDEN=1.
"""

import os
import re
import shutil
import stat
import subprocess

import pytest

from ansible_collections.fleet.ipsec.plugins.module_utils.psk import derive

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..'))
GOLDEN = os.path.join(os.path.dirname(__file__), 'golden')
EXAMPLES = ('article', 'three-sites')
KEY_LINE = re.compile(r'^(\S+)\t(\S+)$')

pytestmark = pytest.mark.skipif(shutil.which('ansible-playbook') is None, reason='ansible-playbook is not installed')


def playbook(example, *extra, check=True):
    inventory = os.path.join(ROOT, 'examples', example, 'inventory.yml')
    password = os.path.join(ROOT, 'examples', example, 'vault-password.txt')
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'), ANSIBLE_NOCOLOR='1',
               ANSIBLE_FORCE_COLOR='0')
    command = ['ansible-playbook', os.path.join(ROOT, 'playbooks', 'site.yml'), '-i', inventory,
               '--vault-password-file', password] + list(extra)
    # stderr apart: warnings land there, and only stdout is parsed.
    run = subprocess.run(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         universal_newlines=True, check=False)
    if check:
        assert run.returncode == 0, run.stdout[-4000:] + '\n--- stderr\n' + run.stderr[-2000:]
    return run


def master_of(example):
    password = os.path.join(ROOT, 'examples', example, 'vault-password.txt')
    vault = os.path.join(ROOT, 'examples', example, 'group_vars', 'all', 'vault.yml')
    plain = subprocess.run(['ansible-vault', 'view', '--vault-password-file', password, vault],
                           stdout=subprocess.PIPE, universal_newlines=True, check=True).stdout
    return plain.split(':', 1)[1].strip()


def changed_counts(output):
    return dict((m.group(1), int(m.group(2))) for m in re.finditer(r'^(\S+)\s+: ok=\d+\s+changed=(\d+)', output, re.M))


def files_under(root):
    result = {}
    for directory, _dirs, names in os.walk(root):
        for name in names:
            path = os.path.join(directory, name)
            result[os.path.relpath(path, root)] = path
    return result


def redacted(path):
    """The file's text with keys replaced, so golden files hold no secret."""
    with open(path) as handle:
        text = handle.read()
    if path.endswith('psk.txt'):
        text = '\n'.join(KEY_LINE.sub(r'\1\t<key>', line) for line in text.split('\n'))
    return re.sub(r'secret = "[^"]*"', 'secret = "<key>"', text)


@pytest.fixture(scope='module', params=EXAMPLES)
def rendered(request, tmp_path_factory):
    root = str(tmp_path_factory.mktemp(request.param))
    output = playbook(request.param, '-e', 'ipsec_render_root=%s' % root).stdout
    return request.param, root, output


def test_matches_golden_files(rendered):
    example, root, _output = rendered
    golden = os.path.join(GOLDEN, example)
    actual = files_under(root)
    if os.environ.get('FLEET_IPSEC_UPDATE_GOLDEN'):
        shutil.rmtree(golden, ignore_errors=True)
        for relative, path in actual.items():
            os.makedirs(os.path.dirname(os.path.join(golden, relative)), exist_ok=True)
            with open(os.path.join(golden, relative), 'w') as handle:
                handle.write(redacted(path))
    expected = files_under(golden)
    assert sorted(actual) == sorted(expected)
    for relative, path in actual.items():
        with open(expected[relative]) as handle:
            assert redacted(path) == handle.read(), relative


def test_keys_are_derived_and_equal_at_both_ends(rendered):
    example, root, _output = rendered
    master = master_of(example)
    keys = {}
    for relative, path in files_under(root).items():
        if not relative.endswith('psk.txt'):
            continue
        host = relative.split(os.sep)[0]
        with open(path) as handle:
            for line in handle:
                match = KEY_LINE.match(line.rstrip('\n'))
                if match:
                    keys[(host, match.group(1))] = match.group(2)
    assert keys
    # Every key is the derivation for one tunnel name at generation 1, and each pair's two
    # lines hold the same key.
    assert len(set(keys.values())) * 2 == len(keys)
    with open(os.path.join(root, 'mason' if example == 'article' else 'hq', 'etc', 'ipsec.conf')) as handle:
        tunnels = set(re.findall(r'^# tunnel (\S+),', handle.read(), re.M))
    derived = set(derive(master, tunnel, 1) for tunnel in tunnels)
    assert derived <= set(keys.values())


def test_files_have_the_modes_racoon_needs(rendered):
    _example, root, _output = rendered
    for relative, path in files_under(root).items():
        mode = stat.S_IMODE(os.stat(path).st_mode)
        if relative.endswith(('psk.txt', 'ipsec.conf')):
            assert mode == 0o600, relative


def test_second_run_changes_nothing(rendered):
    example, root, _output = rendered
    counts = changed_counts(playbook(example, '-e', 'ipsec_render_root=%s' % root).stdout)
    assert counts and set(counts.values()) == {0}, counts


def test_a_loose_key_file_is_fixed_and_reported(rendered):
    example, root, _output = rendered
    psk_files = [p for r, p in files_under(root).items() if r.endswith('psk.txt')]
    os.chmod(psk_files[0], 0o644)
    counts = changed_counts(playbook(example, '-e', 'ipsec_render_root=%s' % root).stdout)
    assert sum(counts.values()) == 1, counts
    assert stat.S_IMODE(os.stat(psk_files[0]).st_mode) == 0o600


def test_a_warning_on_stderr_is_not_read_as_output(tmp_path, warning_on_stderr):
    # A library's warning at every start (as cryptography's was) goes to stderr, which is never
    # parsed: the play's output and its recap are stdout alone.
    run = playbook('article', '-e', 'ipsec_render_root=%s' % tmp_path)
    assert warning_on_stderr in run.stderr and warning_on_stderr not in run.stdout
    assert run.stdout.lstrip().startswith('PLAY [')
    assert sorted(changed_counts(run.stdout)) == ['gluon', 'mason']


def test_check_mode_writes_nothing_and_diff_shows_no_key(tmp_path):
    root = str(tmp_path)
    run = playbook('article', '-e', 'ipsec_render_root=%s' % root, '--check', '--diff')
    assert changed_counts(run.stdout)['gluon'] > 0
    assert [p for p in files_under(root) if os.path.isfile(os.path.join(root, p))] == []
    assert 'spdadd 192.0.2.10/32 0.0.0.0/0 any -P out ipsec esp/tunnel/192.0.2.10-198.51.100.1/require;' in run.stdout
    master = master_of('article')
    # No key anywhere, stderr included.
    assert master not in run.stdout + run.stderr
    assert derive(master, 'gluon-mason', 1) not in run.stdout + run.stderr


@pytest.mark.parametrize('example', EXAMPLES)
def test_no_secret_in_verbose_output(example, tmp_path):
    run = playbook(example, '-vvv', '-e', 'ipsec_render_root=%s' % tmp_path)
    output = run.stdout + run.stderr  # a key must reach neither
    master = master_of(example)
    keys = set()
    for relative, path in files_under(str(tmp_path)).items():
        if relative.endswith('psk.txt'):
            with open(path) as handle:
                keys.update(m.group(2) for m in (KEY_LINE.match(line.rstrip('\n')) for line in handle) if m)
    assert keys
    assert master not in output
    for key in keys:
        assert key not in output
