#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 fleet.ipsec contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: service_state
short_description: Whether a few named services are installed, running and enabled at boot
version_added: 0.1.0
description:
  - Reports, for each service of O(names), whether it is installed, running, and enabled at boot, in one
    module run, so that the roles start, enable or stop only what is not as it should be.
  - M(ansible.builtin.service_facts) answers the same for every service of the host; on Debian it runs
    each SysV init script's C(status), which took 26 s per run on the lab's guests. This asks only about
    the named ones (C(systemctl show) on systemd; the rc.d script's C(onestatus) and C(enabled) on the
    BSDs).
author:
  - fleet.ipsec contributors (@fleet-ipsec)
options:
  names:
    description:
      - Service names, without systemd's C(.service) suffix.
    type: list
    elements: str
    required: true
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    platforms: posix
    details: systemd hosts, and FreeBSD and NetBSD with rc.d.
seealso:
  - module: ansible.builtin.service_facts
'''

EXAMPLES = r'''
- name: Ask about racoon and the daemons that would compete with it
  fleet.ipsec.service_state:
    names: [racoon, strongswan, strongswan-starter]
  register: services
'''

RETURN = r'''
services:
  description: One entry per name of O(names).
  returned: success
  type: dict
  sample:
    racoon: {installed: true, running: true, enabled: true}
    strongswan: {installed: false, running: false, enabled: false}
'''

import os
import time

from ansible.module_utils.basic import AnsibleModule

_SHOW_ATTEMPTS = 3


def _systemd_show(module, systemctl, units):
    """{unit name or alias: its KEY=value block} from one `systemctl show`."""
    rc, out, err = module.run_command([systemctl, 'show', '--property=Id,Names,LoadState,ActiveState,UnitFileState', '--'] + units)
    if rc != 0:
        module.fail_json(msg='systemctl show failed: %s' % err.strip(), rc=rc)
    # One block of KEY=value lines per unit, separated by blank lines; each block names its unit
    # (Id, and Names with its aliases), so a block that is missing or out of order cannot lend one
    # unit's state to another.
    blocks = [dict(line.split('=', 1) for line in block.splitlines() if '=' in line)
              for block in out.strip().split('\n\n')]
    by_unit = {}
    for block in blocks:
        for unit in [block.get('Id')] + block.get('Names', '').split():
            by_unit.setdefault(unit, block)
    return by_unit, out


def _systemd(module, names):
    systemctl = module.get_bin_path('systemctl', required=True)
    units = ['%s.service' % name for name in names]
    # On the lab's guests systemctl show has, now and then, exited 0 having printed nothing at all
    # (twice in two converges of six guests; never when run 200 times in a row on an idle guest).
    # Read as "no such service", that made racoon's hosts leave strongSwan on UDP 500. So a unit
    # it does not name is asked for again, and then is an error.
    for attempt in range(_SHOW_ATTEMPTS):
        by_unit, out = _systemd_show(module, systemctl, units)
        missing = [unit for unit in units if unit not in by_unit]
        if not missing:
            break
        if attempt + 1 < _SHOW_ATTEMPTS:
            time.sleep(1)
    else:
        module.fail_json(msg='systemctl show said nothing of %s (%d attempts); last output: %r'
                         % (', '.join(missing), _SHOW_ATTEMPTS, out))
    services = {}
    for name, unit in zip(names, units):
        block = by_unit[unit]
        installed = block.get('LoadState') == 'loaded'
        services[name] = {
            'installed': installed,
            'running': installed and block.get('ActiveState') in ('active', 'activating', 'reloading'),
            'enabled': installed and block.get('UnitFileState') in ('enabled', 'enabled-runtime', 'static', 'alias'),
        }
    return services


def _rcd(module, names):
    service = module.get_bin_path('service', required=True)
    services = {}
    for name in names:
        installed = any(os.path.exists(os.path.join(directory, name))
                        for directory in ('/etc/rc.d', '/usr/local/etc/rc.d', '/usr/pkg/etc/rc.d'))
        running = enabled = False
        if installed:
            running = module.run_command([service, name, 'onestatus'])[0] == 0
            enabled = module.run_command([service, name, 'enabled'])[0] == 0
        services[name] = {'installed': installed, 'running': running, 'enabled': enabled}
    return services


def main():
    module = AnsibleModule(argument_spec=dict(names=dict(type='list', elements='str', required=True)),
                           supports_check_mode=True)
    names = module.params['names']
    if os.path.isdir('/run/systemd/system'):
        services = _systemd(module, names)
    else:
        services = _rcd(module, names)
    module.exit_json(changed=False, services=services)


if __name__ == '__main__':
    main()
