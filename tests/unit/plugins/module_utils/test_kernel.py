# Copyright (c) 2026 fleet.ipsec contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests of kernel.read: setkey first, ip xfrm as the fallback, errors without dumps."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re
import time

import pytest

from ansible_collections.fleet.ipsec.plugins.module_utils import kernel, setkey_dump, xfrm_dump

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..', 'fixtures')

SETKEY, IP = '/sbin/setkey', '/usr/sbin/ip'
# What a dump's key lines look like: never to be seen in an error message.
FAKE_KEY = '0123abcd4567ef89deadbeefcafef00d'
SETKEY_KEY_DUMP = '192.0.2.10 198.51.100.1\n\tesp mode=tunnel spi=1(0x00000001) reqid=0(0x00000000)\n' \
                  '\tE: aes-cbc  %s %s\n' % (FAKE_KEY[:8], FAKE_KEY[8:16])
XFRM_KEY_DUMP = 'src 192.0.2.10 dst 198.51.100.1\n\tproto esp spi 0x00000001 reqid 1 mode tunnel\n' \
                '\tenc cbc(aes) 0x%s\n' % FAKE_KEY
NO_PFKEY = 'socket: Address family not supported by protocol\n'


def text(kind, name):
    with open(os.path.join(FIXTURES, kind, name + '.txt')) as f:
        return f.read()


class FakeHost(object):
    """get_bin_path and run_command of a host with the given tools and answers."""

    def __init__(self, bins, answers):
        self.bins = bins
        self.answers = answers
        self.calls = []
        self.looked_up = []

    def get_bin_path(self, name):
        self.looked_up.append(name)
        return self.bins.get(name)

    def run_command(self, argv):
        self.calls.append(tuple(argv))
        return self.answers[tuple(argv)]

    def read(self, source='auto'):
        return kernel.read(self.run_command, self.get_bin_path, source)


def setkey_answers(sad, spd, rc=0, err=''):
    return {(SETKEY, '-D'): (rc, sad, err), (SETKEY, '-DP'): (rc, spd, err)}


def ip_answers(state, policy, rc=0, err=''):
    return {(IP, '-s', 'xfrm', 'state'): (rc, state, err), (IP, '-s', 'xfrm', 'policy'): (rc, policy, err)}


def frozen_now(monkeypatch, stamp):
    now = time.mktime(time.strptime(stamp, '%Y-%m-%d %H:%M:%S'))
    monkeypatch.setattr(kernel.time, 'time', lambda: now)
    return now


G1_STATE, G1_POLICY = text('xfrm', 'ikev1-g1-ip-s-xfrm-state'), text('xfrm', 'ikev1-g1-ip-xfrm-policy')
VTI_SAD, VTI_SPD = text('setkey', 'freebsd-vti-setkey-D'), text('setkey', 'freebsd-vti-setkey-DP')


# ---------------------------------------------------------------- setkey

def test_setkey_success_path():
    host = FakeHost({'setkey': SETKEY, 'ip': IP}, setkey_answers(VTI_SAD, VTI_SPD))
    source, sas, policies, warnings = host.read()
    assert source == 'setkey'
    assert host.calls == [(SETKEY, '-D'), (SETKEY, '-DP')]
    assert 'ip' not in host.looked_up
    assert sas == setkey_dump.parse_sad(VTI_SAD)
    assert policies == setkey_dump.parse_spd(VTI_SPD)
    assert warnings == []
    assert [sa['spi_hex'] for sa in sas] == ['0x00001001', '0x00001000']
    # setkey's own `diff:` is the age; it is not recomputed from the clock
    assert [sa['age'] for sa in sas] == [105, 105]


def test_setkey_warnings_are_returned_masked():
    sad, spd = text('setkey', 'freebsd-libreswan-setkey-D'), text('setkey', 'freebsd-libreswan-setkey-DP')
    host = FakeHost({'setkey': SETKEY}, setkey_answers(sad, spd))
    source, sas, policies, warnings = host.read('setkey')
    assert source == 'setkey' and len(sas) == 2 and len(policies) == 2
    assert 'line 2: malformed spi' in warnings
    assert len(warnings) == 12


def test_setkey_empty_databases():
    host = FakeHost({'setkey': SETKEY}, setkey_answers('No SAD entries.\n', 'No SPD entries.\n'))
    assert host.read() == ('setkey', [], [], [])


