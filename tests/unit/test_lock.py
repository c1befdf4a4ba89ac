# -*- coding: utf-8 -*-
# Copyright (c) 2026 fleet.ipsec contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""scripts/check_lock.py, the `lock` stage: the real locks pass, and each way a lock can be wrong
(stale, an input not satisfied, no hash, a lab pin the dev lock does not share) fails."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import importlib.util
import os
import re
import shutil

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))

_spec = importlib.util.spec_from_file_location('check_lock', os.path.join(ROOT, 'scripts', 'check_lock.py'))
check_lock = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(check_lock)

FILES = ('requirements-lab.txt', 'requirements-dev.txt', 'requirements-lab.lock', 'requirements-dev.lock')


@pytest.fixture
def tree(tmp_path):
    """A copy of the checkout's requirements files and locks, to spoil."""
    for name in FILES:
        shutil.copy(os.path.join(ROOT, name), str(tmp_path / name))
    return tmp_path


def edit(path, old, new, count=1):
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, count))


def rehead(tree, lock, source):
    """Write the input hashes of `source` into `lock` again, as scripts/lock would."""
    text = (tree / lock).read_text()
    lines = [line for line in text.split('\n') if not check_lock.HEADER.match(line)]
    lines[2:2] = check_lock.header(str(tree), source)
    (tree / lock).write_text('\n'.join(lines))


def test_the_real_locks_pass():
    assert check_lock.check(ROOT) == []
    assert check_lock.main([]) == 0


def test_the_locks_name_every_input_with_its_hash():
    for lock, source in check_lock.LOCKS.items():
        recorded, pins, problems = check_lock.read_lock(os.path.join(ROOT, lock))
        assert problems == []
        assert sorted(recorded) == sorted(check_lock.inputs_of(ROOT, source)), lock
        assert all(hashes and all(h.startswith('sha256:') for h in hashes) for _v, hashes in pins.values()), lock
    assert check_lock.inputs_of(ROOT, 'requirements-dev.txt') == ['requirements-dev.txt', 'requirements-lab.txt']


def test_the_lab_lock_is_what_the_main_job_needs_and_no_more():
    lab = check_lock.read_lock(os.path.join(ROOT, 'requirements-lab.lock'))[1]
    dev = check_lock.read_lock(os.path.join(ROOT, 'requirements-dev.lock'))[1]
    # ansible and its core, and the verify report's map (scripts/lab writes the report).
    assert {'ansible', 'ansible-core', 'jinja2', 'netaddr', 'networkx', 'numpy', 'scipy'} <= set(lab)
    tools = {'ansible-lint', 'molecule', 'pytest', 'selenium', 'sphinx', 'ansible-runner', 'pylint'}
    assert not tools & set(lab)
    assert tools <= set(dev)
    assert all(dev[name][0] == version for name, (version, _h) in lab.items())


def test_a_changed_input_makes_both_locks_stale(tree):
    edit(tree / 'requirements-lab.txt', 'netaddr==1.3.0', 'netaddr==1.3.0\nsix==1.17.0')
    problems = check_lock.check(str(tree))
    assert 'requirements-lab.lock is stale: requirements-lab.txt changed since it was made: run scripts/lock' in problems
    assert 'requirements-dev.lock is stale: requirements-lab.txt changed since it was made: run scripts/lock' in problems
    # six happens to be in the dev lock (a dependency of the test tools), not in the lab lock.
    assert 'requirements-lab.lock pins no six (requirements-lab.txt: six==1.17.0)' in problems
    assert not [p for p in problems if 'requirements-dev.txt' in p]


def test_a_comment_is_a_change_too(tree):
    with open(str(tree / 'requirements-dev.txt'), 'a') as handle:
        handle.write('# one more line\n')
    assert check_lock.check(str(tree)) == [
        'requirements-dev.lock is stale: requirements-dev.txt changed since it was made: run scripts/lock']


