# -*- coding: utf-8 -*-
# Copyright (c) 2026 fleet.ipsec contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Parse `setkey -D` (SAD) and `setkey -DP` (SPD) dumps into plain records.

Both dialects are read: FreeBSD's base libipsec (no priorities, ``scope=`` and
``ifname=`` on the spid line, ``NAT: OAI= OAR=``, hw/sw offload lines) and ipsec-tools
on Linux and NetBSD (``prio def``/``high``/``low`` with offsets, ``fwd`` policies,
``(per-socket policy)`` entries, ``NAT OA=``, an upper-layer protocol printed as a number).
Indentation is not relied on: tabs, expanded tabs or single spaces (as in mail
archives) all parse; a record starts at a line whose tokens are addresses.

Key material is never stored, counted or echoed: the ``E:`` and ``A:`` lines keep only
the algorithm name, their hex continuation lines are dropped, and a warning about an
unknown line shows a short prefix in which every run of four or more hex digits is
masked.

The records use the same keys as those of ``xfrm_dump`` so that a FreeBSD and a Linux
host can be compared field by field (``SA_KEYS``, ``SP_KEYS``, ``REQUEST_KEYS``,
``LIFETIME_KEYS``). Algorithm names are kept as printed (``enc``, ``auth``, ``comp``)
and normalised (``enc_norm``, ``auth_norm``, ``comp_norm``) to one vocabulary:

===================  ==========================  =========================
normalised           setkey (libipsec)           ip xfrm (Linux crypto API)
===================  ==========================  =========================
aes-cbc              aes-cbc, rijndael-cbc       cbc(aes)
aes-ctr              aes-ctr                     rfc3686(ctr(aes))
aes-gcm-16           aes-gcm-16                  rfc4106(gcm(aes)), ICV 128
3des-cbc / des-cbc   3des-cbc / des-cbc          cbc(des3_ede) / cbc(des)
null                 null                        ecb(cipher_null)
hmac-sha1            hmac-sha1                   hmac(sha1)
hmac-sha256          hmac-sha2-256               hmac(sha256)
hmac-sha384          hmac-sha2-384               hmac(sha384)
hmac-sha512          hmac-sha2-512               hmac(sha512)
hmac-md5             hmac-md5                    hmac(md5)
aes-xcbc             aes-xcbc-mac                xcbc(aes)
deflate              deflate                     deflate
===================  ==========================  =========================

(``ENC_NORM``, ``AUTH_NORM`` and ``COMP_NORM`` hold the full tables.)

Conventions shared with ``xfrm_dump``: times are local wall-clock strings
``YYYY-MM-DD HH:MM:SS`` (as the host printed them, no zone); a lifetime or limit of 0
means "no limit" (PF_KEY's meaning; xfrm's ``(INF)`` becomes 0); a reqid of 0 means none;
selectors are CIDR strings (``10.0.0.1/32``); ports are ints or None for "any"; for ICMP
selectors the type and code travel in ``src_port``/``dst_port`` as the kernels store them.

Speed: a record in the exact layout setkey prints (tabs, fields in their order) is read by one
precompiled regex; anything else (other whitespace, extra or unknown lines, damage) goes
through the line parser, record by record, with the same results. benchmarks/parse.py
measures both formats at 1,000 to 100,000 records.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.fleet.ipsec.plugins.module_utils.dump_common import (
    LIFETIME_KEYS, REQUEST_KEYS, SA_KEYS, SP_KEYS,
    _ADDR_ZONED_RE as _ADDR_RE, _HEX8, _HEX_ONLY, _LIFETIME_TEMPLATE, _MAX_U32, _MAX_U64, _N,
    _RA_ZONED as _RA, _REQUEST_TEMPLATE, _WORD_RE,
    _alg, _drive, _ignore, _new_sa, _new_sp, _norm, _normalizer, _record_templates, _sa_id_field, _take_alg, _uint, _ulp, _unknown, _warn,
)

__all__ = [
    'parse_sad', 'parse_sad_ex', 'parse_spd', 'parse_spd_ex',
    'normalize_enc', 'normalize_auth', 'normalize_comp',
    'SA_KEYS', 'SP_KEYS', 'REQUEST_KEYS', 'LIFETIME_KEYS',
]

ENC_NORM = {
    'aes-cbc': 'aes-cbc', 'rijndael-cbc': 'aes-cbc',
    'aes-ctr': 'aes-ctr',
    'aes-gcm-16': 'aes-gcm-16', 'aes-gcm-12': 'aes-gcm-12', 'aes-gcm-8': 'aes-gcm-8',
    'aes-gmac': 'aes-gmac', 'null-aes-gmac': 'aes-gmac',
    'des-cbc': 'des-cbc', '3des-cbc': '3des-cbc', 'des-deriv': 'des-deriv', '3des-deriv': '3des-deriv',
    'null': 'null', 'none': 'none',
    'blowfish-cbc': 'blowfish-cbc', 'cast128-cbc': 'cast128-cbc', 'rc5-cbc': 'rc5-cbc',
    'twofish-cbc': 'twofish-cbc', 'camellia-cbc': 'camellia-cbc', 'serpent-cbc': 'serpent-cbc',
    'chacha20-poly1305': 'chacha20-poly1305',
}

