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
from ansible_collections.fleet.ipsec.plugins.module_utils.dump_common import REQUEST_KEYS, SA_KEYS, SP_KEYS

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


def kept(record):
    """An expected record (written when records had more fields) cut to the fields kept today."""
    out = dict((key, record[key]) for key in (SP_KEYS if 'requests' in record else SA_KEYS))
    if 'requests' in out:
        out['requests'] = [dict((key, req[key]) for key in REQUEST_KEYS) for req in out['requests']]
    return out


def with_warnings(parse, dump):
    warnings = []
    return parse(dump, warnings), warnings


def parse(name):
    return with_warnings(sk.parse_spd if name in SPD else sk.parse_sad, text(name))


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


def one_sa(enc='aes-cbc', auth='hmac-sha1'):
    return ('10.0.0.1 10.0.0.2\n\tesp mode=tunnel spi=1(0x00000001) reqid=0(0x00000000)\n'
            '\tE: %s  0011aabb\n\tA: %s  2233ccdd\n'
            '\tseq=0x00000000 replay=0 flags=0x00000000 state=mature\n' % (enc, auth))


# ------------------------------------------------------------------ every fixture, exactly

@pytest.mark.parametrize('name', ALL)
def test_fixture_matches_expected_records(name):
    records, warnings = parse(name)
    want = expected(name)
    assert want['parser'] == ('parse_spd' if name in SPD else 'parse_sad')
    assert records == [kept(rec) for rec in want['records']]
    assert warnings == want['warnings']


@pytest.mark.parametrize('name', ALL)
def test_records_have_exactly_the_documented_keys(name):
    for rec in parse(name)[0]:
        assert tuple(rec) == (SP_KEYS if name in SPD else SA_KEYS)
        for req in rec.get('requests') or []:
            assert tuple(req) == REQUEST_KEYS


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
    records, warnings = with_warnings(sk.parse_sad, dump)
    assert warnings == []
    for g in cont[0].split():
        assert g not in repr(records)


@pytest.mark.parametrize('name', ALL)
@pytest.mark.parametrize('space', [' ', '        ', '\t\t'])
def test_whitespace_is_not_relied_on(name, space):
    # mail archives and web pages flatten or expand the tabs setkey prints
    dump = text(name)
    assert parse(name) == with_warnings(sk.parse_spd if name in SPD else sk.parse_sad, dump.replace('\t', space))


# ------------------------------------------------------------------ hand-checked facts

def test_freebsd_vti_sa_pair():
    a, b = sk.parse_sad(text('freebsd-vti-setkey-D'))
    assert (a['src'], a['dst'], b['src'], b['dst']) == ('10.0.34.4', '10.0.23.2', '10.0.23.2', '10.0.34.4')
    assert (a['spi'], a['spi_hex'], b['spi'], b['spi_hex']) == (4097, '0x00001001', 4096, '0x00001000')
    assert a['satype'] == b['satype'] == a['proto'] == 'esp' and a['mode'] == 'tunnel'
    assert (a['enc'], a['enc_norm'], a['auth'], a['auth_norm']) == ('aes-gcm-16', 'aes-gcm-16', None, None)
    assert a['state'] == 'mature' and a['packets'] is None
    assert (a['bytes'], b['bytes']) == (168, 280)
    assert a['created'] == '2017-12-01 23:48:30' and a['age'] == 105


def test_freebsd_vti_policies_with_interface_scope():
    pols = sk.parse_spd(text('freebsd-vti-setkey-DP'))
    assert [(p['src'], p['dst'], p['dir']) for p in pols] == [
        ('0.0.0.0/0', '0.0.0.0/0', 'in'), ('::/0', '::/0', 'in'), ('0.0.0.0/0', '0.0.0.0/0', 'out'), ('::/0', '::/0', 'out')]
    for p in pols:
        assert p['action'] == 'ipsec' and p['proto'] == 'any' and p['socket'] is False
        (req,) = p['requests']
        assert (req['proto'], req['mode'], req['level']) == ('esp', 'tunnel', 'unique')
    assert (pols[0]['requests'][0]['src'], pols[0]['requests'][0]['dst']) == ('10.0.34.4', '10.0.23.2')


