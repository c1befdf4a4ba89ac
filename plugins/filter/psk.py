# -*- coding: utf-8 -*-
# Copyright (c) 2026 fleet.ipsec contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: psk
short_description: The pre-shared key of a peer in the IPsec plan
version_added: 0.1.0
author:
  - fleet.ipsec contributors (@fleet-ipsec)
description:
  - Takes a peer record of the plan (from M(fleet.ipsec.plan)) and returns its pre-shared key.
  - A derived key is HMAC-SHA256 of O(master) over a label holding the tunnel name and the
    rotation generation, so both ends compute the same key independently.
  - An explicit key is looked up in O(tunnels) (C(ipsec_tunnels)) or O(topologies) (C(ipsec_topologies)).
  - Only use it in tasks with C(no_log=true) and C(diff=false).
options:
  _input:
    description: A peer record of a host's plan slice (needs C(tunnel) and C(psk_ref)).
    type: dict
    required: true
  master:
    description: The master secret, C(ipsec_psk_master).
    type: str
  tunnels:
    description: C(ipsec_tunnels), for explicit keys.
    type: list
    elements: dict
  topologies:
    description: C(ipsec_topologies), for explicit keys.
    type: list
    elements: dict
'''

EXAMPLES = r'''
- name: Write racoon's key file (never logged, never diffed)
  ansible.builtin.template:
    src: psk.txt.j2   # {{ peer.address }} {{ peer | fleet.ipsec.psk(ipsec_psk_master, ipsec_tunnels, ipsec_topologies) }}
    dest: /usr/local/etc/racoon/psk.txt
    mode: "0600"
  no_log: true
  diff: false
'''

RETURN = r'''
_value:
  description: The pre-shared key.
  type: str
'''

from ansible.errors import AnsibleFilterError

from ansible_collections.fleet.ipsec.plugins.module_utils.psk import PskError, resolve


def psk(peer, master=None, tunnels=None, topologies=None):
    try:
        return resolve(peer['tunnel'], peer['psk_ref'], master, tunnels, topologies)
    except (KeyError, TypeError):
        raise AnsibleFilterError('fleet.ipsec.psk expects a peer record of the plan (with tunnel and psk_ref)')
    except PskError as exc:
        raise AnsibleFilterError(str(exc))


class FilterModule(object):
    def filters(self):
        return {'psk': psk}
