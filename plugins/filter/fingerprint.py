# -*- coding: utf-8 -*-
# Copyright (c) 2026 fleet.ipsec contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: fingerprint
short_description: A digest of a peer's settings in the IPsec plan
version_added: 0.1.0
author:
  - fleet.ipsec contributors (@fleet-ipsec)
description:
  - "Takes a peer record of the plan (from M(fleet.ipsec.plan)) and returns C(<tunnel>: <digest>), where
    the digest covers everything the record says: addresses, proposals, selectors and the key reference
    (source and generation, never a key)."
  - The backend roles write it beside each peer's block in the IKE daemon's configuration. When a run
    rewrites that file, the fingerprints missing from the old file name the tunnels whose settings
    changed, and those are re-keyed in the same run.
options:
  _input:
    description: A peer record of a host's plan slice.
    type: dict
    required: true
'''

EXAMPLES = r'''
- name: Show the fingerprint of each of this host's tunnels
  ansible.builtin.debug:
    msg: "{{ tunnels_host_plan.peers | map('fleet.ipsec.fingerprint') | list }}"
  # ['gluon-mason: 3f1c0a9d2b7e4c51']
'''

RETURN = r'''
_value:
  description: "C(<tunnel>: <16 hex digits>)."
  type: str
'''

from ansible.errors import AnsibleFilterError

from ansible_collections.fleet.ipsec.plugins.module_utils.plan import peer_fingerprint


def fingerprint(peer):
    try:
        return peer_fingerprint(peer)
    except (KeyError, TypeError, ValueError):
        raise AnsibleFilterError('fleet.ipsec.fingerprint expects a peer record of the plan (with tunnel)')


class FilterModule(object):
    def filters(self):
        return {'fingerprint': fingerprint}
