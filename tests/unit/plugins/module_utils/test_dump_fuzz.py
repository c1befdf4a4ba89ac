# Copyright (c) 2026 fleet.ipsec contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fuzzing of the setkey and ip-xfrm dump parsers with hypothesis.

Random text and mutated real dumps (lines dropped, duplicated, truncated, characters
flipped, garbage inserted) must never raise, must give lists of dicts with the documented
keys, and no key material of any fixture may show up in a record or a warning.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import bisect
import json
import os
import re

import pytest

hypothesis = pytest.importorskip('hypothesis')
from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

from ansible_collections.fleet.ipsec.plugins.module_utils import setkey_dump as sk  # noqa: E402
from ansible_collections.fleet.ipsec.plugins.module_utils import xfrm_dump as xf  # noqa: E402
from ansible_collections.fleet.ipsec.plugins.module_utils.dump_common import REQUEST_KEYS, SA_KEYS, SP_KEYS  # noqa: E402

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..', 'fixtures')
SETTINGS = dict(deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])

PARSERS = (
    (sk.parse_sad, SA_KEYS), (sk.parse_spd, SP_KEYS),
    (xf.parse_state, SA_KEYS), (xf.parse_policy, SP_KEYS),
)


def _read(path):
    with open(path) as f:
        return f.read()


def _load():
    dumps = []
    for sub in ('setkey', 'xfrm'):
        d = os.path.join(FIXTURES, sub)
        for name in sorted(os.listdir(d)):
            if name.endswith('.txt'):
                dumps.append(_read(os.path.join(d, name)))
    return dumps


DUMPS = _load()
_SETKEY_GROUP = re.compile(r'(?<![0-9a-f])[0-9a-f]{8}(?![0-9a-f])')


def _key_windows(dumps):
    """8-character slices of every key in the fixtures (slices with a letter only)."""
    out = set()
    for dump in dumps:
        in_key = False
        for line in dump.split('\n'):
            toks = line.split()
            if not toks:
                in_key = False
                continue
            if toks[0] in ('E:', 'A:'):
                in_key = True
                out.update(g for g in toks[2:] if _SETKEY_GROUP.match(g) and not g.isdigit())
            elif in_key and all(_SETKEY_GROUP.match(t) for t in toks):
                out.update(t for t in toks if not t.isdigit())
            elif toks[0] in ('enc', 'auth', 'auth-trunc', 'aead', 'comp') and len(toks) > 2 and toks[2][:2] == '0x':
                key = toks[2][2:]
                out.update(key[i:i + 8] for i in range(len(key) - 7) if not key[i:i + 8].isdigit())
                in_key = False
            else:
                in_key = False
    return out


KEY_WINDOWS = sorted(_key_windows(DUMPS))
KEY_SET = frozenset(KEY_WINDOWS)


def _windows_of(blob):
    """Every 8-character slice of a text (one pass; cheaper than a search per key slice)."""
    return set(blob[i:i + 8] for i in range(len(blob) - 7))


def test_the_fixtures_do_carry_keys():
    assert len(KEY_WINDOWS) > 500


def _check(text):
    for parse, keys in PARSERS:
        warnings = []
        records = parse(text, warnings)
        assert isinstance(records, list)
        for rec in records:
            assert isinstance(rec, dict) and tuple(rec) == keys
            for req in rec.get('requests') or []:
                assert tuple(req) == REQUEST_KEYS
        assert all(isinstance(w, str) for w in warnings)
        blob = repr(records) + json.dumps(records) + repr(warnings)
        assert _windows_of(blob) & KEY_SET == set()


# ------------------------------------------------------------------ random text

_ALPHABET = st.sampled_from(list('0123456789abcdefx:.=/[]()-+# \t\n') + [
    'esp ', 'mode=', 'spi=', 'E: ', 'A: ', 'src ', 'dst ', 'proto ', 'tmpl ', 'dir ', 'enc ', '\tseq=0x',
    'No SAD entries.', '(per-socket policy)', 'created: ', 'lifetime', ' 0x', 'hard: ', '(bytes)', '\u0663',
    '\xb2', '\r', '\x0b', '\x85'])


@settings(max_examples=150, **SETTINGS)
@given(st.text(max_size=300))
def test_random_unicode_text(text):
    _check(text)


@settings(max_examples=150, **SETTINGS)
@given(st.lists(_ALPHABET, max_size=120).map(''.join))
def test_random_dump_shaped_text(text):
    _check(text)


@settings(max_examples=50, **SETTINGS)
@given(st.binary(max_size=200))
def test_random_bytes(data):
    for parse, dummy in PARSERS:
        assert isinstance(parse(data, []), list)


# ------------------------------------------------------------------ mutated real dumps

_GARBAGE = st.lists(st.sampled_from(list('0123456789abcdef :=()[]/.-\t\nxE') + ['A:', 'E:', '\tseq=']),
                    max_size=30).map(''.join)


@st.composite
def mutated(draw):
    text = draw(st.sampled_from(DUMPS))
    for dummy in range(draw(st.integers(1, 4))):
        lines = text.split('\n')
        op = draw(st.sampled_from(('drop', 'dup', 'truncate', 'flip', 'insert', 'swap', 'join')))
        i = draw(st.integers(0, max(0, len(lines) - 1)))
        if op == 'drop' and lines:
            del lines[i]
        elif op == 'dup' and lines:
            lines.insert(i, lines[i])
        elif op == 'swap' and len(lines) > 1:
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        elif op == 'join' and i + 1 < len(lines):
            lines[i:i + 2] = [lines[i] + draw(st.sampled_from(('', ' ', '\t', 'x'))) + lines[i + 1]]
        text = '\n'.join(lines)
        if op == 'truncate':
            text = text[:draw(st.integers(0, len(text)))]
        elif op == 'flip' and text:
            k = draw(st.integers(0, len(text) - 1))
            text = text[:k] + draw(st.sampled_from(list('\n\t 0x:=/()[]#-+.aAzZ9\x00\u00e9'))) + text[k + 1:]
        elif op == 'insert':
            k = draw(st.integers(0, len(text)))
            text = text[:k] + draw(_GARBAGE) + text[k:]
    return text


@settings(max_examples=300, **SETTINGS)
@given(mutated())
def test_mutated_real_dumps(text):
    _check(text)


@settings(max_examples=60, **SETTINGS)
@given(st.sampled_from(DUMPS), st.integers(0, 10000))
def test_every_prefix_of_a_real_dump(text, cut):
    _check(text[:cut % (len(text) + 1)])


# ------------------------------------------------------------------ deterministic sweeps

_BOUNDARY = re.compile(r'\s+')


@pytest.mark.parametrize('index', range(len(DUMPS)))
def test_every_token_boundary_prefix(index):
    """Cut the dump at every token boundary; parse the record the cut falls in, cut there."""
    text = DUMPS[index]
    starts = [0] + [m.end() for m in re.finditer(r'\n(?=\S)', text)]
    cuts = sorted(set([m.start() for m in _BOUNDARY.finditer(text)] + [m.end() for m in _BOUNDARY.finditer(text)]))
    for cut in cuts:
        start = starts[bisect.bisect_right(starts, cut) - 1]
        piece = text[start:cut]
        for parse, keys in PARSERS:
            for rec in parse(piece, []):
                assert tuple(rec) == keys
