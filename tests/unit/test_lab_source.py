# -*- coding: utf-8 -*-
# Copyright (c) 2026 fleet.ipsec contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The test-guest driver's UML backend (molecule/guests/lab.py) without root or guests: where the
racoon source comes from (an explicit path or URL, a vendor/ directory beside the checkout, or none,
said in one line), and what each guest is told about racoon and IPv6."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import functools
import hashlib
import http.server
import importlib.util
import os
import threading

import pytest
import yaml

GUESTS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'molecule', 'guests')
LAB_PY = os.path.join(GUESTS_DIR, 'lab.py')

# Stand-ins for the tarball: only names and digests matter before a build.
GOOD = b'racoon source, the version we want\n'
OTHER = b'racoon source, some other version\n'
GOOD_SHA = hashlib.sha256(GOOD).hexdigest()
OTHER_SHA = hashlib.sha256(OTHER).hexdigest()


@pytest.fixture
def lab(tmp_path, monkeypatch):
    """A fresh copy of the lab module, with its cache in tmp_path and no racoon env of ours."""
    monkeypatch.syspath_prepend(GUESTS_DIR)  # where the backend finds the shared driver, guests.py
    spec = importlib.util.spec_from_file_location('fleet_ipsec_lab_under_test', LAB_PY)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, 'CACHE_DIR', tmp_path / 'cache')
    for name in ('FLEET_IPSEC_RACOON_SOURCE', 'FLEET_IPSEC_RACOON_SHA256'):
        monkeypatch.delenv(name, raising=False)
    return module


@pytest.fixture
def workspace(tmp_path):
    """A workspace: the checkout and, beside it, a directory that may keep vendor/ sources."""
    checkout = tmp_path / 'work' / 'checkout'
    (checkout / 'molecule' / 'guests').mkdir(parents=True)
    vendor = tmp_path / 'work' / 'thirdparty' / 'vendor'
    vendor.mkdir(parents=True)
    return checkout, vendor


def write(path, content):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


def test_pinned_digest_is_a_sha256(lab):
    assert len(lab.RACOON_SHA256) == 64 and int(lab.RACOON_SHA256, 16) >= 0
    assert lab.expected_sha256({}) == lab.RACOON_SHA256


def test_env_path_with_the_right_digest(lab, tmp_path, workspace):
    tarball = write(tmp_path / 'src' / 'racoon-ipsec-tools-0.9.1.tar.gz', GOOD)
    env = {'FLEET_IPSEC_RACOON_SOURCE': str(tarball), 'FLEET_IPSEC_RACOON_SHA256': GOOD_SHA.upper()}
    assert lab.racoon_source(env, checkout=workspace[0]) == (tarball, GOOD_SHA)


def test_env_path_with_a_wrong_digest_names_file_and_both_digests(lab, tmp_path, workspace):
    tarball = write(tmp_path / 'src' / 'racoon.tar.gz', OTHER)
    env = {'FLEET_IPSEC_RACOON_SOURCE': str(tarball), 'FLEET_IPSEC_RACOON_SHA256': GOOD_SHA}
    with pytest.raises(lab.DriverError) as error:
        lab.racoon_source(env, checkout=workspace[0])
    message = str(error.value)
    assert str(tarball) in message and GOOD_SHA in message and OTHER_SHA in message


def test_env_path_checked_against_the_pinned_digest_by_default(lab, tmp_path, workspace):
    tarball = write(tmp_path / 'src' / 'racoon.tar.gz', GOOD)
    with pytest.raises(lab.DriverError, match=lab.RACOON_SHA256):
        lab.racoon_source({'FLEET_IPSEC_RACOON_SOURCE': str(tarball)}, checkout=workspace[0])


def test_env_path_that_is_not_a_file(lab, tmp_path, workspace):
    with pytest.raises(lab.DriverError, match='is not a file'):
        lab.racoon_source({'FLEET_IPSEC_RACOON_SOURCE': str(tmp_path / 'nothing.tar.gz')},
                          checkout=workspace[0])


