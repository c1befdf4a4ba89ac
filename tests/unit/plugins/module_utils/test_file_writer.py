# -*- coding: utf-8 -*-
# Copyright (c) 2026 fleet.ipsec contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Unit tests for file_writer, the code behind fleet.ipsec.files on a host and in render mode:
what it does with what it finds at a destination (a regular file, a symbolic link, a hard link,
a FIFO, a socket, a directory), with paths that would leave a render root, and with links below
one. Every test that could block (a FIFO) runs under an alarm."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import signal
import stat

import pytest

from ansible_collections.fleet.ipsec.plugins.module_utils.file_writer import FileWriterError, write_files

NEW = b'new content\n'


@pytest.fixture(autouse=True)
def no_hang():
    """Fail a test that blocks for 20 s (a FIFO opened for reading waits for a writer)."""
    def hung(_signum, _frame):
        raise AssertionError('the writer blocked')
    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(20)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def entry(dest, content=NEW, mode=0o640, **more):
    item = {'dest': dest, 'content': content, 'mode': mode, 'uid': None, 'gid': None, 'secret': False,
            'previous': None, 'watch': False}
    item.update(more)
    return item


def on_host(path, **more):
    """An entry as the write_files module makes it: the real path, owner root when we are root."""
    ids = {'uid': 0, 'gid': 0} if os.geteuid() == 0 else {}
    ids.update(more)
    return entry(str(path), path=str(path), **ids)


def rendered(dest, host='h', **more):
    return entry(dest, below='%s%s' % (host, dest), **more)


def write_below(root, entries, check_mode=False, markers=()):
    return write_files(entries, list(markers), check_mode, True, root=str(root))


def leftovers(directory):
    return [name for name in os.listdir(str(directory)) if name.startswith('.fleet-ipsec-')]


# --- regular files -------------------------------------------------------------------------

def test_writes_new_files_with_their_mode_and_makes_directories(tmp_path):
    result = write_below(tmp_path / 'root', [rendered('/etc/a.conf'), rendered('/etc/deep/b.conf', mode=0o600)])
    a = tmp_path / 'root' / 'h' / 'etc' / 'a.conf'
    b = tmp_path / 'root' / 'h' / 'etc' / 'deep' / 'b.conf'
    assert a.read_bytes() == NEW and b.read_bytes() == NEW
    assert (stat.S_IMODE(a.stat().st_mode), stat.S_IMODE(b.stat().st_mode)) == (0o640, 0o600)
    assert stat.S_IMODE(b.parent.stat().st_mode) == 0o755
    assert result['changed_files'] == ['/etc/a.conf', '/etc/deep/b.conf']
    assert [item['path'] for item in result['files']] == [str(a), str(b)]
    assert leftovers(a.parent) == [] and leftovers(b.parent) == []
    again = write_below(tmp_path / 'root', [rendered('/etc/a.conf'), rendered('/etc/deep/b.conf', mode=0o600)])
    assert again['changed'] is False


def test_check_mode_writes_nothing(tmp_path):
    result = write_below(tmp_path / 'root', [rendered('/etc/a.conf')], check_mode=True)
    assert result['changed_files'] == ['/etc/a.conf']
    assert not (tmp_path / 'root').exists()


def test_a_wrong_mode_is_fixed_through_the_file_itself(tmp_path):
    write_below(tmp_path, [rendered('/etc/a.conf')])
    path = tmp_path / 'h' / 'etc' / 'a.conf'
    os.chmod(str(path), 0o666)
    inode = path.stat().st_ino
    result = write_below(tmp_path, [rendered('/etc/a.conf')])
    assert (result['files'][0]['changed'], result['files'][0]['mode_was']) == (True, '0666')
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert path.stat().st_ino == inode  # fixed in place: same content, no rewrite


def test_a_file_with_other_hard_links_is_replaced_so_they_keep_their_mode(tmp_path):
    write_below(tmp_path, [rendered('/etc/a.conf')])
    path = tmp_path / 'h' / 'etc' / 'a.conf'
    other = tmp_path / 'other'
    os.link(str(path), str(other))
    os.chmod(str(path), 0o644)
    write_below(tmp_path, [rendered('/etc/a.conf')])
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert stat.S_IMODE(other.stat().st_mode) == 0o644
    assert path.stat().st_ino != other.stat().st_ino


def test_markers_and_before_come_from_the_old_content(tmp_path):
    write_below(tmp_path, [rendered('/etc/a.conf', content=b'a: 1\n', watch=True)])
    result = write_below(tmp_path, [rendered('/etc/a.conf', content=b'a: 2\n', watch=True)], markers=['a: 1', 'a: 2'])
    assert result['new_markers'] == ['a: 2']
    assert result['before'] == {'/etc/a.conf': 'a: 1\n'}


