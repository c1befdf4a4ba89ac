# -*- coding: utf-8 -*-
# Copyright (c) 2026 fleet.ipsec contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What the SAD/SPD dump parsers ``setkey_dump`` and ``xfrm_dump`` share.

The record keys (both modules re-export ``SA_KEYS``, ``SP_KEYS``, ``REQUEST_KEYS`` and
``LIFETIME_KEYS`` from here, so a FreeBSD and a Linux host's records compare field by
field), the checks that keep key material out of records and warnings, number, address
and protocol parsing, and the driver that reads a dump record by record: one precompiled
regex for the layout the tool prints, the module's line parser for anything else.

Pure Python, no Ansible imports. The names with a leading underscore are for the two
parsers only.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import gc
import re

__all__ = ['SA_KEYS', 'SP_KEYS', 'REQUEST_KEYS', 'LIFETIME_KEYS']

LIFETIME_KEYS = (
    'hard_add', 'soft_add', 'hard_use', 'soft_use',
    'hard_bytes', 'soft_bytes', 'hard_packets', 'soft_packets',
    'hard_allocations', 'soft_allocations',
)

SA_KEYS = (
    'format', 'line',
    'src', 'dst', 'src_port', 'dst_port', 'natt',
    'satype', 'proto', 'mode', 'spi', 'spi_hex', 'reqid', 'state',
    'enc', 'enc_norm', 'auth', 'auth_norm', 'comp', 'comp_norm',
    'replay_window', 'seq', 'flags', 'flag_names',
    'bytes', 'packets', 'allocations',
    'created', 'last_used', 'dumped_at', 'age',
    'lifetime',
    'nat_oa', 'nat_oai', 'nat_oar', 'encap_type',
    'sadb_seq', 'pid', 'refcnt',
    'replay_seq', 'replay_oseq', 'replay_dropped', 'integrity_failed',
    'mark', 'if_id', 'selector',
)

SP_KEYS = (
    'format', 'line',
    'src', 'dst', 'src_port', 'dst_port', 'proto',
    'dir', 'socket', 'action', 'priority', 'priority_class', 'ptype',
    'requests',
    'spid', 'seq', 'pid', 'refcnt', 'scope', 'ifname',
    'mark', 'if_id',
    'created', 'last_used', 'lifetime',
)

REQUEST_KEYS = ('proto', 'mode', 'src', 'dst', 'level', 'reqid', 'spi')

# Upper-layer protocol numbers as names; /etc/protocols spellings folded to one name.
_ULP_NUM = {'0': 'any', '255': 'any', '1': 'icmp', '4': 'ip4', '6': 'tcp', '17': 'udp',
            '41': 'ipv6', '47': 'gre', '50': 'esp', '51': 'ah', '58': 'icmp6',
            '108': 'ipcomp', '132': 'sctp', '33': 'dccp', '135': 'mobility-header'}
_ULP_NAME = {'ipv6-icmp': 'icmp6', 'icmpv6': 'icmp6', 'ipencap': 'ip4', 'ipv4': 'ip4',
             'ipip': 'ip4', 'ipv6-crypt': 'esp', 'ipv6-auth': 'ah', 'mobility-header': 'mobility-header'}

_MAX_U64 = (1 << 64) - 1
_MAX_U32 = (1 << 32) - 1

_V4 = r'\d{1,3}(?:\.\d{1,3}){3}'
_V6 = r'(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{0,4}|' + _V4 + r')'
# setkey prints a scoped IPv6 address with its zone (fe80::1%em0); iproute2 does not.
_ZONE = r'(?:%[A-Za-z][A-Za-z0-9_.]{0,15})?'
_ADDR_RE = re.compile(r'(?:' + _V4 + r'|' + _V6 + r')\Z')
_ADDR_ZONED_RE = re.compile(r'(?:' + _V4 + r'|' + _V6 + _ZONE + r')\Z')
_ALG_RE = re.compile(r'[A-Za-z0-9_(),.+-]{1,64}\Z')
_HEX_ONLY = re.compile(r'[0-9A-Fa-f\s]+\Z')
_HEX4 = re.compile(r'[0-9A-Fa-f]{4,}')
_HEX8 = re.compile(r'[0-9A-Fa-f]{8}')
_WORD_RE = re.compile(r'[A-Za-z][A-Za-z0-9_.-]{0,31}\Z')

