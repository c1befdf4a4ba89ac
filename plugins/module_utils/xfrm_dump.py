# -*- coding: utf-8 -*-
# Copyright (c) 2026 fleet.ipsec contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Parse Linux `ip [-s] xfrm state` and `ip [-s] xfrm policy` output into plain records.

The records have exactly the keys of the setkey parser's records (``SA_KEYS``,
``SP_KEYS``, ``REQUEST_KEYS``, ``LIFETIME_KEYS``, defined in ``dump_common`` for both), with None where iproute2 prints no such field. How xfrm maps
onto that vocabulary:

- ``proto esp|ah|comp`` -> ``proto`` ``esp|ah|ipcomp``; ``satype`` is the same, or
  ``esp-udp`` when the SA has an ``encap type espinudp`` line (``natt`` True, the encap
  ports in ``src_port``/``dst_port``, ``addr`` in ``nat_oa``).
- Algorithm names are kept as the kernel names them (``enc`` ``cbc(aes)``, ``auth``
  ``hmac(sha256)``, an AEAD such as ``rfc4106(gcm(aes))`` goes to ``enc`` with
  ``auth`` None, as setkey shows ``aes-gcm-16``) and normalised in ``*_norm`` to the
  setkey vocabulary described in ``setkey_dump`` (``aes-cbc``, ``hmac-sha256``,
  ``aes-gcm-16`` for an ICV of 128 bits ...). ``ENC_NORM``, ``AUTH_NORM``, ``COMP_NORM``
  hold the tables.
- ``replay-window`` -> ``replay_window``; the anti-replay context -> ``replay_seq``,
  ``replay_oseq``; ``stats:`` -> ``replay_dropped``, ``integrity_failed``; the flag
  names -> ``flag_names`` and their bit string -> ``flags``.
- ``lifetime config`` -> ``lifetime`` (``(INF)`` as 0, meaning no limit, as in PF_KEY);
  ``lifetime current`` -> ``bytes``, ``packets``, ``created`` (add) and ``last_used``
  (use, None for ``-``).