def test_a_secret_file_old_content_is_never_returned(tmp_path):
    write_below(tmp_path, [rendered('/etc/key', content=b'old-key\n', secret=True)])
    result = write_below(tmp_path, [rendered('/etc/key', content=b'new-key\n', secret=True)])
    assert result['changed_files'] == ['/etc/key']
    assert 'old-key' not in repr(result) and 'new-key' not in repr(result)


# --- symbolic links ------------------------------------------------------------------------

@pytest.mark.parametrize('same', [False, True], ids=['other-content', 'same-content'])
def test_a_link_at_the_destination_is_replaced_not_followed(tmp_path, same):
    target = tmp_path / 'target'
    target.write_bytes(NEW if same else b'target content\n')
    os.chmod(str(target), 0o604)
    root = tmp_path / 'root'
    (root / 'h' / 'etc').mkdir(parents=True)
    link = root / 'h' / 'etc' / 'a.conf'
    link.symlink_to(target)
    result = write_below(root, [rendered('/etc/a.conf', watch=True)], markers=['m'])
    assert not link.is_symlink() and link.read_bytes() == NEW
    assert stat.S_IMODE(os.lstat(str(link)).st_mode) == 0o640
    assert target.read_bytes() == (NEW if same else b'target content\n')
    assert stat.S_IMODE(target.stat().st_mode) == 0o604
    item = result['files'][0]
    assert (item['changed'], item['existed'], item['link_was'], item['mode_was']) == (True, True, str(target), None)
    assert result['before'] == {'/etc/a.conf': ''}  # nothing read through the link
    assert result['new_markers'] == []


def test_a_dangling_link_is_replaced(tmp_path):
    (tmp_path / 'h' / 'etc').mkdir(parents=True)
    link = tmp_path / 'h' / 'etc' / 'a.conf'
    link.symlink_to(tmp_path / 'nowhere')
    write_below(tmp_path, [rendered('/etc/a.conf')])
    assert not link.is_symlink() and link.read_bytes() == NEW
    assert not (tmp_path / 'nowhere').exists()


def test_check_mode_leaves_a_link_alone(tmp_path):
    target = tmp_path / 'target'
    target.write_bytes(b'target\n')
    (tmp_path / 'h' / 'etc').mkdir(parents=True)
    link = tmp_path / 'h' / 'etc' / 'a.conf'
    link.symlink_to(target)
    result = write_below(tmp_path, [rendered('/etc/a.conf')], check_mode=True)
    assert result['files'][0]['changed'] and link.is_symlink()


def test_on_the_host_a_link_is_replaced_and_its_target_keeps_mode_and_owner(tmp_path):
    target = tmp_path / 'target'
    target.write_bytes(NEW)
    os.chmod(str(target), 0o644)
    if os.geteuid() == 0:
        os.chown(str(target), 65534, 65534)
    was = target.stat()
    link = tmp_path / 'etc' / 'a.conf'
    link.parent.mkdir()
    link.symlink_to(target)
    previous = tmp_path / 'etc' / 'a.conf.previous'
    previous.write_bytes(b'stale\n')
    result = write_files([on_host(link, previous=str(previous))], [], False, True)
    assert result['files'][0]['link_was'] == str(target)
    assert not link.is_symlink() and link.read_bytes() == NEW
    now = target.stat()
    assert (now.st_mode, now.st_uid, now.st_gid) == (was.st_mode, was.st_uid, was.st_gid)
    # The link's target was not read: the rollback copy says nothing was there before.
    assert not previous.exists()


def test_on_the_host_directories_above_the_destination_may_be_links(tmp_path):
    real = tmp_path / 'real'
    real.mkdir()
    (tmp_path / 'etc').symlink_to(real, target_is_directory=True)
    write_files([on_host(tmp_path / 'etc' / 'a.conf')], [], False, True)
    assert (real / 'a.conf').read_bytes() == NEW


# --- what is refused -----------------------------------------------------------------------

@pytest.mark.parametrize('kind', ['FIFO', 'directory', 'socket'])
@pytest.mark.parametrize('check_mode', [False, True], ids=['apply', 'check'])
def test_anything_but_a_file_or_link_is_refused_before_any_file_is_written(tmp_path, kind, check_mode, plant):
    path = tmp_path / 'h' / 'etc' / 'b.conf'
    plant(path, kind)
    with pytest.raises(FileWriterError) as caught:
        write_below(tmp_path, [rendered('/etc/a.conf'), rendered('/etc/b.conf')], check_mode=check_mode)
    assert str(caught.value) == '%s is a %s, not a regular file; refusing to replace it' % (path, kind)
    assert not (tmp_path / 'h' / 'etc' / 'a.conf').exists()


