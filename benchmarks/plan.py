# Copyright (c) 2026 fleet.ipsec contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Plan a synthetic 1,000-host full mesh and a 1-hub, 5,000-spoke star.

Prints seconds and tunnels per second for each, measured in this one run, and whether each
is within its bound on the project's 2-core machine: the mesh (a stress case, not a fleet)
at most 6 s, the star at most 1 s. A benchmark, not a test: the machine is shared, and its
load moves these figures by a factor of two.
"""

import argparse
import gc
import importlib
import os
import sys
import time

# tests/conftest.py makes this checkout importable as ansible_collections.fleet.ipsec.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'tests'))
importlib.import_module('conftest')
build_plan = importlib.import_module('ansible_collections.fleet.ipsec.plugins.module_utils.plan').build_plan


def host_address(index):
    return '10.%d.%d.%d' % (index // 65536, (index // 256) % 256, index % 256 or 1)


def mesh(count):
    hosts = dict(('m%04d' % i, {'address': '10.%d.%d.1' % (i // 256, i % 256)}) for i in range(count))
    return {'hosts': hosts, 'psk_master': 'benchmark-master-secret-0123456789',
            'topologies': [{'name': 'core', 'type': 'mesh', 'hosts': sorted(hosts), 'mode': 'transport'}]}


def star(spokes):
    hosts = {'hub': {'address': '172.16.0.1', 'subnets': ['172.16.0.0/24']}}
    for i in range(spokes):
        hosts['s%05d' % i] = {'address': '10.%d.%d.1' % (i // 256, i % 256),
                              'subnets': ['10.%d.%d.0/24' % (100 + i // 256, i % 256)]}
    return {'hosts': hosts, 'psk_master': 'benchmark-master-secret-0123456789',
            'topologies': [{'name': 'branches', 'type': 'hub_and_spoke', 'hubs': ['hub'],
                            'spokes': sorted(h for h in hosts if h != 'hub')}]}


def measure(label, inventory, bound):
    gc.collect()
    started = time.perf_counter()
    plan = build_plan(inventory)
    seconds = time.perf_counter() - started
    tunnels = len(plan['tunnels'])
    policies = sum(len(h['policies']) for h in plan['hosts'].values())
    print('%-28s %8d tunnels %9d policies %7.2f s %10.0f tunnels/s  bound %.1f s: %s'
          % (label, tunnels, policies, seconds, tunnels / seconds, bound, 'met' if seconds <= bound else 'MISSED'))


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--mesh', type=int, default=1000)
    parser.add_argument('--spokes', type=int, default=5000)
    args = parser.parse_args()
    measure('mesh of %d hosts' % args.mesh, mesh(args.mesh), 6.0)
    measure('star, 1 hub %d spokes' % args.spokes, star(args.spokes), 1.0)


if __name__ == '__main__':
    main()