AUTH_NORM = {
    'hmac-md5': 'hmac-md5', 'hmac-sha1': 'hmac-sha1',
    'hmac-sha2-256': 'hmac-sha256', 'hmac-sha2-384': 'hmac-sha384', 'hmac-sha2-512': 'hmac-sha512',
    'hmac-sha256': 'hmac-sha256', 'hmac-sha384': 'hmac-sha384', 'hmac-sha512': 'hmac-sha512',
    'hmac-ripemd160': 'hmac-ripemd160', 'aes-xcbc-mac': 'aes-xcbc', 'aes-cmac': 'aes-cmac',
    'keyed-md5': 'keyed-md5', 'keyed-sha1': 'keyed-sha1', 'md5': 'md5', 'sha': 'sha',
    'tcp-md5': 'tcp-md5', 'null': 'null', 'none': 'none',
}

COMP_NORM = {'deflate': 'deflate', 'lzs': 'lzs', 'oui': 'oui', 'none': 'none'}

_SA_STATES = frozenset(('larval', 'mature', 'dying', 'dead'))
_SA_TYPES = frozenset(('esp', 'ah', 'ipcomp', 'esp-udp', 'unspec', 'unknown', 'rsvp',
                       'ospfv2', 'ripv2', 'mip', 'policy', 'tcp'))
_MODES = frozenset(('any', 'transport', 'tunnel'))
_DIRS = frozenset(('in', 'out', 'fwd', 'any'))
_ACTIONS = frozenset(('discard', 'none', 'ipsec', 'entrust', 'bypass'))
_LEVELS = frozenset(('default', 'use', 'require', 'unique'))
_REQ_PROTOS = frozenset(('esp', 'ah', 'ipcomp', 'tcp'))
_SCOPES = frozenset(('global', 'ifnet', 'pcb'))
_PRIORITY_BASE = {'high': 0x40000000, 'def': 0x80000000, 'low': 0xC0000000}

_MONTHS = {'Jan': '01', 'Feb': '02', 'Mar': '03', 'Apr': '04', 'May': '05', 'Jun': '06',
           'Jul': '07', 'Aug': '08', 'Sep': '09', 'Oct': '10', 'Nov': '11', 'Dec': '12'}
_DAYS = dict(('%d' % d, '%02d' % d) for d in range(1, 32))
_DAYS.update(('%02d' % d, '%02d' % d) for d in range(1, 10))

_TIME_RE = re.compile(r'\d\d:\d\d:\d\d\Z')


# ---------------------------------------------------------------- helpers

def _suffix_int(s, suffix):
    if s.endswith(suffix):
        s = s[:-len(suffix)]
    return _uint(s)


# setkey's algorithm names are case-insensitive: looked up (and kept) lower-cased.
normalize_enc = _normalizer(ENC_NORM, True, 'Normalised name of a setkey encryption algorithm (see the module docstring).')
normalize_auth = _normalizer(AUTH_NORM, True, 'Normalised name of a setkey authentication algorithm.')
normalize_comp = _normalizer(COMP_NORM, True, 'Normalised name of a setkey compression algorithm.')


def _ctime(toks, i):
    """Convert toks[i:i+4] ('Nov', '21', '06:15:17', '2017') to '2017-11-21 06:15:17'."""
    if i + 3 >= len(toks):
        return None
    m = _MONTHS.get(toks[i])
    if m is None:
        return None
    d = _DAYS.get(toks[i + 1])
    t = toks[i + 2]
    y = toks[i + 3]
    if d is None or len(y) != 4 or not y.isdecimal() or len(t) != 8 or not _TIME_RE.match(t):
        return None
    return y + '-' + m + '-' + d + ' ' + t


_SA_TEMPLATE, _SP_TEMPLATE = _record_templates('setkey')


def _ct20(s):
    """A 20-column ctime field ('Nov 21 06:15:17 2017', or blanks) -> '2017-11-21 06:15:17'."""
    if s is None or s[0] == ' ':
        return None
    m = _MONTHS.get(s[:3])
    d = _DAYS.get(s[4:6].lstrip())
    if m is None or d is None:
        return None
    return s[16:20] + '-' + m + '-' + d + ' ' + s[7:15]