def test_freebsd_bypass_discard_and_icmp6_policies():
    pols = sk.parse_spd(text('freebsd-constructed-setkey-DP'))
    out_ssh, in_ssh, out_tun, in_tun, icmp6, comp = pols
    assert (out_ssh['action'], out_ssh['dir'], out_ssh['proto']) == ('none', 'out', 'tcp')
    # a port in the selector does not change the CIDR
    assert (out_ssh['src'], out_ssh['dst'], in_ssh['src']) == ('192.0.2.10/32', '198.51.100.0/24', '198.51.100.0/24')
    assert out_ssh['requests'] == [] and in_ssh['dir'] == 'in'
    assert out_tun['requests'] == [{'proto': 'esp', 'mode': 'tunnel', 'src': '192.0.2.10', 'dst': '198.51.100.1',
                                    'level': 'unique'}]
    assert in_tun['requests'][0]['src'] == '198.51.100.1'
    assert (icmp6['action'], icmp6['proto']) == ('discard', 'icmp6')
    assert [(r['proto'], r['mode'], r['src'], r['level']) for r in comp['requests']] == [
        ('ipcomp', 'tunnel', '192.0.2.10', 'use'), ('esp', 'transport', None, 'require')]


def test_freebsd_natt_ipcomp_and_dying_ah_sas():
    natt, comp, ah = sk.parse_sad(text('freebsd-constructed-setkey-D'))
    assert (natt['satype'], natt['proto'], natt['src'], natt['dst']) == ('esp-udp', 'esp', '192.0.2.10', '198.51.100.1')
    assert (natt['enc_norm'], natt['auth'], natt['auth_norm']) == ('aes-cbc', 'hmac-sha2-512', 'hmac-sha512')
    assert (natt['age'], natt['bytes']) == (428, 10240)
    # C: prints no newline: the seq= fields, with the state, share its line
    assert (comp['satype'], comp['state'], comp['enc']) == ('ipcomp', 'mature', None)
    assert (ah['satype'], ah['mode'], ah['state']) == ('ah', 'transport', 'dying')
    assert ah['auth_norm'] == 'hmac-sha256' and ah['age'] == 3000


def test_ipsec_tools_priorities_and_lifetimes_parse():
    pols, warnings = parse('linux-ipsec-tools-constructed-setkey-DP')
    assert warnings == []
    assert [(p['dir'], p['action'], p['proto']) for p in pols] == [
        ('out', 'none', 'tcp'), ('in', 'none', 'tcp'), ('fwd', 'discard', 'any'),
        ('out', 'ipsec', 'any'), ('in', 'ipsec', 'udp')]
    assert (pols[4]['src'], pols[4]['dst']) == ('2001:db8:1::1/128', '2001:db8:2::1/128')


def test_checked_but_unkept_fields_still_warn():
    dump = text('linux-ipsec-tools-constructed-setkey-DP').replace('prio high + 10', 'prio higher + x1', 1)
    pols, warnings = with_warnings(sk.parse_spd, dump.replace('validtime: 600(s)', 'validtime: 6OO(s)'))
    assert warnings == ['line 8: malformed priority', 'line 8: malformed priority offset',
                        'line 16: malformed value for validtime']
    assert (pols[1]['dir'], pols[1]['action']) == ('in', 'none')


def test_ipsec_tools_per_socket_policies_are_flagged():
    pols = sk.parse_spd(text('linux-ipsec-tools-ipop-setkey-DP'))
    assert [(p['dir'], p['socket'], p['action']) for p in pols] == [
        ('fwd', False, 'ipsec'), ('in', False, 'ipsec'), ('out', False, 'ipsec'),
        ('out', True, 'none'), ('in', True, 'none'), ('out', True, 'none')]
    assert pols[3]['src'] is None and pols[3]['proto'] is None
    assert pols[0]['proto'] == 'any'  # Linux prints the "any" protocol as 255


def test_ipsec_tools_transport_pairs_and_counters():
    sas = sk.parse_sad(text('linux-ipsec-tools-itts-setkey-D'))
    assert [(s['satype'], s['spi'], s['bytes']) for s in sas] == [
        ('esp', 24501, 1123603), ('esp', 15701, 36631), ('ah', 24500, 1155520), ('ah', 15700, 51096)]
    assert [s['enc'] for s in sas] == ['3des-cbc', '3des-cbc', None, None]
    assert [s['auth'] for s in sas] == [None, None, 'hmac-md5', 'hmac-md5']
    pols = sk.parse_spd(text('linux-ipsec-tools-itts-setkey-DP'))
    assert [[r['proto'] for r in p['requests']] for p in pols] == [['esp', 'ah']] * 3
    assert pols[0]['src'] == '202.141.176.3/32'


