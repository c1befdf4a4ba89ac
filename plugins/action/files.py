# -*- coding: utf-8 -*-
# Copyright (c) 2026 fleet.ipsec contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible import constants as C
from ansible.errors import AnsibleActionFail, AnsibleError
from ansible.module_utils.common.text.converters import to_bytes, to_text
from ansible.module_utils.six import string_types
from ansible.plugins.action import ActionBase
from ansible_collections.fleet.ipsec.plugins.module_utils.file_writer import FileWriterError, write_files

try:
    from ansible.template import trust_as_template
except ImportError:  # ansible-core < 2.19 trusts every template
    def trust_as_template(value):
        return value

# The same Jinja settings ansible.builtin.template uses, so that a file rendered here is
# byte for byte the file the template module writes on a real host.
_OVERRIDES = {'trim_blocks': True, 'lstrip_blocks': False, 'newline_sequence': '\n'}


class ActionModule(ActionBase):
    """Render a host's templates on the controller and write them all in one step.

    ansible.builtin.template costs a module run (an SSH round trip and a Python start on the
    host) per file, two when the file changes. Here the templates are rendered in the
    controller's worker and the host gets them in one run of the fleet.ipsec.write_files module; in
    render mode (root) they are written on the controller and no module runs at all.
    """

    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(('root', 'host_dir', 'files', 'markers', 'journal'))
    _VALID_FILE_KEYS = frozenset(('src', 'dest', 'mode', 'owner', 'group', 'secret', 'previous', 'watch'))

    def _files(self):
        files = self._task.args.get('files')
        if not isinstance(files, list):
            raise AnsibleActionFail('files: must be a list of {src, dest, mode, ...}')
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
            if '..' in dest.split('/'):
                raise AnsibleActionFail("%s.dest: %r has a '..' component; refusing it" % (where, dest))
            try:
                mode = int(to_text(entry.get('mode')), 8)
            except (TypeError, ValueError):
                mode = -1
            if not 0 <= mode <= 0o7777:
                raise AnsibleActionFail('%s.mode: %r is not an octal mode such as "0644"' % (where, entry.get('mode')))
            if not isinstance(entry.get('src'), string_types):
                raise AnsibleActionFail('%s.src: a template name is required' % where)
            # A task under no_log treats every file as a key: its registered result and diff
            # must not hold the content either (no_log hides them from the screen only).
            secret = bool(entry.get('secret', False)) or self._no_log()
            checked.append(dict(entry, dest=os.path.normpath(dest), mode=mode,
                                secret=secret, watch=bool(entry.get('watch', False))))
        return checked

    def _no_log(self):
        return bool(self._task.no_log) or bool(getattr(self._play_context, 'no_log', False))

    def _markers(self):
        markers = self._task.args.get('markers') or []
        if not isinstance(markers, list) or not all(isinstance(marker, string_types) for marker in markers):
            raise AnsibleActionFail('markers: must be a list of strings')
        return markers

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

    def _host_dir(self, root, task_vars):
        """The directory below root that stands for the host's /, as a relative path that stays
        below root (render mode: the host's name). Refused, naming the host, if it would not."""
        host_dir = self._task.args.get('host_dir')
        if host_dir is None:
            return ''
        host = (task_vars or {}).get('inventory_hostname', host_dir)
        if not isinstance(host_dir, string_types) or not host_dir:
            raise AnsibleActionFail('host %s: host_dir: %r is not a directory name' % (host, host_dir))
        names = host_dir.split('/')
        if host_dir.startswith('/') or any(name in ('', '.', '..') for name in names) or '\0' in host_dir:
            raise AnsibleActionFail(
                "host %s: refusing to write its files below %s/%s: host_dir must be a plain path below root "
                "(not absolute, no '..', '.' or empty component)" % (host, root.rstrip('/'), host_dir))
        return host_dir

    def _write_below(self, root, files, markers, task_vars):
        """Render mode: the same files below root on the controller, with the host's code. No
        path leaves root and no link below root is followed (file_writer)."""
        if not isinstance(root, string_types) or not os.path.isabs(root):
            raise AnsibleActionFail('root: %r is not an absolute path' % (root,))
        host_dir = self._host_dir(root, task_vars)
        below = [dict(entry, below=os.path.join(host_dir, entry['dest'].lstrip('/')), uid=None, gid=None, previous=None)
                 for entry in files]
        try:
            return write_files(below, markers, self._task.check_mode, want_before=True, root=root)
        except FileWriterError as exc:
            host = (task_vars or {}).get('inventory_hostname')
            raise AnsibleActionFail('%s%s' % ('host %s: ' % host if host else '', to_text(exc)))

    def _write_on_host(self, files, markers, journal, task_vars):
        module_files = []
        for entry in files:
            item = {'dest': entry['dest'], 'content': to_text(entry['content'], errors='surrogate_or_strict'),
                    'mode': '%04o' % entry['mode'], 'secret': entry['secret'], 'watch': entry['watch']}
            for key in ('owner', 'group', 'previous'):
                if entry.get(key) is not None:
                    item[key] = entry[key]
            module_files.append(item)
        result = self._execute_module(
            module_name='fleet.ipsec.write_files', task_vars=task_vars,
            module_args={'files': module_files, 'markers': markers, 'journal': journal,
                         'want_before': bool(self._task.diff)})
        if result.get('failed'):
            result.pop('before', None)
            raise _ModuleFailed(result)
        return result

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        variables = dict(task_vars or {})
        variables.setdefault('ansible_managed', C.config.get_config_value('DEFAULT_MANAGED_STR'))
        files = self._files()
        markers = self._markers()
        for entry in files:
            entry['content'] = self._render(entry['src'], variables)
        root = self._task.args.get('root')
        if root is None and self._task.args.get('host_dir') is not None:
            raise AnsibleActionFail('host_dir: only with root')
        journal = self._task.args.get('journal')
        if journal is not None and (root is not None or not isinstance(journal, string_types) or not os.path.isabs(journal)):
            raise AnsibleActionFail('journal: %r must be an absolute path on the host (not with root)' % (journal,))
        try:
            if root is None:
                written = self._write_on_host(files, markers, journal, task_vars)
            else:
                written = self._write_below(root, files, markers, task_vars)
        except _ModuleFailed as exc:
            result.update(exc.result)
            return result
        befores = written.pop('before', None) or {}
        diffs = []
        if self._task.diff:
            for entry, item in zip(files, written['files']):
                if not item['changed'] or (item['existed'] and entry['dest'] not in befores and not entry['secret']):
                    continue
                # A link that was at dest was replaced, not read through: the diff says what it was.
                header = entry['dest'] if not item.get('link_was') else '%s (was a symbolic link to %s, not followed)' % (
                    entry['dest'], item['link_was'])
                if entry['secret']:
                    # The diff of a key file would print the key: say that it changed, not how.
                    diffs.append({'before_header': header, 'after_header': entry['dest'],
                                  'prepared': '%s: changed (secret, not shown)\n' % header})
                else:
                    diffs.append({'before_header': header, 'after_header': entry['dest'],
                                  'before': befores.get(entry['dest'], ''),
                                  'after': to_text(entry['content'], errors='surrogate_or_strict')})
        result.update(written)
        result['changed'] = bool(written['changed_files']) or bool(written.get('changed'))
        if diffs:
            result['diff'] = diffs
        return result


class _ModuleFailed(Exception):
    def __init__(self, result):
        super(_ModuleFailed, self).__init__(result.get('msg'))
        self.result = result
