# -*- coding: utf-8 -*-
# Copyright (c) 2026 fleet.ipsec contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Parse Linux `ip [-s] xfrm state` and `ip [-s] xfrm policy` output into records.

The records have the keys of setkey_dump's (dump_common's SA_KEYS, SP_KEYS, REQUEST_KEYS), None
where iproute2 prints no such field. How xfrm maps onto that vocabulary:

- ``proto esp|ah|comp`` -> ``proto`` ``esp|ah|ipcomp``; ``satype`` is the same, or ``esp-udp`` for
  an ESP SA with an ``encap`` line. xfrm has no SA states: ``state`` stays None.
- Algorithm names are kept as the kernel names them (``cbc(aes)``; an AEAD such as
  ``rfc4106(gcm(aes))`` goes to ``enc``, with ``auth`` None) and normalised in ``*_norm`` to the
  vocabulary of setkey_dump (``aes-cbc``, ``hmac-sha256``, ``aes-gcm-16`` for a 128-bit ICV...).
- ``lifetime current`` -> ``bytes``, ``packets`` and ``created`` (its ``add`` time).
- Policies: ``dir in|out|fwd`` -> ``dir``; ``socket in|out`` -> ``dir`` with ``socket`` True (a
  daemon's per-socket bypass); ``action block`` -> ``discard``; an allowing policy -> ``ipsec``
  when it has templates, else ``none``; each ``tmpl`` -> a request whose ``level`` is ``use`` for
  ``level use``, else ``require``; unspecified transport-mode endpoints (0.0.0.0, ::) -> None, as
  setkey prints none.

The key of an ``enc``/``auth``/``auth-trunc``/``aead`` line is cut off before the line is
matched; an unknown line is quoted with every run of four or more hex digits masked.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.fleet.ipsec.plugins.module_utils.dump_common import (
    ADDR, LAST_REQUEST, NEW, REQUEST, REQUEST_KEYS, SA_KEYS, SP_KEYS,
    Dialect, Line, address, algorithm, number, number32, one_of, parse, protocol,
)

_ENC_NORM = {
    'cbc(aes)': 'aes-cbc', 'rfc3686(ctr(aes))': 'aes-ctr',
    'cbc(des3_ede)': '3des-cbc', 'cbc(des)': 'des-cbc',
    'ecb(cipher_null)': 'null', 'cipher_null': 'null',
    'cbc(blowfish)': 'blowfish-cbc', 'cbc(cast5)': 'cast128-cbc', 'cbc(twofish)': 'twofish-cbc',
    'cbc(serpent)': 'serpent-cbc', 'cbc(camellia)': 'camellia-cbc',
    'rfc7539esp(chacha20,poly1305)': 'chacha20-poly1305', 'rfc4543(gcm(aes))': 'aes-gmac',
}
# An AEAD's name in the shared vocabulary depends on its ICV length in bits.
_AEAD_NORM = {
    'rfc4106(gcm(aes))': {128: 'aes-gcm-16', 96: 'aes-gcm-12', 64: 'aes-gcm-8'},
    'rfc4309(ccm(aes))': {128: 'aes-ccm-16', 96: 'aes-ccm-12', 64: 'aes-ccm-8'},
}
_AUTH_NORM = {
    'hmac(md5)': 'hmac-md5', 'hmac(sha1)': 'hmac-sha1',
    'hmac(sha256)': 'hmac-sha256', 'hmac(sha384)': 'hmac-sha384', 'hmac(sha512)': 'hmac-sha512',
    'hmac(rmd160)': 'hmac-ripemd160', 'xcbc(aes)': 'aes-xcbc', 'cmac(aes)': 'aes-cmac',
    'digest_null': 'null',
}

_PROTOS = {'esp': 'esp', 'ah': 'ah', 'comp': 'ipcomp'}
_MODES = ('transport', 'tunnel', 'ro', 'in_trigger', 'beet')
_PREFIX = ADDR + r'(?:/(?:12[0-8]|1[01][0-9]|[0-9]{1,2}))?'
_MARK = re.compile(r'(?:0x[0-9a-fA-F]{1,8}|[0-9]{1,10})/0x[0-9a-fA-F]{1,8}\Z')
_LIMIT = re.compile(r'(?:\(INF\)|[0-9]{1,20})\((?:bytes|packets)\),?\Z')
_EXPIRY = re.compile(r'[0-9]{1,20}\(sec\),?\Z')
_WHEN = re.compile(r'([0-9]{4}-[0-9]{2}-[0-9]{2})\s+([0-9]{2}:[0-9]{2}:[0-9]{2})(?:\s|\Z)')


def _when(value):
    """'2026-11-27 18:58:04' (as iproute2 prints it, in local time) or None."""
    m = _WHEN.match(value)
    return m.group(1) + ' ' + m.group(2) if m else None


def _when_or_never(value):
    return value if value == '-' else _when(value)


def _prefix(value):
    if '/' in value:
        return value
    return value + ('/128' if ':' in value else '/32')


def _checker(regex):
    def check(value):
        return value if regex.match(value) else None
    return check


def _encap(value):
    return 'esp-udp' if value in ('espinudp', 'espinudp-nonike', 'espintcp') or value.isdigit() else None


def _action(value):
    return value if value in ('allow', 'block') else None


def _level(value):
    if value == 'required':
        return 'require'
    return value if value == 'use' or (value.isdigit() and len(value) <= 3) else None


def _aead_norm(rec, match):
    # the line is cut to "aead NAME ICV-BITS" (see _cut_key)
    words = match.string.split()
    icv = number(words[2], 1024) if len(words) > 2 else None
    if rec['enc'] is not None:
        rec['enc_norm'] = _AEAD_NORM.get(rec['enc'], {}).get(icv, rec['enc'])


def _cut_key(line):
    """An algorithm line cut to its name: 'enc cbc(aes) 0x0123... (256 bits)' -> 'enc cbc(aes)'.

    The key's length goes too (the documentation promises not even that); an AEAD keeps its last
    word, the ICV length, which names the algorithm: 'aead rfc4106(gcm(aes)) 0x... (288 bits) 128'.
    """
    words = line.split()
    if words[0] == 'aead' and len(words) > 3:
        return ' '.join((words[0], words[1], words[-1]))
    return ' '.join(words[:2])


def _ignored():
    return [Line(r'.*')]


def _with_common(lines):
    table = dict(_COMMON)
    table.update(lines)
    return table


# Lines of both dumps: marks, interface ids, lifetimes.
_COMMON = {
    'mark': [Line(r'mark (?P<mark>\S+)(?: .*)?', mark=_checker(_MARK))],
    'if_id': [Line(r'if_id (?P<if_id>\S+)(?: .*)?', if_id=number32)],
    'limit:': [Line(r'limit: soft (?P<soft>\S+) hard (?P<hard>\S+)', soft=(_checker(_LIMIT), 'malformed lifetime limit'),
                    hard=(_checker(_LIMIT), 'malformed lifetime limit'))],
    'expire': [Line(r'expire (?:add|use): soft (?P<soft>\S+) hard (?P<hard>\S+)',
                    soft=(_checker(_EXPIRY), 'malformed lifetime expiry'),
                    hard=(_checker(_EXPIRY), 'malformed lifetime expiry'))],
    'add': [Line(r'add (?P<created>\S+ \S+)(?: use (?P<use>.+))?', created=(_when, 'malformed add time'),
                 use=(_when_or_never, 'malformed use time'))],
    'lastused': [Line(r'lastused (?P<lastused>.+)', lastused=(_when_or_never, 'malformed lastused time'))],
    'lifetime': _ignored(), 'security': _ignored(), 'coa': _ignored(), 'offload': _ignored(), 'crypto': _ignored(),
}

_STATE_LINES = _with_common({
    'src': [Line(r'src (?P<src>' + ADDR + r') dst (?P<dst>' + ADDR + r')', NEW)],
    # proto esp spi 0xce94f85a(3465869402) reqid 1(0x00000001) mode tunnel
    'proto': [Line(r'proto (?P<proto>\S+) spi (?P<spi>\S+) reqid (?P<reqid>\S+) mode (?P<mode>\S+)',
                   proto=(_PROTOS.get, 'unknown xfrm protocol'), spi=number32, reqid=number32,
                   mode=one_of(_MODES, numbers=True))],
    'replay-window': [Line(r'replay-window \S+ replay \S+ failed \S+'),  # under stats:
                      Line(r'replay-window (?P<replay_window>\S+)(?: .*)?', replay_window=number32)],
    'enc': [Line(r'enc (?P<enc>\S+)(?: .*)?', enc=(algorithm, 'malformed enc algorithm'))],
    'auth': [Line(r'auth (?P<auth>\S+)(?: .*)?', auth=(algorithm, 'malformed auth algorithm'))],
    'auth-trunc': [Line(r'auth-trunc (?P<auth>\S+)(?: .*)?', auth=(algorithm, 'malformed auth-trunc algorithm'))],
    'aead': [Line(r'aead (?P<enc>\S+)(?: .*)?', after=_aead_norm, enc=(algorithm, 'malformed aead algorithm'))],
    'comp': [Line(r'comp (?P<comp>\S+)(?: .*)?', comp=(algorithm, 'malformed comp algorithm'))],
    'encap': [Line(r'encap type (?P<satype>\S+)(?: .*)?', satype=(_encap, 'malformed encap type'))],
    'sel': [Line(r'sel src (?P<sel_src>\S+) dst (?P<sel_dst>\S+)(?: .*)?',
                 sel_src=(_checker(re.compile(_PREFIX + r'\Z')), 'malformed SA selector'),
                 sel_dst=(_checker(re.compile(_PREFIX + r'\Z')), 'malformed SA selector'))],
    # Printed by some iproute2 versions, of no use here. After "replay_window N, bitmap-length N"
    # come the ESN replay bitmap's hex words.
    'anti-replay': _ignored(), 'seq-hi': _ignored(), 'replay_window': _ignored(), 'stats:': _ignored(),
    'output-mark': _ignored(), 'dir': _ignored(), 'extra-flag': _ignored(), 'tfcpad': _ignored(),
    'pcpu-num': _ignored(), 'smark': _ignored(), 'oseq-hi': _ignored(),
})
_STATE_OTHER = [Line(r'(?P<bytes>\S+)\(bytes\), (?P<packets>\S+)\(packets\)',
                     bytes=(number, 'malformed lifetime counters'), packets=(number, 'malformed lifetime counters'))]

_POLICY_LINES = _with_common({
    'src': [Line(r'src (?P<src>' + _PREFIX + r') dst (?P<dst>' + _PREFIX + r')(?: proto (?P<proto>\S+))?(?: .*)?',
                 NEW, src=_prefix, dst=_prefix, proto=(protocol, 'malformed selector protocol'))],
    # dir out [action allow|block] [index N] priority N ptype main [share any] [flag ... (0x..)]
    'dir': [Line(r'(?P<socket>dir|socket) (?P<dir>\S+)(?: action (?P<action>\S+))?(?: index (?P<index>\S+))?'
                 r'(?: priority (?P<priority>\S+))?(?: ptype (?P<ptype>\S+))?(?: .*)?',
                 socket=lambda value: value == 'socket', dir=(one_of(('in', 'out', 'fwd')), 'malformed policy direction'),
                 action=(_action, 'unknown policy action'), index=(number32, None), priority=number32,
                 ptype=(one_of(('main', 'sub'), numbers=True), None))],
    'tmpl': [Line(r'tmpl src (?P<src>\S+) dst (?P<dst>\S+)', REQUEST,
                  src=(address, 'malformed template endpoints'), dst=(address, 'malformed template endpoints'))],
    'proto': [Line(r'proto (?P<proto>\S+)(?: spi \S+)? reqid (?P<reqid>\S+) mode (?P<mode>\S+)(?: .*)?', LAST_REQUEST,
                   orphan='template details without a tmpl line', proto=(_PROTOS.get, 'unknown template protocol'),
                   reqid=(number32, 'malformed template reqid'), mode=(one_of(_MODES), 'malformed template mode'))],
    'level': [Line(r'level (?P<level>\S+)(?: .*)?', LAST_REQUEST, orphan='template level without a tmpl line',
                   level=(_level, 'malformed template level'))],
    'enc-mask': _ignored(),
})
_POLICY_LINES['socket'] = _POLICY_LINES['dir']
_POLICY_OTHER = [Line(r'\S+\(bytes\), \S+\(packets\)')]  # a policy's counters are not kept


def _finish_state(rec, line, warn):
    proto = rec['proto']
    if proto is None:
        warn('line %d: SA without a proto/spi line' % line)
    if rec['satype'] != 'esp-udp' or proto not in (None, 'esp'):
        rec['satype'] = proto
    if rec['spi'] is not None:
        rec['spi_hex'] = '0x%08x' % rec['spi']
    if rec['enc'] is not None and rec['enc_norm'] is None:
        rec['enc_norm'] = _ENC_NORM.get(rec['enc'], rec['enc'])
    if rec['auth'] is not None:
        rec['auth_norm'] = _AUTH_NORM.get(rec['auth'], rec['auth'])


def _finish_policy(rec, line, warn):
    if rec['action'] == 'block':
        rec['action'] = 'discard'
    elif rec['action'] == 'allow':
        rec['action'] = 'ipsec' if rec['requests'] else 'none'
    if rec['proto'] is None:
        rec['proto'] = 'any'
    if rec['dir'] is None:
        warn('line %d: policy without a dir/socket line' % line)
    for req in rec['requests']:
        if req['mode'] == 'transport':
            for key in ('src', 'dst'):
                if req[key] in ('0.0.0.0', '::'):
                    req[key] = None


_KEY_WORDS = ('enc', 'auth', 'auth-trunc', 'aead', 'comp')
_STATE = Dialect(_STATE_LINES, _STATE_OTHER, dict.fromkeys(SA_KEYS), _finish_state, 'line outside any SA',
                 key_words=_KEY_WORDS, cut_key=_cut_key, quiet_hex_after=('replay_window',))
_POLICY = Dialect(_POLICY_LINES, _POLICY_OTHER, dict(dict.fromkeys(SP_KEYS), socket=False, action='allow'),
                  _finish_policy, 'line outside any policy', request=dict(dict.fromkeys(REQUEST_KEYS), level='require'),
                  key_words=_KEY_WORDS, cut_key=_cut_key)


def parse_state(text, warnings=None):
    """The SAs of `ip [-s] xfrm state` output; `warnings`, a list, gets one line per problem (no key in it)."""
    return parse(text, _STATE, warnings)


def parse_policy(text, warnings=None):
    """The policies of `ip [-s] xfrm policy` output; `warnings`, a list, gets one line per problem."""
    return parse(text, _POLICY, warnings)
