# Copyright (c) 2026 fleet.ipsec contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Converge real lab guests with racoon, count module runs per host, and compare with a floor.

For each size (2 and 12 guests by default) it boots that many fresh user-mode-linux guests with
the lab driver (molecule/guests/lab.py; racoon must be available to it), then measures, in this
one run:
  - first:  playbooks/site.yml on the fresh guests (install none, files, policies with
            confirm-or-rollback, boot services, racoon started);
  - rerun:  site.yml again, which must change nothing;
  - floor:  a bare playbook that writes the same files (rendered by site.yml in render mode) with
            one plain ansible.builtin.template task per file, on the same guests after their
            files were removed, then once more with the files in place (floor rerun).
The 2 guests are a pair; the 12 are a hub with five spokes plus a mesh of six.
At the largest size it then makes one guest unreachable (a blackhole route on the controller) after wiping it with
remove.yml: site.yml must converge the others and name it unreachable, verify must say unknown
for its tunnels and up for the rest, once it is back a rerun must converge it and change nothing
elsewhere, and resync.yml must bring up its tunnels, whose other ends still hold SAs with the
wiped host (checked; the run stops if not).
Module runs are counted by the module_runs callback (benchmarks/callback_plugins): every module
an action runs on a host, which is what costs an SSH round trip and a Python start there.
Targets (issue 11): first converge of a racoon host at most 12 module runs; a rerun at most 4
module runs per host and at most 0.3x the first converge's wall time.
A benchmark, not a test: it prints figures measured in this run. Run as root, with the lab free.
"""

import argparse
import collections
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..'))
DRIVER = os.path.join(ROOT, 'molecule', 'guests', 'lab.py')
VENV_BIN = os.path.join(ROOT, '.venv', 'bin')

GROUP_VARS = """---
ipsec_psk_master: converge-benchmark-throwaway-master
# Known without facts, so a run that cannot reach a guest plans its tunnels as before.
ipsec_os_family: Debian
ipsec_backend: racoon
racoon_install_method: none
racoon_binary: "{{ fleet_lab_racoon_prefix }}/sbin/racoon"
racoon_racoonctl_binary: "{{ fleet_lab_racoon_prefix }}/bin/racoonctl"
setkey_binary: "{{ fleet_lab_racoon_prefix }}/sbin/setkey"
"""

FLOOR = """---
- name: Bare floor, the same files with plain template tasks
  hosts: all
  gather_facts: false
  tasks:
    - name: Write each file
      ansible.builtin.template:
        src: "{{ rendered }}/{{ inventory_hostname }}{{ item.path }}"
        dest: "{{ item.path }}"
        mode: "{{ item.mode }}"
        owner: root
        group: root
      loop: "{{ floor_files[inventory_hostname] }}"
      no_log: true
"""

CLEAN = """---
- name: Remove the files, so the floor writes them afresh
  hosts: all
  gather_facts: false
  tasks:
    - name: Remove them in one command
      ansible.builtin.command:
        argv: "{{ ['rm', '-f', '--'] + floor_files[inventory_hostname] | map(attribute='path') | list }}"
      changed_when: true
