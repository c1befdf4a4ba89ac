# Copyright (c) 2026 fleet.ipsec contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests of the `ip xfrm state` / `ip xfrm policy` parser (fixtures: tests/fixtures/xfrm/)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

import pytest

from ansible_collections.fleet.ipsec.plugins.module_utils import setkey_dump as sk
from ansible_collections.fleet.ipsec.plugins.module_utils import xfrm_dump as xf

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..', 'fixtures', 'xfrm')
ALL = sorted(f[:-4] for f in os.listdir(FIXTURES) if f.endswith('.txt'))
POLICY = [f for f in ALL if 'policy' in f]
STATE = [f for f in ALL if 'state' in f]
ALG_LINES = ('enc', 'auth', 'auth-trunc', 'aead', 'comp')


def text(name):
    with open(os.path.join(FIXTURES, name + '.txt')) as f:
        return f.read()


def expected(name):
    with open(os.path.join(FIXTURES, 'expected', name + '.json')) as f:
        return json.load(f)


def parse(name):
    return (xf.parse_policy_ex if name in POLICY else xf.parse_state_ex)(text(name))


def keys_of(dump):
    """The key hex strings of the algorithm lines of a dump (without 0x)."""
    keys = set()
    for line in dump.split('\n'):
        toks = line.split()
        if len(toks) > 2 and toks[0] in ALG_LINES and toks[2].startswith('0x') and len(toks[2]) > 2:
            keys.add(toks[2][2:])
    return keys


def windows(key):
    """Every 8-character slice of a key that has a letter (digit-only slices could be counters)."""
    return set(key[i:i + 8] for i in range(len(key) - 7) if not key[i:i + 8].isdigit())


# ------------------------------------------------------------------ every fixture, exactly

@pytest.mark.parametrize('name', ALL)
def test_fixture_matches_expected_records(name):
    records, warnings = parse(name)
    want = expected(name)
    assert want['parser'] == ('parse_policy' if name in POLICY else 'parse_state')
    assert records == want['records']
    assert warnings == want['warnings']


@pytest.mark.parametrize('name', ALL)
def test_records_have_the_same_keys_as_setkey_records(name):
    records = parse(name)[0]
    keys = sk.SP_KEYS if name in POLICY else sk.SA_KEYS
    assert records
    for rec in records:
        assert tuple(rec) == keys
        assert tuple(rec['lifetime']) == sk.LIFETIME_KEYS
        for req in rec.get('requests') or []:
            assert tuple(req) == sk.REQUEST_KEYS
        assert rec['format'] == 'xfrm'


def test_key_tuples_equal_across_modules():
    assert xf.SA_KEYS == sk.SA_KEYS
    assert xf.SP_KEYS == sk.SP_KEYS
    assert xf.REQUEST_KEYS == sk.REQUEST_KEYS
    assert xf.LIFETIME_KEYS == sk.LIFETIME_KEYS


@pytest.mark.parametrize('name', STATE)
def test_no_key_material_in_results_or_warnings(name):
    dump = text(name)
    keys = keys_of(dump)
    assert keys, 'fixture without keys?'
    records, warnings = parse(name)
    blob = repr(records) + json.dumps(records) + repr(warnings)
    for key in keys:
        for w in windows(key):
            assert w not in blob


# ------------------------------------------------------------------ hand-checked facts

def test_strongswan_ikev1_states():
    out_sa, in_sa = xf.parse_state(text('ikev1-g1-ip-s-xfrm-state'))
    assert (out_sa['src'], out_sa['dst'], out_sa['spi'], out_sa['spi_hex']) == (
        '10.77.0.11', '10.77.0.12', 3465869402, '0xce94f85a')
    assert (out_sa['satype'], out_sa['proto'], out_sa['mode'], out_sa['reqid']) == ('esp', 'esp', 'tunnel', 1)
    assert (out_sa['enc'], out_sa['enc_norm'], out_sa['auth'], out_sa['auth_norm']) == (
        'cbc(aes)', 'aes-cbc', 'hmac(sha256)', 'hmac-sha256')
    assert (out_sa['bytes'], out_sa['packets'], in_sa['bytes'], in_sa['packets']) == (840, 10, 756, 9)
    assert (out_sa['replay_window'], in_sa['replay_window']) == (0, 32)
    assert (out_sa['replay_oseq'], in_sa['replay_seq']) == (10, 9)
    assert out_sa['flag_names'] == ['af-unspec'] and out_sa['flags'] == 0x20
    assert out_sa['created'] == '2026-11-27 18:58:04' and in_sa['last_used'] == '2026-11-27 18:58:08'
    assert out_sa['lifetime'] == {'hard_add': 3960, 'soft_add': 3341, 'hard_use': 0, 'soft_use': 0,
                                  'hard_bytes': 0, 'soft_bytes': 0, 'hard_packets': 0, 'soft_packets': 0,
                                  'hard_allocations': None, 'soft_allocations': None}
    assert out_sa['state'] is None and out_sa['natt'] is False


