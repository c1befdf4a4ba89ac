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
from ansible_collections.fleet.ipsec.plugins.module_utils.dump_common import REQUEST_KEYS, SA_KEYS, SP_KEYS

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
    return with_warnings(xf.parse_policy if name in POLICY else xf.parse_state, text(name))


def one_sa(*alg_lines):
    return ('src 10.0.0.1 dst 10.0.0.2\n\tproto esp spi 0x00000001 reqid 1 mode tunnel\n'
            + ''.join('\t%s\n' % line for line in alg_lines))


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
    assert records == [kept(rec) for rec in want['records']]
    assert warnings == want['warnings']


@pytest.mark.parametrize('name', ALL)
def test_records_have_the_same_keys_as_setkey_records(name):
    records = parse(name)[0]
    assert records
    for rec in records:
        assert tuple(rec) == (SP_KEYS if name in POLICY else SA_KEYS)
        for req in rec.get('requests') or []:
            assert tuple(req) == REQUEST_KEYS


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
    assert (out_sa['satype'], out_sa['proto'], out_sa['mode']) == ('esp', 'esp', 'tunnel')
    assert (out_sa['enc'], out_sa['enc_norm'], out_sa['auth'], out_sa['auth_norm']) == (
        'cbc(aes)', 'aes-cbc', 'hmac(sha256)', 'hmac-sha256')
    assert (out_sa['bytes'], out_sa['packets'], in_sa['bytes'], in_sa['packets']) == (840, 10, 756, 9)
    assert (out_sa['created'], in_sa['created']) == ('2026-11-27 18:58:04', '2026-11-27 18:58:02')
    # xfrm has no SA states, and the age is left to kernel.read (from the add time)
    assert out_sa['state'] is None and out_sa['age'] is None


@pytest.mark.parametrize('ike', ['ikev1', 'ikev2'])
def test_both_ends_hold_the_same_sas(ike):
    g1 = xf.parse_state(text(ike + '-g1-ip-s-xfrm-state'))
    g2 = xf.parse_state(text(ike + '-g2-ip-s-xfrm-state'))
    ident = sorted((s['src'], s['dst'], s['spi'], s['enc_norm'], s['auth_norm']) for s in g1)
    assert len(ident) == 2
    assert ident == sorted((s['src'], s['dst'], s['spi'], s['enc_norm'], s['auth_norm']) for s in g2)
    # the outbound policy's template names the endpoints of the outbound SA
    out = [p for p in xf.parse_policy(text(ike + '-g1-ip-xfrm-policy')) if p['dir'] == 'out' and not p['socket']]
    (req,) = out[0]['requests']
    assert len([s for s in g1 if (s['src'], s['dst']) == (req['src'], req['dst'])]) == 1


def test_strongswan_policies_and_socket_bypasses():
    pols = xf.parse_policy(text('ikev1-g1-ip-xfrm-policy'))
    tunnel = [p for p in pols if not p['socket']]
    assert [(p['src'], p['dst'], p['dir']) for p in tunnel] == [
        ('10.101.1.0/24', '10.101.2.0/24', 'out'),
        ('10.101.2.0/24', '10.101.1.0/24', 'fwd'),
        ('10.101.2.0/24', '10.101.1.0/24', 'in')]
    for p in tunnel:
        assert p['action'] == 'ipsec' and p['proto'] == 'any'
        (req,) = p['requests']
        assert (req['proto'], req['mode'], req['level']) == ('esp', 'tunnel', 'require')
    assert (tunnel[0]['requests'][0]['src'], tunnel[0]['requests'][0]['dst']) == ('10.77.0.11', '10.77.0.12')
    sockets = [p for p in pols if p['socket']]
    assert len(sockets) == 8
    assert sorted(set((p['dir'], p['action'], p['src']) for p in sockets)) == [
        ('in', 'none', '0.0.0.0/0'), ('in', 'none', '::/0'), ('out', 'none', '0.0.0.0/0'), ('out', 'none', '::/0')]


