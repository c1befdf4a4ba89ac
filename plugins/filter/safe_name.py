# -*- coding: utf-8 -*-
# Copyright (c) 2026 fleet.ipsec contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: safe_name
short_description: A name from the IPsec plan, checked to be one word of a configuration file
version_added: 0.1.0
author:
  - fleet.ipsec contributors (@fleet-ipsec)
description:
  - Takes a tunnel, child, host or peer name and returns it unchanged if it can be written into a
    configuration file as one word, and fails the task otherwise.
  - The backend roles' templates write every name through it. M(fleet.ipsec.plan) has refused every
    name that could add a line, a block or a path component already; this filter is the second line
    of defence, where a name is written.
  - A word is ASCII letters, digits, C(.), C(-), C(_) and C(:) (IPv6 addresses), not starting with
    C(.) or C(-), at most 253 characters. With O(grammar=swanctl), a strongSwan section name, C(.)
    is refused too (swanctl splits names at dots when it reads them back) and the word is at most
    115 characters.
options:
  _input:
    description: The name.
    type: str
    required: true
  grammar:
    description: Where the name goes.
    type: str
    choices:
      comment: a comment, or anywhere one word of the characters above is safe
      swanctl: a section name in swanctl's configuration
    default: comment
'''

EXAMPLES = r'''
- name: Name each of this host's strongSwan connections
  ansible.builtin.debug:
    msg: "{{ tunnels_host_plan.peers | map(attribute='tunnel') | map('fleet.ipsec.safe_name', 'swanctl') | list }}"
  # ['gluon-mason']
'''

RETURN = r'''
_value:
  description: The name, unchanged.
  type: str
'''

from ansible.errors import AnsibleFilterError

from ansible_collections.fleet.ipsec.plugins.module_utils.model import config_word_problem, shown


def safe_name(name, grammar='comment'):
    problem = config_word_problem(name, grammar)
    if problem:
        raise AnsibleFilterError("fleet.ipsec.safe_name: '%s' cannot be written into a configuration file (%s): %s"
                                 % (shown(name), grammar, problem))
    return name


class FilterModule(object):
    def filters(self):
        return {'safe_name': safe_name}