@pytest.mark.parametrize('failing', ['-D', '-DP', 'both'])
def test_setkey_failing_falls_back_to_ip_xfrm(failing, monkeypatch):
    frozen_now(monkeypatch, '2026-11-27 18:58:14')
    answers = setkey_answers(SETKEY_KEY_DUMP, SETKEY_KEY_DUMP)
    if failing in ('-D', 'both'):
        answers[(SETKEY, '-D')] = (1, SETKEY_KEY_DUMP, NO_PFKEY)
    if failing in ('-DP', 'both'):
        answers[(SETKEY, '-DP')] = (1, SETKEY_KEY_DUMP, NO_PFKEY)
    answers.update(ip_answers(G1_STATE, G1_POLICY))
    host = FakeHost({'setkey': SETKEY, 'ip': IP}, answers)
    source, sas, policies, warnings = host.read()
    assert source == 'xfrm'
    assert host.calls[-2:] == [(IP, '-s', 'xfrm', 'state'), (IP, '-s', 'xfrm', 'policy')]
    assert [sa['spi_hex'] for sa in sas] == ['0xce94f85a', '0xc0800800']
    assert policies == xfrm_dump.parse_policy(G1_POLICY)
    assert warnings == []
    # the SAs were added 18:58:04 and 18:58:02
    assert [sa['age'] for sa in sas] == [10, 12]


def test_no_setkey_reads_ip_xfrm():
    host = FakeHost({'ip': IP}, ip_answers(G1_STATE, G1_POLICY))
    source, sas, _policies, _warnings = host.read()
    assert source == 'xfrm' and len(sas) == 2
    assert host.calls == [(IP, '-s', 'xfrm', 'state'), (IP, '-s', 'xfrm', 'policy')]


def test_source_xfrm_skips_setkey():
    host = FakeHost({'setkey': SETKEY, 'ip': IP}, ip_answers(G1_STATE, G1_POLICY))
    assert host.read('xfrm')[0] == 'xfrm'
    assert 'setkey' not in host.looked_up
    assert all(call[0] == IP for call in host.calls)


def test_source_setkey_does_not_fall_back():
    answers = setkey_answers(SETKEY_KEY_DUMP, SETKEY_KEY_DUMP, rc=1, err=NO_PFKEY)
    answers.update(ip_answers(G1_STATE, G1_POLICY))
    host = FakeHost({'setkey': SETKEY, 'ip': IP}, answers)
    with pytest.raises(kernel.KernelStateError) as caught:
        host.read('setkey')
    assert str(caught.value) == ('cannot read the kernel SAD/SPD: /sbin/setkey -D/-DP failed: '
                                 'socket: Address family not supported by protocol')
    assert all(call[0] == SETKEY for call in host.calls)


def test_source_setkey_not_installed():
    host = FakeHost({'ip': IP}, ip_answers(G1_STATE, G1_POLICY))
    with pytest.raises(kernel.KernelStateError, match='setkey is not installed'):
        host.read('setkey')
    assert host.calls == []


def test_source_xfrm_without_ip():
    host = FakeHost({'setkey': SETKEY}, setkey_answers(VTI_SAD, VTI_SPD))
    with pytest.raises(kernel.KernelStateError, match=re.escape('ip (iproute2) is not installed')):
        host.read('xfrm')
    assert host.calls == []


def test_neither_installed():
    host = FakeHost({}, {})
    with pytest.raises(kernel.KernelStateError) as caught:
        host.read()
    assert str(caught.value) == 'cannot read the kernel SAD/SPD: neither setkey nor ip is installed'
    assert host.calls == []


# ---------------------------------------------------------------- errors never carry a dump

def test_both_failing_name_both_and_never_include_stdout():
    answers = setkey_answers(SETKEY_KEY_DUMP, SETKEY_KEY_DUMP, rc=1, err=NO_PFKEY)
    answers.update(ip_answers(XFRM_KEY_DUMP, XFRM_KEY_DUMP, rc=2, err='RTNETLINK answers: Operation not permitted\n'))
    host = FakeHost({'setkey': SETKEY, 'ip': IP}, answers)
    with pytest.raises(kernel.KernelStateError) as caught:
        host.read()
    message = str(caught.value)
    assert message == ('cannot read the kernel SAD/SPD: /sbin/setkey -D/-DP failed: socket: Address family not '
                       'supported by protocol; ip xfrm failed: RTNETLINK answers: Operation not permitted')
    for piece in (FAKE_KEY, FAKE_KEY[:8], FAKE_KEY[8:16], 'E: aes-cbc', 'enc cbc(aes)'):
        assert piece not in message


@pytest.mark.parametrize('failing', [(SETKEY, '-D'), (SETKEY, '-DP')])
def test_one_setkey_command_failing_with_empty_stderr(failing):
    answers = setkey_answers(SETKEY_KEY_DUMP, SETKEY_KEY_DUMP)
    answers[failing] = (1, SETKEY_KEY_DUMP, '')
    host = FakeHost({'setkey': SETKEY}, answers)
    with pytest.raises(kernel.KernelStateError) as caught:
        host.read()
    assert FAKE_KEY[:8] not in str(caught.value)
    assert str(caught.value).startswith('cannot read the kernel SAD/SPD: /sbin/setkey -D/-DP failed:')