def test_on_the_host_a_fifo_is_refused(tmp_path):
    path = tmp_path / 'fifo'
    os.mkfifo(str(path))
    with pytest.raises(FileWriterError, match='is a FIFO, not a regular file'):
        write_files([on_host(path)], [], False, True)
    assert stat.S_ISFIFO(os.lstat(str(path)).st_mode)


def test_on_the_host_a_fifo_at_the_rollback_copy_is_refused(tmp_path):
    previous = tmp_path / 'a.previous'
    os.mkfifo(str(previous))
    with pytest.raises(FileWriterError, match='a.previous is a FIFO'):
        write_files([on_host(tmp_path / 'a', previous=str(previous))], [], False, True)
    assert not (tmp_path / 'a').exists()


@pytest.mark.parametrize('where', ['h', 'h/etc'])
def test_render_mode_follows_no_link_below_its_root(tmp_path, where):
    elsewhere = tmp_path / 'elsewhere'
    elsewhere.mkdir()
    root = tmp_path / 'root'
    link = root / where
    link.parent.mkdir(parents=True)
    link.symlink_to(elsewhere, target_is_directory=True)
    for check_mode in (True, False):
        with pytest.raises(FileWriterError) as caught:
            write_below(root, [rendered('/etc/a.conf')], check_mode=check_mode)
        assert str(caught.value).startswith('%s is a symbolic link (to %s): no link below %s is followed'
                                            % (link, elsewhere, root))
    assert os.listdir(str(elsewhere)) == []


def test_render_mode_takes_a_root_that_is_itself_a_link(tmp_path):
    # The root is the operator's own choice (ipsec_render_root): only what is below it is checked.
    real = tmp_path / 'real'
    real.mkdir()
    (tmp_path / 'root').symlink_to(real, target_is_directory=True)
    write_below(tmp_path / 'root', [rendered('/etc/a.conf')])
    assert (real / 'h' / 'etc' / 'a.conf').read_bytes() == NEW


def test_a_file_where_a_directory_goes_is_refused(tmp_path):
    (tmp_path / 'h').mkdir()
    (tmp_path / 'h' / 'etc').write_bytes(b'a file\n')
    with pytest.raises(FileWriterError, match=r'/h/etc is a regular file, not a directory'):
        write_below(tmp_path, [rendered('/etc/a.conf')])


@pytest.mark.parametrize('below', ['../../escaped/a.conf', 'h/../../escaped/a.conf', '/escaped/a.conf', 'h/..'])
def test_render_mode_never_leaves_its_root(tmp_path, below):
    root = tmp_path / 'a' / 'root'
    with pytest.raises(FileWriterError, match=r"a '\.\.' component would leave|an absolute path"):
        write_below(root, [entry('/a.conf', below=below)])
    assert not (tmp_path / 'escaped').exists() and not (tmp_path / 'a').exists()


def test_on_the_host_a_dot_dot_is_refused(tmp_path):
    with pytest.raises(FileWriterError, match=r"a '\.\.' component"):
        write_files([on_host('%s/x/../a.conf' % tmp_path)], [], False, True)


# --- the journal: what was written and not yet applied ------------------------------------

def journal_of(tmp_path):
    return str(tmp_path / 'state' / 'pending.json')


def test_a_change_is_journaled_before_it_is_written(tmp_path, monkeypatch):
    """Kill the writer after the journal and before the file: the journal names the file."""
    from ansible_collections.fleet.ipsec.plugins.module_utils import file_writer
    conf = tmp_path / 'a.conf'
    conf.write_bytes(b'old\n# t1: 0000000000000001\n')
    real_replace = file_writer._replace

    def die_at_the_file(place, content, mode, uid, gid):
        if place.name == 'a.conf':
            raise KeyboardInterrupt('killed')
        return real_replace(place, content, mode, uid, gid)
    monkeypatch.setattr(file_writer, '_replace', die_at_the_file)
    with pytest.raises(KeyboardInterrupt):
        write_files([on_host(conf, watch=True)], ['t1: 0000000000000002'], False, False, journal=journal_of(tmp_path))
    assert conf.read_bytes().startswith(b'old')
    journal = json.loads(open(journal_of(tmp_path)).read())
    assert journal == {'changed_files': [str(conf)], 'new_markers': ['t1: 0000000000000002']}
    assert stat.S_IMODE(os.stat(journal_of(tmp_path)).st_mode) == 0o600


