# -*- coding: utf-8 -*-
# Copyright (c) 2026 fleet.ipsec contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Parse `setkey -D` (SAD) and `setkey -DP` (SPD) dumps into records (keys: dump_common's).

Both printers are read: FreeBSD's libipsec (``scope=``/``ifname=`` on the spid line, ``NAT: OAI=
OAR=``, hw/sw offload lines) and ipsec-tools on Linux and NetBSD (``prio def|high|low [+|- N]``,
``fwd`` policies, ``(per-socket policy)`` entries, ``NAT OA=``, a protocol printed as a number).
Whitespace is not relied on: tabs, expanded tabs or single spaces (as in mail archives) all parse.

Key material never reaches a record or a warning: an ``E:``/``A:`` line is cut to its algorithm
name before it is matched, the hex lines that continue it are dropped, and an unknown line is
quoted with every run of four or more hex digits masked.

Algorithm names come as printed (``enc``, ``auth``) and normalised (``enc_norm``, ``auth_norm``)
to the vocabulary shared with xfrm_dump: aes-cbc (setkey rijndael-cbc, xfrm cbc(aes)), aes-ctr,
aes-gcm-16/12/8, 3des-cbc, des-cbc, null, hmac-sha1, hmac-sha256/384/512 (setkey hmac-sha2-256...,
xfrm hmac(sha256)...), hmac-md5, aes-xcbc (setkey aes-xcbc-mac). Times are the host's local
``YYYY-MM-DD HH:MM:SS``; ``age`` is setkey's own ``diff:``; policy selectors are CIDR strings.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.fleet.ipsec.plugins.module_utils.dump_common import (
    NEW, REQUEST, REQUEST_KEYS, SA_KEYS, SP_KEYS, V4, V6,
    Dialect, Line, algorithm, labelled, number, number32, one_of, parse, protocol, word,
)

# Names setkey prints that the shared vocabulary spells otherwise (the rest are kept, lower-cased).
_ENC_NORM = {'rijndael-cbc': 'aes-cbc', 'null-aes-gmac': 'aes-gmac'}
_AUTH_NORM = {'hmac-sha2-256': 'hmac-sha256', 'hmac-sha2-384': 'hmac-sha384',
              'hmac-sha2-512': 'hmac-sha512', 'aes-xcbc-mac': 'aes-xcbc'}

_SA_TYPES = frozenset(('esp', 'ah', 'ipcomp', 'esp-udp', 'unspec', 'unknown', 'rsvp',
                       'ospfv2', 'ripv2', 'mip', 'policy', 'tcp'))
_MODES = ('any', 'transport', 'tunnel')

# setkey prints a scoped IPv6 address with its zone (fe80::1%em0).
_ADDR = r'(?:' + V4 + r'|' + V6 + r'(?:%[A-Za-z][A-Za-z0-9_.]{0,15})?)'
_ADDR_RE = re.compile(_ADDR + r'\Z')
# A policy selector: address, prefix length (valid for the family), port or [any].
_SELECTOR = (r'(?:' + V4 + r'(?:/(?:3[0-2]|[12]?[0-9]))?|' + V6 + r'(?:%[A-Za-z][A-Za-z0-9_.]{0,15})?'
             r'(?:/(?:12[0-8]|1[01][0-9]|[1-9]?[0-9]))?)(?:\[(?:any|[0-9]{1,5})\])?')

_MONTHS = dict((m, '%02d' % i) for i, m in enumerate(
    ('Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'), 1))
_CTIME = re.compile(r'([A-Z][a-z]{2})\s+(0?[1-9]|[12][0-9]|3[01])\s+([0-9]{2}:[0-9]{2}:[0-9]{2})\s+([0-9]{4})(?:\s|\Z)')


def _ctime(value):
    """'Nov 21 06:15:17 2017' (words after it ignored) -> '2017-11-21 06:15:17'."""
    m = _CTIME.match(value)
    if m is None or m.group(1) not in _MONTHS:
        return None
    return '%s-%s-%02d %s' % (m.group(4), _MONTHS[m.group(1)], int(m.group(2)), m.group(3))


def _address(value):
    return value if _ADDR_RE.match(value) else None


def _satype(value):
    base = value[5:] if value.startswith('natt+') else value
    return value if base in _SA_TYPES or (base.isdigit() and len(base) <= 3) else None