def test_stderr_is_cut_short():
    answers = setkey_answers('', '', rc=1, err='x' * 1000)
    host = FakeHost({'setkey': SETKEY}, answers)
    with pytest.raises(kernel.KernelStateError) as caught:
        host.read()
    assert str(caught.value).count('x') == 200


# ---------------------------------------------------------------- ages

def test_ages_from_created(monkeypatch):
    frozen_now(monkeypatch, '2026-11-27 19:58:04')
    host = FakeHost({'ip': IP}, ip_answers(G1_STATE, G1_POLICY))
    _source, sas, _policies, _warnings = host.read()
    assert [(sa['created'], sa['age']) for sa in sas] == [
        ('2026-11-27 18:58:04', 3600), ('2026-11-27 18:58:02', 3602)]


def test_ages_never_negative_and_none_without_created(monkeypatch):
    frozen_now(monkeypatch, '2026-11-27 18:58:03')  # between the two SAs' `add`: clocks disagree
    state = text('xfrm', 'derived-ikev2-g1-ip-xfrm-state')  # no times at all
    host = FakeHost({'ip': IP}, ip_answers(G1_STATE + state, G1_POLICY))
    _source, sas, _policies, _warnings = host.read()
    assert [sa['age'] for sa in sas] == [0, 1, None, None]


def test_age_helper():
    now = time.mktime(time.strptime('2026-01-01 00:01:40', '%Y-%m-%d %H:%M:%S'))
    assert kernel._age('2026-01-01 00:00:00', now) == 100
    assert kernel._age('not a time', now) is None
    assert kernel._age(None, now) is None


def test_existing_ages_are_kept(monkeypatch):
    frozen_now(monkeypatch, '2030-01-01 00:00:00')
    sad = text('setkey', 'freebsd-constructed-setkey-D')
    host = FakeHost({'setkey': SETKEY}, setkey_answers(sad, 'No SPD entries.\n'))
    _source, sas, _policies, _warnings = host.read()
    assert [sa['age'] for sa in sas] == [428, 428, 3000]


# ---------------------------------------------------------------- no key material, every fixture

_XFRM_KEY = re.compile(r'^\s*(?:enc|auth|auth-trunc|aead)\s+\S+\s+0x([0-9a-fA-F]+)', re.M)
_SETKEY_KEY = re.compile(r'^\s*[EA]:\s+\S+((?:\s+[0-9a-f]{8})+(?:\n [0-9a-f]{8}(?: [0-9a-f]{8})*)*)', re.M)


def _names(kind):
    return sorted(f[:-4] for f in os.listdir(os.path.join(FIXTURES, kind)) if f.endswith('.txt'))


def test_no_key_material_leaves_read():
    keys = set()
    answers = {}
    sad = spd = state = policy = ''
    for name in _names('setkey'):
        dump = text('setkey', name)
        for block in _SETKEY_KEY.findall(dump):
            keys.update(block.split())
        if name.endswith('-DP') or name == 'no-spd-entries':
            spd += '' if name.startswith('no-') else dump
        elif not name.startswith('no-'):
            sad += dump
    for name in _names('xfrm'):
        dump = text('xfrm', name)
        for key in _XFRM_KEY.findall(dump):
            keys.update(key[i:i + 8] for i in range(0, len(key) - 7, 4))
        if 'policy' in name:
            policy += dump
        else:
            state += dump
    assert len(keys) > 50
    answers.update(setkey_answers(sad, spd))
    answers.update(ip_answers(state, policy))
    for source in ('setkey', 'xfrm'):
        result = FakeHost({'setkey': SETKEY, 'ip': IP}, answers).read(source)
        assert result[0] == source and result[1] and result[2]
        blob = json.dumps(result) + repr(result)
        for key in keys:
            assert key not in blob, 'key material %s... from read(%s)' % (key[:4], source)


def test_a_setkey_outside_the_search_path_is_used_when_named(tmp_path):
    # racoon built from source under /opt: its setkey is nowhere get_bin_path looks.
    built = str(tmp_path / 'opt' / 'ipsec-tools' / 'sbin' / 'setkey')
    os.makedirs(os.path.dirname(built))
    open(built, 'w').close()
    answers = {(built, '-D'): (0, VTI_SAD, ''), (built, '-DP'): (0, VTI_SPD, '')}
    host = FakeHost({'ip': IP}, answers)
    source, sas, policies, _warnings = kernel.read(host.run_command, host.get_bin_path, 'auto', built)
    assert source == 'setkey' and sas and policies
    assert host.calls == [(built, '-D'), (built, '-DP')]
    assert 'setkey' not in host.looked_up


def test_a_named_setkey_that_is_missing_is_an_error():
    host = FakeHost({'setkey': SETKEY, 'ip': IP}, {})
    with pytest.raises(kernel.KernelStateError, match='setkey_path /nowhere/setkey does not exist'):
        kernel.read(host.run_command, host.get_bin_path, 'auto', '/nowhere/setkey')
    assert host.calls == []
