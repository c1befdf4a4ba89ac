# Copyright (c) 2026 fleet.ipsec contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The lab's backends on this machine, for real: each probe boots its kernel; a host with AMX is
played (tests/lab/fixtures/xstate_shorten.c cuts UML's XSTATE buffer short, as the buffer of
Debian 12's UML is short of an AMX host's XSTATE) to show UML dying without the ptrace shim and a
whole lab guest booting with it; and racoon's build does not depend on the host's loader
configuration.

    FLEET_IPSEC_LAB=1 pytest tests/lab        (as root)
"""

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
LAB = HERE.parents[1] / "molecule" / "guests" / "lab.py"

pytestmark = [
    pytest.mark.lab,
    pytest.mark.skipif(os.environ.get("FLEET_IPSEC_LAB") != "1",
                       reason="boots lab guests: set FLEET_IPSEC_LAB=1 (as root) to run"),
]


@pytest.fixture(scope="module")
def lab_module(shared_driver):
    import lab  # pylint: disable=import-error,import-outside-toplevel
    return lab


@pytest.fixture(scope="module")
def shorten(tmp_path_factory):
    """The AMX stand-in, compiled."""
    out = tmp_path_factory.mktemp("shorten") / "xstate_shorten.so"
    subprocess.run(["cc", "-O2", "-Wall", "-Werror", "-shared", "-fPIC", "-o", str(out),
                    str(HERE / "fixtures" / "xstate_shorten.c"), "-ldl"], check=True)
    return out


def test_each_backend_probes_by_booting(lab_module):
    """Both probes boot their kernel here; what each says is what `up` prints."""
    for name, backend in lab_module.BACKENDS.items():
        runner = backend(lab_module.RUN_DIR, lab_module.CACHE_DIR)
        how = runner.probe()
        print(f"\n{name}: {runner.describe()}: {how}", file=sys.stderr)
        assert "reached its init" in how or "ran its first process" in how
    assert lab_module.probe(env={})[0].name in lab_module.BACKENDS


def test_a_short_xstate_buffer_kills_uml_as_on_an_amx_host(lab_module, shorten):
    """Without the shim, UML with a short buffer dies the way it died on the AMX machine."""
    with tempfile.TemporaryDirectory() as tmp:
        import lab_uml  # pylint: disable=import-error,import-outside-toplevel
        argv = lab_uml.Uml.probe_argv(tmp)
        env = dict(os.environ, LD_PRELOAD=str(shorten))
        with pytest.raises(lab_uml.DriverError) as e:
            lab_uml.boot_and_wait(argv, env, 60, "a UML guest")
    assert "ptrace set fp regs failed, errno = 14" in str(e.value)


def test_the_shim_lets_uml_boot_with_a_short_buffer(lab_module, shorten, monkeypatch):
    monkeypatch.setenv("LD_PRELOAD", str(shorten))
    runner = lab_module.BACKENDS["uml"](lab_module.RUN_DIR, lab_module.CACHE_DIR)
    assert "ran its first process" in runner.probe()
    assert runner.env()["LD_PRELOAD"].split()[0] == str(shorten)  # the shim comes after, and sees the cut


def test_a_lab_guest_boots_and_opens_pf_key_on_a_played_amx_host(lab_module, shorten, tmp_path):
    state = tmp_path / "state"
    env = dict(os.environ, LD_PRELOAD=str(shorten), FLEET_IPSEC_LAB_BACKEND="uml")
    try:
        up = subprocess.run([sys.executable, str(LAB), "up", "--state", str(state), "--guests", "amx1"],
                            env=env, capture_output=True, text=True, timeout=600, check=False)
        assert up.returncode == 0, up.stderr
        assert "backend user-mode-linux" in up.stderr
        check = subprocess.run(["ssh", "-F", str(state / "ssh_config"), "amx1",
                                'python3 -c "import socket; socket.socket(socket.AF_KEY, socket.SOCK_RAW, 2)" '
                                "&& ip xfrm state && hostname"], capture_output=True, text=True, timeout=60,
                               check=False)
        assert check.returncode == 0, check.stderr
        assert check.stdout.split()[-1] == "amx1"
    finally:
        subprocess.run([sys.executable, str(LAB), "down", "--state", str(state)], capture_output=True, check=False)


def test_racoon_build_ignores_the_hosts_loader_configuration(lab_module, monkeypatch, tmp_path):
    """A host whose /etc/ld.so.conf.d lists racoon's library directory made libtool drop the
    programs' RUNPATH, and the guests (without that entry) could not start them. The build links
    racoon's own libraries in statically, and refuses a program that still needs one."""
    source = lab_module.racoon_source()
    if source is None:
        pytest.skip(lab_module.racoon_missing())
    conf = Path("/etc/ld.so.conf.d/zz-fleet-ipsec-test.conf")
    conf.write_text(f"{lab_module.RACOON_PREFIX}/lib\n")
    try:
        subprocess.run(["ldconfig"], check=True)
        monkeypatch.setattr(lab_module, "CACHE_DIR", tmp_path / "cache")
        (tmp_path / "cache").mkdir()
        stage = lab_module.ensure_racoon(*source)  # check_program ran on each program in there
        for program in lab_module.RACOON_PROGRAMS.values():
            needed = lab_module.needed_libraries(stage / program.lstrip("/"))
            assert not [lib for lib in needed if "ipsec" in lib or "racoon" in lib], (program, needed)
        version = subprocess.run(["env", "-i", str(stage / "opt/ipsec-tools/sbin/racoon"), "-V"],
                                 capture_output=True, text=True, check=False)
        assert version.returncode == 0 and "ipsec-tools 0.9.1" in version.stdout, version.stderr
    finally:
        conf.unlink()
        subprocess.run(["ldconfig"], check=True)


def test_the_article_on_the_backend_the_probe_did_not_pick(lab_module, tmp_path):
    """The main job (scripts/lab: the article's tunnel, racoon on both ends, verified from the kernels)
    on the other backend, so that neither rots unseen; the lab scenario runs on the one picked."""
    picked, _why = lab_module.probe(env={})
    other = next(name for name in lab_module.BACKENDS if name != picked.name)
    try:
        lab_module.probe(env={"FLEET_IPSEC_LAB_BACKEND": other})
    except lab_module.DriverError as e:
        pytest.skip(f"{other} cannot boot here: {e}")
    state = tmp_path / "article"
    env = dict(os.environ, FLEET_IPSEC_LAB_BACKEND=other, FLEET_IPSEC_LAB_STATE=str(state))
    script = HERE.parents[1] / "scripts" / "lab"
    try:
        run = subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True, timeout=1800,
                             check=False)
        print(f"\nscripts/lab on {other}:\n{run.stderr[-1500:]}\n{run.stdout[-2500:]}", file=sys.stderr)
        assert run.returncode == 0
        assert f"FLEET_IPSEC_LAB_BACKEND={other}" in run.stderr
        report = json.loads((state / "report" / "verify.json").read_text())
        assert [(t["name"], t["verdict"]) for t in report["tunnels"]] == [("gluon-mason", "up")]
        backends = {h["name"]: h["backend"] for h in report["hosts"]}
        if lab_module.racoon_source() is not None:  # the article's racoon, on both ends
            assert backends == {"gluon": "racoon", "mason": "racoon"}
    finally:
        subprocess.run(["bash", str(script), "down"], env=env, capture_output=True, check=False)
