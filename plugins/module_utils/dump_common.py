# -*- coding: utf-8 -*-
# Copyright (c) 2026 fleet.ipsec contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The driver behind setkey_dump and xfrm_dump, and the record keys and value checks they share.

A dialect (one dump format) is a table of line kinds. Each kind is a `Line`: a pattern with named
groups, what the line makes (a NEW record, FIELDS of the current one, a REQUEST of it, or fields
of its LAST_REQUEST) and, per group, the check that turns the text into a value. `parse` reads a
dump line by line: it cuts key material off a line before any pattern sees it, then finds the
line's kind by its first word. A group whose name is a key of the record (or request) it fills is
stored there; the other groups are only checked. A value that fails its check is stored as None
and, with its warning, tells the caller that the dump was damaged or sanitised.

Records of both dialects have the same keys, so a FreeBSD and a Linux host compare field by field.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import gc
import re

SA_KEYS = ('src', 'dst', 'satype', 'proto', 'mode', 'spi', 'spi_hex', 'state',
           'enc', 'enc_norm', 'auth', 'auth_norm', 'bytes', 'packets', 'created', 'age')
SP_KEYS = ('src', 'dst', 'proto', 'dir', 'socket', 'action', 'requests')
REQUEST_KEYS = ('proto', 'mode', 'src', 'dst', 'level')

NEW, _FIELDS, REQUEST, LAST_REQUEST = 'new', 'fields', 'request', 'last request'

V4 = r'[0-9]{1,3}(?:\.[0-9]{1,3}){3}'
V6 = r'(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{0,4}|' + V4 + r')'
ADDR = r'(?:' + V4 + r'|' + V6 + r')'

_ASCII = getattr(re, 'ASCII', 0)
_ADDR = re.compile(ADDR + r'\Z')
_ALG = re.compile(r'[A-Za-z0-9_(),.+-]{1,64}\Z')
# str.isdigit() also takes digits int() refuses (superscripts)
_SMALL_NUMBER = re.compile(r'[0-9]{1,3}\Z')
_WORD = re.compile(r'[A-Za-z][A-Za-z0-9_.-]{0,31}\Z')
_HEX8 = re.compile(r'[0-9A-Fa-f]{8}')
_HEX4 = re.compile(r'[0-9A-Fa-f]{4,}')
_HEX_ONLY = re.compile(r'[0-9A-Fa-f\s]+\Z')
# A line's kind is looked up by its first word, cut before '=', '/' or '(' (spi=..., esp/tunnel/...).
_LEAD = re.compile(r'[^\s=/(]*')

# Upper-layer protocols: numbers as names, /etc/protocols spellings folded to one name.
_ULP_NUMBERS = {'0': 'any', '255': 'any', '1': 'icmp', '4': 'ip4', '6': 'tcp', '17': 'udp',
                '41': 'ipv6', '47': 'gre', '50': 'esp', '51': 'ah', '58': 'icmp6',
                '108': 'ipcomp', '132': 'sctp', '33': 'dccp', '135': 'mobility-header'}
_ULP_NAMES = {'ipv6-icmp': 'icmp6', 'icmpv6': 'icmp6', 'ipencap': 'ip4', 'ipv4': 'ip4',
              'ipip': 'ip4', 'ipv6-crypt': 'esp', 'ipv6-auth': 'ah'}


# ---------------------------------------------------------------- value checks

def number(value, bound=(1 << 64) - 1):
    """A decimal or 0x-hex count, read before any '(unit)' ('4097(0x00001001)', '3600(s)')."""
    value = value.partition('(')[0]
    try:
        result = int(value[2:], 16) if value[:2] in ('0x', '0X') else int(value)
    except ValueError:
        return None
    return result if 0 <= result <= bound else None


def number32(value):
    return number(value, (1 << 32) - 1)


def address(value):
    return value if _ADDR.match(value) else None


def algorithm(value):
    """An algorithm's name, or None for anything that could be key hex."""
    if not _ALG.match(value) or value[:2] in ('0x', '0X') or _HEX8.search(value):
        return None
    if not value.strip('0123456789abcdefABCDEF'):
        # hex digits only: a short algorithm number at most
        return value if _SMALL_NUMBER.match(value) else None
    return value


def one_of(names, numbers=False):
    """A check that accepts the given words (and, with numbers, a number of up to 3 digits)."""
    def check(value):
        if value in names or (numbers and _SMALL_NUMBER.match(value)):
            return value
        return None
    return check


def protocol(value):
    """An upper-layer protocol as one name: 'any', 'tcp', 'icmp6'... NetBSD's '4(ipv4)' by its number."""
    if value.endswith(')'):
        value = value.partition('(')[0]
    if value.isdigit():
        return _ULP_NUMBERS.get(value, value) if _SMALL_NUMBER.match(value) and int(value) <= 255 else None
    if not _WORD.match(value) or _HEX8.search(value):
        return None
    value = value.lower()
    return _ULP_NAMES.get(value, value)


def word(value):
    return value if _WORD.match(value) and not _HEX8.search(value) else None


# ---------------------------------------------------------------- line kinds and dialects