@pytest.mark.parametrize('ike', ['ikev1', 'ikev2'])
def test_both_ends_hold_the_same_sas(ike):
    g1 = xf.parse_state(text(ike + '-g1-ip-s-xfrm-state'))
    g2 = xf.parse_state(text(ike + '-g2-ip-s-xfrm-state'))
    ident = sorted((s['src'], s['dst'], s['spi'], s['reqid'], s['enc_norm'], s['auth_norm']) for s in g1)
    assert ident == sorted((s['src'], s['dst'], s['spi'], s['reqid'], s['enc_norm'], s['auth_norm']) for s in g2)
    # the outbound policy's template names the SPI of the outbound SA
    out = [p for p in xf.parse_policy(text(ike + '-g1-ip-xfrm-policy')) if p['dir'] == 'out' and not p['socket']]
    (req,) = out[0]['requests']
    assert [s['spi'] for s in g1 if (s['src'], s['dst']) == (req['src'], req['dst'])] == [req['spi']]


def test_strongswan_policies_and_socket_bypasses():
    pols = xf.parse_policy(text('ikev1-g1-ip-xfrm-policy'))
    tunnel = [p for p in pols if not p['socket']]
    assert [(p['src'], p['dst'], p['dir'], p['priority'], p['ptype']) for p in tunnel] == [
        ('10.101.1.0/24', '10.101.2.0/24', 'out', 375423, 'main'),
        ('10.101.2.0/24', '10.101.1.0/24', 'fwd', 375423, 'main'),
        ('10.101.2.0/24', '10.101.1.0/24', 'in', 375423, 'main')]
    for p in tunnel:
        assert p['action'] == 'ipsec' and p['proto'] == 'any'
        (req,) = p['requests']
        assert (req['proto'], req['mode'], req['level'], req['reqid']) == ('esp', 'tunnel', 'require', 1)
    assert tunnel[0]['requests'][0]['spi'] == 0xce94f85a and tunnel[1]['requests'][0]['spi'] is None
    sockets = [p for p in pols if p['socket']]
    assert len(sockets) == 8
    assert sorted(set((p['dir'], p['action'], p['src']) for p in sockets)) == [
        ('in', 'none', '0.0.0.0/0'), ('in', 'none', '::/0'), ('out', 'none', '0.0.0.0/0'), ('out', 'none', '::/0')]


def test_captured_policies_actions_levels_selectors():
    pols = xf.parse_policy(text('debian12-netns-ip-xfrm-policy'))
    by_prio = dict((p['priority'], p) for p in pols if p['priority'] != 2000)
    comp = by_prio[60]
    assert [(r['proto'], r['level'], r['reqid']) for r in comp['requests']] == [('ipcomp', 'use', 0), ('esp', 'require', 9)]
    ike = by_prio[10]
    assert (ike['src'], ike['proto'], ike['src_port'], ike['dst_port'], ike['action']) == (
        '2001:db8:1::1/128', 'udp', 500, 500, 'none')
    icmp = by_prio[50]
    assert (icmp['proto'], icmp['src_port'], icmp['dst_port'], icmp['mark']) == ('icmp', 8, 0, '0x10/0xff')
    assert icmp['requests'][0]['src'] is None and icmp['requests'][0]['mode'] == 'transport'
    assert by_prio[3000]['action'] == 'discard'
    assert (by_prio[100]['action'], by_prio[100]['proto']) == ('none', 'tcp')
    levels = [(p['dir'], p['requests'][0]['level']) for p in pols if p['priority'] == 2000]
    assert levels == [('fwd', 'use'), ('in', 'use'), ('out', 'require')]


