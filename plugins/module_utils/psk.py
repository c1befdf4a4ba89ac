# -*- coding: utf-8 -*-
# Copyright (c) 2026 fleet.ipsec contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Pre-shared keys: derived per tunnel from a master secret, or given per tunnel.

Only no_log tasks call `resolve`; the plan carries a `psk_ref` instead of a key.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import hmac

# Bumping this label version would re-key every derived tunnel at once; the per-tunnel
# generation is the knob for rotation.
LABEL = 'fleet.ipsec/psk/v1/%s/%d'


class PskError(Exception):
    pass


def derive(master, tunnel, generation):
    """The derived key of one tunnel: HMAC-SHA256(master, label) as 64 hex digits.

    Hex keeps the key inside what racoon's psk.txt and swanctl's secrets read as a plain
    string on every platform, so both ends of a mixed racoon/strongSwan pair agree.
    """
    label = LABEL % (tunnel, int(generation))
    return hmac.new(master.encode('utf-8'), label.encode('utf-8'), hashlib.sha256).hexdigest()


def resolve(tunnel, psk_ref, master=None, tunnels=None, topologies=None):
    """The key of `tunnel` (a name) from its plan psk_ref, looked up in the same inventory."""
    if psk_ref.get('source') == 'derived':
        if not master:
            raise PskError("tunnel '%s': psk: ipsec_psk_master is not set" % tunnel)
        return derive(master, tunnel, psk_ref['generation'])
    origin = psk_ref.get('origin') or 'ipsec_tunnels'
    if origin.startswith('topology:'):
        wanted, pool = origin[len('topology:'):], topologies
    else:
        wanted, pool = tunnel, tunnels
    for item in pool or []:
        if isinstance(item, dict) and item.get('name') == wanted and item.get('psk'):
            return item['psk']
    raise PskError("tunnel '%s': psk: no explicit psk found in %s" % (tunnel, origin))
