# Copyright (c) 2026 fleet.ipsec contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The qemu backend (molecule/guests/qemu.py) without booting anything: profiles, image URLs and checksums, the image
cache (over file:// URLs), the NoCloud seed of the FreeBSD profile, the qemu command line.

    pytest tests/vmpair            (no root, no network, no KVM)
"""

import hashlib
import json
import lzma
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

FREEBSD_14 = "https://download.freebsd.org/releases/VM-IMAGES/14.4-RELEASE/amd64/Latest/"
FREEBSD_15 = "https://download.freebsd.org/releases/VM-IMAGES/15.1-RELEASE/amd64/Latest/"
PUBKEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBOKNTIy5EPUKiAFpSgdBEL/Mu9PIuFE67DoHdwAC4vA vmpair"


# ---------------------------------------------------------------- profiles, URLs, checksums

def test_freebsd_profile_defaults_to_14(driver):
    profile = driver.load_profile("freebsd")
    source = driver.image_source(profile, driver.profile_vars(profile, []))
    assert source["url"] == FREEBSD_14 + "FreeBSD-14.4-RELEASE-amd64-BASIC-CLOUDINIT-ufs.qcow2.xz"
    assert source["checksum_url"] == FREEBSD_14 + "CHECKSUM.SHA256"
    assert source["name"] == "FreeBSD-14.4-RELEASE-amd64-BASIC-CLOUDINIT-ufs.qcow2.xz"
    assert (source["compression"], source["format"]) == ("xz", "qcow2")
    assert driver.decompressed_name(source["name"], "xz") == "FreeBSD-14.4-RELEASE-amd64-BASIC-CLOUDINIT-ufs.qcow2"


def test_freebsd_profile_selects_15(driver):
    profile = driver.load_profile("freebsd")
    source = driver.image_source(profile, driver.profile_vars(profile, ["version=15.1"]))
    assert source["url"] == FREEBSD_15 + "FreeBSD-15.1-RELEASE-amd64-BASIC-CLOUDINIT-ufs.qcow2.xz"
    assert source["checksum_url"] == FREEBSD_15 + "CHECKSUM.SHA256"


@pytest.mark.parametrize("setting, message", [
    (["release=15.1"], "no such var"),
    (["version"], "KEY=VALUE"),
    (["Version=15.1"], "KEY=VALUE"),
])
def test_bad_settings_are_refused(driver, setting, message):
    with pytest.raises(driver.DriverError, match=message):
        driver.profile_vars(driver.load_profile("freebsd"), setting)


@pytest.mark.parametrize("image, message", [
    ({"url": "https://example.org/a.qcow2", "format": "qcow2"}, "checksum_url or sha256"),
    ({"url": "https://example.org/a.qcow2", "path": "/a", "format": "qcow2", "sha256": "0" * 64}, "exactly one"),
    ({"path": "/a.img", "format": "vmdk"}, "qcow2 or raw"),
    ({"path": "/a.img", "format": "raw", "compression": "zip"}, "compression"),
])
def test_bad_profiles_are_refused(driver, tmp_path, image, message):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"image": image}))
    with pytest.raises(driver.DriverError, match=message):
        driver.load_profile(str(path))


def test_unknown_token_is_an_error(driver):
    assert driver.expand("a @x@ b user@example.org", {"x": 1}) == "a 1 b user@example.org"
    with pytest.raises(driver.DriverError, match="unknown token @y@"):
        driver.expand("@y@", {"x": 1})


CHECKSUMS_BSD = """\
SHA256 (FreeBSD-14.4-RELEASE-amd64-BASIC-CLOUDINIT-zfs.qcow2.xz) = {zfs}
SHA256 (FreeBSD-14.4-RELEASE-amd64-BASIC-CLOUDINIT-ufs.qcow2.xz) = {ufs}
SHA256 (FreeBSD-14.4-RELEASE-amd64-ufs.qcow2.xz) = {plain}
"""


def test_published_sha256_bsd_and_gnu_styles(driver):
    zfs, ufs, plain = ("a" * 64, "B" * 64, "c" * 64)
    text = CHECKSUMS_BSD.format(zfs=zfs, ufs=ufs, plain=plain)
    assert driver.published_sha256(text, "FreeBSD-14.4-RELEASE-amd64-BASIC-CLOUDINIT-ufs.qcow2.xz") == "b" * 64
    assert driver.published_sha256(text, "FreeBSD-14.4-RELEASE-amd64-ufs.qcow2.xz") == plain
    gnu = f"{zfs}  debian-12-genericcloud-amd64.qcow2\n{ufs} *debian-12-nocloud-amd64.qcow2\n"
    assert driver.published_sha256(gnu, "debian-12-nocloud-amd64.qcow2") == "b" * 64
    with pytest.raises(driver.DriverError, match="no SHA-256 for missing.xz"):
        driver.published_sha256(text, "missing.xz")


# ---------------------------------------------------------------- the image cache, over file:// URLs

def publish(tmp_path, payload, listed=None):
    """An xz image and a BSD-style checksum file under tmp_path/pub; return a profile source."""
    pub = tmp_path / "pub"
    pub.mkdir(exist_ok=True)
    (pub / "disk.qcow2.xz").write_bytes(lzma.compress(payload))
    digest = listed or hashlib.sha256((pub / "disk.qcow2.xz").read_bytes()).hexdigest()
    (pub / "CHECKSUM.SHA256").write_text(f"SHA256 (disk.qcow2.xz) = {digest}\n")
    return {"url": (pub / "disk.qcow2.xz").as_uri(), "checksum_url": (pub / "CHECKSUM.SHA256").as_uri(),
            "sha256": None, "name": "disk.qcow2.xz", "compression": "xz", "format": "qcow2"}


def test_image_is_downloaded_once_verified_and_decompressed(driver, tmp_path):
    source = publish(tmp_path, b"not really qcow2" * 1000)
    image = driver.ensure_image(source, cache=tmp_path / "cache")
    assert image.read_bytes() == b"not really qcow2" * 1000
    assert image.name.endswith("-disk.qcow2")
    assert json.loads(image.with_name(image.name + ".json").read_text())["url"] == source["url"]
    (tmp_path / "pub" / "disk.qcow2.xz").unlink()  # a second run must not download again
    assert driver.ensure_image(source, cache=tmp_path / "cache") == image


def test_image_with_a_wrong_checksum_is_refused(driver, tmp_path):
    source = publish(tmp_path, b"payload", listed="0" * 64)
    with pytest.raises(driver.DriverError, match="refusing it"):
        driver.ensure_image(source, cache=tmp_path / "cache")
    assert not [p for p in (tmp_path / "cache" / "images").iterdir() if p.name != ".lock"]


def test_cached_image_is_used_when_the_checksum_file_is_unreachable(driver, tmp_path):
    source = publish(tmp_path, b"payload")
    image = driver.ensure_image(source, cache=tmp_path / "cache")
    shutil.rmtree(tmp_path / "pub")
    assert driver.ensure_image(source, cache=tmp_path / "cache") == image
    other = dict(source, url=source["url"].replace("disk", "other"))
    with pytest.raises(driver.DriverError, match="no cached image"):
        driver.ensure_image(other, cache=tmp_path / "cache")


# ---------------------------------------------------------------- the FreeBSD first-boot seed

def freebsd_tokens(driver, vm_index=2):
    profile = driver.load_profile("freebsd")
    vms = driver.plan_vms(["mason", "gluon"], "10.78.0.0/24", ports=[2201, 2202], link_ports=[4001, 4002])
    return profile, vms, driver.vm_tokens(driver.profile_vars(profile, []), vms[vm_index - 1], PUBKEY, "r1")


def test_freebsd_seed_carries_key_name_and_private_address(driver):
    profile, _vms, tokens = freebsd_tokens(driver)
    files = driver.seed_files(profile, tokens)
    assert set(files) == {"meta-data", "user-data"}
    mode, user_data = files["user-data"]
    assert mode == 0o755  # some nuageinit versions run it straight from the seed
    assert user_data.startswith("#!/bin/sh\n")
    assert f"echo '{PUBKEY}' >>/root/.ssh/authorized_keys" in user_data
    assert "grep -qi '52:54:00:a1:00:02'" in user_data
    assert "inet 10.78.0.12/24" in user_data
    assert "PermitRootLogin prohibit-password" in user_data
    assert "@" not in user_data  # every token expanded
    assert yaml.safe_load(files["meta-data"][1]) == {"instance-id": "vmpair-gluon-r1", "local-hostname": "gluon"}


def test_freebsd_user_data_is_valid_yaml_and_valid_sh(driver):
    """nuageinit (some versions) parses user-data as YAML before it looks at the #! line, and
    stops on a parse error: the script must also be one YAML plain scalar."""
    profile, _vms, tokens = freebsd_tokens(driver)
    user_data = driver.seed_files(profile, tokens)["user-data"][1]
    assert isinstance(yaml.safe_load(user_data), str)
    if getattr(yaml, "CSafeLoader", None):
        assert isinstance(yaml.load(user_data, Loader=yaml.CSafeLoader), str)  # libyaml, like lyaml
    sh = shutil.which("sh")
    if sh:
        result = subprocess.run([sh, "-n"], input=user_data, text=True, capture_output=True, check=False)
        assert result.returncode == 0, result.stderr


def test_freebsd_seed_iso_is_labelled_cidata_with_executable_user_data(driver, tmp_path):
    try:
        driver.seed_tool()
    except driver.DriverError:
        pytest.skip("no genisoimage or xorriso")
    profile, _vms, tokens = freebsd_tokens(driver)
    iso = driver.build_seed(profile, tokens, tmp_path / "seed.iso")
    data = iso.read_bytes()
    assert data[16 * 2048:16 * 2048 + 6] == b"\x01CD001"  # primary volume descriptor
    assert data[16 * 2048 + 40:16 * 2048 + 72].rstrip(b" ") == b"cidata"  # nuageinit: /dev/iso9660/cidata
    if shutil.which("isoinfo"):
        listing = subprocess.run(["isoinfo", "-R", "-l", "-i", str(iso)], capture_output=True, text=True,
                                 check=True).stdout
        modes = {line.split()[-1]: line.split()[0] for line in listing.splitlines() if line.startswith("-")}
        assert modes["user-data"] == "-r-xr-xr-x"
        assert modes["meta-data"] == "-r--r--r--"


# ---------------------------------------------------------------- VMs and the qemu command line

def test_plan_gives_each_vm_ports_macs_and_a_private_address(driver):
    vms = driver.plan_vms(["mason", "gluon"], "10.78.0.0/24", ports=[2201, 2202], link_ports=[4001, 4002])
    assert [(v["name"], v["private_cidr"], v["peer_private_ip"]) for v in vms] == [
        ("mason", "10.78.0.11/24", "10.78.0.12"), ("gluon", "10.78.0.12/24", "10.78.0.11")]
    assert vms[0]["peer_link_port"] == 4002 and vms[1]["peer_link_port"] == 4001
    assert len({v["ssh_mac"] for v in vms} | {v["private_mac"] for v in vms}) == 4
    single = driver.plan_vms(["solo"], "10.78.0.0/24", ports=[2201], link_ports=[4001])
    assert single[0]["peer_link_port"] is None
    for names in (["a", "b", "c"], ["a", "a"], ["Bad"]):
        with pytest.raises(driver.DriverError):
            driver.plan_vms(names, "10.78.0.0/24", ports=[1, 2, 3], link_ports=[1, 2, 3])


def argv_of(driver, accel, profile_name="freebsd"):
    profile, vms, tokens = freebsd_tokens(driver, vm_index=1)
    if profile_name != "freebsd":
        profile = dict(profile, kernel="/boot/vmlinuz", initrd="initrd.img", append="console=ttyS0 lab.name=@name@")
    state = Path("/state")
    return driver.qemu_argv(profile, vms[0], tokens, accel, state / "mason.qcow2", state / "mason.seed.iso", state)


def test_qemu_argv_with_kvm_and_with_tcg(driver):
    kvm, tcg = argv_of(driver, "kvm"), argv_of(driver, "tcg")
    assert kvm[kvm.index("-machine") + 1] == "q35,accel=kvm" and kvm[kvm.index("-cpu") + 1] == "host"
    assert tcg[tcg.index("-machine") + 1] == "q35,accel=tcg" and tcg[tcg.index("-cpu") + 1] == "max"
    assert kvm[kvm.index("-smp") + 1] == "2" and tcg[tcg.index("-smp") + 1] == "1"
    assert "-kernel" not in kvm  # the FreeBSD image boots with its own loader


def test_qemu_argv_networks_and_disks(driver):
    argv = argv_of(driver, "tcg")
    joined = " ".join(argv)
    assert "user,id=mgmt,hostfwd=tcp:127.0.0.1:2201-:22" in joined  # SSH only on the host's loopback
    assert "socket,id=link,udp=127.0.0.1:4002,localaddr=127.0.0.1:4001" in joined  # mason <-> gluon
    assert "virtio-net-pci,netdev=link,mac=52:54:00:a1:00:01" in joined
    assert "file=/state/mason.seed.iso,if=virtio,format=raw,readonly=on" in joined
    assert "file=/state/mason.qcow2,if=virtio,format=qcow2" in joined
    assert "-nodefaults" in argv and argv[argv.index("-serial") + 1] == "file:/state/mason.console.log"


def test_qemu_argv_direct_kernel_boot(driver):
    argv = argv_of(driver, "tcg", profile_name="kernel")
    assert argv[argv.index("-kernel") + 1] == "/boot/vmlinuz"
    assert argv[argv.index("-initrd") + 1].endswith("/molecule/guests/profiles/initrd.img")  # beside the profile
    assert argv[argv.index("-append") + 1] == "console=ttyS0 lab.name=mason"


def test_accelerator(driver, monkeypatch):
    assert driver.choose_accel("tcg") == ("tcg", "--accel tcg")

    def no_kvm(*_args):
        raise OSError(2, "No such file or directory")

    monkeypatch.setattr(driver.os, "open", no_kvm)
    assert driver.choose_accel("auto") == ("tcg", "/dev/kvm: No such file or directory")


# ---------------------------------------------------------------- state files

def test_inventory_and_ssh_config(driver, tmp_path):
    vms = driver.plan_vms(["mason", "gluon"], "10.78.0.0/24", ports=[2201, 2202], link_ports=[4001, 4002])
    driver.BACKEND.write_access(tmp_path, vms, {"user": "root", "python": "/usr/local/bin/python3"})
    inventory = yaml.safe_load((tmp_path / "inventory.yml").read_text())
    hosts = inventory["all"]["children"]["vmpair"]["hosts"]
    assert hosts["gluon"] == {"ansible_host": "127.0.0.1", "ansible_port": 2202, "vmpair_private_ip": "10.78.0.12"}
    group = inventory["all"]["children"]["vmpair"]["vars"]
    assert group["ansible_python_interpreter"] == "/usr/local/bin/python3"
    assert group["ansible_ssh_private_key_file"] == str(tmp_path / "id_ed25519")
    assert group["ansible_ssh_common_args"] == f"-F {tmp_path / 'ssh_config'}"
    config = (tmp_path / "ssh_config").read_text()
    assert "Host gluon\n  HostName 127.0.0.1\n  Port 2202\n" in config
    assert "  StrictHostKeyChecking no\n" in config  # new host keys at every first boot


def test_teardown_removes_what_up_wrote_and_nothing_else(driver, tmp_path):
    state = tmp_path / "state"
    state.mkdir()
    for name in ("vmpair.json", "id_ed25519", "ssh_config", "a.qcow2", "a.seed.iso", "a.console.log", "a.qemu.log"):
        (state / name).write_text("x")
    (state / "mine.txt").write_text("keep")
    driver.BACKEND.teardown(state)
    assert [p.name for p in state.iterdir()] == ["mine.txt"]
    (state / "mine.txt").unlink()
    driver.BACKEND.teardown(state)
    assert not state.exists()
    driver.BACKEND.teardown(state)  # nothing there: no error