def test_stats_and_plain_policy_dumps_agree():
    plain = xf.parse_policy(text('debian12-netns-ip-xfrm-policy'))
    stats = xf.parse_policy(text('debian12-netns-ip-s-xfrm-policy'))
    core = ('src', 'dst', 'src_port', 'dst_port', 'proto', 'dir', 'socket', 'action', 'priority', 'ptype',
            'requests', 'mark')
    assert [[p[k] for k in core] for p in plain] == [[p[k] for k in core] for p in stats]
    assert [p['spid'] for p in stats] == [64, 56, 49, 41, 32, 25, 18, 8, 1]
    assert all(p['spid'] is None and p['created'] is None for p in plain)
    assert stats[0]['created'] == '2026-11-27 20:10:16' and stats[0]['last_used'] is None
    assert stats[0]['lifetime']['hard_bytes'] == 0


def test_constructed_natt_aead_comp_and_ah_states():
    natt, comp, ah = xf.parse_state(text('constructed-ip-s-xfrm-state-natt-aead'))
    assert (natt['satype'], natt['proto'], natt['natt'], natt['encap_type']) == ('esp-udp', 'esp', True, 'espinudp')
    assert (natt['src_port'], natt['dst_port'], natt['nat_oa']) == (4500, 4500, '0.0.0.0')
    assert (natt['enc'], natt['enc_norm'], natt['auth']) == ('rfc4106(gcm(aes))', 'aes-gcm-16', None)
    assert natt['flag_names'] == ['af-unspec', 'esn'] and natt['flags'] == 0xa0
    assert (natt['replay_seq'], natt['replay_oseq']) == (0, 7)
    assert (comp['satype'], comp['comp'], comp['comp_norm'], comp['spi']) == ('ipcomp', 'deflate', 'deflate', 0xabcd)
    assert (comp['lifetime']['soft_bytes'], comp['lifetime']['hard_bytes']) == (1000000, 2000000)
    assert comp['last_used'] is None
    assert (ah['auth'], ah['auth_norm'], ah['mark'], ah['if_id']) == ('hmac(sha1)', 'hmac-sha1', '0x10/0xff', 5)
    assert ah['selector'] == {'src': '192.0.2.10/32', 'dst': '203.0.113.7/32', 'src_port': None,
                              'dst_port': 179, 'proto': 'tcp'}
    assert (ah['replay_dropped'], ah['integrity_failed'], ah['flags'], ah['flag_names']) == (1, 2, 0, [])


def test_plain_state_dump_has_ids_and_algorithms_only():
    plain = xf.parse_state(text('derived-ikev2-g1-ip-xfrm-state'))
    stats = xf.parse_state(text('ikev2-g1-ip-s-xfrm-state'))
    same = ('src', 'dst', 'satype', 'mode', 'spi', 'reqid', 'enc', 'enc_norm', 'auth', 'auth_norm',
            'replay_window', 'flag_names', 'replay_seq', 'replay_oseq')
    assert [[s[k] for k in same] for s in plain] == [[s[k] for k in same] for s in stats]
    assert all(s['bytes'] is None and s['created'] is None and s['seq'] is None for s in plain)
    assert all(s['flags'] is None for s in plain)


def test_names_compare_across_formats():
    pairs = [('aes-cbc', 'cbc(aes)'), ('rijndael-cbc', 'cbc(aes)'), ('3des-cbc', 'cbc(des3_ede)'),
             ('aes-ctr', 'rfc3686(ctr(aes))'), ('null', 'ecb(cipher_null)')]
    for setkey_name, xfrm_name in pairs:
        assert sk.normalize_enc(setkey_name) == xf.normalize_enc(xfrm_name)
    assert sk.normalize_enc('aes-gcm-16') == xf.normalize_enc('rfc4106(gcm(aes))', 128)
    for setkey_name, xfrm_name in [('hmac-sha1', 'hmac(sha1)'), ('hmac-sha2-256', 'hmac(sha256)'),
                                   ('hmac-sha2-384', 'hmac(sha384)'), ('hmac-sha2-512', 'hmac(sha512)'),
                                   ('hmac-md5', 'hmac(md5)'), ('aes-xcbc-mac', 'xcbc(aes)')]:
        assert sk.normalize_auth(setkey_name) == xf.normalize_auth(xfrm_name)
    assert xf.normalize_enc('rfc4106(gcm(aes))', 96) == 'aes-gcm-12'
    assert xf.normalize_comp('deflate') == sk.normalize_comp('deflate')


def test_setkey_and_xfrm_records_of_the_same_tunnel_compare():
    sa = sk.parse_sad(text_setkey('linux-ipsec-tools-constructed-setkey-D'))[0]
    st = xf.parse_state(text('constructed-ip-s-xfrm-state-natt-aead'))[0]
    for k in ('src', 'dst', 'src_port', 'dst_port', 'natt', 'satype', 'proto', 'mode', 'reqid'):
        assert sa[k] == st[k], k


