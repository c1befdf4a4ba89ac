# -*- coding: utf-8 -*-
# Copyright (c) 2026 fleet.ipsec contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Compare and write a host's files: the one piece of code behind fleet.ipsec.files, run by the
write_files module on the host and by the files action below a directory on the controller
(render mode). No Ansible imports.

What is at a destination is looked at with lstat and handled through the file descriptor of its
directory, never through its path again:
  - a regular file is opened with O_NOFOLLOW | O_NONBLOCK and checked with fstat (still a
    regular file, still the one lstat saw) before a byte is read;
  - a symbolic link is never followed: not read through, not diffed through, its target's mode
    and owner never touched; a new regular file is renamed over the link itself;
  - anything else (a directory, a FIFO, a socket, a device) is refused, naming the path and
    what it is, before any file of the run is written.
Below a render root, every directory is opened one component at a time with O_NOFOLLOW: a path
never leaves the root (no '..', nothing absolute) and no symbolic link there is followed. On a
host, the directories above a destination are the system's own and may be links (as /var/run
is on some systems); the destination itself never is followed.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import binascii
import errno
import json
import os
import pwd
import stat

_O_NOFOLLOW = getattr(os, 'O_NOFOLLOW', 0)
_O_DIRECTORY = getattr(os, 'O_DIRECTORY', 0)
_O_CLOEXEC = getattr(os, 'O_CLOEXEC', 0)
_READ_FLAGS = os.O_RDONLY | os.O_NONBLOCK | _O_NOFOLLOW | _O_CLOEXEC
_DIR_FLAGS = os.O_RDONLY | _O_DIRECTORY | _O_CLOEXEC
_CREATE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_NOFOLLOW | _O_CLOEXEC

_KINDS = (
    (stat.S_ISDIR, 'a directory'),
    (stat.S_ISFIFO, 'a FIFO'),
    (stat.S_ISSOCK, 'a socket'),
    (stat.S_ISCHR, 'a character device'),
    (stat.S_ISBLK, 'a block device'),
    (stat.S_ISLNK, 'a symbolic link'),
    (stat.S_ISREG, 'a regular file'),
)


class FileWriterError(Exception):
    """A destination that cannot or must not be written; the message names the path and why."""


def _kind(mode):
    for test, name in _KINDS:
        if test(mode):
            return name
    return 'a file of unknown type'


def _components(relative, where, path):
    """The names of a relative path, one per directory level. '.' and empty names are skipped;
    '..' and an absolute path are refused: the path must stay below where it starts."""
    if relative.startswith('/'):
        raise FileWriterError('%s: an absolute path where one below %s is needed; refusing it' % (path, where))
    names = [name for name in relative.split('/') if name not in ('', '.')]
    if '..' in names:
        raise FileWriterError("%s: a '..' component would leave %s; refusing it" % (path, where))
    if any('\0' in name for name in names):
        raise FileWriterError('%r: a NUL byte in a path; refusing it' % (path,))
    return names


def _close(fd):
    if fd is not None:
        try:
            os.close(fd)
        except OSError:
            pass


class _Place(object):
    """Where one file goes: its directory (an open fd, or None while that directory does not
    exist) and its name in it. path is the full path, for messages and results."""

    def __init__(self, path, dir_fd, dir_path, name, missing):
        self.path = path
        self.dir_fd = dir_fd
        self.dir_path = dir_path
        self.name = name
        self.missing = missing  # names of the directories still to create below dir_path


def _open_below(start, names, follow, where):
    """Open the directory start/names[0]/names[1]/..., one name at a time. Returns (fd, path,
    missing): the deepest directory that exists and the names below it that do not. A symbolic
    link on the way is refused unless follow (the host's own directories)."""
    fd = os.open(start, _DIR_FLAGS)
    path = start
    try:
        for index, name in enumerate(names):
            here = os.path.join(path, name)
            try:
                seen = os.stat(name, dir_fd=fd, follow_symlinks=False)
            except OSError as exc:
                if exc.errno != errno.ENOENT:
                    raise
                return fd, path, names[index:]
            if stat.S_ISLNK(seen.st_mode):
                if not follow:
                    raise FileWriterError('%s is a symbolic link (to %s): no link below %s is followed; refusing to write there'
                                          % (here, os.readlink(name, dir_fd=fd), where))
                try:
                    seen = os.stat(name, dir_fd=fd)
                except OSError as exc:
                    if exc.errno != errno.ENOENT:
                        raise
                    raise FileWriterError('%s is a symbolic link (to %s) that leads nowhere; refusing to write there'
                                          % (here, os.readlink(name, dir_fd=fd)))
            if not stat.S_ISDIR(seen.st_mode):
                raise FileWriterError('%s is %s, not a directory; refusing to write there' % (here, _kind(seen.st_mode)))
            child = os.open(name, _DIR_FLAGS | (0 if follow else _O_NOFOLLOW), dir_fd=fd)
            opened = os.fstat(child)
            if (opened.st_dev, opened.st_ino) != (seen.st_dev, seen.st_ino):
                _close(child)
                raise FileWriterError('%s changed while it was opened; refusing to write there' % here)
            os.close(fd)
            fd, path = child, here
        return fd, path, []
    except BaseException:
        _close(fd)
        raise


