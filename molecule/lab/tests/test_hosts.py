# Copyright (c) 2026 fleet.ipsec contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The lab guests' state after the converge (run by molecule/lab/hosts.yml with testinfra).

Each guest is checked as what its backend makes of it: racoon with setkey (the guests of group
`racoon`, when the lab has racoon), or strongSwan.
"""

import pytest

RACOON_KEYS = "/etc/racoon/psk.txt"
STRONGSWAN_KEYS = "/etc/swanctl/conf.d/fleet-ipsec-secrets.conf"


@pytest.fixture
def backend(host):
    variables = host.ansible.get_variables()
    racoon = "racoon" in variables.get("group_names", []) and variables.get("lab_racoon_prefix")
    return "racoon" if racoon else "strongswan"


def ike_port_holders(host):
    return host.check_output("ss -Hlunp 'sport = :500'")


def test_racoon_files_owners_and_modes(host, backend):
    if backend != "racoon":
        pytest.skip("a strongSwan guest")
    for path, mode in (("/etc/racoon/racoon.conf", 0o644), (RACOON_KEYS, 0o600), ("/etc/ipsec-tools.conf", 0o600)):
        f = host.file(path)
        assert f.is_file, path
        assert (f.user, f.group, f.mode) == ("root", "root", mode), path
    assert host.file("/etc/ipsec-tools.conf").content_string.count("spdflush;") == 1
    # racoon's admin socket, for racoonctl: root only.
    sock = host.file("/var/run/racoon/racoon.sock")
    assert sock.is_socket and sock.user == "root" and sock.mode == 0o600


def test_racoon_runs_alone_on_the_ike_port(host, backend):
    if backend != "racoon":
        pytest.skip("a strongSwan guest")
    racoon = host.service("racoon")
    assert racoon.is_running and racoon.is_enabled
    assert host.service("setkey").is_enabled
    for competitor in ("strongswan", "strongswan-starter"):
        assert not host.service(competitor).is_running, competitor
        assert not host.service(competitor).is_enabled, competitor
    holders = ike_port_holders(host)
    assert '"racoon"' in holders and "charon" not in holders


def test_strongswan_files_and_service(host, backend):
    if backend != "strongswan":
        pytest.skip("a racoon guest")
    keys = host.file(STRONGSWAN_KEYS)
    assert (keys.user, keys.mode) == ("root", 0o600)
    service = host.service("strongswan")
    assert service.is_running and service.is_enabled
    assert not host.service("strongswan-starter").is_enabled
    assert "charon" in ike_port_holders(host)


def test_policies_are_loaded(host):
    # The kernel's SPD holds the tunnel policies, whichever daemon put them there.
    assert "proto esp" in host.check_output("ip xfrm policy")
