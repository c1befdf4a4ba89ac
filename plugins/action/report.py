# -*- coding: utf-8 -*-
# Copyright (c) 2026 fleet.ipsec contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import os
import time

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.text.converters import to_text
from ansible.module_utils.six import string_types
from ansible.plugins.action import ActionBase

from ansible_collections.fleet.ipsec.plugins.plugin_utils import report, report_html


class ActionModule(ActionBase):
    """Write verify.yml's report files on the controller, from what the play's hosts registered.

    An action, not a module: the inputs are the hostvars of the whole play (every host's
    verify result and the plan), which only the controller holds, and the files belong there.
    """

    TRANSFERS_FILES = False
    _requires_connection = False
    _VALID_ARGS = frozenset(('dest', 'hosts', 'result'))

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        task_vars = task_vars or {}
        args = self._task.args
        dest = args.get('dest')
        if not isinstance(dest, string_types) or not dest:
            raise AnsibleActionFail('dest: a directory is required')
        dest = os.path.abspath(os.path.expanduser(dest))
        hosts = args.get('hosts')
        if hosts is None:
            hosts = task_vars.get('ansible_play_hosts_all') or []
        if not isinstance(hosts, list):
            raise AnsibleActionFail('hosts: must be a list of host names')
        registered = args.get('result', 'ipsec_verify')
        now = time.time()
        generated = datetime.datetime.fromtimestamp(int(now), datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')
        data = report.collect(hosts, task_vars['hostvars'], generated, result=registered)
        try:
            contents = report.render_all(data, now, report_html.page)
        except report_html.LayoutError as exc:
            raise AnsibleActionFail(to_text(exc))
        if self._task.check_mode:
            changed = [name for name in report.FILES if self._differs(os.path.join(dest, name), contents[name])]
        else:
            try:
                changed = report.write_all(dest, contents)
            except (IOError, OSError) as exc:
                raise AnsibleActionFail('cannot write the report into %s: %s' % (dest, to_text(exc)))
        result.update(changed=bool(changed), dest=dest, files=[os.path.join(dest, name) for name in report.FILES],
                      summary=data['summary'])
        return result

    @staticmethod
    def _differs(path, text):
        try:
            with open(path, 'rb') as current:
                return current.read() != text.encode('utf-8')
        except (IOError, OSError):
            return True