def labelled(*labels):
    """The pattern of a 'label: value  label: value ...' line, each label after the first optional.

    labels: (label, group name) pairs, in the order the tool prints them; a value is everything
    up to the next label (a time holds spaces).
    """
    parts = []
    for i, (label, group) in enumerate(labels):
        part = re.escape(label) + r'\s*(?P<' + group + r'>.*?)\s*'
        parts.append(part if i == 0 else '(?:' + part + ')?')
    return ''.join(parts)


class Line(object):
    """One kind of line: its pattern, what it makes, and the check of each named group.

    In the pattern a space stands for any run of whitespace, and every group is named. groups
    maps a group name to its check, or to (check, warning); the default warning is
    'malformed <name>', None for none. A group without a check is kept as printed (its pattern
    is the check). after(target, match), if given, runs once the groups are stored.
    """

    def __init__(self, pattern, kind=_FIELDS, orphan=None, after=None, **groups):
        regex = re.compile(pattern.replace(' ', r'\s+') + r'\Z', _ASCII)
        # m.groups() lines up with self.fields only if no group is anonymous
        if regex.groups != len(regex.groupindex):
            raise AssertionError(pattern)
        self.match = regex.match
        self.kind = kind
        self.orphan = orphan  # the warning for a LAST_REQUEST line before any request
        self.after = after
        fields = []
        for name, dummy in sorted(regex.groupindex.items(), key=lambda item: item[1]):
            check = groups.get(name)
            message = 'malformed ' + name
            if isinstance(check, tuple):
                check, message = check
            fields.append((name, check, message))
        self.fields = tuple(fields)


class Dialect(object):
    """One dump format: its line kinds by first word (fallback: tried for any other first word),
    the records it makes and how they are finished."""

    def __init__(self, table, fallback, record, finish, outside,
                 request=None, key_words=(), cut_key=None, quiet_hex_after=(), skip=()):
        self.table = table
        self.fallback = fallback
        self.record = record  # template: a new record is a copy, with its own requests list
        self.finish = finish  # finish(record, line number of its header, warn)
        self.outside = outside  # the warning for a field line before any record
        self.request = request
        self.key_words = frozenset(key_words)  # first words of lines that carry key material
        self.cut_key = cut_key  # such a line -> the same line without its key
        self.quiet_hex_after = frozenset(quiet_hex_after)  # hex-only lines after these are expected
        self.skip = frozenset(skip)


def _snippet(line):
    """A short printable prefix of a line, every run of 4 or more hex digits masked."""
    text = _HEX4.sub('<hex>', line[:40])
    return ''.join(c if ' ' <= c < '\x7f' else '?' for c in text)[:48]


def _ignore(message):
    pass


def parse(text, dialect, warnings=None):
    """The records of a dump (str or bytes) in a dialect; warnings (a list) gets a line per problem."""
    records = []
    if not text:
        return records
    if isinstance(text, bytes):
        text = text.decode('utf-8', 'replace')
    warn = _ignore if warnings is None else warnings.append
    table, fallback, key_words, cut_key = dialect.table, dialect.fallback, dialect.key_words, dialect.cut_key
    quiet_hex_after, finish = dialect.quiet_hex_after, dialect.finish
    lead_of, hex_only = _LEAD.match, _HEX_ONLY.match
    rec = None
    start = 0
    quiet_hex = False
    # The records hold no cycles; without the pause, collections triggered by the growing number of
    # live dicts make a 100,000-record dump superlinear.
    collecting = gc.isenabled()
    gc.disable()
    try:
        for n, line in enumerate(text.split('\n'), 1):
            line = line.strip()
            if not line:
                continue
            lead = lead_of(line).group()
            if lead in key_words:
                line = cut_key(line)
            rows = table.get(lead, fallback)
            for row in rows:
                m = row.match(line)
                if m is not None:
                    break
            else:
                if hex_only(line):
                    if not quiet_hex:
                        warn('line %d: stray hex-only line dropped' % n)
                    continue
                quiet_hex = False
                if line in dialect.skip:
                    continue
                warn('line %d: unrecognised line %r' % (n, _snippet(line)))
                if rows is not fallback and rows[0].kind is NEW and rec is not None:
                    # a header that does not parse: what follows is not the previous record's
                    finish(rec, start, warn)
                    rec = None
                continue
            quiet_hex = lead in quiet_hex_after
            kind = row.kind
            if kind is _FIELDS and rec is not None:
                target = rec
            elif kind is NEW:
                if rec is not None:
                    finish(rec, start, warn)
                rec = dialect.record.copy()
                if 'requests' in rec:
                    rec['requests'] = []
                records.append(rec)
                start = n
                target = rec
            elif rec is None:
                warn('line %d: %s' % (n, dialect.outside))
                continue
            elif kind is REQUEST:
                target = dialect.request.copy()
                rec['requests'].append(target)
            elif rec['requests']:
                target = rec['requests'][-1]
            else:
                warn('line %d: %s' % (n, row.orphan))
                continue
            for (name, check, message), value in zip(row.fields, m.groups()):
                if value:
                    if check is not None:
                        value = check(value)
                        if value is None and message:
                            warn('line %d: %s' % (n, message))
                    if name in target:
                        target[name] = value
            if row.after is not None:
                row.after(target, m)
        if rec is not None:
            finish(rec, start, warn)
    finally:
        if collecting:
            gc.enable()
    return records