def _make_missing(place, uid, gid, created):
    """Create the directories place still lacks (mode 0755, owned by uid:gid), each through its
    parent's fd, and leave place.dir_fd on the last. One that appeared since (an earlier file
    of the same run made it) is taken if it is a directory, never followed if it is a link."""
    for name in place.missing:
        here = os.path.join(place.dir_path, name)
        try:
            os.mkdir(name, 0o755, dir_fd=place.dir_fd)
            made = True
        except OSError as exc:
            if exc.errno != errno.EEXIST:
                raise
            seen = os.stat(name, dir_fd=place.dir_fd, follow_symlinks=False)
            if not stat.S_ISDIR(seen.st_mode):
                raise FileWriterError('%s is %s, not a directory; refusing to write there' % (here, _kind(seen.st_mode)))
            made = False
        child = os.open(name, _DIR_FLAGS | _O_NOFOLLOW, dir_fd=place.dir_fd)
        try:
            if made:
                if uid is not None:
                    os.fchown(child, uid, gid)
                os.fchmod(child, 0o755)
        except BaseException:
            _close(child)
            raise
        os.close(place.dir_fd)
        place.dir_fd = child
        place.dir_path = here
        if made:
            created.append(here)
    place.missing = []


def _locate(path, root, relative):
    """The _Place of a file: on the host (root None) the absolute path, whose directories may be
    links but not the file; in render mode relative below root, with no link at all."""
    if root is None:
        if not path.startswith('/'):
            raise FileWriterError('%s: not an absolute path' % path)
        names = _components(path.lstrip('/'), '/', path)
        start, follow = '/', True
    else:
        names = _components(relative, root, path)
        start, follow = root, False
    if not names:
        raise FileWriterError('%s: no file name' % path)
    if os.path.isdir(start):
        dir_fd, dir_path, missing = _open_below(start, names[:-1], follow, start)
    elif os.path.lexists(start):
        raise FileWriterError('%s: not a directory; refusing to write below it' % start)
    else:  # a render root that does not exist yet: everything below it is new
        dir_fd, dir_path, missing = None, start, names[:-1]
    return _Place(path, dir_fd, dir_path, names[-1], missing)


def _look(place):
    """What is at place now: (content, stat, link target). (None, None, None) when nothing is;
    (None, None, target) for a symbolic link, which is not followed. Refuses anything that is
    neither a regular file nor a link. Never blocks: a regular file is opened with O_NONBLOCK
    and O_NOFOLLOW, and checked with fstat before it is read."""
    if place.dir_fd is None or place.missing:
        return None, None, None
    try:
        seen = os.stat(place.name, dir_fd=place.dir_fd, follow_symlinks=False)
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            return None, None, None
        raise
    if stat.S_ISLNK(seen.st_mode):
        return None, None, os.readlink(place.name, dir_fd=place.dir_fd)
    if not stat.S_ISREG(seen.st_mode):
        raise FileWriterError('%s is %s, not a regular file; refusing to replace it' % (place.path, _kind(seen.st_mode)))
    fd = os.open(place.name, _READ_FLAGS, dir_fd=place.dir_fd)
    try:
        opened = os.fstat(fd)
        if not stat.S_ISREG(opened.st_mode) or (opened.st_dev, opened.st_ino) != (seen.st_dev, seen.st_ino):
            raise FileWriterError('%s changed while it was opened; refusing to replace it' % place.path)
        chunks = []
        while True:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
        return b''.join(chunks), opened, None
    finally:
        os.close(fd)


