# -*- coding: utf-8 -*-
# Copyright (c) 2026 fleet.ipsec contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os
import stat
import tempfile

from ansible import constants as C
from ansible.errors import AnsibleActionFail, AnsibleError
from ansible.module_utils.common.text.converters import to_bytes, to_text
from ansible.module_utils.six import string_types
from ansible.plugins.action import ActionBase

try:
    from ansible.template import trust_as_template
except ImportError:  # ansible-core < 2.19 trusts every template
    def trust_as_template(value):
        return value

# The same Jinja settings ansible.builtin.template uses, so that a file rendered here is
# byte for byte the file the template module writes on a real host.
_OVERRIDES = {'trim_blocks': True, 'lstrip_blocks': False, 'newline_sequence': '\n'}


class ActionModule(ActionBase):
    """Render a role's templates into a directory on the controller, without a module.

    Render mode writes a fleet's files for review. ansible.builtin.template delegated to
    localhost would start a module process per file and host; this does the same writes in
    the controller's worker, which is what makes rendering hundreds of hosts cheap.
    """

    TRANSFERS_FILES = False
    _requires_connection = False
    _VALID_ARGS = frozenset(('root', 'files'))
    _VALID_FILE_KEYS = frozenset(('src', 'dest', 'mode', 'secret'))

    def _files(self):
        args = self._task.args
        root = args.get('root')
        if not isinstance(root, string_types) or not os.path.isabs(root):
            raise AnsibleActionFail('root: %r is not an absolute path' % (root,))
        files = args.get('files')
        if not isinstance(files, list):
            raise AnsibleActionFail('files: must be a list of {src, dest, mode, secret}')
        checked = []
        for index, entry in enumerate(files):
            where = 'files[%d]' % index
            if not isinstance(entry, dict):
                raise AnsibleActionFail('%s: must be a dict with src, dest and mode' % where)
            unknown = sorted(set(entry) - self._VALID_FILE_KEYS)
            if unknown:
                raise AnsibleActionFail('%s: unknown key(s) %s' % (where, ', '.join(unknown)))
            dest = entry.get('dest')
            if not isinstance(dest, string_types) or not os.path.isabs(dest):
                raise AnsibleActionFail('%s.dest: %r is not an absolute path' % (where, dest))
            try:
                mode = int(to_text(entry.get('mode')), 8)
            except (TypeError, ValueError):
                mode = -1
            if not 0 <= mode <= 0o7777:
                raise AnsibleActionFail('%s.mode: %r is not an octal mode such as "0644"' % (where, entry.get('mode')))
            if not isinstance(entry.get('src'), string_types):
                raise AnsibleActionFail('%s.src: a template name is required' % where)
            checked.append({'src': entry['src'], 'path': root.rstrip('/') + os.path.normpath(dest),
                            'mode': mode, 'secret': bool(entry.get('secret', False))})
        return checked

    def _render(self, src, variables):
        try:
            source = self._find_needle('templates', src)
        except AnsibleError as exc:
            raise AnsibleActionFail(to_text(exc))
        template = trust_as_template(self._loader.get_text_file_contents(source))
        searchpath = [os.path.dirname(source)]
        templar = self._templar.copy_with_new_env(searchpath=searchpath, available_variables=variables)
        text = templar.template(template, escape_backslashes=False, overrides=dict(_OVERRIDES))
        return to_bytes(text or '', errors='surrogate_or_strict')

    @staticmethod
    def _current(path):
        """(content, mode) of an existing file, or (None, None)."""
        try:
            with open(path, 'rb') as handle:
                return handle.read(), stat.S_IMODE(os.fstat(handle.fileno()).st_mode)
        except (IOError, OSError) as exc:
            if exc.errno == errno.ENOENT:
                return None, None
            raise

    @staticmethod
    def _write(path, content, mode):
        directory = os.path.dirname(path)
        if not os.path.isdir(directory):
            os.makedirs(directory, 0o755)
        # A temporary file in the same directory, given its mode before it holds a byte, then
        # renamed over the target: a reader never sees half a file or a key file readable by others.
        handle, temporary = tempfile.mkstemp(dir=directory, prefix='.fleet-ipsec-')
        try:
            os.fchmod(handle, mode)
            os.write(handle, content)
        finally:
            os.close(handle)
        try:
            os.rename(temporary, path)
        except OSError:
            os.unlink(temporary)
            raise

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        variables = dict(task_vars or {})
        variables.setdefault('ansible_managed', C.config.get_config_value('DEFAULT_MANAGED_STR'))
        written = []
        diffs = []
        for entry in self._files():
            content = self._render(entry['src'], variables)
            path = entry['path']
            before, before_mode = self._current(path)
            content_changed = before != content
            mode_changed = before_mode is not None and before_mode != entry['mode']
            if not self._task.check_mode:
                try:
                    if content_changed:
                        self._write(path, content, entry['mode'])
                    elif mode_changed:
                        os.chmod(path, entry['mode'])
                except (IOError, OSError) as exc:
                    raise AnsibleActionFail('%s: %s' % (path, to_text(exc)))
            written.append({'path': path, 'changed': content_changed or mode_changed,
                            'mode': '%04o' % entry['mode'],
                            'mode_was': None if before_mode is None else '%04o' % before_mode})
            if content_changed and self._task.diff:
                if entry['secret']:
                    # The diff of a key file would print the key: say that it changed, not how.
                    diffs.append({'before_header': path, 'after_header': path,
                                  'prepared': '%s: content changed (secret, not shown)\n' % path})
                else:
                    diffs.append({'before_header': path, 'after_header': path,
                                  'before': to_text(before or b''), 'after': to_text(content)})
        result['changed'] = any(item['changed'] for item in written)
        result['files'] = written
        if diffs:
            result['diff'] = diffs
        return result