# Pieces of the whole-record regexes: an address (checked again with _ADDR_RE, so loose
# here), the same with setkey's zone, and a counter.
_RA = r'[0-9.]{7,15}|[0-9A-Fa-f:.]{2,45}'
_RA_ZONED = _RA + _ZONE
_N = r'([0-9]{1,19})'


# ---------------------------------------------------------------- warnings

def _snippet(line):
    """A short, printable prefix of a line with every hex run of 4+ digits masked."""
    s = _HEX4.sub('<hex>', line.strip()[:40])
    s = ''.join(c if ' ' <= c < '\x7f' else '?' for c in s)
    return s[:48]


def _warn(warns, n, msg):
    if warns is not None:
        warns.append('line %d: %s' % (n, msg))


def _unknown(warns, n, line):
    if warns is not None:
        warns.append('line %d: unrecognised line %r' % (n, _snippet(line)))


# ---------------------------------------------------------------- values

def _uint(s, bound=_MAX_U64):
    """A decimal or 0x-hex unsigned int, or None."""
    try:
        if s[:2] in ('0x', '0X'):
            v = int(s[2:], 16)
        else:
            v = int(s)
    except (ValueError, TypeError):
        return None
    if v < 0 or v > bound:
        return None
    return v


def _paren_int(s, bound=_MAX_U32):
    """'24501(0x00005fb5)' -> 24501; '0xce94f85a(3465869402)' -> 3465869402."""
    i = s.find('(')
    return _uint(s[:i] if i >= 0 else s, bound)


_ALG_CACHE = {}


def _alg(tok):
    """An algorithm name fit to keep, or None (refuses anything that could be key hex)."""
    name = _ALG_CACHE.get(tok)
    if name is not None:
        return name
    name = _alg_check(tok)
    if name is not None and len(_ALG_CACHE) < 256:
        _ALG_CACHE[tok] = name
    return name


def _alg_check(tok):
    if not _ALG_RE.match(tok):
        return None
    if tok.startswith(('0x', '0X')) or _HEX8.search(tok):
        return None
    stripped = tok.strip('0123456789abcdefABCDEF')
    if not stripped:  # only hex digits: a number id at most
        return tok if tok.isdecimal() and len(tok) <= 3 else None
    return tok


def _norm(table, name, fold_case):
    """The normalised name of an algorithm: table[name], or the name itself; None stays None.

    fold_case: look the lower-cased name up (and return it lower-cased); setkey's names
    are case-insensitive, the kernel crypto API's are not.
    """
    if name is None:
        return None
    if fold_case:
        name = name.lower()
    return table.get(name, name)


def _normalizer(table, fold_case, doc):
    """A module's public normalize_* function: name -> _norm(table, name, fold_case)."""
    def normalize(name):
        return _norm(table, name, fold_case)
    normalize.__doc__ = doc
    return normalize


def _ulp(tok, paren=False):
    """Upper-layer protocol token -> normalised name, or None.

    paren: accept NetBSD's '4(ipv4)' (the number is used).
    """
    if tok == 'any':
        return 'any'
    if paren and tok.endswith(')'):
        tok = tok[:tok.find('(')]
    if tok.isdecimal():
        if len(tok) > 3 or int(tok) > 255:
            return None
        return _ULP_NUM.get(tok, tok)
    if not _WORD_RE.match(tok) or _HEX8.search(tok):
        return None
    low = tok.lower()
    return _ULP_NAME.get(low, low)


# ---------------------------------------------------------------- records