def test_captured_policies_actions_levels_selectors():
    comp, ike, icmp, block, ssh_in, ssh_out, fwd, inbound, outbound = xf.parse_policy(
        text('debian12-netns-ip-xfrm-policy'))
    assert [(r['proto'], r['level']) for r in comp['requests']] == [('ipcomp', 'use'), ('esp', 'require')]
    assert (ike['src'], ike['dst'], ike['proto'], ike['action']) == (
        '2001:db8:1::1/128', '2001:db8:2::1/128', 'udp', 'none')
    assert (icmp['proto'], icmp['dir'], icmp['action']) == ('icmp', 'out', 'ipsec')
    # an unspecified transport-mode endpoint is none, as setkey prints it
    assert icmp['requests'] == [{'proto': 'ah', 'mode': 'transport', 'src': None, 'dst': None, 'level': 'require'}]
    assert (block['action'], block['src']) == ('discard', '2001:db8:1::/48')
    assert (ssh_in['action'], ssh_in['proto'], ssh_out['dir']) == ('none', 'tcp', 'out')
    levels = [(p['dir'], p['requests'][0]['level']) for p in (fwd, inbound, outbound)]
    assert levels == [('fwd', 'use'), ('in', 'use'), ('out', 'require')]


def test_stats_and_plain_policy_dumps_agree():
    plain, warnings = parse('debian12-netns-ip-xfrm-policy')
    stats, stats_warnings = parse('debian12-netns-ip-s-xfrm-policy')
    assert len(plain) == 9 and plain == stats
    assert warnings == stats_warnings == []


def test_constructed_natt_aead_comp_and_ah_states():
    natt, comp, ah = xf.parse_state(text('constructed-ip-s-xfrm-state-natt-aead'))
    assert (natt['satype'], natt['proto']) == ('esp-udp', 'esp')
    assert (natt['enc'], natt['enc_norm'], natt['auth']) == ('rfc4106(gcm(aes))', 'aes-gcm-16', None)
    assert (natt['bytes'], natt['packets']) == (1024, 7)
    assert (comp['satype'], comp['proto'], comp['spi'], comp['enc']) == ('ipcomp', 'ipcomp', 0xabcd, None)
    assert (ah['satype'], ah['mode'], ah['auth'], ah['auth_norm']) == ('ah', 'transport', 'hmac(sha1)', 'hmac-sha1')


def test_an_encap_line_makes_only_esp_udp():
    encap = '\tencap type espinudp sport 4500 dport 4500 addr 0.0.0.0'
    (esp,) = xf.parse_state(one_sa() + encap)
    (ah,) = xf.parse_state(one_sa().replace('proto esp', 'proto ah') + encap)
    assert (esp['satype'], esp['proto'], ah['satype'], ah['proto']) == ('esp-udp', 'esp', 'ah', 'ah')


def test_plain_state_dump_has_ids_and_algorithms_only():
    plain = xf.parse_state(text('derived-ikev2-g1-ip-xfrm-state'))
    stats = xf.parse_state(text('ikev2-g1-ip-s-xfrm-state'))
    same = ('src', 'dst', 'satype', 'mode', 'spi', 'enc', 'enc_norm', 'auth', 'auth_norm')
    assert [[s[k] for k in same] for s in plain] == [[s[k] for k in same] for s in stats]
    assert all(s['bytes'] is None and s['created'] is None for s in plain)
    assert all(s['bytes'] is not None and s['created'] is not None for s in stats)


