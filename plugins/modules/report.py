#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 fleet.ipsec contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: report
short_description: Write the verify report (HTML page, JSON, JUnit XML, Prometheus metrics) on the controller
version_added: 0.1.0
description:
  - The report step of C(playbooks/verify.yml) (C(-e ipsec_report_dir=DIR)). Joins the two ends of every
    tunnel from each host's registered M(fleet.ipsec.verify) result, as the P(fleet.ipsec.verify_report#filter)
    filter does, and writes four files into O(dest).
  - C(index.html) is one self-contained page (inline CSS and SVG, no network needed to view it) with a map of
    the fleet (hosts as nodes, tunnels as edges coloured by verdict), each tunnel that is not up with its
    reasons and the next step, and a sortable table of every tunnel.
  - C(verify.json) holds the same data; its schema is in C(docs/report.md) of the collection.
  - C(junit.xml) has one test case per tunnel, failed when the tunnel is not up.
  - C(ipsec.prom) is in the Prometheus text format, for node_exporter's textfile collector.
  - Each file is replaced atomically (a temporary file in O(dest), then a rename), so a reader sees the old
    file or the new one, never part of one.
  - No key, key hash or master reaches any of the files; only named fields of the plan and of the results are
    copied.
  - This is an action plugin; it runs on the controller only and writes only there. Run it once
    (C(run_once=true)) after every host has run M(fleet.ipsec.verify).
author:
  - fleet.ipsec contributors (@fleet-ipsec)
options:
  dest:
    description:
      - Directory on the controller to write the files into; made (0755) if missing.
    type: path
    required: true
  hosts:
    description:
      - The hosts whose results to report.
      - Defaults to C(ansible_play_hosts_all), so that hosts that failed or were unreachable are reported too.
    type: list
    elements: str
  result:
    description:
      - The name each host registered its M(fleet.ipsec.verify) result under.
    type: str
    default: ipsec_verify
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
    details: Says which files would change, and writes none.
  diff_mode:
    support: none
  platform:
    platforms: posix
    details: Writes on the controller.
requirements:
  - networkx, numpy and scipy on the controller (for the layout of the map); the versions it supports are in
    the collection's C(requirements.txt).
seealso:
  - module: fleet.ipsec.verify
  - plugin: fleet.ipsec.verify_report
    plugin_type: filter
  - name: Report format
    description: The schema of verify.json and the metrics of ipsec.prom.
    link: https://github.com/fleet-ipsec/fleet.ipsec/blob/main/docs/report.md
notes:
  - The map's layout is deterministic (a fixed seed), so two reports of the same fleet look alike.
'''

EXAMPLES = r'''
- name: Judge this host's tunnels
  fleet.ipsec.verify:
    peers: "{{ tunnels_plan.hosts[inventory_hostname].peers }}"
  register: ipsec_verify
  failed_when: false

- name: Write the report files into /var/lib/fleet-ipsec/report
  fleet.ipsec.report:
    dest: /var/lib/fleet-ipsec/report
  run_once: true
  delegate_to: localhost
'''

RETURN = r'''
dest:
  description: The directory the files are in.
  returned: always
  type: str
  sample: /var/lib/fleet-ipsec/report
files:
  description: The four files, C(index.html), C(verify.json), C(junit.xml) and C(ipsec.prom), with their paths.
  returned: always
  type: list
  elements: str
  sample: [/var/lib/fleet-ipsec/report/index.html, /var/lib/fleet-ipsec/report/verify.json]
summary:
  description: Counts of hosts and tunnels, and of tunnels per verdict (as in C(verify.json)).
  returned: always
  type: dict
  sample: {hosts: 6, tunnels: 5, up: 5, not_up: 0, verdicts: {up: 5, half_up: 0, stale: 0, negotiating: 0,
           no_sa: 0, no_policy: 0, unknown: 0}}
'''
