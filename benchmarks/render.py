# Copyright (c) 2026 fleet.ipsec contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Converge synthetic fleets in render mode beside a bare floor, and print the ratio.

For each size (50, 200, 500 hosts by default) it writes an inventory of hub-and-spoke sites
(one hub per 50 spokes), then times, in this one run:
  - site.yml in render mode (the roles, the plan, everything), and
  - a bare-floor playbook: the same hosts and the same number of template writes per host,
    with no logic at all.
Target: ratio at most 1.3 at 500 hosts. A benchmark, not a test: run it on a quiet machine.
Needs the checkout's .venv (scripts/bootstrap).
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..'))

FLOOR = """---
- name: Bare floor
  hosts: all
  gather_facts: false
  tasks:
    - name: Make the directories at once
      ansible.builtin.command:
        argv: "{{ ['mkdir', '-p', '--'] + ansible_play_hosts_all | map('regex_replace', '^(.*)$', root ~ '/\\\\1/etc') | list }}"
      run_once: true
      delegate_to: localhost
      changed_when: false
%s
"""
FLOOR_TASK = """    - name: Write file %(n)d
      ansible.builtin.template:
        src: %(template)s
        dest: "{{ root }}/{{ inventory_hostname }}/etc/file%(n)d"
        mode: "0600"
      delegate_to: localhost
"""


def inventory(count):
    lines = ['all:', '  vars:', '    ipsec_psk_master: benchmark-master-secret-0123456789',
             '    ipsec_topologies:']
    hubs = max(1, count // 50)
    lines.append('      - {name: sites, type: hub_and_spoke, hubs: "{{ groups.hubs }}", spokes: "{{ groups.spokes }}"}')
    lines.append('  children:')
    lines.append('    hubs:')
    lines.append('      hosts:')
    for index in range(hubs):
        lines.append('        hub%03d: {ipsec_address: 172.16.%d.1, ipsec_subnets: [172.17.%d.0/24]}' % (index, index, index))
    lines.append('    spokes:')
    lines.append('      hosts:')
    for index in range(count - hubs):
        lines.append('        spoke%04d: {ipsec_address: 10.%d.%d.1, ipsec_subnets: [10.%d.%d.0/24]}'
                     % (index, index // 250, index % 250 + 1, 100 + index // 250, index % 250))
    return '\n'.join(lines) + '\n'


def timed(command, env):
    started = time.perf_counter()
    run = subprocess.run(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         universal_newlines=True, check=False)
    seconds = time.perf_counter() - started
    if run.returncode != 0:
        sys.exit('failed: %s\n%s\n--- stderr\n%s' % (' '.join(command), run.stdout[-3000:], run.stderr[-3000:]))
    return seconds


def count_writes(render_root):
    return sum(len(files) for _d, _s, files in os.walk(render_root))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('sizes', nargs='*', type=int, default=[50, 200, 500])
    args = parser.parse_args()
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'),
               PATH=os.path.join(ROOT, '.venv', 'bin') + os.pathsep + os.environ.get('PATH', ''))
    work = tempfile.mkdtemp(prefix='fleet-ipsec-render-bench-')
    try:
        template = os.path.join(work, 'floor.j2')
        with open(template, 'w') as handle:
            handle.write('{{ inventory_hostname }}\n')
        print('%6s %8s %10s %10s %7s' % ('hosts', 'files', 'roles s', 'floor s', 'ratio'))
        for size in args.sizes:
            hosts_file = os.path.join(work, 'hosts-%d.yml' % size)
            with open(hosts_file, 'w') as handle:
                handle.write(inventory(size))
            render_root = os.path.join(work, 'render-%d' % size)
            roles = timed(['ansible-playbook', 'playbooks/site.yml', '-i', hosts_file,
                           '-e', 'ipsec_render_root=%s' % render_root], env)
            files = count_writes(render_root)
            per_host = files // size
            floor_book = os.path.join(work, 'floor-%d.yml' % size)
            with open(floor_book, 'w') as handle:
                handle.write(FLOOR % ''.join(FLOOR_TASK % {'n': n, 'template': template} for n in range(per_host)))
            floor = timed(['ansible-playbook', floor_book, '-i', hosts_file,
                           '-e', 'root=%s' % os.path.join(work, 'floor-%d' % size)], env)
            print('%6d %8d %10.1f %10.1f %7.2f' % (size, files, roles, floor, roles / floor))
            sys.stdout.flush()
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__':
    main()