def _replace(place, content, mode, uid, gid):
    """A temporary file beside the target, given its owner and mode before it holds a byte, then
    renamed over the target (a regular file or a link, which rename replaces, never follows): a
    reader never sees half a file, nor a key file readable by others."""
    for _attempt in range(100):
        temporary = '.fleet-ipsec-%s' % binascii.hexlify(os.urandom(6)).decode('ascii')
        try:
            handle = os.open(temporary, _CREATE_FLAGS, 0o600, dir_fd=place.dir_fd)
            break
        except OSError as exc:
            if exc.errno != errno.EEXIST:
                raise
    else:
        raise FileWriterError('%s: no free temporary name beside it' % place.path)
    try:
        try:
            if uid is not None:
                os.fchown(handle, uid, gid)
            os.fchmod(handle, mode)
            view = memoryview(content)
            while view:
                view = view[os.write(handle, view):]
            os.fsync(handle)
        finally:
            os.close(handle)
        os.rename(temporary, place.name, src_dir_fd=place.dir_fd, dst_dir_fd=place.dir_fd)
    except BaseException:
        try:
            os.unlink(temporary, dir_fd=place.dir_fd)
        except OSError:
            pass
        raise


def _fix_in_place(place, seen, mode, uid, gid):
    """Set mode and owner of the regular file lstat saw at place, through its own fd (fchmod,
    fchown): never through a link, never on a file that took its place meanwhile."""
    fd = os.open(place.name, _READ_FLAGS, dir_fd=place.dir_fd)
    try:
        opened = os.fstat(fd)
        if not stat.S_ISREG(opened.st_mode) or (opened.st_dev, opened.st_ino) != (seen.st_dev, seen.st_ino):
            raise FileWriterError('%s changed while it was opened; refusing to change its mode' % place.path)
        if uid is not None:
            os.fchown(fd, uid, gid)
        os.fchmod(fd, mode)
    finally:
        os.close(fd)


def _sync_directory(fd):
    try:
        os.fsync(fd)
    except OSError:  # some file systems cannot sync a directory: the rename is still atomic
        pass


def _owner_name(uid):
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def _failing(path):
    """Turn an OSError into a FileWriterError naming the full path (an fd-relative call's
    exception names only the last component)."""
    class _Guard(object):
        def __enter__(self):
            return self

        def __exit__(self, kind, exc, _traceback):
            if isinstance(exc, (IOError, OSError)) and not isinstance(exc, FileWriterError):
                raise FileWriterError('%s: %s' % (path, exc.strerror or exc))
            return False
    return _Guard()


def _read_journal(place):
    """What an earlier run left pending in the journal at place: (changed_files, new_markers), or
    (None, None) when there is none. A journal that does not parse leaves every file pending:
    reloading a daemon once more costs little, running on stale settings costs a tunnel."""
    content, _seen, _link = _look(place)
    if content is None:
        return None, None
    try:
        data = json.loads(content.decode('utf-8'))
        files = [str(item) for item in data['changed_files']]
        markers = [str(item) for item in data['new_markers']]
    except (ValueError, KeyError, TypeError, AttributeError):
        return True, []
    return files, markers


def _write_journal(place, pending_files, pending_markers, files, markers, uid, gid, directories):
    """Add what this run is about to change to the journal, on disk before the first file is."""
    if pending_files is True:
        pending_files = []
    content = json.dumps({
        'changed_files': sorted(set(pending_files or []) | set(files)),
        'new_markers': list(pending_markers or []) + [marker for marker in markers if marker not in (pending_markers or [])],
    }, indent=1, sort_keys=True).encode('ascii') + b'\n'
    _make_missing(place, uid, gid, directories)
    _replace(place, content, 0o600, uid, gid)
    _sync_directory(place.dir_fd)