# Canonical layouts, as FreeBSD's libipsec and ipsec-tools print them (tabs, one record
# per match). Key hex is matched by non-capturing groups only, so it is never captured.
_RCT = r'[A-Z][a-z]{2} [ 1-3][0-9] [0-9]{2}:[0-9]{2}:[0-9]{2} [0-9]{4}| {20}'
_RHEX = r'(?: [0-9a-f]{2,8})+\n(?: [0-9a-f]{2,8}(?: [0-9a-f]{2,8})*\n)*'
_SA_FAST = re.compile(
    r'(' + _RA + r')(?:\[([0-9]{1,5})\])? (' + _RA + r')(?:\[([0-9]{1,5})\])? ?\n'
    r'\t(esp|ah|ipcomp|esp-udp) mode=(any|transport|tunnel) spi=([0-9]{1,10})\(0x[0-9a-f]{8}\)'
    r' reqid=([0-9]{1,10})\(0x[0-9a-f]{8}\)\n'
    r'(?:\tNAT: OAI=(' + _RA + r') OAR=(' + _RA + r')\n|\tNAT OA=(' + _RA + r')\n)?'
    r'(?:\tE: ([a-z0-9][a-z0-9-]{0,31}) ' + _RHEX + r')?'
    r'(?:\tA: ([a-z0-9][a-z0-9-]{0,31}) ' + _RHEX + r')?'
    r'\tseq=0x([0-9a-f]{8}) replay=([0-9]{1,10}) flags=0x([0-9a-f]{8}) state=(mature|larval|dying|dead) ?\n'
    r'(?:\thw offl if: [^\n]*\n)?'
    r'(?:\tcreated: (' + _RCT + r')\tcurrent: (' + _RCT + r')\n'
    r'\tdiff: ' + _N + r'\(s\)\thard: ' + _N + r'\(s\)\tsoft: ' + _N + r'\(s\)\n'
    r'\tlast: (' + _RCT + r')\thard: ' + _N + r'\(s\)\tsoft: ' + _N + r'\(s\)\n'
    r'\tcurrent: ' + _N + r'\(bytes\)\thard: ' + _N + r'\(bytes\)\tsoft: ' + _N + r'\(bytes\)\n'
    r'\tallocated: ' + _N + r'\thard: ' + _N + r'\tsoft: ' + _N + r'\n)?'
    r'\tsadb_seq=' + _N + r' pid=' + _N + r' refcnt=' + _N + r'\n'
    r'(?=\S|\n|\Z)', re.ASCII)

_SP_SEL = r'(' + _RA + r')(?:/([0-9]{1,3}))?\[(any|[0-9]{1,5})\]'
_SP_FAST = re.compile(
    _SP_SEL + ' ' + _SP_SEL + r' (any|[0-9]{1,3}|[a-z][a-z0-9-]{0,15}) ?\n'
    r'\t(in|out|fwd|any) (?:prio (def|high|low)(?: ([-+]) ([0-9]{1,10}))? )?(ipsec|none|discard|entrust|bypass)\n'
    r'((?:\t(?:esp|ah|ipcomp)/[^\n]{1,200}\n)*)'
    r'(?:\tcreated: (' + _RCT + r')  lastused: (' + _RCT + r')\n)?'
    r'(?:\tlifetime: ' + _N + r'\(s\) validtime: ' + _N + r'\(s\)\n)?'
    r'\tspid=' + _N + r' seq=' + _N + r' pid=' + _N
    + r'(?: scope=(global|ifnet|pcb) ?(?:ifname=([A-Za-z][A-Za-z0-9_.]{0,15}))?)?\n'
    r'\trefcnt=([0-9]{1,10})\n'
    r'(?=\S|\n|\Z)', re.ASCII)


# ---------------------------------------------------------------- SAD

def _sa_header(toks, n):
    """'10.0.0.1[4500] 10.0.0.2[4500]' -> a new SA record, or None."""
    if len(toks) != 2:
        return None
    ends = []
    for tok in toks:
        port = None
        if tok.endswith(']'):
            i = tok.find('[')
            if i <= 0:
                return None
            port = _uint(tok[i + 1:-1], 65535)
            if port is None:
                return None
            tok = tok[:i]
        if _ADDR_RE.match(tok) is None:
            return None
        ends.append((tok, port))
    rec = _new_sa(_SA_TEMPLATE, n)
    rec['src'], rec['src_port'] = ends[0]
    rec['dst'], rec['dst_port'] = ends[1]
    return rec


def _sa_type(rec, toks, n, warns):
    satype = toks[0]
    if satype.startswith('natt+'):
        rec['natt'] = True
        base = satype[5:]
    elif satype == 'esp-udp':
        rec['natt'] = True
        base = 'esp'
    else:
        base = satype
    if base not in _SA_TYPES and not (base.isdecimal() and len(base) <= 3):
        _warn(warns, n, 'unknown SA type')
        return
    rec['satype'] = satype
    rec['proto'] = base
    if len(toks) == 4:
        # the usual "esp mode=tunnel spi=4097(0x00001001) reqid=100(0x00000064)"
        m, sp, rq = toks[1], toks[2], toks[3]
        i = sp.find('(')
        j = rq.find('(')
        if m[:5] == 'mode=' and m[5:] in _MODES and sp[:4] == 'spi=' and rq[:6] == 'reqid=' and i > 4 and j > 6:
            spi = sp[4:i]
            reqid = rq[6:j]
            if spi.isdecimal() and reqid.isdecimal() and len(spi) <= 10 and len(reqid) <= 10:
                spi = int(spi)
                reqid = int(reqid)
                if spi <= _MAX_U32 and reqid <= _MAX_U32:
                    rec['mode'] = m[5:]
                    rec['spi'] = spi
                    rec['spi_hex'] = '0x%08x' % spi
                    rec['reqid'] = reqid
                    return
    for tok in toks[1:]:
        k, dummy, v = tok.partition('=')
        _sa_id_field(rec, k, v, _MODES, n, warns)


def _key_line(key, table, what):
    """The handler of an 'E:' or 'A:' line: the algorithm name only (the key hex is dropped)."""
    def handler(rec, toks, n, warns):
        name = _alg(toks[1]) if len(toks) > 1 else None
        if name is None:
            _warn(warns, n, 'malformed %s algorithm' % what)
            return
        rec[key] = name
        rec[key + '_norm'] = _norm(table, name, True)
    return handler


_sa_enc = _key_line('enc', ENC_NORM, 'encryption')
_sa_auth = _key_line('auth', AUTH_NORM, 'authentication')


