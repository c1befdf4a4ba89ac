# -*- coding: utf-8 -*-
# Copyright (c) 2026 fleet.ipsec contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: kill_at
type: aggregate
short_description: Kill ansible-playbook with SIGKILL at a chosen task (the lab's interrupted roll-outs)
description:
  - Counts the tasks as the play starts them (handlers too). With E(FLEET_IPSEC_LAB_KILL_AT) set to a number N
    it kills the run at the start of the N-th task, or, set to a task's name, at the start of the first task
    of that name; E(FLEET_IPSEC_LAB_KILL_DELAY) seconds later (default 0), so that the kill can land while
    the workers are running that task on the hosts. A run that ends first is killed before its recap.
  - The kill is SIGKILL to every process below ansible-playbook (workers, their SSH clients) and then to
    ansible-playbook itself, as when the controller dies; nothing gets to clean up.
  - Before it kills, it writes one line to E(FLEET_IPSEC_LAB_KILL_LOG) (appended), C(<number> <name>) of the
    task. With E(FLEET_IPSEC_LAB_KILL_AT) unset it kills nothing and writes, at the end, the number of
    tasks the run started.
requirements:
  - E(FLEET_IPSEC_LAB_KILL_LOG) names a file to append to.
'''

import os
import signal
import threading

from ansible.plugins.callback import CallbackBase


def _descendants(root):
    """Every process below root, from /proc (Linux)."""
    children = {}
    for name in os.listdir('/proc'):
        if not name.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % name) as handle:
                fields = handle.read().rsplit(')', 1)[1].split()
        except (IOError, OSError, IndexError):
            continue
        children.setdefault(int(fields[1]), []).append(int(name))
    found, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _kill_all():
    for pid in reversed(_descendants(os.getpid())):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    os.kill(os.getpid(), signal.SIGKILL)


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'aggregate'
    CALLBACK_NAME = 'kill_at'
    CALLBACK_NEEDS_ENABLED = False

    def __init__(self):
        super(CallbackModule, self).__init__()
        self._at = os.environ.get('FLEET_IPSEC_LAB_KILL_AT', '')
        self._delay = float(os.environ.get('FLEET_IPSEC_LAB_KILL_DELAY', '0') or 0)
        self._log = os.environ.get('FLEET_IPSEC_LAB_KILL_LOG')
        self._count = 0
        self._armed = False

    def _write(self, line):
        if self._log:
            with open(self._log, 'a') as handle:
                handle.write(line + '\n')
                handle.flush()
                os.fsync(handle.fileno())

    def _started(self, task):
        self._count += 1
        name = task.get_name().strip()
        if not self._at or self._armed:
            return
        if self._at == str(self._count) or self._at == name:
            self._armed = True
            self._write('%d %s' % (self._count, name))
            if self._delay > 0:
                timer = threading.Timer(self._delay, _kill_all)
                timer.daemon = True
                timer.start()
            else:
                _kill_all()

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._started(task)

    def v2_playbook_on_handler_task_start(self, task):
        self._started(task)

    def v2_playbook_on_stats(self, stats):
        if not self._at:
            self._write('%d tasks' % self._count)
        elif not self._armed:
            self._write('%d (the end, before the recap)' % self._count)
            _kill_all()