def write_files(files, markers, check_mode, want_before, root=None, journal=None):
    """Write what differs of files, a list of dicts: dest (reported), content (bytes), mode (int),
    uid and gid (None: left as they come), secret, previous (a host path or None), watch, and
    either path (on the host: the absolute path written) or, with root (render mode), below (the
    path relative to root). Returns the result the files action documents, plus 'before': the
    old text of each changed file that is not secret, when want_before.

    journal (on the host only) is a file that lists what was written and not yet applied: before
    the first file changes, its path (and the markers it lost) are added there; the caller removes
    the journal once the daemons have read the new files. A run that died in between left it
    behind, and this run reports those files as changed again (pending_files), so that they are
    applied now. A pending file's rollback copy (previous) is kept: it still holds what the kernel
    has.

    Every destination is looked at (and refused if it is not a regular file or a link, or if it
    would leave root) before any file is written. Raises FileWriterError, naming the path."""
    if journal is not None and root is not None:
        raise FileWriterError('%s: a journal is for a host, not for render mode' % journal)
    places = []
    try:
        pending_files, pending_markers, journal_place = None, None, None
        if journal is not None:
            with _failing(journal):
                journal_place = _locate(journal, None, None)
                places.append(journal_place)
                pending_files, pending_markers = _read_journal(journal_place)
        dests = [entry['dest'] for entry in files]
        pending = dests if pending_files is True else [dest for dest in dests if dest in (pending_files or [])]

        looked = []
        for entry in files:
            path = entry['path'] if root is None else os.path.join(root, entry['below'])
            with _failing(path):
                place = _locate(path, root, entry.get('below'))
                places.append(place)
                before, before_stat, link = _look(place)
            previous = None
            if entry.get('previous'):
                with _failing(entry['previous']):
                    previous = _locate(entry['previous'], None, None)
                    places.append(previous)
                    _look(previous)  # refuses a directory, FIFO, ... there before anything is written
            content_changed = before != entry['content']
            meta_changed = before_stat is not None and (
                stat.S_IMODE(before_stat.st_mode) != entry['mode']
                or (entry['uid'] is not None and (before_stat.st_uid, before_stat.st_gid) != (entry['uid'], entry['gid'])))
            looked.append((entry, place, previous, before, before_stat, link, content_changed, meta_changed))

        new_markers = [marker for marker in markers if marker in (pending_markers or [])]
        for entry, _place, _previous, before, _stat, _link, content_changed, _meta in looked:
            if content_changed and before is not None and entry['watch']:
                old = before.decode('utf-8', 'replace')
                new_markers.extend(marker for marker in markers if marker not in old and marker not in new_markers)

        directories = []
        changing = [item[0]['dest'] for item in looked if item[6] or item[7]]
        if journal_place is not None and changing and not check_mode:
            with _failing(journal):
                _write_journal(journal_place, pending_files, pending_markers, changing, new_markers,
                               0 if os.geteuid() == 0 else None, 0, directories)

        written = []
        befores = {}
        touched = set()
        for entry, place, previous, before, before_stat, link, content_changed, meta_changed in looked:
            mode, uid, gid = entry['mode'], entry['uid'], entry['gid']
            if not check_mode and (content_changed or meta_changed):
                with _failing(place.path):
                    if place.dir_fd is None:  # the render root itself is new
                        if not os.path.isdir(place.dir_path):
                            os.makedirs(place.dir_path)
                        place.dir_fd = os.open(place.dir_path, _DIR_FLAGS)
                    _make_missing(place, uid, gid, directories)
                    # A pending file's rollback copy already holds what the kernel has.
                    if content_changed and previous is not None and not (entry['dest'] in pending and _exists(previous)):
                        with _failing(previous.path):
                            _make_missing(previous, uid, gid, directories)
                            if before is None:
                                # nothing (or a link, not read through) was there: roll back to nothing
                                try:
                                    os.unlink(previous.name, dir_fd=previous.dir_fd)
                                except OSError as exc:
                                    if exc.errno != errno.ENOENT:
                                        raise
                            else:
                                _replace(previous, before, mode, uid, gid)
                            touched.add(previous.dir_fd)
                    if content_changed or before_stat.st_nlink > 1:
                        # a file with other hard links is replaced, so that they keep their mode
                        _replace(place, entry['content'], mode, uid, gid)
                    else:
                        _fix_in_place(place, before_stat, mode, uid, gid)
                    touched.add(place.dir_fd)
            if content_changed and want_before and not entry['secret']:
                befores[entry['dest']] = (before or b'').decode('utf-8', 'replace')
            written.append({
                'dest': entry['dest'], 'path': place.path, 'changed': content_changed or meta_changed,
                'existed': before is not None or link is not None, 'mode': '%04o' % mode,
                'mode_was': None if before_stat is None else '%04o' % stat.S_IMODE(before_stat.st_mode),
                'owner_was': None if before_stat is None or uid is None else _owner_name(before_stat.st_uid),
                'link_was': link,
            })
        for fd in touched:
            _sync_directory(fd)
    finally:
        for place in places:
            _close(place.dir_fd)
            place.dir_fd = None
    changed_files = [item['dest'] for item in written if item['changed']]
    return {'changed': bool(directories) or bool(changed_files), 'files': written,
            'changed_files': changed_files + [dest for dest in pending if dest not in changed_files],
            'pending_files': pending, 'new_markers': new_markers, 'before': befores}


def _exists(place):
    if place.dir_fd is None or place.missing:
        return False
    try:
        os.stat(place.name, dir_fd=place.dir_fd, follow_symlinks=False)
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            return False
        raise
    return True
