#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 fleet.ipsec contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: plan
short_description: Validate the IPsec inventory and compute every host's plan
version_added: 0.1.0
description:
  - Reads C(ipsec_tunnels), C(ipsec_topologies), C(ipsec_psk_master), C(ipsec_defaults),
    C(ipsec_management_networks), C(ipsec_management_networks_allow_overlap) and each host's
    C(ipsec_address), C(ipsec_subnets), C(ipsec_backend) and C(ipsec_os_family) (else its gathered
    C(os_family)), validates all of it, expands the topologies into tunnels and cuts the result into
    one slice per host.
  - Every problem is reported at once, each naming the tunnel (or topology, or host) and the field,
    before any host is touched.
  - The inventory is treated as untrusted input. Names (tunnels, topologies, inventory hosts, peers
    outside the inventory) are refused unless they are one word of a few safe characters, explicit
    keys unless both backends' key files read them as the same bytes, whole numbers unless they are
    plain ASCII digits, an OS family unless the host's backend roles support it, and a management
    network that covers a tunnel's peer or selectors unless
    C(ipsec_management_networks_allow_overlap) names it. C(docs/plan.md) of the collection says
    exactly what names and keys may contain, and why.
  - Run it once per play (C(run_once=true)), register the result and hand RV(plan) to every host of the
    play with M(ansible.builtin.set_fact) (C(run_once=true)), as the C(tunnels) role's C(plan) tasks do.
  - The plan contains no key. Peers carry a C(psk_ref) that the P(fleet.ipsec.psk#filter) filter
    resolves inside C(no_log) tasks.
  - This is an action plugin; it runs on the controller only.
author:
  - fleet.ipsec contributors (@fleet-ipsec)
options:
  hosts:
    description:
      - Inventory hosts to read addresses from. Defaults to every host of the inventory, so the plan
        is the same whatever C(--limit) says.
    type: list
    elements: str
  unknown_peers:
    description:
      - What to do when a host of this run has a tunnel to a host the run knows nothing of. That is a host
        with no facts (not gathered in this run, for example because of C(--limit), C(serial) or because it
        did not answer, and none in the fact cache) and not both C(ipsec_os_family) and C(ipsec_address) in
        the inventory, while other hosts do have facts. Such a host is planned as FreeBSD at C(ansible_host),
        which can change what its peers in the run are given.
      - V(refuse) fails, naming each such tunnel and both ends, before any host is touched (what
        C(site.yml) does). V(warn) plans with the defaults and says so (verify, remove, plan).
      - A run in which no host has facts (render mode) plans every host with the defaults alike.
    type: str
    choices: [warn, refuse]
    default: warn
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
attributes:
  action:
    support: full
  async:
    support: none
  bypass_host_loop:
    support: none
  check_mode:
    support: full
    details: Computes the plan; changes nothing anywhere.
  diff_mode:
    support: none
  platform:
    platforms: all
seealso:
  - name: Plan format
    description: What each host's slice holds.
    link: https://github.com/fleet-ipsec/fleet.ipsec/blob/main/docs/plan.md
notes:
  - The data layout of the plan is described in C(docs/plan.md) of the collection.
  - The plan is returned, not set as a fact. Ansible deep-copies a host's facts for every task it runs
    on that host, so a whole fleet's plan as a fact on every host would make each task cost time in
    proportion to the fleet. A variable set by M(ansible.builtin.set_fact) is shared, not copied.
'''

EXAMPLES = r'''
- name: Validate the inventory and plan every tunnel
  fleet.ipsec.plan:
  run_once: true
  register: planned

- name: Give every host of the play the plan
  ansible.builtin.set_fact:
    tunnels_plan: "{{ planned.plan }}"
  run_once: true

- name: Plan from the hosts of one group only
  fleet.ipsec.plan:
    hosts: "{{ groups['vpn'] }}"
  run_once: true
  register: vpn_planned
'''

RETURN = r'''
tunnels:
  description: Number of tunnels in the plan.
  returned: success
  type: int
  sample: 1
hosts:
  description: Number of inventory hosts with a slice.
  returned: success
  type: int
  sample: 2
errors:
  description: Every validation problem, one per item.
  returned: failure
  type: list
  elements: str
  sample:
    - "tunnel 'gluon-mason': selectors.mason[0]: '10.0.0.300/32' is not an IP network"
plan:
  description: The plan; see C(docs/plan.md). It holds no key.
  returned: success
  type: dict
'''
