# -*- coding: utf-8 -*-
# Copyright (c) 2026 fleet.ipsec contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The lab's two backends (molecule/guests/lab.py, lab_uml.py, lab_qemu.py) without booting the lab:
how `up` chooses between user-mode-linux and qemu, and KVM and TCG, from probes; how a probe judges
a kernel from what it prints (with stand-in kernels that behave as the real failures did); the
guests' kernel command line; the check that racoon's build needs no library of its own; and the
initramfs both probes boot. The probes of the real kernels run in tests/lab (root)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import shutil
import stat
import subprocess
import time

import pytest

GUESTS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'molecule', 'guests')


@pytest.fixture
def lab(monkeypatch):
    monkeypatch.syspath_prepend(GUESTS_DIR)
    import lab as module  # pylint: disable=import-error,import-outside-toplevel
    return module


# ---------------------------------------------------------------- choosing a backend

class FakeRunner:
    """A backend whose probe succeeds or fails as told, and records that it was asked."""
    outcomes = {}
    asked = []

    def __init__(self, run_dir, cache, accel=None):
        self.accel = accel

    def probe(self):
        FakeRunner.asked.append(self.name)
        outcome = FakeRunner.outcomes[self.name]
        if isinstance(outcome, Exception):
            raise outcome
        return outcome


def fake_backends(lab, monkeypatch, **outcomes):
    runners = {name: type(name, (FakeRunner,), {'name': name}) for name in outcomes}
    FakeRunner.outcomes = outcomes
    FakeRunner.asked = []
    monkeypatch.setattr(lab, 'BACKENDS', runners)


def test_unset_takes_the_first_backend_that_boots_and_probes_no_further(lab, monkeypatch):
    fake_backends(lab, monkeypatch, uml='a UML guest ran its first process in 1.6 s', qemu='never asked')
    runner, why = lab.probe(env={})
    assert runner.name == 'uml'
    assert FakeRunner.asked == ['uml']
    assert why == 'the first backend that boots here (uml, qemu): a UML guest ran its first process in 1.6 s'


def test_a_backend_that_does_not_boot_is_passed_over_and_named(lab, monkeypatch):
    fail = lab.DriverError('a UML guest did not reach its first process (exited with 134; it said: '
                           'userspace - ptrace set fp regs failed, errno = 14)')
    fake_backends(lab, monkeypatch, uml=fail, qemu='a TCG guest reached its init in 5.4 s')
    runner, why = lab.probe(env={'FLEET_IPSEC_LAB_BACKEND': ''})
    assert runner.name == 'qemu'
    assert FakeRunner.asked == ['uml', 'qemu']
    assert 'a TCG guest reached its init in 5.4 s' in why
    assert 'uml: a UML guest did not reach its first process' in why and 'errno = 14' in why


def test_no_backend_boots_one_error_names_each(lab, monkeypatch):
    fake_backends(lab, monkeypatch, uml=lab.DriverError('no /usr/bin/linux.uml: apt-get install user-mode-linux'),
                  qemu=lab.DriverError('a TCG guest did not reach its first process (gave up after 180 s, printing nothing)'))
    with pytest.raises(lab.DriverError) as e:
        lab.probe(env={})
    message = str(e.value)
    assert message.startswith('no lab backend boots on this machine: ')
    assert 'uml: no /usr/bin/linux.uml' in message and 'qemu: a TCG guest' in message


@pytest.mark.parametrize('forced', ['uml', 'qemu'])
def test_a_forced_backend_is_the_only_one_probed(lab, monkeypatch, forced):
    fake_backends(lab, monkeypatch, uml='uml boots', qemu='qemu boots')
    runner, why = lab.probe(env={'FLEET_IPSEC_LAB_BACKEND': forced})
    assert runner.name == forced
    assert FakeRunner.asked == [forced]
    assert why.startswith(f'FLEET_IPSEC_LAB_BACKEND={forced}: ')


def test_a_forced_backend_that_cannot_boot_fails_and_says_how_to_try_the_others(lab, monkeypatch):
    fake_backends(lab, monkeypatch, uml='uml boots', qemu=lab.DriverError('no qemu-system-x86_64'))
    with pytest.raises(lab.DriverError, match=r'qemu: no qemu-system-x86_64 \(unset FLEET_IPSEC_LAB_BACKEND'):
        lab.probe(env={'FLEET_IPSEC_LAB_BACKEND': 'qemu'})
    assert FakeRunner.asked == ['qemu']


def test_an_unknown_backend_is_refused_before_any_probe(lab, monkeypatch):
    fake_backends(lab, monkeypatch, uml='uml boots', qemu='qemu boots')
    with pytest.raises(lab.DriverError, match=r"FLEET_IPSEC_LAB_BACKEND='kvm': use one of uml, qemu"):
        lab.probe(env={'FLEET_IPSEC_LAB_BACKEND': 'kvm'})
    assert not FakeRunner.asked


