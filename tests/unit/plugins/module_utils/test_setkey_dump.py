# Copyright (c) 2026 fleet.ipsec contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests of the `setkey -D` / `setkey -DP` parser (fixtures: tests/fixtures/setkey/)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re

import pytest

from ansible_collections.fleet.ipsec.plugins.module_utils import setkey_dump as sk

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..', 'fixtures', 'setkey')
ALL = sorted(f[:-4] for f in os.listdir(FIXTURES) if f.endswith('.txt'))
SAD = [f for f in ALL if not f.endswith('-DP') and f != 'no-spd-entries']
SPD = [f for f in ALL if f.endswith('-DP') or f == 'no-spd-entries']
_HEX_GROUP = re.compile(r'^[0-9a-f]{1,8}$')


def text(name):
    with open(os.path.join(FIXTURES, name + '.txt')) as f:
        return f.read()


def expected(name):
    with open(os.path.join(FIXTURES, 'expected', name + '.json')) as f:
        return json.load(f)


def key_groups(dump):
    """Every hex group of the E:/A: key dumps (and their continuation lines) in a dump."""
    groups = set()
    in_key = False
    for line in dump.split('\n'):
        toks = line.split()
        if toks and toks[0] in ('E:', 'A:'):
            in_key = True
            toks = toks[2:]
        elif not (in_key and toks and all(_HEX_GROUP.match(t) for t in toks)):
            in_key = False
            continue
        groups.update(t for t in toks if _HEX_GROUP.match(t) and len(t) == 8)
    return groups


def parse(name):
    return (sk.parse_spd_ex if name in SPD else sk.parse_sad_ex)(text(name))


# ------------------------------------------------------------------ every fixture, exactly

@pytest.mark.parametrize('name', ALL)
def test_fixture_matches_expected_records(name):
    records, warnings = parse(name)
    want = expected(name)
    assert want['parser'] == ('parse_spd' if name in SPD else 'parse_sad')
    assert records == want['records']
    assert warnings == want['warnings']


@pytest.mark.parametrize('name', ALL)
def test_records_have_exactly_the_documented_keys(name):
    records = parse(name)[0]
    keys = sk.SP_KEYS if name in SPD else sk.SA_KEYS
    for rec in records:
        assert tuple(rec) == keys
        assert tuple(rec['lifetime']) == sk.LIFETIME_KEYS
        for req in rec.get('requests') or []:
            assert tuple(req) == sk.REQUEST_KEYS
        assert rec['format'] == 'setkey'


@pytest.mark.parametrize('name', SAD)
def test_no_key_material_in_results_or_warnings(name):
    dump = text(name)
    groups = key_groups(dump)
    records, warnings = parse(name)
    blob = repr(records) + json.dumps(records) + repr(warnings)
    for g in groups:
        assert g not in blob


def test_fixtures_with_keys_really_have_keys():
    # guards the test above against a key_groups() that finds nothing
    assert len(key_groups(text('freebsd-constructed-setkey-D'))) == 8 + 16 + 8
    assert len(key_groups(text('linux-ipsec-tools-itts-setkey-D'))) == 6 + 6 + 4 + 4
    assert len(key_groups(text('linux-ipsec-tools-lkml2003-setkey-D'))) == 16
    assert len(key_groups(text('freebsd-vti-setkey-D'))) == 10


def test_continuation_line_of_a_long_key_is_dropped_silently():
    dump = text('freebsd-constructed-setkey-D')
    cont = [line for line in dump.split('\n') if line.startswith(' ')]
    assert len(cont) == 1 and len(cont[0].split()) == 8
    records, warnings = sk.parse_sad_ex(dump)
    assert warnings == []
    for g in cont[0].split():
        assert g not in repr(records)


# ------------------------------------------------------------------ hand-checked facts

def test_freebsd_vti_sa_pair():
    a, b = sk.parse_sad(text('freebsd-vti-setkey-D'))
    assert (a['src'], a['dst'], b['src'], b['dst']) == ('10.0.34.4', '10.0.23.2', '10.0.23.2', '10.0.34.4')
    assert (a['spi'], a['spi_hex'], b['spi'], b['spi_hex']) == (4097, '0x00001001', 4096, '0x00001000')
    assert a['satype'] == b['satype'] == 'esp' and a['mode'] == 'tunnel'
    assert a['reqid'] == b['reqid'] == 100
    assert a['enc'] == 'aes-gcm-16' and a['auth'] is None
    assert a['state'] == 'mature' and a['flags'] == 0x40
    assert (a['bytes'], b['bytes'], b['seq']) == (168, 280, 2)
    assert a['created'] == '2017-12-01 23:48:30'
    assert a['last_used'] == '2017-12-01 23:49:50'
    assert a['dumped_at'] == '2017-12-01 23:50:15' and a['age'] == 105
    assert (a['sadb_seq'], a['pid'], a['refcnt']) == (1, 1649, 1)


