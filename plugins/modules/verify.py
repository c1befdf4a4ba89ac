#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 fleet.ipsec contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: verify
short_description: Say, for each tunnel of a host, whether the kernel really carries it
version_added: 0.1.0
description:
  - Compares the host's expected tunnels (its peers in the plan made by M(fleet.ipsec.plan)) with the
    kernel's SPD and SAD, read as M(fleet.ipsec.sa_info) does.
  - Optionally sends trigger traffic first, from inside each local selector to inside the remote one,
    and waits, because an IKE daemon such as racoon only negotiates when traffic hits a policy, and
    the first packets are lost while it does.
  - "Gives every tunnel a verdict: V(up) (policies in both directions and mature SAs both ways),
    V(no_policy), V(negotiating) (larval SAs only), V(no_sa), V(half_up) (an SA one way only) or
    V(stale) (trigger traffic left through the outbound SA and nothing came back)."
  - Fails when any tunnel is not up, with a one-line reason for each such tunnel.
  - Never returns key material.
author:
  - fleet.ipsec contributors (@fleet-ipsec)
options:
  peers:
    description:
      - The host's peer records from the plan, C(tunnels_plan.hosts[inventory_hostname].peers).
    type: list
    elements: dict
    required: true
  trigger:
    description:
      - Send pings from inside each local selector to inside each remote one before judging.
      - The source is the local endpoint when the selector holds it, else an address of the host
        inside the selector; the target is the peer's endpoint when the remote selector holds it,
        else the first address of the remote network (by convention, the far router).
    type: bool
    default: true
  timeout:
    description: Seconds to wait for every tunnel to come up before judging.
    type: int
    default: 30
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - fleet.ipsec.kernel_state
attributes:
  check_mode:
    support: full
    details: In check mode no trigger traffic is sent; the kernel state is judged as it is.
requirements:
  - C(ping) on the host.
seealso:
  - module: fleet.ipsec.sa_info
  - module: fleet.ipsec.plan
'''

EXAMPLES = r'''
- name: Plan the fleet
  fleet.ipsec.plan:
  run_once: true

- name: Check every tunnel of this host, sending trigger traffic first
  fleet.ipsec.verify:
    peers: "{{ tunnels_plan.hosts[inventory_hostname].peers }}"
    timeout: 40
  register: ipsec_verify
'''

RETURN = r'''
source:
  description: The tool that read the kernel state.
  returned: always
  type: str
  sample: xfrm
tunnels:
  description: One result per tunnel of the host, in plan order.
  returned: always
  type: list
  elements: dict
  contains:
    tunnel:
      description: The tunnel's name.
      type: str
    peer:
      description: The other end.
      type: str
    verdict:
      description: One of V(up), V(no_policy), V(negotiating), V(no_sa), V(half_up), V(stale).
      type: str
    reason:
      description: One line saying why.
      type: str
    policies:
      description: Whether every policy of the tunnel is present in both directions.
      type: bool
    missing_policies:
      description: The missing policies, as C(out SRC -> DST) or C(in SRC -> DST).
      type: list
      elements: str
    sa_out:
      description: The outbound SA in use (src, dst, spi, spi_hex, state, bytes, packets, age...), or null.
      type: dict
    sa_in:
      description: The inbound SA, or null.
      type: dict
  sample:
    - tunnel: gluon-mason
      peer: mason
      verdict: up
      reason: policies and mature SAs in both directions
      policies: true
      missing_policies: []
      sa_out: {src: 192.0.2.10, dst: 198.51.100.1, spi_hex: "0x099e806d", bytes: 840, age: 12}
      sa_in: {src: 198.51.100.1, dst: 192.0.2.10, spi_hex: "0x0d8d15b6", bytes: 756, age: 12}
triggers:
  description: The trigger pings sent, as C(SRC -> DST) with their outcome.
  returned: always
  type: list
  elements: str