def test_a_digest_that_is_not_one(lab, workspace):
    with pytest.raises(lab.DriverError, match='not a sha256'):
        lab.racoon_source({'FLEET_IPSEC_RACOON_SHA256': 'd1cdeebf'}, checkout=workspace[0])


def test_env_source_wins_over_vendor(lab, tmp_path, workspace):
    checkout, vendor = workspace
    write(vendor / 'racoon-ipsec-tools-0.9.1.tar.gz', GOOD)
    tarball = write(tmp_path / 'src' / 'mine.tar.gz', GOOD)
    env = {'FLEET_IPSEC_RACOON_SOURCE': str(tarball), 'FLEET_IPSEC_RACOON_SHA256': GOOD_SHA}
    assert lab.racoon_source(env, checkout=checkout) == (tarball, GOOD_SHA)


def test_sibling_vendor_directory_is_found_by_digest(lab, tmp_path, workspace):
    checkout, vendor = workspace
    # Same name pattern, wrong digest: passed over, not an error (it may be another version).
    write(tmp_path / 'work' / 'aaa' / 'vendor' / 'racoon-ipsec-tools-0.9.0.tar.gz', OTHER)
    wanted = write(vendor / 'racoon-ipsec-tools-0.9.1.tar.gz', GOOD)
    # Neither a vendor/ deeper down nor another file name counts.
    write(tmp_path / 'work' / 'bbb' / 'x' / 'vendor' / 'racoon-ipsec-tools-0.9.1.tar.gz', GOOD)
    write(tmp_path / 'work' / 'ccc' / 'vendor' / 'ipsec-tools-0.9.1.tar.gz', GOOD)
    env = {'FLEET_IPSEC_RACOON_SHA256': GOOD_SHA}
    assert lab.racoon_source(env, checkout=checkout) == (wanted, GOOD_SHA)


def test_sibling_vendor_of_the_real_checkout(lab):
    """Without an explicit checkout the one lab.py lives in is used: molecule/guests/ two levels up."""
    assert lab.checkout_dir() == lab.Path(LAB_PY).resolve().parents[2]
    assert (lab.checkout_dir() / 'molecule' / 'guests' / 'lab.py').is_file()


def test_no_source_is_none_and_one_line_that_says_why(lab, tmp_path, workspace):
    checkout, vendor = workspace
    stray = write(vendor / 'racoon-ipsec-tools-0.8.2.tar.gz', OTHER)
    env = {'FLEET_IPSEC_RACOON_SHA256': GOOD_SHA}
    assert lab.racoon_source(env, checkout=checkout) is None
    line = lab.racoon_missing(env, checkout=checkout)
    assert '\n' not in line
    assert 'racoon is not available in the lab' in line
    assert 'FLEET_IPSEC_RACOON_SOURCE' in line and 'strongSwan only' in line
    assert GOOD_SHA in line and str(tmp_path / 'work') in line
    assert str(stray) in line and OTHER_SHA in line  # what was passed over, and why


def test_empty_env_source_counts_as_unset(lab, workspace):
    assert lab.racoon_source({'FLEET_IPSEC_RACOON_SOURCE': '', 'FLEET_IPSEC_RACOON_SHA256': GOOD_SHA},
                             checkout=workspace[0]) is None


def test_racoon_command_prints_empty_and_one_line(lab, monkeypatch, capsys):
    monkeypatch.setattr(lab, 'racoon_source', lambda: None)
    assert lab.cmd_racoon(None) == 0
    out, err = capsys.readouterr()
    assert out == '\n'
    assert len(err.splitlines()) == 1 and 'racoon is not available in the lab' in err


def test_racoon_command_prints_the_prefix(lab, monkeypatch, capsys):
    monkeypatch.setattr(lab, 'racoon_source', lambda: ('/x.tar.gz', GOOD_SHA))
    assert lab.cmd_racoon(None) == 0
    assert capsys.readouterr() == ('/opt/ipsec-tools\n', '')