def test_freebsd_vti_policies_with_interface_scope():
    pols = sk.parse_spd(text('freebsd-vti-setkey-DP'))
    assert [(p['src'], p['dir'], p['spid']) for p in pols] == [
        ('0.0.0.0/0', 'in', 1), ('::/0', 'in', 3), ('0.0.0.0/0', 'out', 2), ('::/0', 'out', 4)]
    for p in pols:
        assert p['action'] == 'ipsec' and p['proto'] == 'any' and p['priority'] is None
        assert (p['scope'], p['ifname']) == ('ifnet', 'ipsec0')
        (req,) = p['requests']
        assert (req['proto'], req['mode'], req['level'], req['reqid']) == ('esp', 'tunnel', 'unique', 100)
    assert pols[0]['requests'][0]['src'] == '10.0.34.4'


def test_freebsd_bypass_discard_and_icmp6_policies():
    pols = sk.parse_spd(text('freebsd-constructed-setkey-DP'))
    out_ssh, in_ssh, out_tun, in_tun, icmp6, comp = pols
    assert (out_ssh['action'], out_ssh['dir'], out_ssh['proto']) == ('none', 'out', 'tcp')
    assert (out_ssh['src'], out_ssh['src_port'], out_ssh['dst'], out_ssh['dst_port']) == (
        '192.0.2.10/32', None, '198.51.100.0/24', 22)
    assert (in_ssh['src_port'], in_ssh['dst_port']) == (22, None)
    assert out_ssh['requests'] == [] and out_ssh['scope'] == 'global'
    assert out_tun['requests'] == [{'proto': 'esp', 'mode': 'tunnel', 'src': '192.0.2.10', 'dst': '198.51.100.1',
                                    'level': 'unique', 'reqid': 16385, 'spi': None}]
    assert in_tun['requests'][0]['src'] == '198.51.100.1'
    assert (icmp6['action'], icmp6['proto'], icmp6['src_port'], icmp6['dst_port']) == ('discard', 'icmp6', 135, 0)
    assert [(r['proto'], r['mode'], r['src'], r['level']) for r in comp['requests']] == [
        ('ipcomp', 'tunnel', '192.0.2.10', 'use'), ('esp', 'transport', None, 'require')]


def test_freebsd_natt_sa_with_original_addresses():
    natt, comp, ah = sk.parse_sad(text('freebsd-constructed-setkey-D'))
    assert (natt['satype'], natt['proto'], natt['natt']) == ('esp-udp', 'esp', True)
    assert (natt['src_port'], natt['dst_port']) == (4500, 4500)
    assert (natt['nat_oai'], natt['nat_oar']) == ('10.0.0.5', '198.51.100.1')
    assert (natt['enc_norm'], natt['auth_norm']) == ('aes-cbc', 'hmac-sha512')
    assert natt['lifetime']['hard_add'] == 3600 and natt['lifetime']['soft_add'] == 2880
    # C: prints no newline: the seq= fields share its line
    assert (comp['comp'], comp['state'], comp['replay_window'], comp['enc']) == ('deflate', 'mature', 0, None)
    assert (ah['satype'], ah['mode'], ah['state'], ah['reqid']) == ('ah', 'transport', 'dying', 0)
    assert ah['auth_norm'] == 'hmac-sha256' and ah['last_used'] is None


def test_ipsec_tools_priorities():
    pols = sk.parse_spd(text('linux-ipsec-tools-constructed-setkey-DP'))
    got = [(p['dir'], p['priority_class'], p['priority'], p['action']) for p in pols]
    assert got == [
        ('out', 'high', 0x40000000, 'none'),
        ('in', 'high', 0x40000000 - 10, 'none'),  # "+ 10" is a better (lower) priority
        ('fwd', 'low', 0xC0000000 + 5, 'discard'),
        ('out', 'def', 0x80000000, 'ipsec'),
        ('in', None, None, 'ipsec'),
    ]
    assert pols[2]['lifetime']['hard_add'] == 3600 and pols[2]['lifetime']['hard_use'] == 600
    assert pols[2]['last_used'] is None and pols[2]['created'] == '2026-11-27 18:57:58'
    v6 = pols[4]
    assert (v6['src'], v6['src_port'], v6['proto']) == ('2001:db8:1::1/128', 500, 'udp')