def text_setkey(name):
    with open(os.path.join(FIXTURES, '..', 'setkey', name + '.txt')) as f:
        return f.read()


# ------------------------------------------------------------------ empty, odd input, warnings

@pytest.mark.parametrize('dump', ['', None, '\n', ' \t\n', b''])
@pytest.mark.parametrize('fn', [xf.parse_state_ex, xf.parse_policy_ex])
def test_empty(fn, dump):
    assert fn(dump) == ([], [])


def test_aliases():
    assert xf.parse_sad is xf.parse_state and xf.parse_spd is xf.parse_policy


def test_unknown_lines_warn_with_masked_hex():
    dump = text('ikev1-g1-ip-s-xfrm-state').replace(
        '\tenc cbc(aes)', '\tnew-thing 0xfeedfacefeedface99 x\n\tenc cbc(aes)', 1)
    records, warnings = xf.parse_state_ex(dump)
    assert len(records) == 2 and records[0]['enc'] == 'cbc(aes)'
    assert warnings == ["line 5: unrecognised line 'new-thing 0x<hex> x'"]


def test_misspelt_algorithm_line_is_warned_without_its_key():
    dump = text('ikev1-g1-ip-s-xfrm-state')
    key = sorted(keys_of(dump))[0]
    broken = dump.replace('\tenc cbc(aes) 0x' + key, '\tenx cbc(aes) 0x' + key)
    assert broken != dump
    records, warnings = xf.parse_state_ex(broken)
    assert len(warnings) == 1 and warnings[0].startswith('line ') and 'enx cbc(aes) 0x<hex>' in warnings[0]
    for w in windows(key):
        assert w not in repr(records) + repr(warnings)


def test_crlf_and_bytes_input():
    dump = text('ikev2-g2-ip-s-xfrm-state')
    assert xf.parse_state(dump.replace('\n', '\r\n')) == xf.parse_state(dump)
    assert xf.parse_state(dump.encode('ascii')) == xf.parse_state(dump)


def test_policy_lines_outside_a_policy_and_bad_header():
    pols, warnings = xf.parse_policy_ex('\tdir out priority 1 ptype main \nsrc nonsense dst 10.0.0.0/8\n')
    assert pols == []
    assert warnings == ['line 1: line outside any policy', "line 2: unrecognised line 'src nonsense dst 10.0.0.0/8'"]


# ------------------------------------------------------------------ fast path == line parser

@pytest.mark.parametrize('name', ALL)
def test_fast_path_and_line_parser_agree(name):
    slow = xf._slow_policy if name in POLICY else xf._slow_state
    records, warnings = [], []
    slow(text(name).split('\n'), 1, records, warnings)
    assert (records, warnings) == parse(name)


@pytest.mark.parametrize('name, fast', [
    ('ikev1-g1-ip-s-xfrm-state', 2), ('ikev2-g2-ip-s-xfrm-state', 2),
    ('ikev1-g1-ip-xfrm-policy', 11), ('debian12-netns-ip-xfrm-policy', 4),  # selectors with ports, marks, block go slow
    ('debian12-netns-ip-s-xfrm-policy', 0), ('derived-ikev2-g1-ip-xfrm-state', 0),
])
def test_usual_layout_takes_the_fast_path(name, fast):
    built = []
    rx, build, slow = (xf._SP_FAST, xf._sp_from_match, xf._slow_policy) if name in POLICY else (
        xf._SA_FAST, xf._sa_from_match, xf._slow_state)

    def counting(m, n):
        rec = build(m, n)
        if rec is not None:
            built.append(rec)
        return rec

    warnings = []
    assert (xf._drive(text(name), rx, counting, slow, warnings), warnings) == parse(name)
    assert len(built) == fast


def test_esn_bitmap_words_are_not_warned_but_stray_hex_is():
    records, warnings = xf.parse_state_ex(text('constructed-ip-s-xfrm-state-natt-aead'))
    assert warnings == []
    dump = text('ikev1-g1-ip-s-xfrm-state').replace('\tlifetime config:', '\t 00000000 00000001\n\tlifetime config:', 1)
    records, warnings = xf.parse_state_ex(dump)
    assert len(records) == 2 and warnings == ['line 7: stray hex-only line dropped']
