#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 fleet.ipsec contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: sa_info
short_description: Read the kernel's IPsec SAs and security policies, without keys
version_added: 0.1.0
description:
  - Reads the security association database and the security policy database of the host.
  - Uses C(setkey -D) and C(setkey -DP) where setkey works (FreeBSD, NetBSD, ipsec-tools on Linux),
    and C(ip -s xfrm state) and C(ip -s xfrm policy) otherwise (Linux without PF_KEY or setkey).
  - Both formats are parsed into records with the same keys, so hosts of either kind compare
    field by field.
  - Key material is dropped while parsing. No key, not even its length, is ever returned or logged.
author:
  - fleet.ipsec contributors (@fleet-ipsec)

extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - fleet.ipsec.kernel_state
attributes:
  check_mode:
    support: full
    details: The module only reads.
seealso:
  - module: fleet.ipsec.verify
'''

EXAMPLES = r'''
- name: Read the SAs and policies
  fleet.ipsec.sa_info:
  register: kernel

- name: Show the SPIs of the installed ESP SAs
  ansible.builtin.debug:
    msg: "{{ kernel.sas | map(attribute='spi_hex') | list }}"
'''

RETURN = r'''
source:
  description: The tool that was read, V(setkey) or V(xfrm).
  returned: success
  type: str
  sample: setkey
sas:
  description:
    - The SAs, one record each. Keys are the same for both sources; a field a source does not print is null.
    - Algorithms come as printed (C(enc), C(auth)) and normalised (C(enc_norm), C(auth_norm)).
  returned: success
  type: list
  elements: dict
  sample:
    - {src: 192.0.2.10, dst: 198.51.100.1, satype: esp, mode: tunnel, spi: 161382509, spi_hex: "0x099e806d",
       state: mature, enc_norm: aes-cbc, auth_norm: hmac-sha256, bytes: 840, packets: 10, age: 35}
policies:
  description: The security policies, one record each, with their requests (C(esp/tunnel/A-B/require)).
  returned: success
  type: list
  elements: dict
  sample:
    - {src: 192.0.2.10/32, dst: 0.0.0.0/0, proto: any, dir: out, action: ipsec,
       requests: [{proto: esp, mode: tunnel, src: 192.0.2.10, dst: 198.51.100.1, level: require}]}
parse_warnings:
  description: Lines of the dumps that were not understood (with any hex run masked).
  returned: success
  type: list
  elements: str
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.fleet.ipsec.plugins.module_utils.kernel import SOURCES, KernelStateError, read


def main():
    module = AnsibleModule(
        argument_spec=dict(source=dict(type='str', choices=list(SOURCES), default='auto'),
                           setkey_path=dict(type='path')),
        supports_check_mode=True,
    )
    try:
        source, sas, policies, warnings = read(
            module.run_command, module.get_bin_path, module.params['source'], module.params['setkey_path'])
    except KernelStateError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=False, source=source, sas=sas, policies=policies, parse_warnings=warnings)


if __name__ == '__main__':
    main()