def test_ipsec_tools_per_socket_policies_are_flagged():
    pols = sk.parse_spd(text('linux-ipsec-tools-ipop-setkey-DP'))
    assert [(p['dir'], p['socket'], p['action']) for p in pols] == [
        ('fwd', False, 'ipsec'), ('in', False, 'ipsec'), ('out', False, 'ipsec'),
        ('out', True, 'none'), ('in', True, 'none'), ('out', True, 'none')]
    assert pols[3]['src'] is None and pols[3]['spid'] == 348
    assert pols[0]['proto'] == 'any'  # Linux prints the "any" protocol as 255
    assert pols[0]['last_used'] is None and pols[1]['last_used'] == '2018-10-18 15:00:25'


def test_ipsec_tools_transport_pairs_and_counters():
    sas = sk.parse_sad(text('linux-ipsec-tools-itts-setkey-D'))
    assert [(s['satype'], s['spi'], s['bytes'], s['allocations']) for s in sas] == [
        ('esp', 24501, 1123603, 1413), ('esp', 15701, 36631, 629),
        ('ah', 24500, 1155520, 1413), ('ah', 15700, 51096, 629)]
    assert [s['enc'] for s in sas] == ['3des-cbc', '3des-cbc', None, None]
    assert [s['auth'] for s in sas] == [None, None, 'hmac-md5', 'hmac-md5']
    pols = sk.parse_spd(text('linux-ipsec-tools-itts-setkey-DP'))
    assert [[r['proto'] for r in p['requests']] for p in pols] == [['esp', 'ah']] * 3
    assert pols[0]['src'] == '202.141.176.3/32'


def test_mail_archive_with_flattened_whitespace():
    a, b, c = sk.parse_sad(text('linux-ipsec-tools-lkml2003-setkey-D'))
    assert (a['state'], b['state'], c['state']) == ('dying', 'dying', 'larval')
    assert a['enc'] == 'rijndael-cbc' and a['enc_norm'] == 'aes-cbc'
    assert (c['satype'], c['comp'], c['seq'], c['flags']) == ('ipcomp', 'none', 0, 0)
    assert a['lifetime']['hard_add'] == 30 and a['age'] == 29


def test_sanitised_freebsd_dump_warns_but_keeps_what_it_can():
    sas, warnings = sk.parse_sad_ex(text('freebsd-libreswan-setkey-D'))
    assert [s['spi'] for s in sas] == [None, None]
    assert [s['mode'] for s in sas] == ['any', 'any']
    assert sas[0]['lifetime']['hard_add'] == 28800
    assert 'line 2: malformed spi' in warnings and 'line 11: malformed pid' in warnings
    pols, warnings = sk.parse_spd_ex(text('freebsd-libreswan-setkey-DP'))
    assert [p['dir'] for p in pols] == ['in', 'out'] and warnings == ['line 4: malformed pid', 'line 9: malformed pid']


# ------------------------------------------------------------------ empty, odd input, warnings

@pytest.mark.parametrize('dump', ['', None, '\n', '  \n\t\n', 'No SAD entries.\n', b'No SAD entries.\n'])
def test_empty_sad(dump):
    assert sk.parse_sad_ex(dump) == ([], [])


@pytest.mark.parametrize('dump', ['', None, '\n', 'No SPD entries.\n', b'No SPD entries.'])
def test_empty_spd(dump):
    assert sk.parse_spd_ex(dump) == ([], [])


def test_warnings_list_argument_is_appended_to():
    warns = ['earlier']
    assert sk.parse_sad('garbage line\n', warns) == []
    assert warns == ['earlier', "line 1: unrecognised line 'garbage line'"]
    assert sk.parse_sad('garbage line\n') == []  # no list, no warnings kept


def test_unknown_line_warning_masks_hex_runs():
    dump = text('freebsd-constructed-setkey-D').replace(
        '\tseq=0x00000007', '\tmystery 0123456789abcdef0123 and more\n\tseq=0x00000007', 1)
    records, warnings = sk.parse_sad_ex(dump)
    assert len(records) == 3
    assert warnings == ["line 7: unrecognised line 'mystery <hex> and more'"]


def test_stray_hex_line_is_dropped_without_echo():
    dump = 'stray\n 0011aabb 2233ccdd 4455eeff\n' + text('freebsd-vti-setkey-D')
    records, warnings = sk.parse_sad_ex(dump)
    assert len(records) == 2
    assert warnings == ["line 1: unrecognised line 'stray'", 'line 2: stray hex-only line dropped']
    assert '0011aabb' not in repr(warnings)


def test_key_lines_with_odd_names_never_store_hex():
    dump = ('10.0.0.1 10.0.0.2\n\tesp mode=tunnel spi=1(0x00000001) reqid=0(0x00000000)\n'
            '\tE: deadbeefcafe  0011aabb\n\tA: 0x1234abcd  55667788\n'
            '\tseq=0x00000000 replay=0 flags=0x00000000 state=mature\n')
    (rec,), warnings = sk.parse_sad_ex(dump)
    assert rec['enc'] is None and rec['auth'] is None
    assert warnings == ['line 3: malformed encryption algorithm', 'line 4: malformed authentication algorithm']
    for h in ('deadbeef', '0011aabb', '1234abcd', '55667788'):
        assert h not in repr(rec)


