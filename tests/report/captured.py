# Copyright (c) 2026 fleet.ipsec contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A fleet of local hosts whose kernels are the captured dumps in tests/fixtures.

`make(directory)` writes an inventory in which every host runs through the local connection
with an interpreter wrapper that puts a host-specific bin/ first on PATH: there, `setkey` and
`ip` print that host's captured `setkey -D`/`-DP` or `ip -s xfrm state`/`policy` (or fail, as
on a kernel without PF_KEY). The real playbooks/verify.yml and the real verify module then read
and judge them, and the report step writes the report.

| host | kernel | expected |
| --- | --- | --- |
| g1, g2 | strongSwan IKEv1 captures (Linux, ip xfrm) | g1-g2 up |
| g3 | neither setkey nor ip works | g1-g3 unknown (g1 has no policy for it) |
| r2 | FreeBSD if_ipsec capture (setkey) | vti (to r4, outside the inventory) up |
| itts | ipsec-tools transport capture (setkey) | itts (to 202.141.176.3, outside) up |
| east | libreswan FreeBSD capture, SPIs redacted | east-west negotiating at east |
| west | FreeBSD capture before the tunnel existed | no_policy at west |
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import stat
import sys

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, '..', 'fixtures')

# host -> (how its kernel is read, its dumps)
KERNELS = {
    'g1': ('xfrm', 'ikev1-g1-ip-s-xfrm-state', 'ikev1-g1-ip-xfrm-policy'),
    'g2': ('xfrm', 'ikev1-g2-ip-s-xfrm-state', 'ikev1-g2-ip-xfrm-policy'),
    'g3': ('broken', None, None),
    'r2': ('setkey', 'freebsd-vti-setkey-D', 'freebsd-vti-setkey-DP'),
    'itts': ('setkey', 'linux-ipsec-tools-itts-setkey-D', 'linux-ipsec-tools-itts-setkey-DP'),
    'east': ('setkey', 'freebsd-libreswan-setkey-D', 'freebsd-libreswan-setkey-DP'),
    'west': ('setkey', 'no-sad-entries', 'no-spd-entries'),
}
HOSTS = {
    'g1': {'ipsec_address': '10.77.0.11', 'ipsec_subnets': ['10.101.1.0/24']},
    'g2': {'ipsec_address': '10.77.0.12', 'ipsec_subnets': ['10.101.2.0/24']},
    'g3': {'ipsec_address': '10.77.0.13', 'ipsec_subnets': ['10.101.3.0/24']},
    'r2': {'ipsec_address': '10.0.23.2'},
    'itts': {'ipsec_address': '202.141.176.2'},
    'east': {'ipsec_address': '192.1.2.45', 'ipsec_subnets': ['192.0.1.0/24']},
    'west': {'ipsec_address': '192.1.2.23', 'ipsec_subnets': ['192.0.2.0/24']},
}
TUNNELS = [
    {'name': 'g1-g2', 'hosts': ['g1', 'g2']},
    {'name': 'g1-g3', 'hosts': ['g1', 'g3']},
    {'name': 'vti', 'hosts': ['r2', {'name': 'r4', 'address': '10.0.34.4'}],
     'selectors': {'r2': ['0.0.0.0/0'], 'r4': ['0.0.0.0/0']}},
    {'name': 'itts', 'hosts': ['itts', '202.141.176.3'], 'mode': 'transport'},
    {'name': 'east-west', 'hosts': ['east', 'west']},
]
EXPECTED = {'g1-g2': 'up', 'g1-g3': 'unknown', 'vti': 'up', 'itts': 'up', 'east-west': 'no_policy'}

SETKEY = '''#!/bin/sh
# setkey -D / -DP of this host: a captured dump.
case "$1" in
  -D) [ "$2" = "-P" ] && exec cat %(spd)s; exec cat %(sad)s ;;
  -DP) exec cat %(spd)s ;;
esac
echo "setkey: unexpected arguments: $*" >&2; exit 2
'''
IP = '''#!/bin/sh
# ip -s xfrm state|policy of this host: a captured dump.
case "$*" in
  "-s xfrm state") exec cat %(state)s ;;
  "-s xfrm policy") exec cat %(policy)s ;;
esac
echo "ip: unexpected arguments: $*" >&2; exit 2
'''
# What Linux's setkey says on a kernel without PF_KEY.
NO_PFKEY = '''#!/bin/sh
echo "socket: Address family not supported by protocol" >&2; exit 1
'''
NO_XFRM = '''#!/bin/sh
echo "RTNETLINK answers: Operation not permitted" >&2; exit 2
'''
PYTHON = '''#!/bin/sh
PATH=%(bin)s:$PATH exec %(python)s "$@"
'''


def _script(path, text):
    with open(path, 'w') as f:
        f.write(text)
    os.chmod(path, stat.S_IRWXU | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH)


def _fixture(kind, name):
    return os.path.abspath(os.path.join(FIXTURES, kind, name + '.txt'))


def make(directory, psk_master, python=sys.executable):
    """Write the fake kernels and an inventory under `directory`; the inventory's path."""
    hosts = {}
    for host, (kind, sad, spd) in sorted(KERNELS.items()):
        bin_dir = os.path.join(directory, host, 'bin')
        os.makedirs(bin_dir)
        variables = dict(HOSTS[host], ansible_connection='local',
                         ansible_python_interpreter=os.path.join(directory, host, 'python'))
        if kind == 'setkey':
            _script(os.path.join(bin_dir, 'setkey'), SETKEY % {'sad': _fixture('setkey', sad), 'spd': _fixture('setkey', spd)})
            variables.update(ipsec_backend='racoon', ipsec_os_family='FreeBSD',
                             setkey_binary=os.path.join(bin_dir, 'setkey'))
        elif kind == 'xfrm':
            _script(os.path.join(bin_dir, 'setkey'), NO_PFKEY)
            _script(os.path.join(bin_dir, 'ip'), IP % {'state': _fixture('xfrm', sad), 'policy': _fixture('xfrm', spd)})
            variables.update(ipsec_backend='strongswan', ipsec_os_family='Debian')
        else:
            _script(os.path.join(bin_dir, 'setkey'), NO_PFKEY)
            _script(os.path.join(bin_dir, 'ip'), NO_XFRM)
            variables.update(ipsec_backend='strongswan', ipsec_os_family='Debian')
        _script(variables['ansible_python_interpreter'], PYTHON % {'bin': bin_dir, 'python': python})
        hosts[host] = variables
    inventory = {'all': {'hosts': hosts, 'vars': {'ipsec_psk_master': psk_master, 'ipsec_tunnels': TUNNELS}}}
    path = os.path.join(directory, 'inventory.yml')
    with open(path, 'w') as f:
        yaml.safe_dump(inventory, f, default_flow_style=False)
    return path