def _cidr(value):
    """'10.0.0.0/24[any]' -> '10.0.0.0/24'; '10.0.0.1[500]' -> '10.0.0.1/32'."""
    value = value.partition('[')[0]
    if '/' in value:
        return value
    return value + ('/128' if ':' in value else '/32')


def _true(value):
    return True


def _mismatch(value):
    return None


def _cut_key(line):
    """'E: aes-cbc  0123abcd ...' -> 'E: aes-cbc'."""
    return ' '.join(line.split(None, 2)[:2])


_HARD_SOFT = dict(hard=(number, 'malformed value for hard'), soft=(number, 'malformed value for soft'))
_SEQ = r'seq=(?P<seq>\S*) replay=(?P<replay>\S*) flags=(?P<flags>\S*) state=(?P<state>\S*)'
_SEQ_GROUPS = dict(seq=number, replay=number32, flags=number32,
                   state=one_of(('larval', 'mature', 'dying', 'dead'), numbers=True))

_SAD_LINES = {
    'E:': [Line(r'E: (?P<enc>\S+)', enc=(algorithm, 'malformed encryption algorithm'))],
    'A:': [Line(r'A: (?P<auth>\S+)', auth=(algorithm, 'malformed authentication algorithm'))],
    # libipsec prints no newline after the C: algorithm: the seq= fields share its line.
    'C:': [Line(r'C: (?P<comp>\S+)(?: ' + _SEQ + r')?',
                comp=(algorithm, 'malformed compression algorithm'), **_SEQ_GROUPS)],
    'seq': [Line(_SEQ, **_SEQ_GROUPS)],
    'created:': [Line(labelled(('created:', 'created'), ('current:', 'current')),
                      created=(_ctime, 'malformed created time'), current=(_ctime, 'malformed current time'))],
    'diff:': [Line(labelled(('diff:', 'age'), ('hard:', 'hard'), ('soft:', 'soft')),
                   age=(number, 'malformed value for diff'), **_HARD_SOFT)],
    'last:': [Line(labelled(('last:', 'last'), ('hard:', 'hard'), ('soft:', 'soft')),
                   last=(_ctime, 'malformed last-use time'), **_HARD_SOFT)],
    'current:': [Line(labelled(('current:', 'bytes'), ('hard:', 'hard'), ('soft:', 'soft')),
                      bytes=(number, 'malformed value for current'), **_HARD_SOFT)],
    'allocated:': [Line(labelled(('allocated:', 'allocated'), ('hard:', 'hard'), ('soft:', 'soft')),
                        allocated=(number, 'malformed value for allocated'), **_HARD_SOFT)],
    'sadb_seq': [Line(r'sadb_seq=(?P<sadb_seq>\S*) pid=(?P<pid>\S*) refcnt=(?P<refcnt>\S*)',
                      sadb_seq=number, pid=number, refcnt=number)],
    'NAT:': [Line(r'NAT: OAI=(?P<oai>\S*) OAR=(?P<oar>\S*)', oai=(_address, 'malformed NAT original address'),
                  oar=(_address, 'malformed NAT original address'))],
    'NAT': [Line(r'NAT OA=(?P<oa>\S*)', oa=(_address, 'malformed NAT original address'))],
    # FreeBSD's offload counters
    'hw': [Line(r'hw .*')],
    'sw': [Line(r'sw .*')],
}
_SAD_OTHER = [
    Line(r'(?P<src>' + _ADDR + r')(?:\[[0-9]{1,5}\])? (?P<dst>' + _ADDR + r')(?:\[[0-9]{1,5}\])?', NEW),
    Line(r'(?P<satype>[^\s=]+) mode=(?P<mode>\S*) spi=(?P<spi>\S*) reqid=(?P<reqid>\S*)',
         satype=(_satype, 'unknown SA type'), mode=one_of(_MODES, numbers=True), spi=number32, reqid=number32),
]