'''

import ipaddress
import platform
import re
import threading
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.fleet.ipsec.plugins.module_utils.kernel import SOURCES, KernelStateError, read
from ansible_collections.fleet.ipsec.plugins.module_utils.verdict import UP, assess, byte_baseline

_INET = re.compile(r'\binet6?\s+(?:addr:)?([0-9A-Fa-f:.]+)')


def local_addresses(module):
    """Every address configured on the host (Linux `ip -o addr`, BSD `ifconfig -a`)."""
    ip = module.get_bin_path('ip')
    argv = [ip, '-o', 'addr', 'show'] if ip else [module.get_bin_path('ifconfig', required=True), '-a']
    _rc, out, _err = module.run_command(argv)
    found = []
    for text in _INET.findall(out):
        try:
            found.append(ipaddress.ip_address(text.split('%')[0]))
        except ValueError:
            continue
    return found


def trigger_pairs(peers, addresses):
    """(source, target) per child: inside the local selector, to inside the remote one."""
    pairs = []
    for peer in peers:
        for child in peer['children']:
            local = ipaddress.ip_network(child['local'])
            remote = ipaddress.ip_network(child['remote'])
            own = ipaddress.ip_address(peer['local_address'])
            far = ipaddress.ip_address(peer['address'])
            source = own if own in local else next((a for a in addresses if a in local), None)
            target = far if far in remote else (remote.network_address + 1 if remote.num_addresses > 1 else remote.network_address)
            if source is not None and (source, target) not in pairs:
                pairs.append((source, target))
    return pairs


def ping(module, source, target):
    system = platform.system()
    if system == 'Linux':
        argv = ['ping', '-c', '1', '-W', '1', '-I', str(source), str(target)]
    elif system == 'NetBSD':
        # NetBSD's ping takes the source with -I and has no per-reply timeout flag.
        argv = ['ping6' if target.version == 6 else 'ping', '-c', '1', '-I' if target.version == 4 else '-S',
                str(source), str(target)]
    elif target.version == 6 and module.get_bin_path('ping6'):
        argv = ['ping6', '-c', '1', '-S', str(source), str(target)]
    else:
        argv = ['ping', '-c', '1', '-t', '1', '-S', str(source), str(target)]
    rc, _out, _err = module.run_command(argv)
    return rc == 0


# Trigger pings go out together, in groups of this many: an unanswered ping waits out its second
# alongside the others instead of after them. Sent one after another, a round of a hub with 100
# fresh tunnels took 100 s (benchmarks/hub_load.py).
PING_GROUP = 50


def ping_all(module, pairs):
    """ping() for every (source, target) of pairs, PING_GROUP at a time; [answered, ...] in order."""
    answered = [False] * len(pairs)

    def one(index, source, target):
        answered[index] = ping(module, source, target)

    for start in range(0, len(pairs), PING_GROUP):
        threads = [threading.Thread(target=one, args=(index, source, target))
                   for index, (source, target) in enumerate(pairs[start:start + PING_GROUP], start)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    return answered


def main():
    module = AnsibleModule(
        argument_spec=dict(
            peers=dict(type='list', elements='dict', required=True),
            trigger=dict(type='bool', default=True),
            timeout=dict(type='int', default=30),
            source=dict(type='str', choices=list(SOURCES), default='auto'),
            setkey_path=dict(type='path'),
        ),
        supports_check_mode=True,
    )
    peers = module.params['peers']
    for index, peer in enumerate(peers):
        missing = [key for key in ('tunnel', 'name', 'address', 'local_address', 'children') if key not in peer]
        if missing:
            module.fail_json(msg='peers[%d] is not a plan peer record: no %s' % (index, ', '.join(missing)))

    def kernel():
        try:
            return read(module.run_command, module.get_bin_path,
                        module.params['source'], module.params['setkey_path'])
        except KernelStateError as exc:
            module.fail_json(msg=str(exc))

    source, sas, policies, _warnings = kernel()
    trigger = module.params['trigger'] and not module.check_mode
    baseline = None
    triggers = []
    deadline = time.time() + module.params['timeout']
    results = assess(peers, sas, policies)
    if trigger:
        pairs = trigger_pairs(peers, local_addresses(module))
        baseline = byte_baseline(sas)
        # racoon starts IKE on the first packet and loses the first two or three while it
        # negotiates: keep sending until the tunnels answer or the time is up.
        while True:
            answered = ping_all(module, pairs)
            source, sas, policies, _warnings = kernel()
            results = assess(peers, sas, policies, baseline)
            if (all(answered) and all(r['verdict'] == UP for r in results)) or time.time() >= deadline:
                break
            time.sleep(1)
        triggers = ['%s -> %s: %s' % (src, dst, 'answered' if ok else 'no answer') for (src, dst), ok in zip(pairs, answered)]
    else:
        while any(r['verdict'] != UP for r in results) and time.time() < deadline:
            time.sleep(1)
            source, sas, policies, _warnings = kernel()
            results = assess(peers, sas, policies)
    down = [r for r in results if r['verdict'] != UP]
    outcome = dict(changed=False, source=source, tunnels=results, triggers=triggers)
    if down:
        module.fail_json(msg='; '.join('%s: %s (%s)' % (r['tunnel'], r['verdict'], r['reason']) for r in down), **outcome)
    module.exit_json(**outcome)


if __name__ == '__main__':
    main()