def test_image_without_racoon_says_so_in_one_line(lab, monkeypatch, capsys):
    """`up` and `build` go through ensure_image: one line, then on with strongSwan only."""
    monkeypatch.setattr(lab, 'kernel_modules', lambda: {'6.1.0-test': '/nonexistent'})
    monkeypatch.setattr(lab, 'racoon_source', lambda: None)
    image = lab.image_path(lab.image_spec('bookworm', 'http://mirror.invalid/debian', None, ['6.1.0-test']))
    write(image, b'')  # already built: nothing else to say
    assert lab.ensure_image('bookworm', 'http://mirror.invalid/debian') == image
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and 'racoon is not available in the lab' in err


def test_image_spec_depends_on_the_racoon_source(lab):
    paths = {lab.image_path(lab.image_spec('bookworm', 'http://m', racoon))
             for racoon in (None, ('/a.tar.gz', GOOD_SHA), ('/b.tar.gz', OTHER_SHA))}
    assert len(paths) == 3
    # The path of the tarball is not part of it: the same source found elsewhere is the same image.
    assert (lab.image_path(lab.image_spec('bookworm', 'http://m', ('/a.tar.gz', GOOD_SHA)))
            == lab.image_path(lab.image_spec('bookworm', 'http://m', ('/c.tar.gz', GOOD_SHA))))


def test_racoon_build_is_cached_apart_from_the_image(lab):
    # Per source digest, in the cache, not inside an image's build directory.
    assert lab.racoon_stage_path(GOOD_SHA) == lab.racoon_stage_path(GOOD_SHA)
    assert lab.racoon_stage_path(GOOD_SHA) != lab.racoon_stage_path(OTHER_SHA)
    assert lab.racoon_stage_path(GOOD_SHA).parent == lab.CACHE_DIR


def test_existing_stage_is_not_rebuilt(lab, monkeypatch):
    stage = lab.racoon_stage_path(GOOD_SHA)
    stage.mkdir(parents=True)
    monkeypatch.setattr(lab, 'run', lambda *a, **k: pytest.fail(f'built again: {a}'))
    assert lab.ensure_racoon('/nonexistent.tar.gz', GOOD_SHA) == stage


@pytest.fixture
def http_dir(tmp_path, monkeypatch):
    """A directory served over HTTP on the loopback, with no proxy in between."""
    for name in ('http_proxy', 'HTTP_PROXY', 'https_proxy', 'HTTPS_PROXY', 'all_proxy', 'ALL_PROXY'):
        monkeypatch.delenv(name, raising=False)
    served = tmp_path / 'served'
    served.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):  # pylint: disable=arguments-differ
            pass

    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), functools.partial(Quiet, directory=str(served)))
    # A short poll: shutdown() waits for it, half a second per test by default.
    thread = threading.Thread(target=server.serve_forever, kwargs={'poll_interval': 0.02}, daemon=True)
    thread.start()
    yield served, f'http://127.0.0.1:{server.server_address[1]}'
    server.shutdown()
    server.server_close()


def test_url_is_downloaded_once_into_the_cache(lab, http_dir, workspace):
    served, base = http_dir
    write(served / 'racoon-ipsec-tools-0.9.1.tar.gz', GOOD)
    env = {'FLEET_IPSEC_RACOON_SOURCE': f'{base}/racoon-ipsec-tools-0.9.1.tar.gz',
           'FLEET_IPSEC_RACOON_SHA256': GOOD_SHA}
    path, digest = lab.racoon_source(env, checkout=workspace[0])
    assert digest == GOOD_SHA and path.read_bytes() == GOOD
    assert path.parent == lab.CACHE_DIR / 'sources'
    (served / 'racoon-ipsec-tools-0.9.1.tar.gz').unlink()  # the second time comes from the cache
    assert lab.racoon_source(env, checkout=workspace[0]) == (path, GOOD_SHA)