- Policies: ``dir in|out|fwd`` -> ``dir``; ``socket in|out`` -> ``dir`` with ``socket``
  True (per-socket policies, e.g. an IKE daemon's bypass, that a verifier ignores);
  ``action block`` -> ``discard``; an allowing policy -> ``ipsec`` with templates, else
  ``none``; ``index`` -> ``spid``; each ``tmpl`` -> one request whose ``level`` is ``use``
  for ``level use`` and ``require`` otherwise; ``comp`` -> ``ipcomp``. Unspecified
  transport-mode template endpoints (0.0.0.0, ::) become None, as setkey prints none.

Key material in ``enc``/``auth``/``auth-trunc``/``aead`` lines is dropped while parsing;
warnings about unknown lines mask every run of four or more hex digits.

Speed: a record in the exact layout iproute2 prints (tabs, fields in their order) is read by one
precompiled regex; anything else (other whitespace, extra or unknown lines, damage) goes
through the line parser, record by record, with the same results. benchmarks/parse.py
measures both formats at 1,000 to 100,000 records.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.fleet.ipsec.plugins.module_utils.dump_common import (
    LIFETIME_KEYS, REQUEST_KEYS, SA_KEYS, SP_KEYS,
    _ADDR_RE, _HEX8, _HEX_ONLY, _LIFETIME_TEMPLATE, _MAX_U32, _MAX_U64, _N, _RA, _REQUEST_TEMPLATE, _WORD_RE,
    _alg, _drive, _ignore, _new_sa, _new_sp, _normalizer, _paren_int, _record_templates, _sa_id_field, _take_alg, _uint, _ulp, _unknown, _warn,
)

__all__ = [
    'parse_state', 'parse_state_ex', 'parse_policy', 'parse_policy_ex',
    'parse_sad', 'parse_spd',
    'normalize_enc', 'normalize_auth', 'normalize_comp',
    'SA_KEYS', 'SP_KEYS', 'REQUEST_KEYS', 'LIFETIME_KEYS',
]

SELECTOR_KEYS = ('src', 'dst', 'src_port', 'dst_port', 'proto')

ENC_NORM = {
    'cbc(aes)': 'aes-cbc', 'rfc3686(ctr(aes))': 'aes-ctr',
    'cbc(des3_ede)': '3des-cbc', 'cbc(des)': 'des-cbc',
    'ecb(cipher_null)': 'null', 'cipher_null': 'null',
    'cbc(blowfish)': 'blowfish-cbc', 'cbc(cast5)': 'cast128-cbc', 'cbc(twofish)': 'twofish-cbc',
    'cbc(serpent)': 'serpent-cbc', 'cbc(camellia)': 'camellia-cbc',
    'rfc7539esp(chacha20,poly1305)': 'chacha20-poly1305',
    'rfc4543(gcm(aes))': 'aes-gmac',
}

# AEAD names: the normalised name depends on the ICV length in bits.
AEAD_NORM = {
    'rfc4106(gcm(aes))': {128: 'aes-gcm-16', 96: 'aes-gcm-12', 64: 'aes-gcm-8'},
    'rfc4309(ccm(aes))': {128: 'aes-ccm-16', 96: 'aes-ccm-12', 64: 'aes-ccm-8'},
}

AUTH_NORM = {
    'hmac(md5)': 'hmac-md5', 'hmac(sha1)': 'hmac-sha1',
    'hmac(sha256)': 'hmac-sha256', 'hmac(sha384)': 'hmac-sha384', 'hmac(sha512)': 'hmac-sha512',
    'hmac(rmd160)': 'hmac-ripemd160', 'xcbc(aes)': 'aes-xcbc', 'cmac(aes)': 'aes-cmac',
    'digest_null': 'null',
}

COMP_NORM = {'deflate': 'deflate', 'lzs': 'lzs', 'lzjh': 'lzjh'}

_PROTOS = {'esp': 'esp', 'ah': 'ah', 'comp': 'ipcomp'}
_MODES = frozenset(('transport', 'tunnel', 'ro', 'in_trigger', 'beet'))
_DIRS = frozenset(('in', 'out', 'fwd'))
_FLAG_NAMES = frozenset(('noecn', 'decap-dscp', 'nopmtudisc', 'wildrecv', 'icmp', 'af-unspec',
                         'align4', 'esn', 'localok'))

_MARK_RE = re.compile(r'(?:0x[0-9a-fA-F]{1,8}|\d{1,10})/0x[0-9a-fA-F]{1,8}\Z')


# ---------------------------------------------------------------- helpers

def normalize_enc(name, icv_bits=None):
    """Normalised name of an xfrm encryption or AEAD algorithm (see the module docstring)."""
    if name is None:
        return None
    aead = AEAD_NORM.get(name)
    if aead is not None:
        return aead.get(icv_bits, name)
    return ENC_NORM.get(name, name)


# The kernel crypto API's names are case-sensitive: looked up as printed.
normalize_auth = _normalizer(AUTH_NORM, False, 'Normalised name of an xfrm authentication algorithm.')
normalize_comp = _normalizer(COMP_NORM, False, 'Normalised name of an xfrm compression algorithm.')


def _when(toks, i):
    """toks[i:i+2] '2026-11-27', '18:58:04' -> '2026-11-27 18:58:04'; '-' or junk -> None."""
    if i + 1 >= len(toks):
        return None
    d = toks[i]
    t = toks[i + 1]
    if (len(d) == 10 and len(t) == 8 and d[4] == '-' and d[7] == '-' and t[2] == ':' and t[5] == ':'
            and (d[:4] + d[5:7] + d[8:] + t[:2] + t[3:5] + t[6:]).isdecimal()):
        return d + ' ' + t
    return None


_SELECTOR_TEMPLATE = dict.fromkeys(SELECTOR_KEYS)


# The layouts iproute2 prints (tabs, one record per match). Key hex is matched by
# non-capturing groups only, so it is never captured.
_RALG = r'([A-Za-z0-9_(),.+-]{1,64}) 0x[0-9a-f]* \([0-9]{1,5} bits\)'
_RLIM = r'(\(INF\)|[0-9]{1,20})'
_RWHEN = r'([0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2})'
_SA_FAST = re.compile(
    r'src (' + _RA + r') dst (' + _RA + r')\n'
    r'\tproto (esp|ah|comp) spi 0x([0-9a-f]{8})\([0-9]{1,10}\) reqid ([0-9]{1,10})\(0x[0-9a-f]{8}\)'
    r' mode (transport|tunnel|beet|ro|in_trigger)\n'
    r'\treplay-window ([0-9]{1,10}) seq 0x([0-9]{8,20}) flag((?: [a-z0-9-]{1,16})*) {1,2}\(0x([01]{8})\)\n'
    r'(?:\t(auth|auth-trunc) ' + _RALG + r'(?: [0-9]{1,5})?\n)?'
    r'(?:\taead ' + _RALG + r' ([0-9]{1,5})\n)?'
    r'(?:\tenc ' + _RALG + r'\n)?'
    r'(?:\tcomp ' + _RALG + r'\n)?'
    r'(?:\tencap type (espinudp|espinudp-nonike) sport ([0-9]{1,5}) dport ([0-9]{1,5}) addr (' + _RA + r')\n)?'
    r'(?:\tanti-replay context: seq 0x([0-9a-f]{1,8}), oseq 0x([0-9a-f]{1,8}), bitmap 0x[0-9a-f]{8}\n)?'
    r'\tlifetime config:\n'
    r'\t  limit: soft ' + _RLIM + r'\(bytes\), hard ' + _RLIM + r'\(bytes\)\n'
    r'\t  limit: soft ' + _RLIM + r'\(packets\), hard ' + _RLIM + r'\(packets\)\n'
    r'\t  expire add: soft ' + _N + r'\(sec\), hard ' + _N + r'\(sec\)\n'
    r'\t  expire use: soft ' + _N + r'\(sec\), hard ' + _N + r'\(sec\)\n'
    r'\tlifetime current:\n'
    r'\t  ' + _N + r'\(bytes\), ' + _N + r'\(packets\)\n'
    r'\t  add ' + _RWHEN + r' use (?:' + _RWHEN + r'|-)\n'
    r'\tstats:\n'
    r'\t  replay-window [0-9]{1,10} replay ' + _N + r' failed ' + _N + r'\n'
    r'(?=\S|\n|\Z)', re.ASCII)

_SP_FAST = re.compile(
    r'src (' + _RA + r')/([0-9]{1,3}) dst (' + _RA + r')/([0-9]{1,3}) \n'
    r'\t(dir|socket) (in|out|fwd) priority ([0-9]{1,10}) ptype (main|sub) \n'
    r'((?:\ttmpl src (?:' + _RA + r') dst (?:' + _RA + r')\n'
    r'\t\tproto (?:esp|ah|comp) (?:spi 0x[0-9a-f]{8} )?reqid [0-9]{1,10} mode [a-z_]{2,10}\n'
    r'(?:\t\tlevel use \n)?)*)'
    r'(?=\S|\n|\Z)', re.ASCII)


def _lim(v):
    return 0 if v == '(INF)' else int(v)


def _selector(toks, start, n, warns, prefixed):
    """Parse 'src A/P dst B/Q [proto X] [sport N] [dport N] [type N] [code N] ...'.

    Returns a dict with SELECTOR_KEYS, or None if src/dst are missing or malformed.
    """
    sel = _SELECTOR_TEMPLATE.copy()
    i = start
    end = len(toks)
    while i < end - 1:
        k = toks[i]
        v = toks[i + 1]
        if k in ('src', 'dst'):
            addr, slash, plen = v.partition('/')
            if _ADDR_RE.match(addr) is None:
                return None
            if slash:
                if not plen.isdecimal() or int(plen) > 128:
                    return None
            elif prefixed:
                plen = '128' if ':' in addr else '32'
            sel[k] = addr + '/' + plen if (slash or prefixed) else addr
        elif k == 'proto':
            p = _ulp(v)
            if p is None:
                _warn(warns, n, 'malformed selector protocol')
            sel['proto'] = p
        elif k in ('sport', 'type'):
            sel['src_port'] = _uint(v, 65535)
        elif k in ('dport', 'code'):
            sel['dst_port'] = _uint(v, 65535)
        elif k in ('dev', 'uid', 'key'):
            pass
        else:
            i += 1
            continue
        i += 2
    if sel['src'] is None or sel['dst'] is None:
        return None
    if sel['proto'] is None:
        sel['proto'] = 'any'
    return sel


def _lifetime_value(tok):
    """'(INF)(bytes),' -> (0, 'bytes'); '3341(sec),' -> (3341, 'sec'); junk -> (None, None)."""
    tok = tok.rstrip(',')
    if not tok.endswith(')'):
        return None, None
    i = tok.rfind('(')
    unit = tok[i + 1:-1]
    val = tok[:i]
    if val == '(INF)':
        return 0, unit
    return _uint(val), unit


def _limit(rec, toks, n, warns):
    # limit: soft (INF)(bytes), hard (INF)(bytes)
    lt = rec['lifetime']
    if len(toks) == 5 and toks[1] == 'soft' and toks[3] == 'hard':
        if toks[2] == '(INF)(bytes),' and toks[4] == '(INF)(bytes)':
            lt['soft_bytes'] = lt['hard_bytes'] = 0
            return
        if toks[2] == '(INF)(packets),' and toks[4] == '(INF)(packets)':
            lt['soft_packets'] = lt['hard_packets'] = 0
            return
    i = 1
    while i < len(toks) - 1:
        which = toks[i]
        if which in ('soft', 'hard'):
            v, unit = _lifetime_value(toks[i + 1])
            if v is None or unit not in ('bytes', 'packets'):
                _warn(warns, n, 'malformed lifetime limit')
            else:
                lt[which + '_' + unit] = v
            i += 2
        else:
            i += 1


def _expire(rec, toks, n, warns):
    # expire add: soft 3341(sec), hard 3960(sec)
    if len(toks) < 2 or toks[1] not in ('add:', 'use:'):
        _warn(warns, n, 'malformed lifetime expiry')
        return
    kind = toks[1][:-1]
    lt = rec['lifetime']
    if len(toks) == 6 and toks[2] == 'soft' and toks[4] == 'hard':
        a, b = toks[3], toks[5]
        if a[-6:] == '(sec),' and b[-5:] == '(sec)':
            a, b = a[:-6], b[:-5]
            if a.isdecimal() and b.isdecimal() and len(a) < 20 and len(b) < 20:
                lt['soft_' + kind] = int(a)
                lt['hard_' + kind] = int(b)
                return
    i = 2
    while i < len(toks) - 1:
        which = toks[i]
        if which in ('soft', 'hard'):
            v, unit = _lifetime_value(toks[i + 1])
            if v is None or unit != 'sec':
                _warn(warns, n, 'malformed lifetime expiry')
            else:
                lt[which + '_' + kind] = v
            i += 2
        else:
            i += 1


def _current_counts(rec, toks, n, warns):
    # 840(bytes), 10(packets); a policy's counters are not kept
    if 'packets' not in rec:
        return
    if len(toks) == 2:
        a, b = toks
        if a[-8:] == '(bytes),' and b[-9:] == '(packets)':
            a, b = a[:-8], b[:-9]
            if a.isdecimal() and b.isdecimal() and len(a) < 20 and len(b) < 20:
                rec['bytes'] = int(a)
                rec['packets'] = int(b)
                return
    for tok in toks:
        v, unit = _lifetime_value(tok)
        if unit == 'bytes':
            rec['bytes'] = v
        elif unit == 'packets':
            rec['packets'] = v
        if v is None:
            _warn(warns, n, 'malformed lifetime counters')
            return


def _add_use(rec, toks, n, warns):
    # add 2026-11-27 18:58:04 use 2026-11-27 18:58:04   (or "use -")
    rec['created'] = _when(toks, 1)
    if rec['created'] is None:
        _warn(warns, n, 'malformed add time')
    for i in range(1, len(toks)):
        if toks[i] == 'use':
            rec['last_used'] = _when(toks, i + 1)
            if rec['last_used'] is None and (i + 1 >= len(toks) or toks[i + 1] != '-'):
                _warn(warns, n, 'malformed use time')
            break


def _lastused(rec, toks, n, warns):
    t = _when(toks, 1)
    if t is None:
        if len(toks) < 2 or toks[1] != '-':
            _warn(warns, n, 'malformed lastused time')
    else:
        rec['last_used'] = t


def _mark(rec, toks, n, warns):
    if len(toks) > 1 and _MARK_RE.match(toks[1]):
        rec['mark'] = toks[1]
    else:
        _warn(warns, n, 'malformed mark')


def _if_id(rec, toks, n, warns):
    v = _uint(toks[1], _MAX_U32) if len(toks) > 1 else None
    if v is None:
        _warn(warns, n, 'malformed if_id')
    else:
        rec['if_id'] = v


def _slow_lines(lines, n0, records, warnings, header, finish, dispatch, outside, finish_refused, bitmap_after):
    """The line parser of both dumps, for one segment (lines n0, n0 + 1, ...).

    header(toks, n, warns) makes a record of a 'src ...' line, or None when it refuses it;
    finish(rec, warns) completes a record; dispatch maps a line's first token to the
    handler of its fields; outside is the warning for a field line before any record.
    finish_refused: a refused 'src' line ends the current record with finish() (policies),
    else the record is dropped from further lines unfinished (SAs). bitmap_after: the
    first token of the line after which hex-only lines are replay bitmap words, kept
    quiet (SAs: 'replay_window'; None: every hex-only line is warned about).
    """
    cur = None
    n = n0 - 1
    bitmap_ok = False
    for raw in lines:
        n += 1
        toks = raw.split()
        if not toks:
            continue
        t0 = toks[0]
        if t0 == 'src':
            rec = header(toks, n, warnings)
            if rec is None:
                _unknown(warnings, n, raw)
                if cur is not None and finish_refused:
                    finish(cur, warnings)
                cur = None
                continue
            if cur is not None:
                finish(cur, warnings)
            cur = rec
            records.append(rec)
            bitmap_ok = False
            continue
        handler = dispatch.get(t0)
        if handler is None and t0.endswith('(bytes),'):
            handler = _current_counts
        if handler is not None:
            if cur is None:
                _warn(warnings, n, outside)
                continue
            bitmap_ok = t0 == bitmap_after
            handler(cur, toks, n, warnings)
            continue
        if _HEX_ONLY.match(raw.strip()):
            # ESN replay bitmap words follow "replay_window N, bitmap-length N"
            if not bitmap_ok:
                _warn(warnings, n, 'stray hex-only line dropped')
            continue
        _unknown(warnings, n, raw)
    if cur is not None:
        finish(cur, warnings)


# ---------------------------------------------------------------- state

_SA_TEMPLATE, _SP_TEMPLATE = _record_templates('xfrm')


def _sa_header(toks, n, warns):
    # src 10.77.0.11 dst 10.77.0.12 (warns: unused, the signature of _sp_header)
    if len(toks) != 4 or toks[0] != 'src' or toks[2] != 'dst':
        return None
    if _ADDR_RE.match(toks[1]) is None or _ADDR_RE.match(toks[3]) is None:
        return None
    rec = _new_sa(_SA_TEMPLATE, n)
    rec['src'] = toks[1]
    rec['dst'] = toks[3]
    return rec


def _sa_id(rec, toks, n, warns):
    # proto esp spi 0xce94f85a(3465869402) reqid 1(0x00000001) mode tunnel
    if len(toks) == 8 and toks[2] == 'spi' and toks[4] == 'reqid' and toks[6] == 'mode' and toks[7] in _MODES:
        p = _PROTOS.get(toks[1])
        sp = toks[3]
        rq = toks[5]
        i = sp.find('(')
        j = rq.find('(')
        sp = sp[2:i] if i > 0 else sp[2:]
        rq = rq[:j] if j > 0 else rq
        if (p is not None and toks[3][:2] == '0x' and 0 < len(sp) <= 8 and rq.isdecimal() and len(rq) <= 10
                and not sp.strip('0123456789abcdefABCDEF')):
            spi = int(sp, 16)
            reqid = int(rq)
            if reqid <= _MAX_U32:
                rec['proto'] = p
                if rec['satype'] != 'esp-udp':
                    rec['satype'] = p
                rec['spi'] = spi
                rec['spi_hex'] = '0x%08x' % spi
                rec['reqid'] = reqid
                rec['mode'] = toks[7]
                return
    i = 0
    end = len(toks) - 1
    while i < end:
        k = toks[i]
        v = toks[i + 1]
        if k == 'proto':
            p = _PROTOS.get(v)
            if p is None:
                _warn(warns, n, 'unknown xfrm protocol')
            else:
                rec['proto'] = p
                if rec['satype'] != 'esp-udp':
                    rec['satype'] = p
        elif not _sa_id_field(rec, k, v, _MODES, n, warns):
            i += 1
            continue
        i += 2


def _sa_replay(rec, toks, n, warns):
    if len(toks) > 2 and toks[2] == 'replay':
        # stats: replay-window 0 replay 0 failed 0
        i = 2
        while i < len(toks) - 1:
            if toks[i] == 'replay':
                rec['replay_dropped'] = _uint(toks[i + 1])
            elif toks[i] == 'failed':
                rec['integrity_failed'] = _uint(toks[i + 1])
            i += 2
        return
    # replay-window 0 seq 0x00000000 flag af-unspec (0x00100000)
    rw = _uint(toks[1], _MAX_U32) if len(toks) > 1 else None
    if rw is None:
        _warn(warns, n, 'malformed replay-window')
    else:
        rec['replay_window'] = rw
    i = 2
    while i < len(toks):
        k = toks[i]
        if k == 'seq' and i + 1 < len(toks):
            # iproute2 prints this field as "0x%08u": decimal digits behind a 0x
            v = toks[i + 1]
            v = v[2:] if v.startswith('0x') else v
            rec['seq'] = int(v) if v.isdecimal() and len(v) <= 20 else None
            i += 2
            continue
        if k == 'flag':
            names = []
            j = i + 1
            while j < len(toks):
                t = toks[j]
                if t.startswith('('):
                    bits = t[1:t.find(')')] if ')' in t else ''
                    if bits.startswith('0x') and len(bits) == 10 and not bits[2:].strip('01'):
                        rec['flags'] = int(bits[2:], 2)
                    break
                if t in _FLAG_NAMES:
                    names.append(t)
                elif not (_WORD_RE.match(t) or t.isalnum()) or _HEX8.search(t):
                    break
                j += 1
            rec['flag_names'] = names
            break
        i += 1


def _sa_alg(rec, toks, n, warns):
    kind = toks[0]
    name = _alg(toks[1]) if len(toks) > 1 else None
    if name is None:
        _warn(warns, n, 'malformed %s algorithm' % kind)
        return
    if kind == 'enc':
        rec['enc'] = name
        rec['enc_norm'] = normalize_enc(name)
    elif kind == 'aead':
        icv = _uint(toks[-1], 1024) if len(toks) > 3 else None
        rec['enc'] = name
        rec['enc_norm'] = normalize_enc(name, icv)
    elif kind == 'comp':
        rec['comp'] = name
        rec['comp_norm'] = normalize_comp(name)
    else:  # auth, auth-trunc
        rec['auth'] = name
        rec['auth_norm'] = normalize_auth(name)


def _sa_encap(rec, toks, n, warns):
    # encap type espinudp sport 4500 dport 4500 addr 0.0.0.0
    i = 1
    while i < len(toks) - 1:
        k, v = toks[i], toks[i + 1]
        if k == 'type':
            if v in ('espinudp', 'espinudp-nonike', 'espintcp') or v.isdecimal():
                rec['encap_type'] = v
                if rec['proto'] in (None, 'esp'):
                    rec['satype'] = 'esp-udp'
                    rec['natt'] = True
            else:
                _warn(warns, n, 'malformed encap type')
        elif k == 'sport':
            rec['src_port'] = _uint(v, 65535)
        elif k == 'dport':
            rec['dst_port'] = _uint(v, 65535)
        elif k == 'addr':
            if _ADDR_RE.match(v):
                rec['nat_oa'] = v
        i += 2


def _sa_antireplay(rec, toks, n, warns):
    # anti-replay context: seq 0x0, oseq 0xa, bitmap 0x00000000
    # anti-replay esn context:   (details follow on the next lines)
    i = 1
    while i < len(toks) - 1:
        k = toks[i]
        if k in ('seq', 'oseq'):
            v = _uint(toks[i + 1].rstrip(','), _MAX_U64)
            rec['replay_seq' if k == 'seq' else 'replay_oseq'] = v
            i += 2
        else:
            i += 1


def _sa_esn_detail(rec, toks, n, warns):
    # seq-hi 0x0, seq 0x0, oseq-hi 0x0, oseq 0x0
    hi = {}
    i = 0
    while i < len(toks) - 1:
        k = toks[i]
        if k in ('seq', 'oseq', 'seq-hi', 'oseq-hi'):
            hi[k] = _uint(toks[i + 1].rstrip(','), _MAX_U32)
            i += 2
        else:
            i += 1
    for lo, high, dest in (('seq', 'seq-hi', 'replay_seq'), ('oseq', 'oseq-hi', 'replay_oseq')):
        if hi.get(lo) is not None:
            rec[dest] = ((hi.get(high) or 0) << 32) | hi[lo]


def _sa_sel(rec, toks, n, warns):
    sel = _selector(toks, 1, n, warns, True)
    if sel is None:
        _warn(warns, n, 'malformed SA selector')
    else:
        rec['selector'] = sel


_SA_DISPATCH = {
    'proto': _sa_id, 'replay-window': _sa_replay,
    'enc': _sa_alg, 'auth': _sa_alg, 'auth-trunc': _sa_alg, 'aead': _sa_alg, 'comp': _sa_alg,
    'encap': _sa_encap, 'mark': _mark, 'if_id': _if_id,
    'anti-replay': _sa_antireplay, 'seq-hi': _sa_esn_detail, 'replay_window': _ignore,
    'sel': _sa_sel,
    'lifetime': _ignore, 'limit:': _limit, 'expire': _expire, 'add': _add_use,
    'stats:': _ignore, 'lastused': _lastused,
    # printed by some iproute2 versions, of no use to the comparison
    'output-mark': _ignore, 'coa': _ignore, 'security': _ignore, 'crypto': _ignore,
    'dir': _ignore, 'extra-flag': _ignore, 'tfcpad': _ignore, 'pcpu-num': _ignore,
    'offload': _ignore, 'smark': _ignore, 'oseq-hi': _ignore,
}


def _finish_sa(rec, warns):
    if rec['proto'] is None:
        _warn(warns, rec['line'], 'SA without a proto/spi line')


def _sa_from_match(m, n):
    (src, dst, proto, spi, reqid, mode, replay, seq, flag_names, flag_bits,
     akind, aname, aead, icv, enc, comp, etype, esport, edport, eaddr, rseq, roseq,
     soft_bytes, hard_bytes, soft_packets, hard_packets, soft_add, hard_add, soft_use, hard_use,
     nbytes, packets, added, used, dropped, failed) = m.groups()
    match = _ADDR_RE.match
    if match(src) is None or match(dst) is None or (eaddr is not None and match(eaddr) is None):
        return None
    reqid = int(reqid)
    if reqid > _MAX_U32:
        return None
    rec = _SA_TEMPLATE.copy()
    if aname is not None and not _take_alg(rec, 'auth', aname, AUTH_NORM, 'auth_norm'):
        return None
    if aead is not None:
        e = _alg(aead)
        if e is None:
            return None
        rec['enc'] = e
        rec['enc_norm'] = normalize_enc(e, int(icv))
    if enc is not None and not _take_alg(rec, 'enc', enc, ENC_NORM, 'enc_norm'):
        return None
    if comp is not None and not _take_alg(rec, 'comp', comp, COMP_NORM, 'comp_norm'):
        return None
    names = flag_names.split()
    for f in names:
        if f not in _FLAG_NAMES:
            return None
    rec['line'] = n
    rec['src'] = src
    rec['dst'] = dst
    p = _PROTOS[proto]
    rec['proto'] = p
    rec['satype'] = p
    spi = int(spi, 16)
    rec['spi'] = spi
    rec['spi_hex'] = '0x%08x' % spi
    rec['reqid'] = reqid
    rec['mode'] = mode
    rec['replay_window'] = int(replay)
    rec['seq'] = int(seq)
    rec['flags'] = int(flag_bits, 2)
    rec['flag_names'] = names
    if etype is not None:
        rec['encap_type'] = etype
        if p == 'esp':
            rec['satype'] = 'esp-udp'
            rec['natt'] = True
        rec['src_port'] = int(esport)
        rec['dst_port'] = int(edport)
        rec['nat_oa'] = eaddr
        if rec['src_port'] > 65535 or rec['dst_port'] > 65535:
            return None
    if rseq is not None:
        rec['replay_seq'] = int(rseq, 16)
        rec['replay_oseq'] = int(roseq, 16)
    lt = _LIFETIME_TEMPLATE.copy()
    rec['lifetime'] = lt
    lt['soft_bytes'] = _lim(soft_bytes)
    lt['hard_bytes'] = _lim(hard_bytes)
    lt['soft_packets'] = _lim(soft_packets)
    lt['hard_packets'] = _lim(hard_packets)
    lt['soft_add'] = int(soft_add)
    lt['hard_add'] = int(hard_add)
    lt['soft_use'] = int(soft_use)
    lt['hard_use'] = int(hard_use)
    rec['bytes'] = int(nbytes)
    rec['packets'] = int(packets)
    rec['created'] = added
    rec['last_used'] = used
    rec['replay_dropped'] = int(dropped)
    rec['integrity_failed'] = int(failed)
    return rec


def parse_state(text, warnings=None):
    """Parse `ip [-s] xfrm state` output into a list of SA dicts (keys: SA_KEYS).

    `warnings`, if a list, receives one string per line that was not understood
    (never with key material in it). Empty input gives [].
    """
    return _drive(text, _SA_FAST, _sa_from_match, _slow_state, warnings)


def _slow_state(lines, n0, records, warnings):
    """The line parser, for one segment (what the fast regex did not take)."""
    _slow_lines(lines, n0, records, warnings, _sa_header, _finish_sa, _SA_DISPATCH,
                'line outside any SA', False, 'replay_window')


def parse_state_ex(text):
    """(records, warnings) for `ip xfrm state` output."""
    warns = []
    return parse_state(text, warns), warns


# ---------------------------------------------------------------- policy

def _sp_header(toks, n, warns):
    rec = _new_sp(_SP_TEMPLATE, n)
    rec['action'] = 'allow'  # resolved in _finish_sp
    if len(toks) == 4 and toks[2] == 'dst':
        # the usual "src 10.101.1.0/24 dst 10.101.2.0/24" selector
        a, dummy, pa = toks[1].partition('/')
        b, dummy, pb = toks[3].partition('/')
        if (pa.isdecimal() and pb.isdecimal() and len(pa) <= 3 and len(pb) <= 3 and int(pa) <= 128
                and int(pb) <= 128 and _ADDR_RE.match(a) and _ADDR_RE.match(b)):
            rec['src'] = toks[1]
            rec['dst'] = toks[3]
            rec['proto'] = 'any'
            return rec
    sel = _selector(toks, 0, n, warns, True)
    if sel is None:
        return None
    rec.update(sel)  # SELECTOR_KEYS: src, dst, src_port, dst_port, proto
    return rec


def _sp_dir(rec, toks, n, warns):
    # dir out [action allow|block] [index N] priority N ptype main [share any] [flag ... (0x..)]
    # socket in priority 0 ptype main
    if toks[0] == 'socket':
        rec['socket'] = True
    if len(toks) == 6 and toks[2] == 'priority' and toks[4] == 'ptype' and toks[1] in _DIRS:
        p = toks[3]
        if p.isdecimal() and len(p) <= 10 and int(p) <= _MAX_U32 and toks[5] in ('main', 'sub'):
            rec['dir'] = toks[1]
            rec['priority'] = int(p)
            rec['ptype'] = toks[5]
            return
    d = toks[1] if len(toks) > 1 else None
    if d in _DIRS:
        rec['dir'] = d
    else:
        _warn(warns, n, 'malformed policy direction')
    i = 2
    while i < len(toks) - 1:
        k, v = toks[i], toks[i + 1]
        if k == 'action':
            if v in ('allow', 'block'):
                rec['action'] = v
            else:
                rec['action'] = None
                _warn(warns, n, 'unknown policy action')
        elif k == 'index':
            rec['spid'] = _uint(v, _MAX_U32)
        elif k == 'priority':
            p = _uint(v, _MAX_U32)
            if p is None:
                _warn(warns, n, 'malformed priority')
            rec['priority'] = p
        elif k == 'ptype':
            if v in ('main', 'sub') or (v.isdecimal() and len(v) <= 3):
                rec['ptype'] = v
        elif k in ('share', 'flag'):
            pass
        else:
            i += 1
            continue
        i += 2


def _sp_tmpl(rec, toks, n, warns):
    # tmpl src 10.77.0.11 dst 10.77.0.12
    req = _REQUEST_TEMPLATE.copy()
    req['level'] = 'require'
    req['reqid'] = 0
    if len(toks) == 5 and toks[1] == 'src' and toks[3] == 'dst' and _ADDR_RE.match(toks[2]) and _ADDR_RE.match(toks[4]):
        req['src'] = toks[2]
        req['dst'] = toks[4]
    else:
        _warn(warns, n, 'malformed template endpoints')
    rec['requests'].append(req)


def _sp_tmpl_id(rec, toks, n, warns):
    # proto esp spi 0xc0800800 reqid 1 mode tunnel
    if not rec['requests']:
        _warn(warns, n, 'template details without a tmpl line')
        return
    req = rec['requests'][-1]
    if len(toks) == 6 and toks[2] == 'reqid' and toks[4] == 'mode' and toks[5] in _MODES:
        p = _PROTOS.get(toks[1])
        r = toks[3]
        if p is not None and r.isdecimal() and len(r) <= 10 and int(r) <= _MAX_U32:
            req['proto'] = p
            req['reqid'] = int(r)
            req['mode'] = toks[5]
            return
    i = 0
    while i < len(toks) - 1:
        k, v = toks[i], toks[i + 1]
        if k == 'proto':
            p = _PROTOS.get(v)
            if p is None:
                _warn(warns, n, 'unknown template protocol')
            req['proto'] = p
        elif k == 'spi':
            spi = _paren_int(v)
            req['spi'] = spi if spi else None
        elif k == 'reqid':
            r = _paren_int(v)
            if r is None:
                _warn(warns, n, 'malformed template reqid')
            else:
                req['reqid'] = r
        elif k == 'mode':
            if v in _MODES:
                req['mode'] = v
            else:
                _warn(warns, n, 'malformed template mode')
        else:
            i += 1
            continue
        i += 2


def _sp_level(rec, toks, n, warns):
    # level use | level required share any | level 3
    if not rec['requests'] or len(toks) < 2:
        _warn(warns, n, 'template level without a tmpl line')
        return
    v = toks[1]
    if v == 'use':
        rec['requests'][-1]['level'] = 'use'
    elif v == 'required':
        rec['requests'][-1]['level'] = 'require'
    elif v.isdecimal() and len(v) <= 3:
        rec['requests'][-1]['level'] = v
    else:
        _warn(warns, n, 'malformed template level')


_SP_DISPATCH = {
    'dir': _sp_dir, 'socket': _sp_dir,
    'tmpl': _sp_tmpl, 'proto': _sp_tmpl_id, 'level': _sp_level, 'enc-mask': _ignore,
    'mark': _mark, 'if_id': _if_id,
    'lifetime': _ignore, 'limit:': _limit, 'expire': _expire, 'add': _add_use,
    'lastused': _lastused,
    'security': _ignore, 'coa': _ignore, 'offload': _ignore, 'crypto': _ignore,
}


def _finish_sp(rec, warns):
    action = rec['action']
    if action == 'block':
        rec['action'] = 'discard'
    elif action == 'allow':
        rec['action'] = 'ipsec' if rec['requests'] else 'none'
    if rec['dir'] is None:
        _warn(warns, rec['line'], 'policy without a dir/socket line')
    for req in rec['requests']:
        if req['mode'] == 'transport':
            _unset_ends(req)


def _unset_ends(req):
    """Unspecified transport-mode template endpoints (0.0.0.0, ::) -> None, as setkey prints none."""
    for k in ('src', 'dst'):
        if req[k] in ('0.0.0.0', '::'):
            req[k] = None


def _sp_from_match(m, n):
    src, splen, dst, dplen, kind, d, prio, ptype, tmpls = m.groups()
    match = _ADDR_RE.match
    if match(src) is None or match(dst) is None:
        return None
    prio = int(prio)
    if prio > _MAX_U32 or int(splen) > 128 or int(dplen) > 128:
        return None
    rec = _SP_TEMPLATE.copy()
    rec['line'] = n
    rec['src'] = src + '/' + splen
    rec['dst'] = dst + '/' + dplen
    rec['proto'] = 'any'
    rec['dir'] = d
    rec['socket'] = kind == 'socket'
    rec['priority'] = prio
    rec['ptype'] = ptype
    rec['lifetime'] = _LIFETIME_TEMPLATE.copy()
    reqs = []
    rec['requests'] = reqs
    if tmpls:
        req = None
        for line in tmpls.split('\n'):
            toks = line.split()
            if not toks:
                continue
            t0 = toks[0]
            if t0 == 'tmpl':
                a, b = toks[2], toks[4]
                if match(a) is None or match(b) is None:
                    return None
                req = _REQUEST_TEMPLATE.copy()
                req['src'] = a
                req['dst'] = b
                req['level'] = 'require'
                reqs.append(req)
            elif t0 == 'proto':
                req['proto'] = _PROTOS[toks[1]]
                if toks[2] == 'spi':
                    spi = int(toks[3], 16)
                    req['spi'] = spi if spi else None
                    toks = toks[2:]
                reqid = int(toks[3])
                if reqid > _MAX_U32 or toks[5] not in _MODES:
                    return None
                req['reqid'] = reqid
                req['mode'] = toks[5]
                if toks[5] == 'transport':
                    _unset_ends(req)
            else:  # level use
                req['level'] = 'use'
        rec['action'] = 'ipsec'
    else:
        rec['action'] = 'none'
    return rec


def parse_policy(text, warnings=None):
    """Parse `ip [-s] xfrm policy` output into a list of policy dicts (keys: SP_KEYS).

    `warnings`, if a list, receives one string per line that was not understood.
    Empty input gives [].
    """
    return _drive(text, _SP_FAST, _sp_from_match, _slow_policy, warnings)


def _slow_policy(lines, n0, records, warnings):
    """The line parser, for one segment (what the fast regex did not take)."""
    _slow_lines(lines, n0, records, warnings, _sp_header, _finish_sp, _SP_DISPATCH,
                'line outside any policy', True, None)


def parse_policy_ex(text):
    """(records, warnings) for `ip xfrm policy` output."""
    warns = []
    return parse_policy(text, warns), warns


# The setkey module's names, for callers that treat both formats alike.
parse_sad = parse_state
parse_spd = parse_policy