@pytest.mark.parametrize('setkey_names, xfrm_lines', [
    (('aes-cbc', 'hmac-sha1'), ('enc cbc(aes) 0x00', 'auth-trunc hmac(sha1) 0x00 96')),
    (('rijndael-cbc', 'hmac-sha2-256'), ('enc cbc(aes) 0x00', 'auth hmac(sha256) 0x00')),
    (('3des-cbc', 'hmac-sha2-384'), ('enc cbc(des3_ede) 0x00', 'auth hmac(sha384) 0x00')),
    (('aes-ctr', 'hmac-sha2-512'), ('enc rfc3686(ctr(aes)) 0x00', 'auth hmac(sha512) 0x00')),
    (('null', 'hmac-md5'), ('enc ecb(cipher_null) 0x00', 'auth hmac(md5) 0x00')),
    (('aes-gcm-16', 'aes-xcbc-mac'), ('aead rfc4106(gcm(aes)) 0x00 (160 bits) 128', 'auth xcbc(aes) 0x00')),
])
def test_names_compare_across_formats(setkey_names, xfrm_lines):
    setkey_dump = ('10.0.0.1 10.0.0.2\n\tesp mode=tunnel spi=1(0x00000001) reqid=0(0x00000000)\n'
                   '\tE: %s  0011aabb\n\tA: %s  2233ccdd\n' % setkey_names)
    (a,) = sk.parse_sad(setkey_dump)
    (b,) = xf.parse_state(one_sa(*xfrm_lines))
    assert (a['enc_norm'], a['auth_norm']) == (b['enc_norm'], b['auth_norm'])
    assert a['enc_norm'] != b['enc'] or a['enc_norm'] == 'null'


@pytest.mark.parametrize('icv, norm', [('128', 'aes-gcm-16'), ('96', 'aes-gcm-12'), ('64', 'aes-gcm-8'), ('100', None)])
def test_aead_names_depend_on_the_icv(icv, norm):
    (rec,) = xf.parse_state(one_sa('aead rfc4106(gcm(aes)) 0x0011 (160 bits) ' + icv))
    assert rec['enc'] == 'rfc4106(gcm(aes))'
    assert rec['enc_norm'] == (norm or 'rfc4106(gcm(aes))')


def test_setkey_and_xfrm_records_of_the_same_tunnel_compare():
    sa = sk.parse_sad(text_setkey('linux-ipsec-tools-constructed-setkey-D'))[0]
    st = xf.parse_state(text('constructed-ip-s-xfrm-state-natt-aead'))[0]
    for k in ('src', 'dst', 'satype', 'proto', 'mode'):
        assert sa[k] == st[k], k


def text_setkey(name):
    with open(os.path.join(FIXTURES, '..', 'setkey', name + '.txt')) as f:
        return f.read()


# ------------------------------------------------------------------ empty, odd input, warnings

@pytest.mark.parametrize('dump', ['', None, '\n', ' \t\n', b''])
@pytest.mark.parametrize('fn', [xf.parse_state, xf.parse_policy])
def test_empty(fn, dump):
    assert with_warnings(fn, dump) == ([], [])


def test_unknown_lines_warn_with_masked_hex():
    dump = text('ikev1-g1-ip-s-xfrm-state').replace(
        '\tenc cbc(aes)', '\tnew-thing 0xfeedfacefeedface99 x\n\tenc cbc(aes)', 1)
    records, warnings = with_warnings(xf.parse_state, dump)
    assert len(records) == 2 and records[0]['enc'] == 'cbc(aes)'
    assert warnings == ["line 5: unrecognised line 'new-thing 0x<hex> x'"]


def test_misspelt_algorithm_line_is_warned_without_its_key():
    dump = text('ikev1-g1-ip-s-xfrm-state')
    key = sorted(keys_of(dump))[0]
    broken = dump.replace('\tenc cbc(aes) 0x' + key, '\tenx cbc(aes) 0x' + key)
    assert broken != dump
    records, warnings = with_warnings(xf.parse_state, broken)
    assert len(warnings) == 1 and warnings[0].startswith('line ') and 'enx cbc(aes) 0x<hex>' in warnings[0]
    for w in windows(key):
        assert w not in repr(records) + repr(warnings)


def test_a_key_line_that_does_not_parse_is_quoted_without_its_key():
    dump = text('ikev1-g1-ip-s-xfrm-state')
    key = sorted(keys_of(dump))[0]
    broken = dump.replace('\tenc cbc(aes) 0x' + key, '\tenc 0x' + key + ' cbc(aes)')
    assert broken != dump
    records, warnings = with_warnings(xf.parse_state, broken)
    assert len(warnings) == 1 and 'malformed enc algorithm' in warnings[0]
    for w in windows(key):
        assert w not in repr(records) + repr(warnings)


