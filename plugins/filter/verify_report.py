# -*- coding: utf-8 -*-
# Copyright (c) 2026 fleet.ipsec contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: verify_report
short_description: Match both ends of every tunnel and tabulate the verdicts
version_added: 0.1.0
author:
  - fleet.ipsec contributors (@fleet-ipsec)
description:
  - Takes the hosts of the play and, from each host's registered M(fleet.ipsec.verify) result,
    joins the two ends of every tunnel.
  - An end's outbound SPI must be the other end's inbound SPI and the reverse; when both ends say
    V(up) but the SPIs differ, the tunnel is V(stale) (keys out of sync, as after a reboot).
  - Returns the rows and a text table with the columns tunnel, ends, verdict, SPIs, bytes, age.
options:
  _input:
    description: Host names (usually C(ansible_play_hosts)).
    type: list
    elements: str
    required: true
  hostvars:
    description: C(hostvars).
    type: dict
    required: true
  result:
    description: The name each host registered its M(fleet.ipsec.verify) result under.
    type: str
    default: ipsec_verify
'''

EXAMPLES = r'''
- name: Print the table of every tunnel
  ansible.builtin.debug:
    msg: "{{ (ansible_play_hosts | fleet.ipsec.verify_report(hostvars)).table }}"
  run_once: true
'''

RETURN = r'''
_value:
  description: C(rows) (one per tunnel, with C(tunnel), C(ends), C(verdict), C(reasons), C(spis), C(bytes), C(age)),
    C(table) (lines of text) and C(down) (the rows whose verdict is not V(up)).
  type: dict
'''

from ansible_collections.fleet.ipsec.plugins.module_utils.verdict import UP, match_ends, table, unverified


def verify_report(hosts, hostvars, result='ipsec_verify', plan='tunnels_plan'):
    results = {}
    for host in hosts:
        registered = hostvars[host].get(result) or {}
        expected = ((hostvars[host].get(plan) or {}).get('hosts') or {}).get(host, {}).get('peers') or []
        results[host] = unverified(expected, registered.get('tunnels') or [],
                                   registered.get('msg') or 'no verify result (host unreachable or skipped)')
    rows = match_ends(results)
    return {'rows': rows, 'table': table(rows), 'down': [row for row in rows if row['verdict'] != UP]}


class FilterModule(object):
    def filters(self):
        return {'verify_report': verify_report}