_SPD_LINES = {
    'created:': [Line(labelled(('created:', 'created'), ('lastused:', 'lastused')),
                      created=(_ctime, 'malformed created time'), lastused=(_ctime, 'malformed lastused time'))],
    'lifetime:': [Line(labelled(('lifetime:', 'lifetime'), ('validtime:', 'validtime')),
                       lifetime=(number, 'malformed value for lifetime'),
                       validtime=(number, 'malformed value for validtime'))],
    'spid': [Line(r'spid=(?P<spid>\S*) seq=(?P<seq>\S*) pid=(?P<pid>\S*)'
                  r'(?: scope=(?P<scope>\S*))?(?: ifname=(?P<ifname>\S*))?',
                  spid=number, seq=number, pid=number, scope=one_of(('global', 'ifnet', 'pcb'), numbers=True),
                  ifname=word)],
    'refcnt': [Line(r'refcnt=(?P<refcnt>\S*)', refcnt=number)],
}
# "out ipsec", "in prio def ipsec", "fwd prio high + 10 none", "out(socket) none"
for _d in ('in', 'out', 'fwd', 'any'):
    _SPD_LINES[_d] = [Line(
        r'(?P<dir>' + _d + r')(?P<socket>\(socket\))?(?: prio (?P<prio>\S+)(?: [-+] (?P<offset>\S+))?)? (?P<action>\S+)',
        socket=_true, prio=(one_of(('high', 'def', 'low')), 'malformed priority'),
        offset=(number32, 'malformed priority offset'),
        action=(one_of(('discard', 'none', 'ipsec', 'entrust', 'bypass')), 'malformed policy action'))]
# esp/tunnel/192.0.2.1-192.0.2.2/require, esp/transport//unique#16385, ah/transport//use:100
for _p in ('esp', 'ah', 'ipcomp', 'tcp'):
    _SPD_LINES[_p] = [Line(
        r'(?P<proto>' + _p + r')/(?P<mode>[^\s/]*)/(?:(?P<src>[^\s/-]+)-(?P<dst>[^\s/]+))?'
        r'(?:/(?P<level>[^\s/#:]*)(?:[#:](?P<reqid>[^\s/]*))?)?(?: .*)?', REQUEST,
        mode=(one_of(_MODES), 'malformed request mode'), src=(_address, 'malformed tunnel endpoints'),
        dst=(_address, 'malformed tunnel endpoints'),
        level=(one_of(('default', 'use', 'require', 'unique')), 'malformed request level'),
        reqid=(number32, 'malformed request reqid'))]
_SPD_OTHER = [
    Line(r'(?P<src>' + _SELECTOR + r') (?P<dst>' + _SELECTOR + r') (?P<proto>upper)(?: .*)?', NEW,
         src=_cidr, dst=_cidr, proto=(_mismatch, 'upper layer protocol mismatched')),
    # icmp6 selectors carry "TYPE,CODE" after the protocol
    Line(r'(?P<src>' + _SELECTOR + r') (?P<dst>' + _SELECTOR + r') (?P<proto>\S+)(?: .*)?', NEW,
         src=_cidr, dst=_cidr, proto=(protocol, 'malformed upper-layer protocol')),
    Line(r'(?P<socket>\((?:per-socket policy|no selector).*)', NEW, socket=_true),
    Line(r'tagged(?: .*)?', NEW),
]


def _finish_sa(rec, line, warn):
    satype = rec['satype']
    if satype is None:
        warn('line %d: SA without a type/mode/spi line' % line)
    elif satype.startswith('natt+'):
        rec['proto'] = satype[5:]
    else:
        rec['proto'] = 'esp' if satype == 'esp-udp' else satype
    if rec['spi'] is not None:
        rec['spi_hex'] = '0x%08x' % rec['spi']
    # setkey's names are case-insensitive
    for key, table in (('enc', _ENC_NORM), ('auth', _AUTH_NORM)):
        if rec[key] is not None:
            name = rec[key].lower()
            rec[key + '_norm'] = table.get(name, name)


def _finish_sp(rec, line, warn):
    if rec['action'] is None:
        warn('line %d: policy without a direction/action line' % line)


_ENTRIES = ('No SAD entries.', 'No SPD entries.')
_SAD = Dialect(_SAD_LINES, _SAD_OTHER, dict.fromkeys(SA_KEYS), _finish_sa, 'line outside any SA',
               key_words=('E:', 'A:'), cut_key=_cut_key, quiet_hex_after=('E:', 'A:'), skip=_ENTRIES)
_SPD = Dialect(_SPD_LINES, _SPD_OTHER, dict(dict.fromkeys(SP_KEYS), socket=False), _finish_sp,
               'line outside any policy', request=dict(dict.fromkeys(REQUEST_KEYS), level='default'),
               skip=_ENTRIES)


def parse_sad(text, warnings=None):
    """The SAs of `setkey -D` output; `warnings`, a list, gets one line per problem (no key in it)."""
    return parse(text, _SAD, warnings)


def parse_spd(text, warnings=None):
    """The policies of `setkey -DP` output; `warnings`, a list, gets one line per problem."""
    return parse(text, _SPD, warnings)
