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
import re

# Bumping this label version would re-key every derived tunnel at once; the per-tunnel
# generation is the knob for rotation.
LABEL = 'fleet.ipsec/psk/v1/%s/%d'

PSK_MIN_LENGTH = 20
# racoon reads psk.txt with fgets() into 1,024 bytes (ipsec-tools, src/racoon/localconf.c,
# getpsk()): a line longer than 1,023 characters with its newline is read as two, and its tail
# becomes a line of its own. A line is the peer's address (at most 39 characters, a full IPv6
# address), a tab, the key and the newline.
PSK_MAX_LENGTH = 1023 - 39 - len('\t') - len('\n')
_HEX_KEY = re.compile(r'0x(?:[0-9A-Fa-f]{2})+\Z')


class PskError(Exception):
    pass


def key_problems(key):
    """Why an explicit key cannot be written as it is to both backends' key files ([] if it can).

    The key is never part of a message. Each rule keeps the key one token that racoon's psk.txt
    and strongSwan's quoted `secret` read as the same bytes:
    - printable ASCII only: no line break (a new psk.txt line, a new swanctl statement), no tab
      or other control or non-ASCII character (racoon and charon would not agree on its bytes);
    - no quote or backslash (they end or escape swanctl's quoted value) and no '#';
    - no blank at either end: racoon drops the blanks between address and key, and keeps those
      at the end of the line, where they are easy to add by mistake;
    - at most PSK_MAX_LENGTH characters, racoon's line limit;
    - unambiguous about encodings: racoon reads a key starting with 0x as hex and anything else
      as text, strongSwan reads 0x and 0X as hex and 0s and 0S as base64. So 0x must be followed
      by an even number of hex digits only (both then decode the same bytes), and 0X, 0s and 0S
      are refused.
    """
    if not isinstance(key, str):
        return ['must be a string of at least %d characters' % PSK_MIN_LENGTH]
    if len(key) < PSK_MIN_LENGTH:
        # Only its length is a fact worth telling.
        return ['is shorter than %d characters' % PSK_MIN_LENGTH]
    problems = []
    if len(key) > PSK_MAX_LENGTH:
        problems.append('is longer than %d characters (racoon reads psk.txt lines of at most 1,023 characters, '
                        'and the rest of a longer one as a line of its own)' % PSK_MAX_LENGTH)
    if '\n' in key or '\r' in key:
        problems.append('holds a line break, which would start a new line in the key files')
    elif any(ord(c) < 32 or ord(c) == 127 for c in key):
        problems.append('holds a tab or another control character; use printable ASCII only')
    if any(ord(c) > 127 for c in key):
        problems.append('holds a non-ASCII character; use printable ASCII only')
    if '"' in key or "'" in key:
        problems.append('holds a quote (" or \'), which ends or starts a quoted value in the key files\' grammars')
    if '\\' in key:
        problems.append("holds a backslash, which strongSwan's secrets file reads as an escape")
    if '#' in key:
        problems.append("holds '#', which starts a comment in the configuration grammars")
    if key != key.strip(' \t'):
        problems.append('starts or ends with a blank: racoon drops the blanks before a key and keeps those after it')
    prefix = key[:2]
    if prefix in ('0X', '0s', '0S'):
        problems.append('starts with %s, which strongSwan decodes (as %s) and racoon reads as text; write a hex '
                        'key as 0x followed by hex digits, or change the start of the key'
                        % (prefix, 'hex' if prefix == '0X' else 'base64'))
    elif prefix == '0x' and not _HEX_KEY.match(key):
        problems.append('starts with 0x, which racoon and strongSwan read as hex, but the rest is not an even '
                        'number of hex digits')
    return problems


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
            # Checked by the model already; checked again here, where it is written, so that a
            # key that could rewrite a key file fails the task instead.
            problems = key_problems(item['psk'])
            if problems:
                raise PskError("tunnel '%s': psk: %s" % (tunnel, problems[0]))
            return item['psk']
    raise PskError("tunnel '%s': psk: no explicit psk found in %s" % (tunnel, origin))