def _sa_comp(rec, toks, n, warns):
    # libipsec prints no newline after the C: algorithm: the seq= fields follow on this line.
    name = _alg(toks[1]) if len(toks) > 1 else None
    if name is None or name.startswith('seq='):
        _warn(warns, n, 'malformed compression algorithm')
    else:
        rec['comp'] = name
        rec['comp_norm'] = _norm(COMP_NORM, name, True)
    for i in range(1, len(toks)):
        if toks[i].startswith('seq='):
            _sa_seq(rec, toks[i:], n, warns)
            break


def _uint_field(rec, k, v, fields, n, warns):
    """A 'k=v' field with k in fields (k -> (record key, bound)): the value in rec, or a
    warning; False when k is not in fields."""
    field = fields.get(k)
    if field is None:
        return False
    x = _uint(v, field[1])
    if x is None:
        _warn(warns, n, 'malformed %s' % k)
    else:
        rec[field[0]] = x
    return True


_SEQ_FIELDS = {'seq': ('seq', _MAX_U64), 'replay': ('replay_window', _MAX_U32), 'flags': ('flags', _MAX_U32)}


def _sa_seq(rec, toks, n, warns):
    if len(toks) == 4:
        # the usual "seq=0x00000000 replay=16 flags=0x00000400 state=mature" layout
        a, b, c, d = toks
        if (a[:6] == 'seq=0x' and b[:7] == 'replay=' and c[:8] == 'flags=0x'
                and d[6:] in _SA_STATES and d[:6] == 'state='):
            try:
                rec['seq'] = int(a[6:], 16)
                rec['replay_window'] = int(b[7:])
                rec['flags'] = int(c[8:], 16)
            except ValueError:
                pass
            else:
                if rec['seq'] <= _MAX_U64 and rec['replay_window'] <= _MAX_U32 and rec['flags'] <= _MAX_U32:
                    rec['state'] = d[6:]
                    return
    for tok in toks:
        k, dummy, v = tok.partition('=')
        if k == 'state':
            if v in _SA_STATES or (v.isdecimal() and len(v) <= 3):
                rec['state'] = v
            else:
                _warn(warns, n, 'malformed state')
        else:
            _uint_field(rec, k, v, _SEQ_FIELDS, n, warns)


def _sa_created(rec, toks, n, warns):
    # created: Nov 21 06:15:17 2017   current: Nov 21 07:07:10 2017
    if len(toks) == 10 and toks[5] == 'current:':
        a = _ctime(toks, 1)
        b = _ctime(toks, 6)
        if a is not None and b is not None:
            rec['created'] = a
            rec['dumped_at'] = b
            return
    rec['created'] = _ctime(toks, 1)
    if rec['created'] is None and len(toks) > 1 and toks[1] != 'current:':
        _warn(warns, n, 'malformed created time')
    for i in range(1, len(toks)):
        if toks[i] == 'current:':
            rec['dumped_at'] = _ctime(toks, i + 1)
            if rec['dumped_at'] is None and i + 1 < len(toks):
                _warn(warns, n, 'malformed current time')
            break


def _pairs(rec, toks, start, keys, suffix, n, warns):
    """Fill 'label: value' pairs: keys maps a label to where its value goes."""
    lt = rec['lifetime']
    i = start
    end = len(toks) - 1
    while i < end:
        dest = keys.get(toks[i])
        if dest is not None:
            v = _suffix_int(toks[i + 1], suffix) if suffix else _uint(toks[i + 1])
            if v is None:
                _warn(warns, n, 'malformed value for %s' % toks[i].rstrip(':'))
            elif dest[0] == '.':
                lt[dest[1:]] = v
            else:
                rec[dest] = v
            i += 2
        else:
            i += 1


_DIFF_KEYS = {'diff:': 'age', 'hard:': '.hard_add', 'soft:': '.soft_add'}
_LAST_KEYS = {'hard:': '.hard_use', 'soft:': '.soft_use'}
_BYTES_KEYS = {'current:': 'bytes', 'hard:': '.hard_bytes', 'soft:': '.soft_bytes'}
_ALLOC_KEYS = {'allocated:': 'allocations', 'hard:': '.hard_allocations', 'soft:': '.soft_allocations'}
_SADB_FIELDS = {'sadb_seq': ('sadb_seq', _MAX_U64), 'pid': ('pid', _MAX_U64), 'refcnt': ('refcnt', _MAX_U64)}


def _triple(rec, toks, i, cut, k0, k1, k2):
    """Fast path for 'label: V  hard: V  soft: V' at toks[i:i+6]; False if not that shape."""
    if len(toks) != i + 6 or toks[i + 2] != 'hard:' or toks[i + 4] != 'soft:':
        return False
    if cut:
        a, b, c = toks[i + 1][:-cut], toks[i + 3][:-cut], toks[i + 5][:-cut]
    else:
        a, b, c = toks[i + 1], toks[i + 3], toks[i + 5]
    if not (a.isdecimal() and b.isdecimal() and c.isdecimal() and len(a) < 20 and len(b) < 20 and len(c) < 20):
        return False
    a, b, c = int(a), int(b), int(c)
    lt = rec['lifetime']
    if k0 is not None:
        rec[k0] = a
    lt[k1] = b
    lt[k2] = c
    return True


