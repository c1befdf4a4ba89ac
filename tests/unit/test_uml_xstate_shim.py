# -*- coding: utf-8 -*-
# Copyright (c) 2026 fleet.ipsec contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The UML XSTATE shim (molecule/guests/uml_xstate_shim.c and xstate_shim.py) without booting UML.

tests/unit/fixtures/xstate_harness.c does to a traced child what user-mode-linux 6.1 does to its
guests' host processes: PTRACE_GETREGSET/PTRACE_SETREGSET with NT_X86_XSTATE through a buffer
shorter than the host's full XSTATE. The host kernel refuses that write (EFAULT) on every XSAVE
machine, so with a short enough buffer the bug that kills UML guests on AMX hosts shows here too:
the harness must fail without the shim and work with it preloaded."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import platform
import shutil
import subprocess

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
GUESTS_DIR = os.path.join(HERE, '..', '..', 'molecule', 'guests')
HARNESS = os.path.join(HERE, 'fixtures', 'xstate_harness.c')
SHORT = 832  # what the harness plays UML with: legacy 512 + header 64 + AVX 256 (struct _xstate)
EFAULT = 14
PKRU_BIT = 1 << 9  # an XSTATE component that lies beyond SHORT in the standard format

needs_cc = pytest.mark.skipif(shutil.which('cc') is None, reason='no C compiler (cc): apt-get install build-essential')
needs_x86 = pytest.mark.skipif(platform.machine() != 'x86_64',
                               reason='NT_X86_XSTATE is x86 only; this machine is %s' % platform.machine())


@pytest.fixture
def shim_module(monkeypatch):
    """xstate_shim as the driver's scripts import it: by plain name from their directory (its
    DriverError is shim_module.guests.DriverError)."""
    monkeypatch.syspath_prepend(GUESTS_DIR)
    import xstate_shim  # pylint: disable=import-error,import-outside-toplevel
    return xstate_shim


@pytest.fixture
def harness(tmp_path):
    exe = str(tmp_path / 'xstate_harness')
    subprocess.run(['cc', '-O2', '-Wall', '-Wextra', '-Werror', '-o', exe, HARNESS], check=True)
    return exe