def test_the_next_run_reports_what_the_journal_lists_though_nothing_differs(tmp_path):
    conf, key = tmp_path / 'a.conf', tmp_path / 'psk.txt'
    conf.write_bytes(b'old\n')
    first = write_files([on_host(conf, watch=True)], ['t1: 0000000000000002'], False, False, journal=journal_of(tmp_path))
    assert first['changed_files'] == [str(conf)] and first['pending_files'] == []
    assert first['new_markers'] == ['t1: 0000000000000002']
    # The run died before the reload. The next one finds the file as it wants it...
    again = write_files([on_host(conf, watch=True)], ['t1: 0000000000000002'], False, False, journal=journal_of(tmp_path))
    assert not any(item['changed'] for item in again['files'])
    # ... and still reports it changed, with the tunnel to re-key, so that it is applied now.
    assert again['changed_files'] == [str(conf)] and again['pending_files'] == [str(conf)]
    assert again['new_markers'] == ['t1: 0000000000000002']
    # A second write of the same run (the keys) adds to the journal and keeps what is there.
    keys = write_files([on_host(key, secret=True)], [], False, False, journal=journal_of(tmp_path))
    assert keys['changed_files'] == [str(key)] and keys['pending_files'] == []
    assert json.loads(open(journal_of(tmp_path)).read())['changed_files'] == sorted([str(conf), str(key)])
    # Once applied the caller removes the journal: nothing is pending any more.
    os.unlink(journal_of(tmp_path))
    done = write_files([on_host(conf, watch=True)], ['t1: 0000000000000002'], False, False, journal=journal_of(tmp_path))
    assert done['changed_files'] == [] and done['new_markers'] == [] and not done['changed']
    assert not os.path.exists(journal_of(tmp_path))


def test_a_pending_file_keeps_its_rollback_copy(tmp_path):
    """The kernel still runs what the rollback copy holds: a second change must not replace it
    with the never-applied content."""
    conf, previous = tmp_path / 'ipsec.conf', tmp_path / 'ipsec.conf.previous'
    conf.write_bytes(b'applied\n')
    write_files([on_host(conf, previous=str(previous))], [], False, False, journal=journal_of(tmp_path))
    assert previous.read_bytes() == b'applied\n'
    newer = on_host(conf, previous=str(previous))
    newer['content'] = b'newer\n'
    result = write_files([newer], [], False, False, journal=journal_of(tmp_path))
    assert conf.read_bytes() == b'newer\n' and previous.read_bytes() == b'applied\n'
    assert result['pending_files'] == [str(conf)]


def test_markers_of_tunnels_gone_since_are_not_reported(tmp_path):
    conf = tmp_path / 'a.conf'
    conf.write_bytes(b'old\n')
    write_files([on_host(conf, watch=True)], ['t1: 1', 't2: 2'], False, False, journal=journal_of(tmp_path))
    again = write_files([on_host(conf, watch=True)], ['t1: 1'], False, False, journal=journal_of(tmp_path))
    assert again['new_markers'] == ['t1: 1']


def test_a_journal_that_does_not_parse_leaves_every_file_pending(tmp_path):
    conf = tmp_path / 'a.conf'
    conf.write_bytes(NEW)
    os.mkdir(str(tmp_path / 'state'))
    with open(journal_of(tmp_path), 'w') as handle:
        handle.write('{"changed_files": [')
    result = write_files([on_host(conf)], [], False, False, journal=journal_of(tmp_path))
    assert result['pending_files'] == [str(conf)] and result['changed_files'] == [str(conf)]


def test_check_mode_reports_the_journal_and_writes_none(tmp_path):
    conf = tmp_path / 'a.conf'
    conf.write_bytes(b'old\n')
    result = write_files([on_host(conf)], [], True, False, journal=journal_of(tmp_path))
    assert result['changed_files'] == [str(conf)] and not os.path.exists(journal_of(tmp_path))


def test_a_fifo_at_the_journal_is_refused_without_blocking(tmp_path):
    os.mkdir(str(tmp_path / 'state'))
    os.mkfifo(journal_of(tmp_path))
    with pytest.raises(FileWriterError, match='a FIFO'):
        write_files([on_host(tmp_path / 'a.conf')], [], False, False, journal=journal_of(tmp_path))
    assert not (tmp_path / 'a.conf').exists()


def test_render_mode_has_no_journal(tmp_path):
    with pytest.raises(FileWriterError, match='render mode'):
        write_files([rendered('/etc/a.conf')], [], False, False, root=str(tmp_path), journal='/x/pending.json')