def _sa_diff(rec, toks, n, warns):
    if len(toks) == 6 and toks[1][-3:] == '(s)' and _triple(rec, toks, 0, 3, 'age', 'hard_add', 'soft_add'):
        return
    _pairs(rec, toks, 0, _DIFF_KEYS, '(s)', n, warns)


def _sa_last(rec, toks, n, warns):
    if len(toks) == 5 and toks[1] == 'hard:':
        start = 1
    else:
        used = _ctime(toks, 1)
        if used is not None:
            rec['last_used'] = used
            start = 5
        else:
            if len(toks) > 1 and toks[1] != 'hard:':
                _warn(warns, n, 'malformed last-use time')
            start = 1
    if len(toks) == start + 4 and toks[start] == 'hard:' and toks[start + 2] == 'soft:':
        a, b = toks[start + 1][:-3], toks[start + 3][:-3]
        if (toks[start + 1][-3:] == '(s)' and toks[start + 3][-3:] == '(s)' and a.isdecimal() and b.isdecimal()
                and len(a) < 20 and len(b) < 20):
            lt = rec['lifetime']
            lt['hard_use'] = int(a)
            lt['soft_use'] = int(b)
            return
    _pairs(rec, toks, start, _LAST_KEYS, '(s)', n, warns)


def _sa_bytes(rec, toks, n, warns):
    if len(toks) == 6 and toks[1][-7:] == '(bytes)' and _triple(rec, toks, 0, 7, 'bytes', 'hard_bytes', 'soft_bytes'):
        return
    _pairs(rec, toks, 0, _BYTES_KEYS, '(bytes)', n, warns)


def _sa_alloc(rec, toks, n, warns):
    if _triple(rec, toks, 0, 0, 'allocations', 'hard_allocations', 'soft_allocations'):
        return
    _pairs(rec, toks, 0, _ALLOC_KEYS, None, n, warns)


def _sa_sadb(rec, toks, n, warns):
    if len(toks) == 3 and toks[1][:4] == 'pid=' and toks[2][:7] == 'refcnt=' and toks[0][:9] == 'sadb_seq=':
        try:
            a, b, c = int(toks[0][9:]), int(toks[1][4:]), int(toks[2][7:])
        except ValueError:
            pass
        else:
            if 0 <= a <= _MAX_U64 and 0 <= b <= _MAX_U64 and 0 <= c <= _MAX_U64:
                rec['sadb_seq'] = a
                rec['pid'] = b
                rec['refcnt'] = c
                return
    for tok in toks:
        k, dummy, v = tok.partition('=')
        _uint_field(rec, k, v, _SADB_FIELDS, n, warns)


def _sa_nat(rec, toks, n, warns):
    # FreeBSD: "NAT: OAI=a OAR=b"; ipsec-tools: "NAT OA=a"
    for tok in toks[1:]:
        k, dummy, v = tok.partition('=')
        dest = {'OA': 'nat_oa', 'OAI': 'nat_oai', 'OAR': 'nat_oar'}.get(k)
        if dest is not None and _ADDR_RE.match(v):
            rec[dest] = v
        else:
            _warn(warns, n, 'malformed NAT original address')


_SA_DISPATCH = {
    'E:': _sa_enc, 'A:': _sa_auth, 'C:': _sa_comp,
    'seq': _sa_seq, 'created:': _sa_created, 'diff:': _sa_diff, 'last:': _sa_last,
    'current:': _sa_bytes, 'allocated:': _sa_alloc, 'sadb_seq': _sa_sadb,
    'NAT:': _sa_nat, 'NAT': _sa_nat,
    'hw': _ignore, 'sw': _ignore,  # FreeBSD offload lines: counters of no use here
}
for _t in _SA_TYPES:
    _SA_DISPATCH[_t] = _sa_type


def _finish_sa(rec, warns):
    if rec['satype'] is None:
        _warn(warns, rec['line'], 'SA without a type/mode/spi line')