def test_crlf_and_bytes_input():
    dump = text('freebsd-vti-setkey-D')
    assert sk.parse_sad(dump.replace('\n', '\r\n')) == sk.parse_sad(dump)
    assert sk.parse_sad(dump.encode('ascii')) == sk.parse_sad(dump)


def test_last_record_without_newline_and_blank_lines_between():
    dump = text('linux-ipsec-tools-constructed-setkey-DP')
    spaced = dump.replace('\n192', '\n\n192').rstrip('\n')
    a, b = sk.parse_spd(dump), sk.parse_spd(spaced)
    assert [p['spid'] for p in a] == [p['spid'] for p in b]
    assert [p['priority'] for p in a] == [p['priority'] for p in b]


def test_upper_layer_mismatch_and_header_errors():
    pols, warnings = sk.parse_spd_ex('10.0.0.0/8[any] 10.1.0.0/16[any] upper layer protocol mismatched.\n'
                                     '(no selector, probably per-socket policy) \n\tout ipsec\n'
                                     '\tesp/tunnel/10.0.0.1-10.0.0.2/require\n\tspid=9 seq=0 pid=1 scope=pcb \n\trefcnt=1\n')
    assert warnings == ['line 1: upper layer protocol mismatched', 'line 1: policy without a direction/action line']
    assert pols[0]['proto'] is None and pols[0]['src'] == '10.0.0.0/8'
    assert pols[1]['socket'] is True and pols[1]['scope'] == 'pcb' and pols[1]['action'] == 'ipsec'


# ------------------------------------------------------------------ fast path == line parser

@pytest.mark.parametrize('name', ALL)
def test_fast_path_and_line_parser_agree(name):
    dump = text(name)
    slow = sk._slow_spd if name in SPD else sk._slow_sad
    records, warnings = [], []
    slow(dump.split('\n'), 1, records, warnings)
    assert (records, warnings) == parse(name)


@pytest.mark.parametrize('name, fast', [
    ('freebsd-constructed-setkey-D', 1),  # the ipcomp SA (C: line) and the one with sw offl go slow
    ('linux-ipsec-tools-constructed-setkey-D', 1),
    ('freebsd-constructed-setkey-DP', 5),  # icmp6 selectors go slow
    ('linux-ipsec-tools-constructed-setkey-DP', 5),
    ('linux-ipsec-tools-ipop-setkey-DP', 3),  # per-socket entries go slow
    ('linux-ipsec-tools-itts-setkey-D', 0),  # expanded tabs: all slow
])
def test_canonical_layout_takes_the_fast_path(name, fast):
    built = []
    rx, build, slow = (sk._SP_FAST, sk._sp_from_match, sk._slow_spd) if name in SPD else (
        sk._SA_FAST, sk._sa_from_match, sk._slow_sad)

    def counting(m, n):
        rec = build(m, n)
        if rec is not None:
            built.append(rec)
        return rec

    warnings = []
    records = sk._drive(text(name), rx, counting, slow, warnings)
    assert (records, warnings) == parse(name)
    assert len(built) == fast


# ------------------------------------------------------------------ names

def test_normalised_names():
    assert sk.normalize_enc('rijndael-cbc') == 'aes-cbc'
    assert sk.normalize_enc('AES-CBC') == 'aes-cbc'
    assert sk.normalize_auth('hmac-sha2-256') == 'hmac-sha256'
    assert sk.normalize_auth('aes-xcbc-mac') == 'aes-xcbc'
    assert sk.normalize_comp('deflate') == 'deflate'
    assert sk.normalize_enc('some-new-cipher') == 'some-new-cipher'
    assert sk.normalize_enc(None) is None


def test_other_sa_type_spellings():
    dump = ('10.0.0.1[4500] 10.0.0.2[4500] \n\tnatt+ah mode=transport spi=7(0x00000007) reqid=1(0x00000001)\n'
            '\tseq=0x00000000 replay=0 flags=0x00000000 state=mature \n'
            '10.0.0.1 10.0.0.2\n\t11 mode=2 spi=8(0x00000008) reqid=0(0x00000000)\n'
            '\tseq=0x00000000 replay=0 flags=0x00000000 state=3\n')
    (natt, num), warnings = sk.parse_sad_ex(dump)
    assert warnings == []
    assert (natt['satype'], natt['proto'], natt['natt'], natt['src_port']) == ('natt+ah', 'ah', True, 4500)
    assert (num['satype'], num['mode'], num['state'], num['spi']) == ('11', '2', '3', 8)