"""


def topology(size):
    names = ['g%d' % n for n in range(1, size + 1)]
    if size == 2:
        return names, 'ipsec_tunnels:\n  - {name: pair, hosts: [g1, g2], mode: tunnel, level: require}\n'
    hub, spokes, mesh = names[0], names[1:6], names[6:]
    text = ('ipsec_topologies:\n'
            '  - {name: sites, type: hub_and_spoke, hubs: [%s], spokes: [%s], mode: tunnel, level: require}\n'
            '  - {name: core, type: mesh, hosts: [%s], mode: transport, level: require}\n'
            % (hub, ', '.join(spokes), ', '.join(mesh)))
    return names, text


def run(command, env=None, check=True):
    started = time.time()
    # stderr apart: the recaps and tables are parsed from stdout, and a warning (or the driver's
    # reason for printing no racoon prefix) must not be read as part of them.
    result = subprocess.run(command, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            universal_newlines=True, check=False)
    took = time.time() - started
    if check and result.returncode != 0:
        sys.stderr.write(result.stdout[-6000:] + '\n--- stderr\n' + result.stderr[-3000:])
        raise SystemExit('failed (%d): %s' % (result.returncode, ' '.join(command)))
    return result, took


def playbook(work, inventories, book, *extra, **options):
    """(wall seconds, {host: module runs}, output) of one ansible-playbook run."""
    log = os.path.join(work, 'module-runs.log')
    if os.path.exists(log):
        os.unlink(log)
    env = dict(os.environ, PATH=VENV_BIN + os.pathsep + os.environ['PATH'],
               ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'), ANSIBLE_NOCOLOR='1',
               ANSIBLE_CALLBACK_PLUGINS=os.path.join(ROOT, 'benchmarks', 'callback_plugins'),
               ANSIBLE_CALLBACKS_ENABLED='module_runs', FLEET_IPSEC_MODULE_RUNS=log)
    env.update(options.get('env', {}))
    command = ['ansible-playbook', book]
    for inventory in inventories:
        command += ['-i', inventory]
    result, took = run(command + list(extra), env=env, check=options.get('check', True))
    counts = collections.Counter()
    if os.path.exists(log):
        with open(log) as handle:
            counts.update(line.split('\t', 1)[0] for line in handle if line.strip())
    return took, counts, result.stdout


def recap(output):
    """{host: {ok: n, changed: n, unreachable: n, failed: n, ...}} from the PLAY RECAP."""
    hosts = {}
    for line in output.splitlines():
        if ': ok=' in line:
            name, counts = line.split(':', 1)
            hosts[name.strip()] = dict((key, int(value)) for key, value in
                                       (part.split('=') for part in counts.split() if '=' in part))
    return hosts


def changed(output):
    return sum(counts['changed'] for counts in recap(output).values())


def verdicts(output):
    """{(end, end): verdict} from verify.yml's table."""
    found = {}
    for match in re.finditer(r'^\s*"\S+\s+(g\d+) (g\d+)\s+(\w+)\s', output, re.M):
        found[(match.group(1), match.group(2))] = match.group(3)
    return found


def controller_setups(work, inventories, site, mitogen):
    """Wall time of a rerun (the run a fleet repeats) under the controller set-ups users rely on."""
    setups = [
        ('as shipped: pipelining, 5 forks, linear', [], {}),
        ('no pipelining', ['-e', 'ansible_ssh_pipelining=false', '-e', 'ansible_pipelining=false'], {}),
        ('pipelining, forks = hosts', [], {'ANSIBLE_FORKS': '50'}),
        ('pipelining, forks = hosts, free strategy', [], {'ANSIBLE_FORKS': '50', 'ANSIBLE_STRATEGY': 'free'}),
    ]
    if mitogen:
        setups.append(('mitogen_linear, forks = hosts', [], {
            'ANSIBLE_FORKS': '50', 'ANSIBLE_STRATEGY': 'mitogen_linear',
            'ANSIBLE_STRATEGY_PLUGINS': os.path.join(mitogen, 'ansible_mitogen', 'plugins', 'strategy'),
            'PYTHONPATH': mitogen}))
    measured = []
    for label, extra, env in setups:
        took, counts, output = playbook(work, inventories, site, *extra, env=env, check=False)
        hosts = recap(output)
        state = 'ok' if hosts and not any(c['failed'] or c['unreachable'] for c in hosts.values()) else 'FAILED'
        measured.append((label, took, max(counts.values()) if counts else 0, state))
    return measured