def test_url_with_a_wrong_digest_is_an_error_and_not_cached(lab, http_dir, workspace):
    served, base = http_dir
    write(served / 'racoon.tar.gz', OTHER)
    url = f'{base}/racoon.tar.gz'
    env = {'FLEET_IPSEC_RACOON_SOURCE': url, 'FLEET_IPSEC_RACOON_SHA256': GOOD_SHA}
    with pytest.raises(lab.DriverError) as error:
        lab.racoon_source(env, checkout=workspace[0])
    assert url in str(error.value) and GOOD_SHA in str(error.value) and OTHER_SHA in str(error.value)
    assert not list((lab.CACHE_DIR / 'sources').iterdir())


def test_url_that_fails(lab, http_dir, workspace):
    base = http_dir[1]
    env = {'FLEET_IPSEC_RACOON_SOURCE': f'{base}/missing.tar.gz', 'FLEET_IPSEC_RACOON_SHA256': GOOD_SHA}
    with pytest.raises(lab.DriverError, match='404'):
        lab.racoon_source(env, checkout=workspace[0])


def test_guests_get_ipv6_on_vec0_and_dummy0(lab):
    g1, g2 = lab.guest_table(['g1', 'g2'])
    assert (g1['address6'], g2['address6']) == ('fd77::11', 'fd77::12')
    assert (g1['lan6'], g1['lan_address6']) == ('fd77:101:1::/64', 'fd77:101:1::1')
    assert (g2['lan6'], g2['lan_address6']) == ('fd77:101:2::/64', 'fd77:101:2::1')
    assert lab.BRIDGE_ADDRESS6 == 'fd77::1/64'
    assert 'ipv6' in lab.MODULES  # a module in Debian's UML kernel


INFO = {'user': 'root', 'python': '/usr/bin/python3', 'backend': 'uml'}


@pytest.mark.parametrize('prefix', ['/opt/ipsec-tools', ''])
def test_inventory_tells_each_guest_about_racoon_and_ipv6(lab, tmp_path, prefix):
    guests = lab.guest_table(['g1', 'g2'])
    for g in guests:
        g['racoon_prefix'] = prefix
    lab.BACKEND.write_access(tmp_path, guests, INFO)
    hosts = yaml.safe_load((tmp_path / 'inventory.yml').read_text())['all']['children']['lab']['hosts']
    for g in guests:
        host = hosts[g['name']]
        assert host['fleet_lab_racoon_prefix'] == prefix
        assert host['fleet_lab_address6'] == g['address6']
        assert host['fleet_lab_lan6'] == g['lan6']


def test_inventory_and_ssh_config_keep_connections_where_down_closes_them(lab, tmp_path):
    """The scenario's playbooks connect through these: root with the run's key, pipelining, and
    SSH masters in the lab's run directory, where `down` and `reboot` close them."""
    guests = lab.guest_table(['g1', 'g2'])
    for g in guests:
        g['racoon_prefix'] = ''
    lab.BACKEND.write_access(tmp_path, guests, INFO)
    inventory = yaml.safe_load((tmp_path / 'inventory.yml').read_text())['all']['children']['lab']
    assert inventory['hosts']['g2']['ansible_host'] == '10.77.0.12'
    group = inventory['vars']
    assert group['ansible_user'] == 'root'
    assert group['ansible_python_interpreter'] == '/usr/bin/python3'
    assert group['ansible_ssh_private_key_file'] == str(tmp_path / 'id_ed25519')
    assert group['ansible_ssh_common_args'] == '-F ' + str(tmp_path / 'ssh_config')
    assert group['ansible_ssh_pipelining'] is True
    assert 'ControlPath={0}/%C'.format(lab.SSH_DIR) in group['ansible_ssh_args']
    config = (tmp_path / 'ssh_config').read_text()
    assert 'Host g1 10.77.0.11\n  HostName 10.77.0.11\n' in config
    assert '  ControlPath {0}/%C\n'.format(lab.SSH_DIR) in config
    assert '  StrictHostKeyChecking accept-new\n' in config
