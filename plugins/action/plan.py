# -*- coding: utf-8 -*-
# Copyright (c) 2026 fleet.ipsec contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.action import ActionBase

from ansible_collections.fleet.ipsec.plugins.module_utils.model import ModelError, parse_address
from ansible_collections.fleet.ipsec.plugins.module_utils.plan import build_plan


class ActionModule(ActionBase):
    """Feed the inventory to the model once, on the controller, and return the plan.

    Inputs are read from variables, not task arguments, so no PSK passes through the
    task's arguments (which -vvv prints) while the task itself can still show errors.
    """

    TRANSFERS_FILES = False
    _requires_connection = False
    _VALID_ARGS = frozenset(('hosts',))

    def _var(self, task_vars, name, default=None):
        if name not in task_vars:
            return default
        return self._templar.template(task_vars[name])

    @staticmethod
    def _default_address(hostvars):
        """An address for a host without ipsec_address: gathered facts, then ansible_host."""
        facts = hostvars.get('ansible_facts') or {}
        for key in ('default_ipv4', 'default_ipv6'):
            address = (facts.get(key) or {}).get('address')
            if address:
                return address
        candidate = hostvars.get('ansible_host')
        if isinstance(candidate, str) and parse_address(candidate):
            return candidate
        return None

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        task_vars = task_vars or {}
        args = self._task.args
        names = args.get('hosts')
        if names is None:
            names = (task_vars.get('groups') or {}).get('all', [])
        all_hostvars = task_vars['hostvars']
        hosts = {}
        for name in names:
            hostvars = all_hostvars[name]
            gathered = (hostvars.get('ansible_facts') or {}).get('os_family')
            hosts[name] = {
                'address': hostvars.get('ipsec_address') or self._default_address(hostvars),
                'subnets': hostvars.get('ipsec_subnets') or [],
                'backend': hostvars.get('ipsec_backend'),
                # Decides the default backend and how the host's kernel cuts HMAC-SHA-256, and names
                # the vars file each backend role loads: the model checks it against the roles' list.
                'os_family': hostvars.get('ipsec_os_family') or gathered,
                'os_family_gathered': not hostvars.get('ipsec_os_family') and bool(gathered),
            }
        # A run limited to some hosts gathers no facts for the others: those without ipsec_os_family
        # would be planned as FreeBSD, which can change the ESP integrity of a tunnel between racoon on
        # Linux and another end (see the plan's SHA-256 rule) on the hosts that are in the run.
        unknown = sorted(name for name in names if not hosts[name]['os_family'])
        if unknown and any(hosts[name]['os_family'] for name in names if not all_hostvars[name].get('ipsec_os_family')):
            result.setdefault('warnings', []).append(
                'No OS family known for %s (not in this run, no ipsec_os_family): planned as FreeBSD. If they are not '
                'FreeBSD, set ipsec_os_family for them, or the hosts in this run may get a plan their peers do not share.'
                % ', '.join(unknown[:10] + (['...'] if len(unknown) > 10 else [])))
        inventory = {
            'hosts': hosts,
            'tunnels': self._var(task_vars, 'ipsec_tunnels', []),
            'topologies': self._var(task_vars, 'ipsec_topologies', []),
            'psk_master': self._var(task_vars, 'ipsec_psk_master'),
            'defaults': self._var(task_vars, 'ipsec_defaults', {}),
            'management': self._var(task_vars, 'ipsec_management_networks', []),
            'management_allow_overlap': self._var(task_vars, 'ipsec_management_networks_allow_overlap', False),
        }
        try:
            plan = build_plan(inventory)
        except ModelError as exc:
            result['failed'] = True
            result['errors'] = exc.errors
            result['msg'] = 'The IPsec inventory has %d problem(s); no host was touched:\n%s' % (
                len(exc.errors), to_text(exc))
            return result
        result['changed'] = False
        result['tunnels'] = len(plan['tunnels'])
        result['hosts'] = len(plan['hosts'])
        # A result, not a fact: Ansible deep-copies every fact of a host for each of its tasks,
        # so a fleet's plan as a fact on every host made each task cost O(fleet) (render mode:
        # 0.3 s per host-task at 200 hosts). The caller hands it on with set_fact, which does not.
        result['plan'] = plan
        return result