def test_crlf_and_bytes_input():
    dump = text('ikev2-g2-ip-s-xfrm-state')
    assert xf.parse_state(dump.replace('\n', '\r\n')) == xf.parse_state(dump)
    assert xf.parse_state(dump.encode('ascii')) == xf.parse_state(dump)


@pytest.mark.parametrize('name', ALL)
def test_whitespace_is_not_relied_on(name):
    squeezed = '\n'.join(' '.join(line.split()) for line in text(name).split('\n'))
    assert with_warnings(xf.parse_policy if name in POLICY else xf.parse_state, squeezed) == parse(name)


def test_policy_lines_outside_a_policy_and_bad_header():
    pols, warnings = with_warnings(xf.parse_policy, '\tdir out priority 1 ptype main \nsrc nonsense dst 10.0.0.0/8\n')
    assert pols == []
    assert warnings == ['line 1: line outside any policy', "line 2: unrecognised line 'src nonsense dst 10.0.0.0/8'"]


def test_a_header_that_does_not_parse_ends_the_record_before_it():
    dump = one_sa() + 'src 10.0.0.3 dst nowhere\n\tproto ah spi 0x00000002 reqid 2 mode transport\n'
    (rec,), warnings = with_warnings(xf.parse_state, dump)
    assert (rec['proto'], rec['spi'], rec['mode']) == ('esp', 1, 'tunnel')
    assert warnings == ["line 3: unrecognised line 'src 10.0.0.3 dst nowhere'", 'line 4: line outside any SA']


def test_template_details_need_a_template():
    pols, warnings = with_warnings(
        xf.parse_policy, 'src 10.0.0.0/8 dst 10.1.0.0/16\n\tdir out priority 1 ptype main\n'
        '\t\tproto esp reqid 1 mode tunnel\n\t\tlevel use\n')
    assert pols[0]['requests'] == [] and pols[0]['action'] == 'none'
    assert warnings == ['line 3: template details without a tmpl line', 'line 4: template level without a tmpl line']


def test_an_unknown_policy_action_is_kept_unknown():
    (pol,), warnings = with_warnings(xf.parse_policy, 'src 10.0.0.0/8 dst 10.1.0.0/16\n\tdir out action pass priority 1\n')
    assert pol['action'] is None and warnings == ['line 2: unknown policy action']


def test_esn_bitmap_words_are_not_warned_but_stray_hex_is():
    records, warnings = with_warnings(xf.parse_state, text('constructed-ip-s-xfrm-state-natt-aead'))
    assert len(records) == 3 and warnings == []
    dump = text('ikev1-g1-ip-s-xfrm-state').replace('\tlifetime config:', '\t 00000000 00000001\n\tlifetime config:', 1)
    records, warnings = with_warnings(xf.parse_state, dump)
    assert len(records) == 2 and warnings == ['line 7: stray hex-only line dropped']


@pytest.mark.parametrize('proto', ['\xb2', '\u0663', '256'])
def test_a_selector_protocol_that_is_no_small_ascii_number_is_malformed(proto):
    (pol,), warnings = with_warnings(xf.parse_policy, 'src 10.0.0.0/8 dst 10.1.0.0/16 proto %s\n'
                                     '\tdir out priority 1 ptype main\n' % proto)
    assert pol['proto'] == 'any' and warnings == ['line 1: malformed selector protocol']


@pytest.mark.parametrize('line', ['enc cbc(aes) 0x0011223344556677 (64 bits) extra', 'auth-trunc 0x1234 (256 bits) 128',
                                  'aead x 0x00112233 (288 bits) 1 2'])
def test_a_key_line_that_does_not_parse_shows_neither_key_nor_length(line):
    records, warnings = with_warnings(xf.parse_policy, 'src 10.0.0.0/8 dst 10.1.0.0/16\n\t' + line + '\n')
    assert len(warnings) == 2 and warnings[0].startswith('line 2: unrecognised line')
    for piece in ('bits', '0011', '1234'):
        assert piece not in warnings[0]
