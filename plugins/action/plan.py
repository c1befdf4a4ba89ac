# -*- coding: utf-8 -*-
# Copyright (c) 2026 fleet.ipsec contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleActionFail
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
    _VALID_ARGS = frozenset(('hosts', 'unknown_peers'))

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

    @staticmethod
    def _unknown_peers(names, all_hostvars):
        """The hosts this run knows nothing of, when it knows something of others: no facts
        (gathered now, or cached from an earlier run) and not both ipsec_os_family and
        ipsec_address in the inventory. A run limited to some hosts (--limit, serial, a host that
        did not answer) would plan them with defaults (FreeBSD, ansible_host), and so could give
        their peers in the run settings that the hosts themselves do not share."""
        if not any((all_hostvars[name].get('ansible_facts') or {}).get('os_family') for name in names):
            return []  # no host has facts (render mode, a plan without SSH): defaults for all, alike
        return sorted(name for name in names
                      if not (all_hostvars[name].get('ansible_facts') or {}).get('os_family')
                      and not (all_hostvars[name].get('ipsec_os_family') and all_hostvars[name].get('ipsec_address')))

    def _refuse_unknown_peers(self, plan, unknown, task_vars, result):
        """With unknown_peers=refuse (site.yml), a host of this run whose peer is unknown is an
        error that names both; otherwise (verify, remove, plan) a warning."""
        if not unknown:
            return None
        in_run = set(task_vars.get('ansible_play_hosts_all') or plan['hosts'])
        unknown = set(unknown)
        cases = []
        for tunnel in plan['tunnels']:
            for here, there in (tunnel['hosts'], reversed(tunnel['hosts'])):
                if here in in_run and there in unknown:
                    cases.append('tunnel %s: %s is in this run, its peer %s is not known' % (tunnel['name'], here, there))
        if not cases:
            return None
        why = ('%d tunnel end(s) of this run have a peer this run knows nothing of (no facts gathered or cached, and not '
               'both ipsec_os_family and ipsec_address in the inventory), so the peer would be planned as FreeBSD at '
               'ansible_host, which can change what its partner in this run is given:\n  %s\nSet ipsec_os_family and '
               'ipsec_address for those hosts, turn on fact caching so that an earlier run\'s facts are used, or '
               'include them in the run.' % (len(cases), '\n  '.join(cases[:20] + (['...'] if len(cases) > 20 else []))))
        if self._task.args.get('unknown_peers', 'warn') == 'refuse':
            return why + ' No host was touched.'
        result.setdefault('warnings', []).append(why)
        return None

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        task_vars = task_vars or {}
        args = self._task.args
        if args.get('unknown_peers', 'warn') not in ('warn', 'refuse'):
            raise AnsibleActionFail('unknown_peers: %r is not one of warn, refuse' % (args.get('unknown_peers'),))
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
        unknown_peers = self._unknown_peers(names, all_hostvars)
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
        refusal = self._refuse_unknown_peers(plan, unknown_peers, task_vars, result)
        if refusal:
            result['failed'] = True
            result['msg'] = refusal
            return result
        result['changed'] = False
        result['tunnels'] = len(plan['tunnels'])
        result['hosts'] = len(plan['hosts'])
        # A result, not a fact: Ansible deep-copies every fact of a host for each of its tasks,
        # so a fleet's plan as a fact on every host made each task cost O(fleet) (render mode:
        # 0.3 s per host-task at 200 hosts). The caller hands it on with set_fact, which does not.
        result['plan'] = plan
        return result