def test_mail_archive_with_flattened_whitespace():
    a, b, c = sk.parse_sad(text('linux-ipsec-tools-lkml2003-setkey-D'))
    assert (a['state'], b['state'], c['state']) == ('dying', 'dying', 'larval')
    assert a['enc'] == 'rijndael-cbc' and a['enc_norm'] == 'aes-cbc'
    assert (c['satype'], c['enc'], c['auth']) == ('ipcomp', None, None)
    assert a['age'] == 29


def test_sanitised_freebsd_dump_warns_but_keeps_what_it_can():
    sas, warnings = parse('freebsd-libreswan-setkey-D')
    assert [s['spi'] for s in sas] == [None, None]
    assert [s['mode'] for s in sas] == ['any', 'any']
    assert [s['created'] for s in sas] == [None, None] and sas[0]['bytes'] == 0
    assert 'line 2: malformed spi' in warnings and 'line 11: malformed pid' in warnings
    pols, warnings = parse('freebsd-libreswan-setkey-DP')
    assert [p['dir'] for p in pols] == ['in', 'out'] and warnings == ['line 4: malformed pid', 'line 9: malformed pid']


# ------------------------------------------------------------------ empty, odd input, warnings

@pytest.mark.parametrize('dump', ['', None, '\n', '  \n\t\n', 'No SAD entries.\n', b'No SAD entries.\n'])
def test_empty_sad(dump):
    assert with_warnings(sk.parse_sad, dump) == ([], [])


@pytest.mark.parametrize('dump', ['', None, '\n', 'No SPD entries.\n', b'No SPD entries.'])
def test_empty_spd(dump):
    assert with_warnings(sk.parse_spd, dump) == ([], [])


def test_warnings_list_argument_is_appended_to():
    warns = ['earlier']
    assert sk.parse_sad('garbage line\n', warns) == []
    assert warns == ['earlier', "line 1: unrecognised line 'garbage line'"]
    assert sk.parse_sad('garbage line\n') == []  # no list, no warnings kept


def test_unknown_line_warning_masks_hex_runs():
    dump = text('freebsd-constructed-setkey-D').replace(
        '\tseq=0x00000007', '\tmystery 0123456789abcdef0123 and more\n\tseq=0x00000007', 1)
    records, warnings = with_warnings(sk.parse_sad, dump)
    assert len(records) == 3
    assert warnings == ["line 7: unrecognised line 'mystery <hex> and more'"]


def test_stray_hex_line_is_dropped_without_echo():
    dump = 'stray\n 0011aabb 2233ccdd 4455eeff\n' + text('freebsd-vti-setkey-D')
    records, warnings = with_warnings(sk.parse_sad, dump)
    assert len(records) == 2
    assert warnings == ["line 1: unrecognised line 'stray'", 'line 2: stray hex-only line dropped']
    assert '0011aabb' not in repr(warnings)


def test_key_lines_with_odd_names_never_store_hex():
    dump = one_sa('deadbeefcafe', '0x1234abcd').replace('2233ccdd', '55667788')
    (rec,), warnings = with_warnings(sk.parse_sad, dump)
    assert rec['enc'] is None and rec['auth'] is None
    assert warnings == ['line 3: malformed encryption algorithm', 'line 4: malformed authentication algorithm']
    for h in ('deadbeef', '0011aabb', '1234abcd', '55667788'):
        assert h not in repr(rec)


def test_a_key_line_glued_to_its_name_is_quoted_masked():
    dump = one_sa().replace('E: aes-cbc  0011aabb', 'E:aes-cbc 0011aabbccddeeff')
    (rec,), warnings = with_warnings(sk.parse_sad, dump)
    assert rec['enc'] is None and warnings == ["line 3: unrecognised line 'E:aes-cbc <hex>'"]


def test_crlf_and_bytes_input():
    dump = text('freebsd-vti-setkey-D')
    assert sk.parse_sad(dump.replace('\n', '\r\n')) == sk.parse_sad(dump)
    assert sk.parse_sad(dump.encode('ascii')) == sk.parse_sad(dump)


