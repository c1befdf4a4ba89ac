# -*- coding: utf-8 -*-
# Copyright (c) 2026 fleet.ipsec contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Read the kernel's SAD and SPD on the host: setkey where it works, else ip xfrm.

The raw dumps hold key material (setkey's E:/A: lines, ip's enc/auth lines): they are
parsed here and dropped; nothing but the parsed records ever leaves this module.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import time

from ansible_collections.fleet.ipsec.plugins.module_utils import setkey_dump, xfrm_dump

SOURCES = ('auto', 'setkey', 'xfrm')
_TIME_FORMAT = '%Y-%m-%d %H:%M:%S'


class KernelStateError(Exception):
    pass


def _age(created, now):
    try:
        return max(0, int(now - time.mktime(time.strptime(created, _TIME_FORMAT))))
    except (TypeError, ValueError, OverflowError):
        return None


def _with_ages(sas, now):
    for sa in sas:
        if sa.get('age') is None and sa.get('created'):
            sa['age'] = _age(sa['created'], now)
    return sas


def read(run_command, get_bin_path, source='auto', setkey_path=None):
    """(source used, SAs, policies, warnings). `run_command(argv) -> (rc, out, err)`.

    setkey is tried first where it exists (FreeBSD, NetBSD, ipsec-tools on Linux); on a
    Linux kernel without PF_KEY it fails, and ip xfrm answers instead.
    """
    failures = []
    # A setkey outside the search path (a ports or source build) is named by the caller; a wrong
    # name is an error, not a quiet fall back to ip xfrm.
    if setkey_path and not os.path.isfile(setkey_path):
        raise KernelStateError('setkey_path %s does not exist' % setkey_path)
    setkey = (setkey_path or get_bin_path('setkey')) if source in ('auto', 'setkey') else None
    if setkey:
        rc_sad, sad, err_sad = run_command([setkey, '-D'])
        rc_spd, spd, err_spd = run_command([setkey, '-DP'])
        if rc_sad == 0 and rc_spd == 0:
            warnings = []
            sas = setkey_dump.parse_sad(sad, warnings)
            policies = setkey_dump.parse_spd(spd, warnings)
            return 'setkey', _with_ages(sas, time.time()), policies, warnings
        failures.append('%s -D/-DP failed: %s' % (setkey, (err_sad or err_spd).strip()[:200]))
    elif source == 'setkey':
        failures.append('setkey is not installed')
    ip = get_bin_path('ip') if source in ('auto', 'xfrm') else None
    if ip:
        rc_sad, sad, err_sad = run_command([ip, '-s', 'xfrm', 'state'])
        rc_spd, spd, err_spd = run_command([ip, '-s', 'xfrm', 'policy'])
        if rc_sad == 0 and rc_spd == 0:
            warnings = []
            sas = xfrm_dump.parse_state(sad, warnings)
            policies = xfrm_dump.parse_policy(spd, warnings)
            return 'xfrm', _with_ages(sas, time.time()), policies, warnings
        failures.append('ip xfrm failed: %s' % (err_sad or err_spd).strip()[:200])
    elif source == 'xfrm':
        failures.append('ip (iproute2) is not installed')
    raise KernelStateError('cannot read the kernel SAD/SPD: %s' % ('; '.join(failures) or 'neither setkey nor ip is installed'))
