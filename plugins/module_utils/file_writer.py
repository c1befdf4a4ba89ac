# -*- coding: utf-8 -*-
# Copyright (c) 2026 fleet.ipsec contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Compare and write a host's files: the one piece of code behind fleet.ipsec.files, run by the
write_files module on the host and by the files action below a directory on the controller
(render mode). No Ansible imports."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os
import pwd
import stat
import tempfile


def _current(path):
    """(content, stat) of an existing file, or (None, None)."""
    try:
        with open(path, 'rb') as handle:
            return handle.read(), os.fstat(handle.fileno())
    except (IOError, OSError) as exc:
        if exc.errno == errno.ENOENT:
            return None, None
        raise


def _make_dirs(directory, uid, gid, created):
    if os.path.isdir(directory):
        return
    _make_dirs(os.path.dirname(directory), uid, gid, created)
    os.mkdir(directory, 0o755)
    if uid is not None:
        os.chown(directory, uid, gid)
    os.chmod(directory, 0o755)
    created.append(directory)


def _write(path, content, mode, uid, gid):
    # A temporary file beside the target, given its owner and mode before it holds a byte, then
    # renamed over it: a reader never sees half a file, nor a key file readable by others.
    handle, temporary = tempfile.mkstemp(dir=os.path.dirname(path), prefix='.fleet-ipsec-')
    try:
        try:
            if uid is not None:
                os.fchown(handle, uid, gid)
            os.fchmod(handle, mode)
            os.write(handle, content)
            os.fsync(handle)
        finally:
            os.close(handle)
        os.rename(temporary, path)
    except Exception:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def _owner_name(uid):
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def write_files(files, markers, check_mode, want_before):
    """Write what differs of files, a list of dicts: dest (reported), path (written), content
    (bytes), mode (int), uid and gid (None: left as they come), secret, previous (a path or None),
    watch. Returns the result the files action documents, plus 'before': the old text of each
    changed file that is not secret, when want_before. Raises (IOError, OSError) naming nothing:
    the caller says which file."""
    written = []
    new_markers = []
    befores = {}
    directories = []
    for entry in files:
        path, mode, uid, gid = entry['path'], entry['mode'], entry['uid'], entry['gid']
        before, before_stat = _current(path)
        content_changed = before != entry['content']
        meta_changed = before_stat is not None and (
            stat.S_IMODE(before_stat.st_mode) != mode
            or (uid is not None and (before_stat.st_uid, before_stat.st_gid) != (uid, gid)))
        if content_changed and before is not None and entry['watch']:
            old = before.decode('utf-8', 'replace')
            new_markers.extend(marker for marker in markers if marker not in old and marker not in new_markers)
        if not check_mode:
            _make_dirs(os.path.dirname(path), uid, gid, directories)
            if content_changed:
                previous = entry.get('previous')
                if previous and before is None and os.path.lexists(previous):
                    os.unlink(previous)
                elif previous and before is not None:
                    _write(previous, before, mode, uid, gid)
                _write(path, entry['content'], mode, uid, gid)
            elif meta_changed:
                if uid is not None:
                    os.chown(path, uid, gid)
                os.chmod(path, mode)
        if content_changed and want_before and not entry['secret']:
            befores[entry['dest']] = (before or b'').decode('utf-8', 'replace')
        written.append({
            'dest': entry['dest'], 'path': path, 'changed': content_changed or meta_changed,
            'existed': before is not None, 'mode': '%04o' % mode,
            'mode_was': None if before_stat is None else '%04o' % stat.S_IMODE(before_stat.st_mode),
            'owner_was': None if before_stat is None or uid is None else _owner_name(before_stat.st_uid),
        })
    return {'changed': bool(directories) or any(item['changed'] for item in written), 'files': written,
            'changed_files': [item['dest'] for item in written if item['changed']],
            'new_markers': new_markers, 'before': befores}