def _sa_from_match(m, n):
    (src, sport, dst, dport, satype, mode, spi, reqid, oai, oar, oa, enc, auth,
     seq, replay, flags, state, created, current, age, hard_add, soft_add, last, hard_use, soft_use,
     nbytes, hard_bytes, soft_bytes, alloc, hard_alloc, soft_alloc, sadb_seq, pid, refcnt) = m.groups()
    match = _ADDR_RE.match
    if match(src) is None or match(dst) is None:
        return None
    spi = int(spi)
    reqid = int(reqid)
    if spi > _MAX_U32 or reqid > _MAX_U32:
        return None
    rec = _SA_TEMPLATE.copy()
    # the regex takes lower-case names only: no case folding needed
    if enc is not None and not _take_alg(rec, 'enc', enc, ENC_NORM, 'enc_norm'):
        return None
    if auth is not None and not _take_alg(rec, 'auth', auth, AUTH_NORM, 'auth_norm'):
        return None
    for x in (oai, oar, oa):
        if x is not None and match(x) is None:
            return None
    rec['line'] = n
    rec['src'] = src
    rec['dst'] = dst
    if sport is not None:
        rec['src_port'] = int(sport)
    if dport is not None:
        rec['dst_port'] = int(dport)
    rec['satype'] = satype
    if satype == 'esp-udp':
        rec['proto'] = 'esp'
        rec['natt'] = True
    else:
        rec['proto'] = satype
    rec['mode'] = mode
    rec['spi'] = spi
    rec['spi_hex'] = '0x%08x' % spi
    rec['reqid'] = reqid
    rec['nat_oai'] = oai
    rec['nat_oar'] = oar
    rec['nat_oa'] = oa
    rec['seq'] = int(seq, 16)
    rec['replay_window'] = int(replay)
    rec['flags'] = int(flags, 16)
    rec['state'] = state
    rec['flag_names'] = []
    lt = _LIFETIME_TEMPLATE.copy()
    rec['lifetime'] = lt
    if age is not None:
        rec['created'] = _ct20(created)
        rec['dumped_at'] = _ct20(current)
        rec['age'] = int(age)
        lt['hard_add'] = int(hard_add)
        lt['soft_add'] = int(soft_add)
        rec['last_used'] = _ct20(last)
        lt['hard_use'] = int(hard_use)
        lt['soft_use'] = int(soft_use)
        rec['bytes'] = int(nbytes)
        lt['hard_bytes'] = int(hard_bytes)
        lt['soft_bytes'] = int(soft_bytes)
        rec['allocations'] = int(alloc)
        lt['hard_allocations'] = int(hard_alloc)
        lt['soft_allocations'] = int(soft_alloc)
    rec['sadb_seq'] = int(sadb_seq)
    rec['pid'] = int(pid)
    rec['refcnt'] = int(refcnt)
    return rec


def parse_sad(text, warnings=None):
    """Parse `setkey -D` output into a list of SA dicts (keys: SA_KEYS).

    `warnings`, if a list, receives one string per line that was not understood
    (never with key material in it). 'No SAD entries.' and empty input give [].
    """
    return _drive(text, _SA_FAST, _sa_from_match, _slow_sad, warnings)


def _slow_sad(lines, n0, records, warnings):
    """The line parser, for one segment (what the fast regex did not take)."""
    cur = None
    in_key = False
    n = n0 - 1
    dispatch = _SA_DISPATCH
    key_lines = ('E:', 'A:')
    for raw in lines:
        n += 1
        toks = raw.split()
        if not toks:
            continue
        t0 = toks[0]
        handler = dispatch.get(t0)
        if handler is None:
            i = t0.find('=')
            if i > 0:
                handler = dispatch.get(t0[:i])
        if handler is not None:
            in_key = t0 in key_lines
            if cur is None:
                if not in_key:
                    _warn(warnings, n, 'line outside any SA')
                continue
            handler(cur, toks, n, warnings)
            continue
        # not a known field: a new SA, key continuation, or noise
        line = raw.strip()
        rec = _sa_header(toks, n)
        if rec is not None:
            if cur is not None:
                _finish_sa(cur, warnings)
            cur = rec
            records.append(rec)
            in_key = False
            continue
        if len(toks) > 1 and toks[1].startswith('mode=') and cur is not None:
            _sa_type(cur, toks, n, warnings)
            in_key = False
            continue
        if _HEX_ONLY.match(line):
            if not in_key:
                _warn(warnings, n, 'stray hex-only line dropped')
            continue
        in_key = False
        if line in ('No SAD entries.', 'No SPD entries.'):
            continue
        _unknown(warnings, n, line)
    if cur is not None:
        _finish_sa(cur, warnings)


def parse_sad_ex(text):
    """(records, warnings) for `setkey -D` output."""
    warns = []
    return parse_sad(text, warns), warns


# ---------------------------------------------------------------- SPD

def _selector(tok):
    """'10.0.0.0/24[any]' -> ('10.0.0.0/24', None); '10.0.0.1[500]' -> ('10.0.0.1/32', 500)."""
    port = None
    if tok[-5:] == '[any]':
        tok = tok[:-5]
    elif tok.endswith(']'):
        i = tok.find('[')
        if i <= 0:
            return None
        p = tok[i + 1:-1]
        if p != 'any':
            port = _uint(p, 65535)
            if port is None:
                return None
        tok = tok[:i]
    addr, slash, plen = tok.partition('/')
    if _ADDR_RE.match(addr) is None:
        return None
    if slash:
        if not (plen.isdecimal() and len(plen) <= 3 and int(plen) <= (128 if ':' in addr else 32)):
            return None
        return tok, port
    return addr + ('/128' if ':' in addr else '/32'), port


def _sp_header(toks, n, warns):
    """A policy selector line -> a new SP record, or None when it is not one."""
    t0 = toks[0]
    if t0.startswith('('):
        line = ' '.join(toks)
        if line.startswith('(per-socket policy)') or line.startswith('(no selector'):
            rec = _new_sp(_SP_TEMPLATE, n)
            rec['socket'] = True
            return rec
        return None
    if t0 == 'tagged':
        return _new_sp(_SP_TEMPLATE, n)
    if len(toks) < 3:
        return None
    s = _selector(t0)
    d = _selector(toks[1])
    if s is None or d is None:
        return None
    rec = _new_sp(_SP_TEMPLATE, n)
    rec['src'], rec['src_port'] = s
    rec['dst'], rec['dst_port'] = d
    if toks[2] == 'upper':  # "upper layer protocol mismatched."
        _warn(warns, n, 'upper layer protocol mismatched')
        return rec
    proto = _ulp(toks[2], True)  # True: NetBSD prints '4(ipv4)'
    if proto is None:
        _warn(warns, n, 'malformed upper-layer protocol')
    rec['proto'] = proto
    if proto == 'icmp6' and len(toks) > 3:  # "icmp6 TYPE,CODE"
        ty, dummy, code = toks[3].partition(',')
        rec['src_port'] = _uint(ty, 255)
        rec['dst_port'] = _uint(code, 255)
    return rec