def test_uml_is_tried_before_qemu(lab):
    assert list(lab.BACKENDS) == ['uml', 'qemu']


def test_the_record_brings_back_the_runner_that_booted_the_guests(lab):
    qemu = lab.runner_of({'backend': 'qemu', 'accel': 'tcg'})
    assert (qemu.name, qemu.accel) == ('qemu', 'tcg')
    assert lab.runner_of({'backend': 'uml', 'accel': None}).name == 'uml'


# ---------------------------------------------------------------- KVM or TCG

@pytest.fixture
def qemu_runner(lab, monkeypatch, tmp_path):
    import lab_qemu  # pylint: disable=import-error,import-outside-toplevel
    monkeypatch.setattr(lab_qemu.os.path, 'exists', lambda path: True)
    runner = lab_qemu.Qemu(tmp_path / 'run', tmp_path / 'cache')
    monkeypatch.setattr(runner, 'kernel', lambda: {'vmlinuz': '/k', 'initrd': '/i'})
    return lab_qemu, runner


def boots_with(lab_qemu, monkeypatch, **accels):
    """Stand in for booting: each accelerator boots (a float: seconds) or fails (a message)."""
    tried = []

    def boot_and_wait(argv, env, timeout, what):
        accel = argv[argv.index('-accel') + 1].split(',')[0]
        tried.append((accel, timeout))
        outcome = accels[accel]
        if isinstance(outcome, str):
            raise lab_qemu.DriverError(f'{what} {outcome}')
        return outcome

    monkeypatch.setattr(lab_qemu.lab_uml, 'boot_and_wait', boot_and_wait)
    return tried


def test_kvm_when_a_kvm_guest_boots(qemu_runner, monkeypatch):
    lab_qemu, runner = qemu_runner
    monkeypatch.setattr(lab_qemu, 'kvm_missing', lambda: '')
    tried = boots_with(lab_qemu, monkeypatch, kvm=1.2, tcg=5.0)
    assert runner.probe() == 'a KVM guest reached its init in 1.2 s'
    assert runner.accel == 'kvm' and tried == [('kvm', lab_qemu.KVM_PROBE_TIMEOUT)]


def test_a_kvm_device_on_which_no_guest_boots_means_tcg(qemu_runner, monkeypatch):
    """The machine of issue 17: /dev/kvm opens, a Linux guest hangs after the firmware."""
    lab_qemu, runner = qemu_runner
    monkeypatch.setattr(lab_qemu, 'kvm_missing', lambda: '')
    tried = boots_with(lab_qemu, monkeypatch, kvm='did not reach its first process (gave up after 20 s, printing nothing)',
                       tcg=14.8)
    why = runner.probe()
    assert runner.accel == 'tcg'
    assert [accel for accel, _timeout in tried] == ['kvm', 'tcg']
    assert why == ('/dev/kvm opens, but a KVM guest did not reach its first process (gave up after 20 s, printing '
                   'nothing); a TCG guest reached its init in 14.8 s')


def test_no_kvm_device_means_tcg_without_trying_kvm(qemu_runner, monkeypatch):
    lab_qemu, runner = qemu_runner
    monkeypatch.setattr(lab_qemu, 'kvm_missing', lambda: '/dev/kvm: No such file or directory')
    tried = boots_with(lab_qemu, monkeypatch, kvm=1.0, tcg=6.0)
    assert runner.probe() == 'no KVM (/dev/kvm: No such file or directory); a TCG guest reached its init in 6.0 s'
    assert [accel for accel, _timeout in tried] == ['tcg']


def test_qemu_fails_when_not_even_tcg_boots(qemu_runner, monkeypatch):
    lab_qemu, runner = qemu_runner
    monkeypatch.setattr(lab_qemu, 'kvm_missing', lambda: '/dev/kvm: Permission denied')
    boots_with(lab_qemu, monkeypatch, tcg='did not reach its first process (exited with 1)')
    with pytest.raises(lab_qemu.DriverError, match='a TCG guest did not reach its first process'):
        runner.probe()
    assert runner.accel is None


def test_kvm_missing_reads_the_device(lab):
    import lab_qemu  # pylint: disable=import-error,import-outside-toplevel
    missing = lab_qemu.kvm_missing()
    assert missing == '' if os.access('/dev/kvm', os.R_OK | os.W_OK) else missing.startswith('/dev/kvm: ')


# ---------------------------------------------------------------- judging a probe kernel

def stand_in_kernel(tmp_path, name, body):
    """A 'kernel' that behaves as a real one did: a shell script."""
    path = tmp_path / name
    path.write_text('#!/bin/sh\n' + body)
    path.chmod(0o755)
    return [str(path)]