def run_harness(exe, *args, env=None):
    """The harness's key=value output as a dict; `errno` is named after the call it belongs to
    (`set_errno`, `fullset_errno`)."""
    proc = subprocess.run([exe] + [str(a) for a in args], env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    out = {}
    for line in proc.stdout.split('\n'):
        fields = [field.split('=', 1) for field in line.split() if '=' in field]
        for key, value in fields:
            out[fields[0][0] + '_errno' if key == 'errno' else key] = value
    return out


def preloaded(xstate_shim, shim):
    return xstate_shim.preload_env(os.environ, shim)


def require_short_enough(result):
    if int(result['full']) <= SHORT:
        pytest.skip('full XSTATE is %s bytes, not more than the %d-byte short buffer: the kernel '
                    'takes the short write here, so the bug cannot show' % (result['full'], SHORT))


@needs_cc
@needs_x86
def test_short_xstate_write_fails_without_shim_and_works_with_it(shim_module, harness, tmp_path):
    xstate_shim = shim_module
    shim = xstate_shim.ensure_shim(tmp_path / 'cache')

    bare = run_harness(harness, SHORT)
    require_short_enough(bare)
    # The bug, reproduced: what UML 6.1 meets on an AMX host.
    assert (bare['set'], bare['set_errno']) == ('-1', str(EFAULT)), bare
    assert bare['xmm0'] == 'other' and bare['tail'] == 'unchanged', bare
    assert bare['fullset'] == '0', bare

    fixed = run_harness(harness, SHORT, env=preloaded(xstate_shim, shim))
    assert fixed['full'] == bare['full']
    assert (fixed['set'], fixed['set_errno']) == ('0', '0'), fixed
    assert fixed['xmm0'] == 'marker', fixed  # UML's registers arrived
    assert fixed['tail'] == 'unchanged', fixed  # and nothing beyond UML's buffer moved
    assert fixed['fullset'] == '0', fixed  # a full-size write is passed through


@needs_cc
@needs_x86
def test_components_beyond_the_short_buffer_keep_the_targets_header_bit(shim_module, harness, tmp_path):
    """A stale header from UML (a bit clear for a component it cannot hold) must not reset that
    component: for PKRU, the kernel would set the register to 0 (all keys accessible)."""
    xstate_shim = shim_module
    shim = xstate_shim.ensure_shim(tmp_path / 'cache')
    bare = run_harness(harness, SHORT)
    require_short_enough(bare)
    if not int(bare['bv'], 16) & PKRU_BIT:
        pytest.skip('no PKRU state in the xstate_bv read (%s): nothing to show' % bare['bv'])
    fixed = run_harness(harness, SHORT, hex(PKRU_BIT), env=preloaded(xstate_shim, shim))
    assert (fixed['set'], fixed['xmm0'], fixed['tail']) == ('0', 'marker', 'unchanged'), fixed


@needs_cc
@needs_x86
def test_buffer_without_a_header_is_forwarded_unchanged(shim_module, harness, tmp_path):
    """512 bytes hold no XSAVE header: the shim leaves the call alone and the kernel refuses it as
    before, rather than the shim making up a header."""
    xstate_shim = shim_module
    shim = xstate_shim.ensure_shim(tmp_path / 'cache')
    for env in (None, preloaded(xstate_shim, shim)):
        result = run_harness(harness, 512, env=env)
        assert (result['set'], result['set_errno'], result['xmm0'], result['tail']) == \
            ('-1', str(EFAULT), 'other', 'unchanged'), result


@needs_cc
def test_shim_compiles_without_warnings(tmp_path):
    source = os.path.join(GUESTS_DIR, 'uml_xstate_shim.c')
    proc = subprocess.run(['cc', '-O2', '-Wall', '-Wextra', '-Werror', '-shared', '-fPIC', '-o',
                           str(tmp_path / 'shim.so'), source, '-ldl'],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, check=False)
    assert proc.returncode == 0, proc.stdout
    assert proc.stdout == ''


@needs_cc
def test_ensure_shim_compiles_once(shim_module, tmp_path):
    xstate_shim = shim_module
    cache = tmp_path / 'cache'
    first = xstate_shim.ensure_shim(cache)
    assert first.parent == cache and first.name.startswith('uml-xstate-shim-') and first.suffix == '.so'
    mtime = first.stat().st_mtime_ns
    second = xstate_shim.ensure_shim(cache)
    assert second == first and second.stat().st_mtime_ns == mtime
    assert sorted(p.name for p in cache.iterdir()) == [first.name]  # no temporary file left


@needs_cc
def test_ensure_shim_reports_a_failed_compile(shim_module, tmp_path, monkeypatch):
    xstate_shim = shim_module
    bad = tmp_path / 'bad.c'
    bad.write_text('this is not C\n')
    monkeypatch.setattr(xstate_shim, 'SOURCE', bad)
    monkeypatch.setattr(xstate_shim, 'shim_name', lambda source=bad: 'uml-xstate-shim-test.so')
    with pytest.raises(xstate_shim.guests.DriverError, match='compiling bad.c failed'):
        xstate_shim.ensure_shim(tmp_path / 'cache')
    assert list((tmp_path / 'cache').iterdir()) == []  # neither a library nor a temporary file


def test_ensure_shim_without_cc(shim_module, tmp_path, monkeypatch):
    xstate_shim = shim_module
    monkeypatch.setattr(xstate_shim.shutil, 'which', lambda name: None)
    with pytest.raises(xstate_shim.guests.DriverError, match='apt-get install build-essential'):
        xstate_shim.ensure_shim(tmp_path / 'cache')


def test_shim_name_follows_the_source(shim_module, tmp_path):
    xstate_shim = shim_module
    one, two = tmp_path / 'one.c', tmp_path / 'two.c'
    one.write_text('int a;\n')
    two.write_text('int b;\n')
    assert xstate_shim.shim_name(one) != xstate_shim.shim_name(two)
    assert len(xstate_shim.shim_name(one)) == len('uml-xstate-shim-.so') + 16


def test_preload_env(shim_module):
    xstate_shim = shim_module
    env = {'PATH': '/usr/bin', 'LD_PRELOAD': '/lib/a.so:/lib/b.so'}
    out = xstate_shim.preload_env(env, '/cache/shim.so')
    assert out == {'PATH': '/usr/bin', 'LD_PRELOAD': '/lib/a.so /lib/b.so /cache/shim.so'}
    assert env['LD_PRELOAD'] == '/lib/a.so:/lib/b.so'  # a copy
    assert xstate_shim.preload_env({}, '/cache/shim.so') == {'LD_PRELOAD': '/cache/shim.so'}
    assert xstate_shim.preload_env(out, '/cache/shim.so') == out  # listed once
    with pytest.raises(xstate_shim.guests.DriverError):
        xstate_shim.preload_env({}, '/a dir/shim.so')