def test_a_lock_without_its_header_fails(tree):
    rehead(tree, 'requirements-dev.lock', 'requirements-dev.txt')
    assert check_lock.check(str(tree)) == []
    text = (tree / 'requirements-dev.lock').read_text()
    lines = [line for line in text.split('\n') if not check_lock.HEADER.match(line)]
    (tree / 'requirements-dev.lock').write_text('\n'.join(lines))
    assert check_lock.check(str(tree)) == [
        'requirements-dev.lock records no input hashes (not made by scripts/lock?): run scripts/lock']


def test_an_unsatisfied_pin_fails(tree):
    # The input asks for another version than the lock pins, and the header was made to match
    # (by hand, say): the hashes agree, the pins do not.
    edit(tree / 'requirements-lab.txt', 'jinja2==3.1.6', 'jinja2>=3.1.7')
    rehead(tree, 'requirements-lab.lock', 'requirements-lab.txt')
    rehead(tree, 'requirements-dev.lock', 'requirements-dev.txt')
    problems = check_lock.check(str(tree))
    assert problems == [
        'requirements-dev.lock pins jinja2==3.1.6, which does not satisfy jinja2>=3.1.7 (requirements-lab.txt)',
        'requirements-lab.lock pins jinja2==3.1.6, which does not satisfy jinja2>=3.1.7 (requirements-lab.txt)']


def test_a_pin_edited_in_the_lock_fails(tree):
    edit(tree / 'requirements-dev.lock', '\nansible-core==2.19.14 ', '\nansible-core==2.19.13 ')
    problems = check_lock.check(str(tree))
    assert ('requirements-dev.lock pins ansible-core==2.19.13, which does not satisfy ansible-core==2.19.14 '
            '(requirements-lab.txt)') in problems
    assert ('requirements-lab.lock pins ansible-core==2.19.14 but requirements-dev.lock pins 2.19.13: '
            'run scripts/lock') in problems


def test_a_pin_without_a_hash_or_a_version_fails(tree):
    text = (tree / 'requirements-dev.lock').read_text()
    text = re.sub(r'\nmock==5\.2\.0 \\\n(    --hash=\S+( \\)?\n)+', '\nmock==5.2.0\n', text)
    text = text.replace('\npytest-mock==3.15.1 ', '\npytest-mock>=3.15 ')
    (tree / 'requirements-dev.lock').write_text(text)
    problems = check_lock.check(str(tree))
    assert 'requirements-dev.lock: mock==5.2.0 has no hash' in problems
    assert 'requirements-dev.lock: pytest-mock>=3.15 is not pinned to one version' in problems
    assert 'requirements-dev.lock pins no pytest-mock (requirements-dev.txt: pytest-mock==3.15.1)' in problems


def test_a_missing_lock_fails(tree):
    (tree / 'requirements-lab.lock').unlink()
    assert check_lock.check(str(tree)) == ['requirements-lab.lock is missing: run scripts/lock']


def test_markers_for_other_platforms_are_not_required(tree):
    with open(str(tree / 'requirements-lab.txt'), 'a') as handle:
        handle.write('pywin32==311 ; sys_platform == "win32"\n')
    rehead(tree, 'requirements-lab.lock', 'requirements-lab.txt')
    rehead(tree, 'requirements-dev.lock', 'requirements-dev.txt')
    assert check_lock.check(str(tree)) == []


def test_continuation_lines_and_comments_are_read_as_pip_reads_them(tmp_path):
    path = tmp_path / 'r.txt'
    path.write_text('# a comment\nfoo==1.0 \\\n    --hash=sha256:aa \\\n    --hash=sha256:bb\n    # via bar\n'
                    '-r other.txt  # included\nbaz==2 ; python_version < "3.12"\n')
    assert check_lock.logical_lines(str(path)) == [
        'foo==1.0      --hash=sha256:aa      --hash=sha256:bb', '-r other.txt', 'baz==2 ; python_version < "3.12"']