def test_a_kernel_whose_init_prints_the_marker_passes(lab, tmp_path):
    import lab_uml  # pylint: disable=import-error,import-outside-toplevel
    kernel = stand_in_kernel(tmp_path, 'ok', f'echo "Linux version 6.1"\necho "{lab_uml.debian_kernel.PROBE_MARKER}"\nsleep 30\n')
    started = time.monotonic()
    took = lab_uml.boot_and_wait(kernel, None, 20, 'a UML guest')
    assert took < 10 and time.monotonic() - started < 10  # judged at the marker, not at exit


def test_the_amx_failure_is_reported_in_the_kernels_words(lab, tmp_path):
    """What UML 6.1 printed on the AMX machine before it died."""
    import lab_uml  # pylint: disable=import-error,import-outside-toplevel
    kernel = stand_in_kernel(tmp_path, 'amx', (
        'echo "Linux version 6.1.0-um"\n'
        'echo "Run /init as init process"\n'
        'echo "userspace - ptrace set fp regs failed, errno = 14"\n'
        'echo "Kernel panic - not syncing: Attempted to kill init! exitcode=0x0000000b"\n'
        'exit 134\n'))
    with pytest.raises(lab_uml.DriverError) as e:
        lab_uml.boot_and_wait(kernel, None, 20, 'a UML guest')
    assert str(e.value) == ('a UML guest did not reach its first process (exited with 134; it said: '
                            'userspace - ptrace set fp regs failed, errno = 14)')


def test_a_silent_kernel_is_given_up_on_and_killed_with_all_it_started(lab, tmp_path, driver_processes):
    """What qemu with KVM did on the machine whose /dev/kvm cannot boot Linux: nothing at all."""
    import lab_uml  # pylint: disable=import-error,import-outside-toplevel
    marker = tmp_path / 'silent'
    kernel = stand_in_kernel(tmp_path, 'silent', f'sleep 300 &\nexec sleep 301 # {marker}\n')
    with pytest.raises(lab_uml.DriverError, match=r'did not reach its first process \(gave up after 1 s, printing nothing\)'):
        lab_uml.boot_and_wait(kernel, None, 1, 'a KVM guest')
    left = [argv for pid, sid, argv in driver_processes() if str(marker) in ' '.join(argv) or argv[:2] == ['sleep', '300']]
    assert not left


@pytest.fixture
def driver_processes(lab):
    return lab.processes


# ---------------------------------------------------------------- the guests' kernel command line

def test_identity_words_are_the_same_under_both_backends(lab, tmp_path):
    g = lab.guest_table(['mason', 'gluon'])[1]
    words = lab.kernel_words(tmp_path, g, 'AAAAC3NzaC1lZDI1NTE5AAAAIKEY')
    assert 'lab.name=gluon' in words and 'lab.ip=10.77.0.12/24' in words and 'lab.gw=10.77.0.1' in words
    assert 'lab.key=AAAAC3NzaC1lZDI1NTE5AAAAIKEY' in words
    assert 'lab.ip6=fd77::12/64' in words and 'lab.lan=10.101.2.1/24' in words
    assert all(' ' not in word for word in words)  # one word each on a command line


def test_the_image_boot_unit_configures_the_interface_both_backends_give(lab):
    import debian_kernel  # pylint: disable=import-error,import-outside-toplevel
    assert 'dev vec0' in lab.GUEST_INIT  # UML's vector NIC is vec0 ...
    assert 'lab.if=*' in debian_kernel.INIT  # ... and qemu's NIC is renamed to it in the initramfs


# ---------------------------------------------------------------- racoon needs no library of its own

def compile_c(tmp_path, name, source, *args):
    if not shutil.which('cc'):
        pytest.skip('no C compiler')
    (tmp_path / f'{name}.c').write_text(source)
    subprocess.run(['cc', '-o', str(tmp_path / name), str(tmp_path / f'{name}.c'), *args], check=True, cwd=tmp_path)
    return tmp_path / name


def test_a_program_that_needs_libipsec_is_refused(lab, tmp_path):
    """What a shared ipsec-tools build makes: setkey needs libipsec.so.0, which the guests only find
    through a RUNPATH that libtool may leave out."""
    compile_c(tmp_path, 'libipsec.so.0', 'int ipsec_get_policylen(void) { return 0; }\n', '-shared', '-fPIC',
              '-Wl,-soname,libipsec.so.0')
    program = compile_c(tmp_path, 'setkey', 'int ipsec_get_policylen(void);\nint main(void) { return ipsec_get_policylen(); }\n',
                        str(tmp_path / 'libipsec.so.0'))
    assert 'libipsec.so.0' in lab.needed_libraries(program)
    with pytest.raises(lab.DriverError, match=r'setkey needs libipsec.so.0, which the guests will not find'):
        lab.check_program(program, tmp_path / 'build.log')