def fault(work, inventories, state, names):
    """One host unreachable among the fleet: the others converge, the run names it, verify marks
    its tunnels unknown, and a rerun once it is back converges it with 0 changes elsewhere."""
    victim = names[-1]
    site = os.path.join(ROOT, 'playbooks', 'site.yml')
    verify = os.path.join(ROOT, 'playbooks', 'verify.yml')
    with open(os.path.join(state, 'lab.json')) as handle:
        record = json.load(handle)
    address = [guest['address'] for guest in record['guests'] if guest['name'] == victim][0]
    # A blackhole route on the controller: the guest keeps running and keeps its tunnels, only the
    # controller cannot reach it. (Taking its tap down would not do: a user-mode-linux guest does
    # not get its tap back.)
    route = ['blackhole', '%s/32' % address]
    # Wipe the victim, so that it has something to converge once it is back.
    playbook(work, inventories, os.path.join(ROOT, 'playbooks', 'remove.yml'), '--limit', victim)
    run(['ssh', '-F', os.path.join(state, 'ssh_config'), '-O', 'exit', victim], check=False)
    run(['ip', 'route', 'add'] + route)
    try:
        took, _counts, output = playbook(work, inventories, site, check=False)
        hosts = recap(output)
        others = dict((name, counts) for name, counts in hosts.items() if name != victim)
        if hosts.get(victim, {}).get('unreachable') != 1 or any(
                counts['failed'] or counts['unreachable'] for counts in others.values()):
            raise SystemExit('fault: expected only %s unreachable:\n%s' % (victim, output[-3000:]))
        print('fault: %s unreachable; site.yml named it and converged the other %d in %.1f s (changed %d)'
              % (victim, len(others), took, sum(counts['changed'] for counts in others.values())))
        _took, _counts, output = playbook(work, inventories, verify, check=False)
        found = verdicts(output)
        wrong = dict((ends, verdict) for ends, verdict in found.items()
                     if verdict != ('unknown' if victim in ends else 'up'))
        if not found or wrong:
            raise SystemExit('fault: verify while %s was away: %s\n%s' % (victim, wrong, output[-3000:]))
        print('fault: verify said unknown for the %d tunnel(s) of %s and up for the other %d'
              % (sum(1 for ends in found if victim in ends), victim, sum(1 for ends in found if victim not in ends)))
    finally:
        run(['ip', 'route', 'del'] + route)
    # The first connection may still wait out a timeout.
    deadline = time.time() + 120
    while run(['ssh', '-F', os.path.join(state, 'ssh_config'), '-o', 'ConnectTimeout=5', victim, 'true'],
              check=False)[0].returncode != 0:
        if time.time() > deadline:
            raise SystemExit('fault: %s did not answer within 120 s of its route coming back' % victim)
        time.sleep(2)
    took, _counts, output = playbook(work, inventories, site)
    hosts = recap(output)
    elsewhere = sum(counts['changed'] for name, counts in hosts.items() if name != victim)
    if elsewhere or not hosts[victim]['changed']:
        raise SystemExit('fault: the rerun changed %d elsewhere and %d on %s' % (elsewhere, hosts[victim]['changed'], victim))
    # Its peers still hold SAs with the g12 that remove.yml wiped: as for any host rebuilt while
    # away, resync re-keys those tunnels (and only those), then verifies every tunnel.
    _took, _counts, output = playbook(work, inventories, os.path.join(ROOT, 'playbooks', 'resync.yml'))
    print('fault: back, the rerun converged %s (changed %d) with 0 changes elsewhere in %.1f s; '
          'resync.yml then found all %d tunnels up' % (victim, hosts[victim]['changed'], took, len(verdicts(output))))


def boot(work, state, names, tunnels):
    """Fresh guests named names, and the inventories that roll tunnels out on them."""
    run([sys.executable, DRIVER, 'down', '--state', state], check=False)
    run([sys.executable, DRIVER, 'up', '--state', state, '--guests', ','.join(names)])
    if not run([sys.executable, DRIVER, 'racoon'])[0].stdout.strip():
        raise SystemExit('the lab has no racoon (see docs/testing.md): nothing to measure')
    os.makedirs(os.path.join(work, 'group_vars'))
    with open(os.path.join(work, 'group_vars', 'all.yml'), 'w') as handle:
        handle.write(GROUP_VARS + tunnels)
    inventory = os.path.join(work, 'hosts.yml')
    with open(inventory, 'w') as handle:
        handle.write('all:\n  hosts:\n' + ''.join('    %s:\n' % name for name in names))
    inventories = [os.path.join(state, 'inventory.yml'), inventory]
    return inventories


