# -*- coding: utf-8 -*-
# Copyright (c) 2026 fleet.ipsec contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: bypass
short_description: Management bypass selectors for a host's policy file
version_added: 0.1.0
author:
  - fleet.ipsec contributors (@fleet-ipsec)
description:
  - Takes management networks or addresses (the plan's C(management) list plus the controller's
    address) and returns, for each, the network and the "any" network of its family, without repeats.
  - The setkey role writes one C(none) policy pair per item, ahead of every tunnel policy.
options:
  _input:
    description: Networks or bare addresses, IPv4 or IPv6.
    type: list
    elements: str
    required: true
'''

EXAMPLES = r'''
- name: Show the bypass policies a host would get
  ansible.builtin.debug:
    msg: "{{ ['10.0.0.0/8', '192.0.2.7'] | fleet.ipsec.bypass }}"
  # [{'network': '10.0.0.0/8', 'any': '0.0.0.0/0'}, {'network': '192.0.2.7/32', 'any': '0.0.0.0/0'}]
'''

RETURN = r'''
_value:
  description: One item per distinct network.
  type: list
  elements: dict
  contains:
    network:
      description: The management network in CIDR form.
      type: str
    any:
      description: C(0.0.0.0/0) or C(::/0), the other end of the bypass policy.
      type: str
'''

from ansible.errors import AnsibleFilterError

from ansible_collections.fleet.ipsec.plugins.module_utils.model import ModelError, management_selectors


def bypass(networks):
    try:
        selectors = management_selectors(networks)
    except ModelError as exc:
        raise AnsibleFilterError(str(exc))
    return [{'network': s.text, 'any': '0.0.0.0/0' if s.version == 4 else '::/0'} for s in selectors]


class FilterModule(object):
    def filters(self):
        return {'bypass': bypass}
