# Copyright (c) 2026 fleet.ipsec contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark of the SAD/SPD dump parsers (setkey and ip xfrm) on synthetic dumps.

Generates dumps of 1,000, 10,000 and 100,000 SAs and as many policies in both formats,
parses each, and prints microseconds of CPU time (best of --repeat runs, so that other
load on a shared machine counts less) per input line and the ratio of the time per line
between sizes (about 1.0 means linear growth). The bound: at most 5 us per line at every
size, and linear: at the largest size, at most --linear times the time per line of the
smallest. The last line says whether this run met it.

    python3 benchmarks/parse.py [--sizes 1000,10000,100000] [--repeat 3]

A benchmark, not a test: it asserts nothing, and exits non-zero only with --check
when the bound was not met.
"""

from __future__ import print_function

import argparse
import gc
import importlib
import os
import random
import sys
import time

# tests/conftest.py makes this checkout importable as ansible_collections.fleet.ipsec (the
# parsers import their shared helpers, dump_common, by that name; nothing from Ansible).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'tests'))
importlib.import_module('conftest')
setkey_dump = importlib.import_module('ansible_collections.fleet.ipsec.plugins.module_utils.setkey_dump')
xfrm_dump = importlib.import_module('ansible_collections.fleet.ipsec.plugins.module_utils.xfrm_dump')

MONTHS = ('Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec')


def _ip(i, base):
    return '%d.%d.%d.%d' % (base, (i >> 16) & 255, (i >> 8) & 255, i & 255 or 1)


def _hexgroups(rng, n):
    return ' '.join('%08x' % rng.getrandbits(32) for dummy in range(n))


def _ctime(rng):
    return '%s %2d %02d:%02d:%02d 2026' % (
        MONTHS[rng.randrange(12)], rng.randrange(1, 29), rng.randrange(24), rng.randrange(60), rng.randrange(60))


def setkey_sad(n, rng):
    out = []
    for i in range(n):
        src, dst = _ip(i, 10), _ip(i, 172)
        spi = rng.getrandbits(32)
        natt = i % 10 == 0
        if natt:
            out.append('%s[4500] %s[4500]\n\tesp-udp mode=tunnel spi=%d(0x%08x) reqid=%d(0x%08x)\n'
                       % (src, dst, spi, spi, i, i))
        else:
            out.append('%s %s\n\tesp mode=tunnel spi=%d(0x%08x) reqid=%d(0x%08x)\n' % (src, dst, spi, spi, i, i))
        out.append('\tE: aes-cbc  %s\n' % _hexgroups(rng, 8))
        if i % 4 == 0:
            g = _hexgroups(rng, 16).split(' ')
            out.append('\tA: hmac-sha2-512  %s\n %s\n' % (' '.join(g[:8]), ' '.join(g[8:])))
        else:
            out.append('\tA: hmac-sha2-256  %s\n' % _hexgroups(rng, 8))
        out.append('\tseq=0x%08x replay=16 flags=0x00000400 state=mature \n' % rng.randrange(1000))
        out.append('\tcreated: %s\tcurrent: %s\n' % (_ctime(rng), _ctime(rng)))
        out.append('\tdiff: %d(s)\thard: 3600(s)\tsoft: 2880(s)\n' % rng.randrange(3600))
        if i % 3:
            out.append('\tlast: %s\thard: 0(s)\tsoft: 0(s)\n' % _ctime(rng))
        else:
            out.append('\tlast:                     \thard: 0(s)\tsoft: 0(s)\n')
        out.append('\tcurrent: %d(bytes)\thard: 0(bytes)\tsoft: 0(bytes)\n' % rng.randrange(10 ** 9))
        out.append('\tallocated: %d\thard: 0\tsoft: 0\n' % rng.randrange(10 ** 6))
        out.append('\tsadb_seq=%d pid=4242 refcnt=1\n' % (n - 1 - i))
    return ''.join(out)


def setkey_spd(n, rng):
    out = []
    for i in range(n):
        d = ('in', 'out', 'fwd')[i % 3]
        out.append('10.%d.%d.0/24[any] 172.%d.%d.0/24[any] any\n' % (i >> 8 & 255, i & 255, i >> 8 & 255, i & 255))
        if i % 2:
            out.append('\t%s prio def ipsec\n' % d)
        else:
            out.append('\t%s ipsec\n' % d)
        out.append('\tesp/tunnel/%s-%s/unique#%d\n' % (_ip(i, 192), _ip(i, 198), 16385 + i))
        if i % 2:
            out.append('\tcreated: %s  lastused: %s\n' % (_ctime(rng), _ctime(rng)))
            out.append('\tlifetime: 0(s) validtime: 0(s)\n')
        out.append('\tspid=%d seq=%d pid=4242 scope=global \n' % (i + 1, n - 1 - i))
        out.append('\trefcnt=1\n')
    return ''.join(out)


def _when(rng):
    return '2026-%02d-%02d %02d:%02d:%02d' % (
        rng.randrange(1, 13), rng.randrange(1, 29), rng.randrange(24), rng.randrange(60), rng.randrange(60))


def xfrm_state(n, rng):
    out = []
    for i in range(n):
        spi = rng.getrandbits(32)
        out.append('src %s dst %s\n' % (_ip(i, 10), _ip(i, 172)))
        out.append('\tproto esp spi 0x%08x(%d) reqid %d(0x%08x) mode tunnel\n' % (spi, spi, i, i))
        out.append('\treplay-window 32 seq 0x00000000 flag af-unspec (0x00100000)\n')
        out.append('\tauth-trunc hmac(sha256) 0x%064x (256 bits) 128\n' % rng.getrandbits(256))
        out.append('\tenc cbc(aes) 0x%064x (256 bits)\n' % rng.getrandbits(256))
        if i % 10 == 0:
            out.append('\tencap type espinudp sport 4500 dport 4500 addr 0.0.0.0\n')
        out.append('\tanti-replay context: seq 0x%x, oseq 0x0, bitmap 0x000003ff\n' % rng.randrange(1000))
        out.append('\tlifetime config:\n'
                   '\t  limit: soft (INF)(bytes), hard (INF)(bytes)\n'
                   '\t  limit: soft (INF)(packets), hard (INF)(packets)\n'
                   '\t  expire add: soft %d(sec), hard 3960(sec)\n'
                   '\t  expire use: soft 0(sec), hard 0(sec)\n' % rng.randrange(3300, 3600))
        out.append('\tlifetime current:\n\t  %d(bytes), %d(packets)\n' % (rng.randrange(10 ** 9), rng.randrange(10 ** 6)))
        out.append('\t  add %s use %s\n' % (_when(rng), _when(rng)))
        out.append('\tstats:\n\t  replay-window 0 replay 0 failed 0\n')
    return ''.join(out)


def xfrm_policy(n, rng):
    out = []
    for i in range(n):
        d = ('in', 'out', 'fwd')[i % 3]
        out.append('src 10.%d.%d.0/24 dst 172.%d.%d.0/24 \n' % (i >> 8 & 255, i & 255, i >> 8 & 255, i & 255))
        out.append('\tdir %s priority %d ptype main \n' % (d, 375423 + i % 7))
        out.append('\ttmpl src %s dst %s\n' % (_ip(i, 192), _ip(i, 198)))
        if d == 'out':
            out.append('\t\tproto esp spi 0x%08x reqid %d mode tunnel\n' % (rng.getrandbits(32), i))
        else:
            out.append('\t\tproto esp reqid %d mode tunnel\n' % i)
    return ''.join(out)


def xfrm_policy_stats(n, rng):
    out = []
    for i in range(n):
        d = ('in', 'out', 'fwd')[i % 3]
        out.append('src 10.%d.%d.0/24 dst 172.%d.%d.0/24 uid 0\n' % (i >> 8 & 255, i & 255, i >> 8 & 255, i & 255))
        out.append('\tdir %s action allow index %d priority %d ptype main share any flag  (0x00000000)\n'
                   % (d, 8 * i + 1, 375423 + i % 7))
        out.append('\tlifetime config:\n'
                   '\t  limit: soft (INF)(bytes), hard (INF)(bytes)\n'
                   '\t  limit: soft (INF)(packets), hard (INF)(packets)\n'
                   '\t  expire add: soft 0(sec), hard 0(sec)\n'
                   '\t  expire use: soft 0(sec), hard 0(sec)\n'
                   '\tlifetime current:\n'
                   '\t  0(bytes), 0(packets)\n')
        out.append('\t  add %s use %s\n' % (_when(rng), _when(rng) if i % 2 else '-'))
        out.append('\ttmpl src %s dst %s\n' % (_ip(i, 192), _ip(i, 198)))
        out.append('\t\tproto esp spi 0x%08x(%d) reqid %d(0x%08x) mode tunnel\n' % (0, 0, i, i))
        out.append('\t\tlevel %s share any \n' % ('required' if d == 'out' else 'use'))
        out.append('\t\tenc-mask ffffffff auth-mask ffffffff comp-mask ffffffff\n')
    return ''.join(out)


CASES = (
    ('setkey -D', setkey_sad, setkey_dump.parse_sad),
    ('setkey -DP', setkey_spd, setkey_dump.parse_spd),
    ('ip -s xfrm state', xfrm_state, xfrm_dump.parse_state),
    ('ip xfrm policy', xfrm_policy, xfrm_dump.parse_policy),
    ('ip -s xfrm policy', xfrm_policy_stats, xfrm_dump.parse_policy),
)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n', 1)[0])
    ap.add_argument('--sizes', default='1000,10000,100000')
    ap.add_argument('--repeat', type=int, default=3, help='best of N runs')
    ap.add_argument('--target', type=float, default=5.0, help='us per line')
    # 1.5, not 1.0: on a shared 2-core machine the largest dumps meet more of the other load
    ap.add_argument('--linear', type=float, default=1.5, help='largest ratio of us/line, largest to smallest size')
    ap.add_argument('--check', action='store_true', help='exit 1 when the bound is not met')
    args = ap.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(',')]
    rng = random.Random(20261127)
    worst = 0.0
    growth = []
    print('%-18s %9s %10s %10s %9s %8s' % ('format', 'records', 'lines', 'seconds', 'us/line', 'ratio'))
    for name, gen, parse in CASES:
        prev = first = None
        for n in sizes:
            text = gen(n, rng)
            lines = text.count('\n')
            best = None
            for dummy in range(args.repeat):
                gc.collect()
                warns = []
                t0 = time.process_time()
                recs = parse(text, warns)
                dt = time.process_time() - t0
                best = dt if best is None else min(best, dt)
            if len(recs) != n or warns:
                print('  parse problem: %d records, %d warnings %r' % (len(recs), len(warns), warns[:3]))
            per = best * 1e6 / lines
            ratio = '' if prev is None else '%.2f' % (per / prev)
            prev = per
            first = per if first is None else first
            worst = max(worst, per)
            print('%-18s %9d %10d %10.3f %9.3f %8s' % (name, n, lines, best, per, ratio))
            del text, recs
        growth.append((per / first, name))
    print('ratio = us/line at this size / us/line at the previous size')
    most, which = max(growth)
    met = worst <= args.target and most <= args.linear
    print('bound %s: slowest %.2f us/line (bound %.1f); us/line at %d records / at %d: at most %.2f (%s; bound %.1f)'
          % ('met' if met else 'NOT met', worst, args.target, sizes[-1], sizes[0], most, which, args.linear))
    return 1 if (args.check and not met) else 0


if __name__ == '__main__':
    sys.exit(main())
