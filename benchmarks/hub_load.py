# Copyright (c) 2026 fleet.ipsec contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Load on one host: a racoon hub with a hundred tunnels, on two lab guests.

g1 is the hub: racoon, rolled out by playbooks/site.yml with one tunnel (transport mode) to each
of N spokes (100 by default). g2 stands for all the spokes: it takes N more addresses on the lab's
bridge (10.77.0.101 and up), and its strongSwan answers each address as a separate peer. The
spokes are inventory hosts (s001, s002, ...) whose files are rendered by this collection in render
mode and copied to g2, one connection file and one secrets file per spoke; no run ever connects
to them. Measured in this one run:
  - converge: site.yml on the hub (wall time, module runs);
  - verify:   verify.yml on the hub, trigger traffic included, until all N tunnels are up;
  - restart:  `systemctl restart racoon` on the hub, then verify.yml again: how long until every
              tunnel is up (and whether the kernel's SAs outlived the restart);
  - racoon's resident memory on the hub after each, and the sizes of its files;
  - rerun:    site.yml on the hub again, which must change nothing.
A benchmark, not a test: it prints figures measured in this run. Run as root, with the lab free.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time

from converge import DRIVER, GROUP_VARS, ROOT, playbook, recap, run

SPOKE_BASE = 100  # spoke N is 10.77.0.(100 + N); the lab's guests are .11 and up, its bridge .1


def spoke_names(count):
    return ['s%03d' % n for n in range(1, count + 1)]


def inventory(count):
    """The hub, its spokes (known by inventory alone: address, OS family, backend) and the star."""
    hosts = ''.join('    %s: {ipsec_address: 10.77.0.%d, ipsec_backend: strongswan}\n' % (name, SPOKE_BASE + n)
                    for n, name in enumerate(spoke_names(count), 1))
    return ('all:\n  hosts:\n    g1: {ipsec_address: 10.77.0.11}\n' + hosts + '  vars:\n'
            '    ipsec_topologies:\n'
            '      - {name: load, type: hub_and_spoke, hubs: [g1], spokes: [%s], mode: transport, level: require}\n'
            % ', '.join(spoke_names(count)))


def ssh(state, guest, command, stdin=None):
    result = subprocess.run(['ssh', '-F', os.path.join(state, 'ssh_config'), guest, command], input=stdin,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    if result.returncode != 0:
        raise SystemExit('%s: %s failed: %s' % (guest, command, result.stderr.decode('utf-8', 'replace')[-2000:]))
    return result.stdout.decode('utf-8', 'replace')


def spokes_tarball(rendered, names):
    """Every spoke's swanctl files as rendered, renamed per spoke into one conf.d; one charon.conf."""
    buffer = tempfile.TemporaryFile()
    with tarfile.open(fileobj=buffer, mode='w') as tar:
        for index, name in enumerate(names):
            top = os.path.join(rendered, name)
            for directory, _dirs, entries in os.walk(top):
                for entry in entries:
                    path = os.path.join(directory, entry)
                    target = path[len(top):]
                    if '/conf.d/' in target:
                        stem, suffix = os.path.splitext(target)
                        target = '%s-%s%s' % (stem, name, suffix)
                    elif index:
                        continue  # the daemon's settings are the same for every spoke
                    tar.add(path, arcname=target.lstrip('/'))
    buffer.seek(0)
    return buffer.read()


def racoon_memory(state):
    return int(ssh(state, 'g1', 'ps -o rss= -C racoon').split()[0])


def up_count(output):
    """(tunnels verify.yml's table shows up, rows of the table)."""
    verdicts = re.findall(r'^\s*"load-g1-s\d+\s+g1\s+(\w+)\s', output, re.M)
    return verdicts.count('up'), len(verdicts)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n', 1)[0])
    parser.add_argument('--spokes', type=int, default=100, help='tunnels on the hub (1-150, default 100)')
    parser.add_argument('--state', default='/var/tmp/fleet-ipsec-hub-load', help="the lab driver's state directory")
    parser.add_argument('--keep', action='store_true', help='leave the lab up')
    args = parser.parse_args()
    if not 1 <= args.spokes <= 150:
        raise SystemExit('--spokes: 1 to 150 (the spokes take 10.77.0.101 and up)')
    names = spoke_names(args.spokes)
    work = tempfile.mkdtemp(prefix='fleet-ipsec-hub-load-')
    run([sys.executable, DRIVER, 'down', '--state', args.state], check=False)
    try:
        run([sys.executable, DRIVER, 'up', '--state', args.state, '--guests', 'g1,g2'])
        if not run([sys.executable, DRIVER, 'racoon'])[0].stdout.strip():
            raise SystemExit('the lab has no racoon (see docs/testing.md): nothing to measure')
        os.makedirs(os.path.join(work, 'group_vars'))
        with open(os.path.join(work, 'group_vars', 'all.yml'), 'w') as handle:
            handle.write(GROUP_VARS)
        hosts = os.path.join(work, 'hosts.yml')
        with open(hosts, 'w') as handle:
            handle.write(inventory(args.spokes))
        inventories = [os.path.join(args.state, 'inventory.yml'), hosts]
        site = os.path.join(ROOT, 'playbooks', 'site.yml')
        verify = os.path.join(ROOT, 'playbooks', 'verify.yml')

        # The spokes: rendered by the collection, copied to g2, each address added, strongSwan reloaded.
        rendered = os.path.join(work, 'rendered')
        playbook(work, inventories, site, '--limit', ','.join(names), '-e', 'ipsec_render_root=%s' % rendered)
        addresses = ' '.join('10.77.0.%d' % (SPOKE_BASE + n) for n in range(1, args.spokes + 1))
        ssh(args.state, 'g2', 'tar -x -C / && for a in %s; do ip addr add $a/24 dev vec0; done && '
                              'systemctl restart strongswan && swanctl --load-all --noprompt >/dev/null' % addresses,
            stdin=spokes_tarball(rendered, names))

        converge = playbook(work, inventories, site, '--limit', 'g1')
        memory_converged = racoon_memory(args.state)
        sizes = ssh(args.state, 'g1', 'wc -c /etc/racoon/racoon.conf /etc/racoon/psk.txt /etc/ipsec-tools.conf | head -3')
        verified = playbook(work, inventories, verify, '--limit', 'g1', '-e', 'ipsec_verify_timeout=600')
        memory_verified = racoon_memory(args.state)
        sas_before = int(ssh(args.state, 'g1', 'ip xfrm state | grep -c "^src"'))

        started = time.time()
        ssh(args.state, 'g1', 'systemctl restart racoon')
        sas_after_restart = int(ssh(args.state, 'g1', 'ip xfrm state | grep -c "^src" || true') or 0)
        again = playbook(work, inventories, verify, '--limit', 'g1', '-e', 'ipsec_verify_timeout=600', check=False)
        back = time.time() - started
        memory_restarted = racoon_memory(args.state)
        rerun = playbook(work, inventories, site, '--limit', 'g1')
    finally:
        shutil.rmtree(work)  # the spokes' rendered key files too
        if not args.keep:
            run([sys.executable, DRIVER, 'down', '--state', args.state], check=False)

    up, rows = up_count(verified[2])
    up_again, rows_again = up_count(again[2])
    print('hub g1 with %d tunnels (racoon), spokes on g2 (strongSwan)' % args.spokes)
    print('files on the hub (bytes):\n  ' + sizes.strip().replace('\n', '\n  '))
    print('converge: site.yml %.1f s, %d module runs on the hub, changed %d'
          % (converge[0], converge[1].get('g1', 0), recap(converge[2])['g1']['changed']))
    print('verify:   %.1f s, %d of %d tunnels up; %d SAs in the hub kernel' % (verified[0], up, rows, sas_before))
    passed = recap(again[2]).get('g1', {}).get('failed', 1) == 0
    print('restart:  %d SAs left in the hub kernel right after the restart; every tunnel up again %.1f s after it '
          '(verify %s: %d of %d up)' % (sas_after_restart, back, 'passed' if passed else 'FAILED', up_again, rows_again))
    print('racoon resident memory: %d KiB converged, %d KiB with %d tunnels up, %d KiB after the restart'
          % (memory_converged, memory_verified, args.spokes, memory_restarted))
    print('rerun:    site.yml %.1f s, %d module runs, changed %d'
          % (rerun[0], rerun[1].get('g1', 0), recap(rerun[2])['g1']['changed']))
    print(json.dumps({'spokes': args.spokes, 'converge_s': round(converge[0], 1), 'verify_s': round(verified[0], 1),
                      'restart_to_up_s': round(back, 1), 'rerun_s': round(rerun[0], 1),
                      'racoon_rss_kib': [memory_converged, memory_verified, memory_restarted]}))


if __name__ == '__main__':
    main()