def measure(size, state, with_fault, mitogen):
    work = tempfile.mkdtemp(prefix='fleet-ipsec-converge-')
    names, tunnels = topology(size)
    inventories = boot(work, state, names, tunnels)
    site = os.path.join(ROOT, 'playbooks', 'site.yml')

    first = playbook(work, inventories, site)
    rerun = playbook(work, inventories, site)
    if changed(rerun[2]):
        raise SystemExit('the rerun changed something:\n' + rerun[2][-4000:])

    # The floor writes exactly the files site.yml writes, as rendered for the same hosts.
    rendered = os.path.join(work, 'rendered')
    playbook(work, inventories, site, '-e', 'ipsec_render_root=%s' % rendered, '-e', 'ipsec_os_family=Debian')
    files = {}
    for name in names:
        top = os.path.join(rendered, name)
        for directory, _dirs, entries in os.walk(top):
            for entry in entries:
                path = os.path.join(directory, entry)
                files.setdefault(name, []).append({'path': path[len(top):],
                                                   'mode': '%04o' % (os.stat(path).st_mode & 0o7777)})
    floor_vars = os.path.join(work, 'floor-vars.yml')
    with open(floor_vars, 'w') as handle:
        json.dump({'floor_files': files, 'rendered': rendered}, handle)
    floor_book = os.path.join(work, 'floor.yml')
    clean_book = os.path.join(work, 'clean.yml')
    with open(floor_book, 'w') as handle:
        handle.write(FLOOR)
    with open(clean_book, 'w') as handle:
        handle.write(CLEAN)
    playbook(work, inventories, clean_book, '-e', '@' + floor_vars)
    floor_first = playbook(work, inventories, floor_book, '-e', '@' + floor_vars)
    floor_rerun = playbook(work, inventories, floor_book, '-e', '@' + floor_vars)
    # The floor left the files as site.yml writes them; put the fleet back as site.yml has it.
    playbook(work, inventories, site)
    setups = controller_setups(work, inventories, site, mitogen) if with_fault else None
    if not with_fault:
        shutil.rmtree(work)
    return {'context': (work, inventories, state, names) if with_fault else None,
            'first': first, 'rerun': rerun, 'floor first': floor_first, 'floor rerun': floor_rerun,
            'files per host': max(len(entries) for entries in files.values()), 'setups': setups}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n', 1)[0])
    parser.add_argument('--sizes', default='2,12', help='guest counts, comma separated (default 2,12)')
    parser.add_argument('--state', default='/var/tmp/fleet-ipsec-converge', help="the lab driver's state directory")
    parser.add_argument('--keep', action='store_true', help='leave the last lab up')
    parser.add_argument('--mitogen', help='a directory holding ansible_mitogen (mitogen unpacked), to try its strategy')
    parser.add_argument('--fault-only', action='store_true', help='at one size: converge, then only the unreachable-host run')
    parser.add_argument('--no-fault', action='store_true', help='skip the unreachable-host run at the largest size')
    args = parser.parse_args()
    results = {}
    sizes = [int(part) for part in args.sizes.split(',')]
    if args.fault_only:
        names, tunnels = topology(sizes[-1])
        work = tempfile.mkdtemp(prefix='fleet-ipsec-converge-')
        inventories = boot(work, args.state, names, tunnels)
        try:
            playbook(work, inventories, os.path.join(ROOT, 'playbooks', 'site.yml'))
            fault(work, inventories, args.state, names)
        finally:
            if not args.keep:
                run([sys.executable, DRIVER, 'down', '--state', args.state], check=False)
        return
    try:
        for size in sizes:
            results[size] = measure(size, args.state, size == sizes[-1] and not args.no_fault, args.mitogen)
    except BaseException:
        if not args.keep:
            run([sys.executable, DRIVER, 'down', '--state', args.state], check=False)
        raise
    print('%-6s %-12s %8s %14s %14s' % ('guests', 'run', 'wall s', 'runs/host max', 'runs/host mean'))
    targets = []
    for size, measured in results.items():
        for label in ('first', 'rerun', 'floor first', 'floor rerun'):
            took, counts, _output = measured[label]
            values = [counts.get('g%d' % n, 0) for n in range(1, size + 1)]
            print('%-6d %-12s %8.1f %14d %14.1f' % (size, label, took, max(values), sum(values) / float(len(values))))
        first, rerun = measured['first'], measured['rerun']
        ratio = rerun[0] / first[0]
        most_first = max(first[1].get('g%d' % n, 0) for n in range(1, size + 1))
        most_rerun = max(rerun[1].get('g%d' % n, 0) for n in range(1, size + 1))
        print('%d guests, %d files per host: rerun/first %.2f; first/floor first %.2f; rerun/floor rerun %.2f'
              % (size, measured['files per host'], ratio, first[0] / measured['floor first'][0],
                 rerun[0] / measured['floor rerun'][0]))
        targets.append('%d guests: first %d runs/host (target <= 12) %s; rerun %d runs/host (target <= 4) %s; '
                       'rerun/first %.2f (target <= 0.3) %s'
                       % (size, most_first, 'met' if most_first <= 12 else 'NOT met',
                          most_rerun, 'met' if most_rerun <= 4 else 'NOT met',
                          ratio, 'met' if ratio <= 0.3 else 'NOT met'))
    print('\n'.join(targets))
    for size, measured in results.items():
        for label, took, most, state in measured['setups'] or []:
            print('%d guests, rerun, %-42s %7.1f s  %2d runs/host  %s' % (size, label + ':', took, most, state))
    sys.stdout.flush()
    try:
        for measured in results.values():
            if measured['context']:
                fault(*measured['context'])
                shutil.rmtree(measured['context'][0])
    finally:
        if not args.keep:
            run([sys.executable, DRIVER, 'down', '--state', args.state], check=False)


if __name__ == '__main__':
    main()
