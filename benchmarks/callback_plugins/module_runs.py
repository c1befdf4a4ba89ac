# -*- coding: utf-8 -*-
# Copyright (c) 2026 fleet.ipsec contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: module_runs
type: aggregate
short_description: Count the module runs on each host (for benchmarks/converge.py)
description:
  - Counts every module an action runs on a host, which is what costs an SSH round trip and a
    Python start there. Counting tasks would undercount; M(ansible.builtin.template), for one, runs
    M(ansible.builtin.stat) and then M(ansible.builtin.copy) or M(ansible.builtin.file).
  - Actions run in forked workers, so each run is appended as one line (host, module) to the file
    named by E(FLEET_IPSEC_MODULE_RUNS); the playbook's end prints the counts per host.
requirements:
  - E(FLEET_IPSEC_MODULE_RUNS) names a file to append to.
'''

import collections
import os

from ansible.plugins.action import ActionBase
from ansible.plugins.callback import CallbackBase

_LOG = os.environ.get('FLEET_IPSEC_MODULE_RUNS')
_execute_module = ActionBase._execute_module


def _counted(self, *args, **kwargs):
    if _LOG:
        task_vars = kwargs.get('task_vars') or {}
        host = self._task.delegate_to or task_vars.get('inventory_hostname', '?')
        name = kwargs.get('module_name') or (args[0] if args else None) or self._task.action
        # O_APPEND writes of one short line do not interleave between the forked workers.
        with open(_LOG, 'a') as handle:
            handle.write('%s\t%s\n' % (host, name))
    return _execute_module(self, *args, **kwargs)


ActionBase._execute_module = _counted


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'aggregate'
    CALLBACK_NAME = 'module_runs'
    CALLBACK_NEEDS_ENABLED = True

    def v2_playbook_on_stats(self, stats):
        if not _LOG or not os.path.exists(_LOG):
            return
        with open(_LOG) as handle:
            counts = collections.Counter(line.split('\t', 1)[0] for line in handle if line.strip())
        self._display.display('module runs: ' + ', '.join('%s=%d' % item for item in sorted(counts.items())))