def _sp_policy(rec, toks, n, warns):
    # "out ipsec", "in prio def ipsec", "fwd prio high + 10 none", "out(socket) none"
    d = toks[0]
    if d.endswith('(socket)'):
        d = d[:-8]
        rec['socket'] = True
    rec['dir'] = d if d in _DIRS else None
    action = toks[-1]
    if len(toks) < 2 or action not in _ACTIONS:
        _warn(warns, n, 'malformed policy action')
    else:
        rec['action'] = action
    if len(toks) > 3 and toks[1] == 'prio':
        base = _PRIORITY_BASE.get(toks[2])
        if base is None:
            _warn(warns, n, 'malformed priority')
            return
        rec['priority_class'] = toks[2]
        prio = base
        if len(toks) > 5 and toks[3] in ('+', '-'):
            off = _uint(toks[4], _MAX_U32)
            if off is None:
                _warn(warns, n, 'malformed priority offset')
            else:
                # ipsec-tools prints "+ N" for a priority N below the base (it matches its input syntax)
                prio = base - off if toks[3] == '+' else base + off
        if 0 <= prio <= _MAX_U32:
            rec['priority'] = prio


def _sp_request(rec, toks, n, warns):
    # esp/tunnel/192.0.2.1-192.0.2.2/require, esp/transport//unique#16385, ah/transport//use:100
    parts = toks[0].split('/')
    if len(parts) < 3 or parts[0] not in _REQ_PROTOS:
        _warn(warns, n, 'malformed ipsec request')
        return
    req = _REQUEST_TEMPLATE.copy()
    req['proto'] = parts[0]
    req['reqid'] = 0
    mode = parts[1]
    if mode in _MODES:
        req['mode'] = mode
    else:
        _warn(warns, n, 'malformed request mode')
    ends = parts[2]
    if ends:
        a, dummy, b = ends.partition('-')
        if _ADDR_RE.match(a) and _ADDR_RE.match(b):
            req['src'], req['dst'] = a, b
        else:
            _warn(warns, n, 'malformed tunnel endpoints')
    level = parts[3] if len(parts) > 3 else 'default'
    if level in _LEVELS:
        req['level'] = level
        rec['requests'].append(req)
        return
    for sep in ('#', ':'):
        i = level.find(sep)
        if i >= 0:
            reqid = _uint(level[i + 1:], _MAX_U32)
            if reqid is None:
                _warn(warns, n, 'malformed request reqid')
            else:
                req['reqid'] = reqid
            level = level[:i]
            break
    if level in _LEVELS:
        req['level'] = level
    else:
        _warn(warns, n, 'malformed request level')
    rec['requests'].append(req)


def _sp_created(rec, toks, n, warns):
    # created: Oct 18 14:25:10 2018  lastused: Oct 18 15:00:25 2018
    rec['created'] = _ctime(toks, 1)
    if rec['created'] is None and len(toks) > 1 and toks[1] != 'lastused:':
        _warn(warns, n, 'malformed created time')
    for i in range(1, len(toks)):
        if toks[i] == 'lastused:':
            rec['last_used'] = _ctime(toks, i + 1)
            if rec['last_used'] is None and i + 1 < len(toks):
                _warn(warns, n, 'malformed lastused time')
            break


_SP_LIFE_KEYS = {'lifetime:': '.hard_add', 'validtime:': '.hard_use'}


def _sp_lifetime(rec, toks, n, warns):
    if len(toks) == 4 and toks[2] == 'validtime:' and toks[1][-3:] == '(s)' and toks[3][-3:] == '(s)':
        try:
            a, b = int(toks[1][:-3]), int(toks[3][:-3])
        except ValueError:
            pass
        else:
            if 0 <= a <= _MAX_U64 and 0 <= b <= _MAX_U64:
                lt = rec['lifetime']
                lt['hard_add'] = a
                lt['hard_use'] = b
                return
    _pairs(rec, toks, 0, _SP_LIFE_KEYS, '(s)', n, warns)


_SPID_FIELDS = {'spid': ('spid', _MAX_U64), 'seq': ('seq', _MAX_U64), 'pid': ('pid', _MAX_U64)}


def _sp_spid(rec, toks, n, warns):
    # spid=1 seq=3 pid=778 scope=ifnet ifname=ipsec0
    if len(toks) >= 3 and toks[1][:4] == 'seq=' and toks[2][:4] == 'pid=' and toks[0][:5] == 'spid=':
        try:
            a, b, c = int(toks[0][5:]), int(toks[1][4:]), int(toks[2][4:])
        except ValueError:
            pass
        else:
            if 0 <= a <= _MAX_U64 and 0 <= b <= _MAX_U64 and 0 <= c <= _MAX_U64:
                rec['spid'] = a
                rec['seq'] = b
                rec['pid'] = c
                if len(toks) == 3:
                    return
                toks = toks[3:]
    for tok in toks:
        k, dummy, v = tok.partition('=')
        if _uint_field(rec, k, v, _SPID_FIELDS, n, warns):
            continue
        if k == 'scope':
            if v in _SCOPES or (v.isdecimal() and len(v) <= 3):
                rec['scope'] = v
            else:
                _warn(warns, n, 'malformed scope')
        elif k == 'ifname':
            if _WORD_RE.match(v) and not _HEX8.search(v):
                rec['ifname'] = v
            else:
                _warn(warns, n, 'malformed ifname')