def test_last_record_without_newline_and_blank_lines_between():
    dump = text('linux-ipsec-tools-constructed-setkey-DP')
    spaced = dump.replace('\n192', '\n\n192').rstrip('\n')
    assert spaced != dump
    assert with_warnings(sk.parse_spd, spaced) == with_warnings(sk.parse_spd, dump)


def test_upper_layer_mismatch_and_header_errors():
    pols, warnings = with_warnings(
        sk.parse_spd, '10.0.0.0/8[any] 10.1.0.0/16[any] upper layer protocol mismatched.\n'
        '(no selector, probably per-socket policy) \n\tout ipsec\n'
        '\tesp/tunnel/10.0.0.1-10.0.0.2/require\n\tspid=9 seq=0 pid=1 scope=pcb \n\trefcnt=1\n')
    assert warnings == ['line 1: upper layer protocol mismatched', 'line 1: policy without a direction/action line']
    assert pols[0]['proto'] is None and pols[0]['src'] == '10.0.0.0/8'
    assert pols[1]['socket'] is True and pols[1]['action'] == 'ipsec'
    assert pols[1]['requests'] == [{'proto': 'esp', 'mode': 'tunnel', 'src': '10.0.0.1', 'dst': '10.0.0.2',
                                    'level': 'require'}]


def test_a_selector_with_an_impossible_prefix_is_no_header():
    pols, warnings = with_warnings(sk.parse_spd, '10.0.0.0/33[any] 10.1.0.0/16[any] any\n\tout ipsec\n')
    assert pols == []
    assert warnings == ["line 1: unrecognised line '10.0.0.0/33[any] 10.1.0.0/16[any] any'",
                        'line 2: line outside any policy']


# ------------------------------------------------------------------ names

@pytest.mark.parametrize('enc, auth, enc_norm, auth_norm', [
    ('rijndael-cbc', 'hmac-sha2-256', 'aes-cbc', 'hmac-sha256'),
    ('AES-CBC', 'aes-xcbc-mac', 'aes-cbc', 'aes-xcbc'),
    ('some-new-cipher', 'HMAC-SHA1', 'some-new-cipher', 'hmac-sha1'),
])
def test_normalised_names(enc, auth, enc_norm, auth_norm):
    (rec,) = sk.parse_sad(one_sa(enc, auth))
    assert (rec['enc'], rec['auth']) == (enc, auth)  # as printed
    assert (rec['enc_norm'], rec['auth_norm']) == (enc_norm, auth_norm)


def test_other_sa_type_spellings():
    dump = ('10.0.0.1[4500] 10.0.0.2[4500] \n\tnatt+ah mode=transport spi=7(0x00000007) reqid=1(0x00000001)\n'
            '\tseq=0x00000000 replay=0 flags=0x00000000 state=mature \n'
            '10.0.0.1 10.0.0.2\n\t11 mode=2 spi=8(0x00000008) reqid=0(0x00000000)\n'
            '\tseq=0x00000000 replay=0 flags=0x00000000 state=3\n')
    (natt, num), warnings = with_warnings(sk.parse_sad, dump)
    assert warnings == []
    assert (natt['satype'], natt['proto'], natt['src']) == ('natt+ah', 'ah', '10.0.0.1')
    assert (num['satype'], num['mode'], num['state'], num['spi']) == ('11', '2', '3', 8)


def test_unknown_sa_type():
    (rec,), warnings = with_warnings(sk.parse_sad, one_sa().replace('\tesp mode', '\tbogus mode'))
    assert (rec['satype'], rec['proto'], rec['spi']) == (None, None, 1)
    assert warnings == ['line 2: unknown SA type', 'line 1: SA without a type/mode/spi line']


@pytest.mark.parametrize('proto', ['\xb2', '\u0663', '256', '0x06'])
def test_a_protocol_that_is_no_small_ascii_number_is_malformed(proto):
    # str.isdigit() accepts the first two, which int() refuses
    (pol,), warnings = with_warnings(sk.parse_spd, '10.0.0.1[any] 10.0.0.2[any] %s\n\tout none\n' % proto)
    assert pol['proto'] is None and pol['action'] == 'none'
    assert warnings == ['line 1: malformed upper-layer protocol']