def test_a_program_that_needs_only_system_libraries_passes(lab, tmp_path):
    program = compile_c(tmp_path, 'racoon', 'int main(void) { return 0; }\n')
    assert lab.needed_libraries(program) == ['libc.so.6']
    lab.check_program(program, tmp_path / 'build.log')
    with pytest.raises(lab.DriverError, match='racoon build installed no racoonctl'):
        lab.check_program(tmp_path / 'racoonctl', tmp_path / 'build.log')


def test_racoon_is_configured_without_shared_libraries(lab):
    assert '--disable-shared' in lab.RACOON_CONFIGURE


# ---------------------------------------------------------------- the probes' initramfs

@pytest.fixture
def debian_kernel(lab):
    import debian_kernel as module  # pylint: disable=import-error,import-outside-toplevel
    return module


def test_initramfs_archive_is_newc_cpio(debian_kernel):
    archive = debian_kernel.cpio_newc([("bin", 0o40755, b"", (0, 0)), ("dev/console", 0o20600, b"", (5, 1)),
                                       ("init", 0o100755, b"#!/bin/busybox sh\n", (0, 0))])
    assert archive.startswith(b"070701") and len(archive) % 4 == 0
    assert b"TRAILER!!!\0" in archive
    if not shutil.which("cpio"):
        pytest.skip("no cpio to list the archive with")
    listing = subprocess.run(["cpio", "-itv", "--quiet"], input=archive, capture_output=True, check=True).stdout.decode()
    entries = [(line.split()[0], line.split()[-1]) for line in listing.splitlines()]
    assert entries == [("drwxr-xr-x", "bin"), ("crw-------", "dev/console"), ("-rwxr-xr-x", "init")]


def test_static_elf_detection(debian_kernel, tmp_path):
    sh = shutil.which("sh")
    if not sh:
        pytest.skip("no sh")
    assert not debian_kernel.is_static_elf(os.path.realpath(sh))  # dash/bash are dynamically linked
    assert not debian_kernel.is_static_elf(__file__)
    static = compile_c(tmp_path, 'static', 'int main(void) { return 0; }\n', '-static')
    assert debian_kernel.is_static_elf(static)


def test_the_probe_initramfs_runs_its_init_and_prints_the_marker(debian_kernel, tmp_path):
    """The probe's /init, run by a real shell from the unpacked archive: it prints the marker and
    powers off at once when the command line says lab.probe."""
    busybox = shutil.which('busybox')
    if not busybox or not debian_kernel.is_static_elf(busybox) or not shutil.which('cpio'):
        pytest.skip('needs busybox-static and cpio')
    initrd = debian_kernel.probe_initrd(tmp_path / 'probe.cpio.gz')
    unpacked = tmp_path / 'root'
    unpacked.mkdir()
    listing = subprocess.run(f'gzip -dc {initrd} | cpio -itv --quiet', shell=True, capture_output=True, text=True,
                             check=True).stdout
    assert 'dev/console' in listing and ' init' in listing and 'bin/busybox' in listing
    subprocess.run(f'gzip -dc {initrd} | cpio -id --quiet --no-absolute-filenames init', shell=True, cwd=unpacked,
                   check=True)
    init = (unpacked / 'init').read_text()
    assert stat.S_IMODE((unpacked / 'init').stat().st_mode) & 0o111
    probe_branch = init[init.index('case " $(cat /proc/cmdline) "'):init.index('esac') + 4]
    script = probe_branch.replace('$(cat /proc/cmdline)', '$CMDLINE').replace('poweroff -f', 'exit 7')

    def init(cmdline):
        result = subprocess.run(['sh', '-c', script], env={'CMDLINE': cmdline}, capture_output=True, text=True,
                                check=False)
        return result.returncode, result.stdout.strip()

    assert init('console=ttyS0 lab.probe') == (7, debian_kernel.PROBE_MARKER)
    assert init('console=ttyS0 lab.name=g1 lab.probes=no') == (0, '')


def test_guests_under_tcg_get_longer_to_answer_ssh(lab):
    """Six TCG guests on two cores were not all up after 120 s; UML and KVM guests are."""
    assert lab.runner_of({'backend': 'qemu', 'accel': 'tcg'}).boot_timeout == 600
    assert lab.runner_of({'backend': 'qemu', 'accel': 'kvm'}).boot_timeout == 120
    assert lab.runner_of({'backend': 'uml'}).boot_timeout == 120
    assert lab.BACKEND.timeout is None  # `up --timeout` unset: the runner's