_LIFETIME_TEMPLATE = dict.fromkeys(LIFETIME_KEYS)
_REQUEST_TEMPLATE = dict.fromkeys(REQUEST_KEYS)


def _lifetime():
    return _LIFETIME_TEMPLATE.copy()


def _record_templates(fmt):
    """(SA template, SP template): dicts of all the keys, None but for 'format' and the flags."""
    sa = dict.fromkeys(SA_KEYS)
    sa['format'] = fmt
    sa['natt'] = False
    sp = dict.fromkeys(SP_KEYS)
    sp['format'] = fmt
    sp['socket'] = False
    return sa, sp


def _new_sa(template, n):
    """A fresh SA record of line n (to fill in): its own lifetime dict and flag list."""
    rec = template.copy()
    rec['line'] = n
    rec['lifetime'] = _LIFETIME_TEMPLATE.copy()
    rec['flag_names'] = []
    return rec


def _new_sp(template, n):
    """A fresh policy record of line n (to fill in): its own lifetime dict and request list."""
    rec = template.copy()
    rec['line'] = n
    rec['requests'] = []
    rec['lifetime'] = _LIFETIME_TEMPLATE.copy()
    return rec


def _take_alg(rec, key, tok, table, norm_key):
    """Fast paths: rec[key] = the algorithm name tok and rec[norm_key] = table's name for it;
    False (rec untouched) when tok is no name fit to keep (see _alg)."""
    name = _ALG_CACHE.get(tok)
    if name is None:
        name = _alg(tok)
        if name is None:
            return False
    rec[key] = name
    rec[norm_key] = table.get(name, name)
    return True


def _sa_id_field(rec, k, v, modes, n, warns):
    """One 'spi', 'reqid' or 'mode' field of an SA (either dump's spelling of the values);
    False when k is none of them."""
    if k == 'spi':
        spi = _paren_int(v)
        if spi is None:
            _warn(warns, n, 'malformed spi')
        else:
            rec['spi'] = spi
            rec['spi_hex'] = '0x%08x' % spi
    elif k == 'reqid':
        reqid = _paren_int(v)
        if reqid is None:
            _warn(warns, n, 'malformed reqid')
        else:
            rec['reqid'] = reqid
    elif k == 'mode':
        if v in modes or (v.isdecimal() and len(v) <= 3):
            rec['mode'] = v
        else:
            _warn(warns, n, 'malformed mode')
    else:
        return False
    return True


def _ignore(rec, toks, n, warns):
    pass


# ---------------------------------------------------------------- driver

class _GcPaused(object):
    """Pause the cyclic collector while a parse allocates many small dicts.

    The records hold no reference cycles; without the pause, collections triggered by
    the growing number of live dicts make a 100,000-record parse superlinear.
    """

    def __enter__(self):
        self.was = gc.isenabled()
        gc.disable()

    def __exit__(self, *exc):
        if self.was:
            gc.enable()
        return False


_SEGMENT_END = re.compile(r'\n(?=\S)')


def _drive(text, fast_re, from_match, slow, warnings):
    """Parse record by record: a whole-record regex for the canonical layout the tool
    prints (`from_match` builds the record, or returns None to refuse the match), and the
    line parser `slow` for everything else, one segment (a line in column 0 and the
    indented lines under it) at a time. The cyclic collector is paused meanwhile."""
    if text is None:
        return []
    if isinstance(text, bytes):
        text = text.decode('utf-8', 'replace')
    records = []
    pos = 0
    n = 1
    size = len(text)
    match = fast_re.match
    seg_end = _SEGMENT_END.search
    count = text.count
    with _GcPaused():
        while pos < size:
            m = match(text, pos)
            if m is not None:
                rec = from_match(m, n)
                if rec is not None:
                    records.append(rec)
                    end = m.end()
                    n += count('\n', pos, end)
                    pos = end
                    continue
            m = seg_end(text, pos)
            end = m.end() if m is not None else size
            slow(text[pos:end].split('\n'), n, records, warnings)
            n += count('\n', pos, end)
            pos = end
    return records