def _sp_refcnt(rec, toks, n, warns):
    x = _uint(toks[0][7:]) if toks[0].startswith('refcnt=') else None
    if x is None:
        _warn(warns, n, 'malformed refcnt')
    else:
        rec['refcnt'] = x


_SP_DISPATCH = {
    'created:': _sp_created, 'lifetime:': _sp_lifetime,
    'spid': _sp_spid, 'refcnt': _sp_refcnt,
}
for _d in _DIRS:
    _SP_DISPATCH[_d] = _sp_policy
    _SP_DISPATCH[_d + '(socket)'] = _sp_policy


_RELEVEL = {'+': -1, '-': 1}


def _sp_from_match(m, n):
    (src, splen, sport, dst, dplen, dport, ulp, d, pclass, psign, poff, action, reqs,
     created, lastused, lifetime, validtime, spid, seq, pid, scope, ifname, refcnt) = m.groups()
    match = _ADDR_RE.match
    if match(src) is None or match(dst) is None:
        return None
    proto = _ulp(ulp, True)
    if proto is None or proto == 'icmp6':
        return None
    rec = _SP_TEMPLATE.copy()
    rec['line'] = n
    if splen is None:
        rec['src'] = src + ('/128' if ':' in src else '/32')
    elif int(splen) <= (128 if ':' in src else 32):
        rec['src'] = src + '/' + splen
    else:
        return None
    if dplen is None:
        rec['dst'] = dst + ('/128' if ':' in dst else '/32')
    elif int(dplen) <= (128 if ':' in dst else 32):
        rec['dst'] = dst + '/' + dplen
    else:
        return None
    if sport != 'any':
        rec['src_port'] = int(sport)
        if rec['src_port'] > 65535:
            return None
    if dport != 'any':
        rec['dst_port'] = int(dport)
        if rec['dst_port'] > 65535:
            return None
    rec['proto'] = proto
    rec['dir'] = d
    rec['action'] = action
    if pclass is not None:
        prio = _PRIORITY_BASE[pclass]
        if psign is not None:
            prio += _RELEVEL[psign] * int(poff)
        if not 0 <= prio <= _MAX_U32:
            return None
        rec['priority'] = prio
        rec['priority_class'] = pclass
    rec['requests'] = []
    if reqs:
        warns = []
        for line in reqs.split('\n')[:-1]:
            _sp_request(rec, [line[1:]], n, warns)
        if warns:
            return None
    lt = _LIFETIME_TEMPLATE.copy()
    rec['lifetime'] = lt
    if created is not None:
        rec['created'] = _ct20(created)
        rec['last_used'] = _ct20(lastused)
    if lifetime is not None:
        lt['hard_add'] = int(lifetime)
        lt['hard_use'] = int(validtime)
    rec['spid'] = int(spid)
    rec['seq'] = int(seq)
    rec['pid'] = int(pid)
    rec['scope'] = scope
    rec['ifname'] = ifname
    rec['refcnt'] = int(refcnt)
    return rec


def parse_spd(text, warnings=None):
    """Parse `setkey -DP` output into a list of policy dicts (keys: SP_KEYS).

    `warnings`, if a list, receives one string per line that was not understood.
    'No SPD entries.' and empty input give [].
    """
    return _drive(text, _SP_FAST, _sp_from_match, _slow_spd, warnings)


def _slow_spd(lines, n0, records, warnings):
    """The line parser, for one segment (what the fast regex did not take)."""
    cur = None
    n = n0 - 1
    dispatch = _SP_DISPATCH
    for raw in lines:
        n += 1
        toks = raw.split()
        if not toks:
            continue
        t0 = toks[0]
        handler = dispatch.get(t0)
        if handler is None:
            i = t0.find('=')
            if i > 0:
                handler = dispatch.get(t0[:i])
            else:
                i = t0.find('/')
                if i > 0 and t0[:i] in _REQ_PROTOS:
                    handler = _sp_request
        if handler is not None:
            if cur is None:
                _warn(warnings, n, 'line outside any policy')
                continue
            handler(cur, toks, n, warnings)
            continue
        line = raw.strip()
        rec = _sp_header(toks, n, warnings)
        if rec is not None:
            if cur is not None:
                _finish_sp(cur, warnings)
            cur = rec
            records.append(rec)
            continue
        if line in ('No SPD entries.', 'No SAD entries.'):
            continue
        if _HEX_ONLY.match(line):
            _warn(warnings, n, 'stray hex-only line dropped')
            continue
        _unknown(warnings, n, line)
    if cur is not None:
        _finish_sp(cur, warnings)


def _finish_sp(rec, warns):
    if rec['action'] is None:
        _warn(warns, rec['line'], 'policy without a direction/action line')


def parse_spd_ex(text):
    """(records, warnings) for `setkey -DP` output."""
    warns = []
    return parse_spd(text, warns), warns
