# -*- coding: utf-8 -*-
# Copyright (c) 2026 fleet.ipsec contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Hostile inventories (issue 18): each is refused by the model, before any host is touched,
with a message that names the tunnel, topology or host and the field.

The inventory is untrusted input: names, keys, OS families, management networks and numbers
that could add a directive, a block or a path component to a host's files, or mean different
things to the two ends, are refused. test_hostile_templates.py renders what the model accepts.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

import pytest

from ansible_collections.fleet.ipsec.plugins.module_utils import model
from ansible_collections.fleet.ipsec.plugins.module_utils.model import (
    HOST_NAME_MAX_LENGTH,
    INT_MAX,
    NAME_MAX_LENGTH,
    TUNNEL_NAME_MAX_LENGTH,
    ModelError,
    build_fleet,
    config_word_problem,
    name_problem,
    shown,
)
from ansible_collections.fleet.ipsec.plugins.module_utils.plan import build_plan
from ansible_collections.fleet.ipsec.plugins.module_utils.psk import (
    PSK_MAX_LENGTH,
    PSK_MIN_LENGTH,
    PskError,
    key_problems,
    resolve,
)

MASTER = 'master-secret-0123456789-abcdef'
KEY = 'explicit-key-0123456789-abcdef'

HOSTS = {
    'gluon': {'address': '192.0.2.10', 'os_family': 'FreeBSD'},
    'mason': {'address': '198.51.100.1', 'subnets': ['10.1.0.0/24'], 'os_family': 'FreeBSD'},
    'quark': {'address': '192.0.2.20', 'subnets': ['10.2.0.0/24'], 'os_family': 'FreeBSD'},
    'swan': {'address': '192.0.2.60', 'subnets': ['10.6.0.0/24'], 'os_family': 'Debian'},
    'v6a': {'address': '2001:db8::a', 'subnets': ['2001:db8:a::/48']},
    'v6b': {'address': '2001:db8::b', 'subnets': ['2001:db8:b::/48']},
}

NAME_RULE = ("may contain only ASCII letters, digits, '-' and '_', must not start with '-' and must be at most "
             "64 characters long; this one ")
HOST_RULE = ("may contain only ASCII letters, digits, '.', '-' and '_' (or be an IP address), must not start "
             "with '.' or '-' and must be at most 253 characters long; this one ")
PEER_RULE = ("may contain only ASCII letters, digits, '.', '-' and '_' (or be an IP address), must not start "
             "with '.' or '-' and must be at most 64 characters long; this one ")


def inventory(tunnels=(), topologies=(), hosts=None, master=MASTER, **extra):
    inv = {'hosts': copy.deepcopy(HOSTS if hosts is None else hosts), 'tunnels': copy.deepcopy(list(tunnels)),
           'topologies': copy.deepcopy(list(topologies)), 'psk_master': master}
    inv.update(extra)
    return inv


def errors(**kwargs):
    inv = inventory(**kwargs)
    with pytest.raises(ModelError) as info:
        build_fleet(inv)
    errs = info.value.errors
    assert errs
    for err in errs:
        # One line each, no control character: a name cannot forge lines in the report either.
        assert err.isprintable(), err
    return errs


def accepted(**kwargs):
    return build_fleet(inventory(**kwargs))


def tunnel(name, a, b, **extra):
    result = {'name': name, 'hosts': [a, b]}
    result.update(extra)
    return result


# ---------------------------------------------------------------------------------------
# names that reach files and paths
# ---------------------------------------------------------------------------------------

# The issue's tunnel: two clear-text policies ahead of the tunnel's require policies.
CLEAR_POLICIES = 't\nspdadd 0.0.0.0/0 0.0.0.0/0 any -P out none;\nspdadd 0.0.0.0/0 0.0.0.0/0 any -P in none;\n#'


def test_tunnel_name_that_adds_clear_text_policies():
    assert errors(tunnels=[tunnel(CLEAR_POLICIES, 'gluon', 'mason')]) == [
        "tunnel 't\\nspdadd 0.0.0.0/0 0.0.0.0/0 any -P out none;\\nspdadd 0.0.0.0/0 0.0.0.0/0 any -P in none;\\n#': "
        "name: " + NAME_RULE + "has '\\n', ' ', '.', '/', ';', '#' and is 90 characters long"]


def test_host_name_that_adds_a_racoon_directive_is_refused_once():
    host = 'a\npath certificate "/INJ";\n#'
    hosts = dict(HOSTS, **{host: {'address': '192.0.2.99'}})
    errs = errors(hosts=hosts, tunnels=[tunnel('inj', host, 'mason')],
                  topologies=[{'name': 'core', 'type': 'mesh', 'hosts': [host, 'gluon', 'quark']}])
    assert errs == ["host 'a\\npath certificate \"/INJ\";\\n#': name: " + HOST_RULE
                    + "has '\\n', ' ', '\"', '/', ';', '#'"]


def test_host_name_that_leaves_the_render_root():
    hosts = dict(HOSTS, **{'../../../escaped': {'address': '192.0.2.99'}})
    assert errors(hosts=hosts) == ["host '../../../escaped': name: " + HOST_RULE + "has '/' and starts with '.'"]


@pytest.mark.parametrize('host, what', [
    ('..', "starts with '.'"),
    ('.hidden', "starts with '.'"),
    ('-rf', "starts with '-'"),
    ('a/b', "has '/'"),
    ('a b', "has ' '"),
    ('a\\b', "has '\\\\'"),
    ('h\u00f6st', "has '\\xf6'"),
    ('line\u2028sep', "has '\\u2028'"),
    ('nul\x00', "has '\\x00'"),
    ('a' * (HOST_NAME_MAX_LENGTH + 1), 'is 254 characters long'),
    ('fe80::1%eth0', "has ':', '%'"),
], ids=['dotdot', 'hidden', 'dash', 'slash', 'blank', 'backslash', 'non-ascii', 'line-separator', 'nul',
        'too-long', 'zone-id'])
def test_host_names_refused_even_without_tunnels(host, what):
    hosts = dict(HOSTS, **{host: {'address': '192.0.2.99'}})
    assert errors(hosts=hosts) == ["host '%s': name: %s%s" % (shown(host), HOST_RULE, what)]


@pytest.mark.parametrize('host', ['mason.example.org', 'web_01', 'R2-D2', '10.77.0.11', '2001:db8::99', '2001:DB8::99',
                                  'a' * HOST_NAME_MAX_LENGTH, '_ansible'])
def test_host_names_accepted(host):
    hosts = dict(HOSTS, **{host: {'address': '192.0.2.99'}})
    f = accepted(hosts=hosts, tunnels=[tunnel('ok', host, 'mason')])
    assert f.tunnels[0].first.name == host


@pytest.mark.parametrize('name, what', [
    ('a.b', "has '.'"),
    ('-x', "starts with '-'"),
    ('t\u00fcnnel', "has '\\xfc'"),
    ('x' * (NAME_MAX_LENGTH + 1), 'is 65 characters long'),
    ('a:b', "has ':'"),
    ('a%s', "has '%'"),
    ('x }', "has ' ', '}'"),
])
def test_tunnel_names_refused(name, what):
    assert errors(tunnels=[tunnel(name, 'gluon', 'mason')]) == [
        "tunnel '%s': name: %s%s" % (shown(name), NAME_RULE, what)]


@pytest.mark.parametrize('name', ['gluon-mason', 'T_1', '_x', '0', 'x' * NAME_MAX_LENGTH, 'includes', 'fleet-bypass'])
def test_tunnel_names_accepted(name):
    assert accepted(tunnels=[tunnel(name, 'gluon', 'swan')]).tunnels[0].name == name


def test_reserved_tunnel_names():
    errs = errors(tunnels=[tunnel('fleet-bypass-1', 'gluon', 'swan'), tunnel('include', 'mason', 'swan')],
                  topologies=[{'name': 'fleet-bypass', 'type': 'mesh', 'hosts': ['quark', 'swan']}])
    assert errs == [
        "tunnel 'fleet-bypass-1': name: names starting with 'fleet-bypass-' are reserved (the strongSwan backend "
        "names its management bypass connections so)",
        "tunnel 'include': name: 'include' is reserved: swanctl reads a section of that name as an include statement",
        "topology 'fleet-bypass': name: names starting with 'fleet-bypass-' are reserved (the strongSwan backend "
        "names its management bypass connections so)",
    ]


def test_topology_made_name_reaching_the_reserved_prefix():
    hosts = dict(HOSTS, **{'bypass-x': {'address': '192.0.2.98'}})
    errs = errors(hosts=hosts, topologies=[{'name': 'fleet', 'type': 'hub_and_spoke', 'hubs': ['bypass-x'],
                                            'spokes': ['gluon']}])
    assert errs == ["tunnel 'fleet-bypass-x-gluon' (topology 'fleet'): name: names starting with 'fleet-bypass-' are "
                    "reserved (the strongSwan backend names its management bypass connections so)"]


def test_topology_name_that_opens_a_swanctl_block():
    name = 'x {\n}\n}\nconnections {\n  evil {\n    remote_addrs = %any'
    errs = errors(topologies=[{'name': name, 'type': 'mesh', 'hosts': ['gluon', 'swan', 'quark']}])
    assert errs == ["topology '%s': name: %shas ' ', '{', '\\n', '}', '=', '%%'"
                    % (shown(name), NAME_RULE)]


def test_outside_peer_name_that_adds_a_directive():
    peer = {'name': 'office\n}\nremote anonymous {', 'address': '203.0.113.9'}
    errs = errors(tunnels=[tunnel('m-office', 'mason', peer)],
                  topologies=[{'name': 'br', 'type': 'hub_and_spoke', 'hubs': ['quark'], 'spokes': [peer]}])
    assert errs == [
        "tunnel 'm-office': hosts[1].name: " + PEER_RULE + "has '\\n', '}', ' ', '{'",
        "topology 'br': spokes[0].name: " + PEER_RULE + "has '\\n', '}', ' ', '{'",
    ]


def test_outside_peer_names_accepted():
    f = accepted(tunnels=[tunnel('m-office', 'mason', {'name': 'office.example.org', 'address': '203.0.113.9'}),
                          tunnel('v-x', 'v6a', {'address': '2001:0db8::99'})])
    names = sorted(e.name for e in f.endpoints.values() if not e.in_inventory)
    assert names == ['2001:db8::99', 'office.example.org']


def test_peer_mapping_without_name_is_named_by_its_normalised_address():
    # The same endpoint as the bare address, whatever spelling the mapping used.
    f = accepted(tunnels=[tunnel('a', 'v6b', {'address': '2001:0DB8:0::99'}), tunnel('b', 'v6a', '2001:db8::99')])
    ends = [t.ends[1] for t in sorted(f.tunnels, key=lambda t: t.name)]
    assert ends[0] is ends[1] and ends[0].name == '2001:db8::99'


def test_dotted_names_of_topology_tunnels_with_a_strongswan_end():
    hosts = dict(HOSTS, **{'a.example': {'address': '192.0.2.81'}, 'b.example': {'address': '192.0.2.82'}})
    errs = errors(hosts=hosts, topologies=[{'name': 'core', 'type': 'mesh', 'hosts': ['a.example', 'swan', 'gluon']}])
    assert errs == ["tunnel 'core-a.example-swan' (topology 'core'): name: holds '.', which strongSwan's swanctl reads "
                    "as a separator in the names of connections and secrets (it would load them without their "
                    "settings), and 'swan' runs strongSwan; give the hosts of this topology names without '.'"]
    # racoon and setkey only see names in comments: dots are fine there.
    f = accepted(hosts=hosts, topologies=[{'name': 'core', 'type': 'mesh', 'hosts': ['a.example', 'b.example', 'gluon']}])
    assert sorted(t.name for t in f.tunnels) == ['core-a.example-b.example', 'core-a.example-gluon',
                                                 'core-b.example-gluon']


def test_topology_tunnel_names_with_ipv6_peers_are_accepted_for_strongswan():
    f = accepted(topologies=[{'name': 'ext', 'type': 'hub_and_spoke', 'hubs': ['v6a'], 'spokes': ['2001:db8::99']}],
                 hosts=dict(HOSTS, v6a={'address': '2001:db8::a', 'backend': 'strongswan', 'os_family': 'Debian'}))
    assert [t.name for t in f.tunnels] == ['ext-v6a-2001:db8::99']
    assert config_word_problem('ext-v6a-2001:db8::99', 'swanctl') is None


def test_topology_tunnel_name_too_long_for_swanctl():
    host = 'h' * 64
    hosts = dict(HOSTS, **{host: {'address': '192.0.2.81'}})
    errs = errors(hosts=hosts, topologies=[{'name': 'c' * 40, 'type': 'mesh', 'hosts': [host, 'gluon']}])
    name = '%s-gluon-%s' % ('c' * 40, host)
    assert errs == ["tunnel '%s' (topology '%s'): name: is %d characters long, and a tunnel name may be at most 100 "
                    "(strongSwan's swanctl cuts longer ones short when it reads them); shorten the names of the "
                    "topology or of its hosts" % (name, 'c' * 40, len(name))]
    assert len(name) == 111 > TUNNEL_NAME_MAX_LENGTH


def test_refused_topology_name_is_reported_once_not_per_tunnel():
    errs = errors(topologies=[{'name': 'bad name', 'type': 'mesh', 'hosts': ['gluon', 'mason', 'quark', 'swan']}])
    assert len(errs) == 1 and errs[0].startswith("topology 'bad name': name: ")


def test_names_are_shown_escaped_and_cut():
    assert shown('a\nb\tc\\d\x7f\u00e9\U0001f600') == 'a\\nb\\tc\\\\d\\x7f\\xe9\\U0001f600'
    assert shown('x' * 300) == 'x' * 260 + '...'
    assert shown(7) == '7'


def test_name_problem_kinds():
    assert name_problem('a.b', 'host') is None
    assert name_problem('a.b', 'peer') is None
    assert name_problem('a.b', 'topology').startswith('may contain only')
    assert name_problem('', 'tunnel') == 'must be a non-empty string'
    assert name_problem(['x'], 'host') == 'must be a non-empty string'
    assert name_problem('1.2.3', 'host') is None          # a host name, if not an address
    assert name_problem('2001:db8::1', 'host') is None
    assert name_problem('2001:db8::1::', 'host').endswith("has ':'")


# ---------------------------------------------------------------------------------------
# explicit keys
# ---------------------------------------------------------------------------------------

LINE_BREAK = 'holds a line break, which would start a new line in the key files'


@pytest.mark.parametrize('key, message', [
    # The issue's key: a second psk.txt line for the attacker's address.
    ('abcdefghijklmnopqrstuvwxyz\n203.0.113.66\tATTACKER-KEY', LINE_BREAK),
    ('abcdefghijklmnopqrstuvwxyz\r203.0.113.66', LINE_BREAK),
    ('abcdefghij\tklmnopqrstuvwxyz', 'holds a tab or another control character; use printable ASCII only'),
    ('abcdefghij\x7fklmnopqrstuvwxyz', 'holds a tab or another control character; use printable ASCII only'),
    ('abcdefghij\u00e9klmnopqrstuvwxyz', 'holds a non-ASCII character; use printable ASCII only'),
    ('abcdefghij\u2028klmnopqrstuvwxyz', 'holds a non-ASCII character; use printable ASCII only'),
    # A quote opens a new secret block in swanctl's secrets file.
    ('abcdefghij"\n    }\n    ike-evil {\n        secret = "x', LINE_BREAK),
    ('abcdefghij"klmnopqrstuvwxyz', 'holds a quote (" or \'), which ends or starts a quoted value in the key files\' '
                                    'grammars'),
    ("abcdefghij'klmnopqrstuvwxyz", 'holds a quote (" or \'), which ends or starts a quoted value in the key files\' '
                                    'grammars'),
    ('abcdefghij\\klmnopqrstuvwxyz', "holds a backslash, which strongSwan's secrets file reads as an escape"),
    ('abcdefghij#klmnopqrstuvwxyz', "holds '#', which starts a comment in the configuration grammars"),
    (' abcdefghijklmnopqrstuvwxyz', 'starts or ends with a blank: racoon drops the blanks before a key and keeps '
                                    'those after it'),
    ('abcdefghijklmnopqrstuvwxyz ', 'starts or ends with a blank: racoon drops the blanks before a key and keeps '
                                    'those after it'),
    ('0Xabcdef0123456789abcdef', 'starts with 0X, which strongSwan decodes (as hex) and racoon reads as text; write '
                                 'a hex key as 0x followed by hex digits, or change the start of the key'),
    ('0sYWJjZGVmZ2hpamtsbW5vcA==', 'starts with 0s, which strongSwan decodes (as base64) and racoon reads as text; '
                                   'write a hex key as 0x followed by hex digits, or change the start of the key'),
    ('0Sabcdefghijklmnopqrstuvwxyz', 'starts with 0S, which strongSwan decodes (as base64) and racoon reads as text; '
                                     'write a hex key as 0x followed by hex digits, or change the start of the key'),
    ('0xabcdefghijklmnopqrstuvwxyz', 'starts with 0x, which racoon and strongSwan read as hex, but the rest is not an '
                                     'even number of hex digits'),
    ('0x0123456789abcdef012', 'starts with 0x, which racoon and strongSwan read as hex, but the rest is not an even '
                              'number of hex digits'),
    ('0x0123456789 abcdef01', 'starts with 0x, which racoon and strongSwan read as hex, but the rest is not an even '
                              'number of hex digits'),
    ('k' * (PSK_MAX_LENGTH + 1), 'is longer than 982 characters (racoon reads psk.txt lines of at most 1,023 '
                                 'characters, and the rest of a longer one as a line of its own)'),
    ('k' * 2000, 'is longer than 982 characters (racoon reads psk.txt lines of at most 1,023 characters, and the rest '
                 'of a longer one as a line of its own)'),
    ('short', 'is shorter than 20 characters'),
    (12345678901234567890123, 'must be a string of at least 20 characters'),
    (['a' * 30], 'must be a string of at least 20 characters'),
], ids=['issue-newline', 'carriage-return', 'tab', 'del', 'non-ascii', 'line-separator', 'issue-quote-block', 'quote',
        'single-quote', 'backslash', 'hash', 'leading-blank', 'trailing-blank', '0X', '0s', '0S', '0x-not-hex',
        '0x-odd', '0x-blank', 'too-long', 'far-too-long', 'short', 'int', 'list'])
def test_explicit_keys_refused(key, message):
    errs = errors(tunnels=[tunnel('qm', 'quark', 'mason', psk=key)],
                  topologies=[{'name': 'core', 'type': 'mesh', 'hosts': ['gluon', 'swan'], 'psk': key}])
    assert errs[0] == "tunnel 'qm': psk: " + message
    assert "topology 'core': psk: " + message in errs
    assert len(errs) % 2 == 0
    if isinstance(key, str) and len(key) >= PSK_MIN_LENGTH:
        for err in errs:
            assert key not in err and key.strip()[:12] not in err


def test_each_problem_of_a_key_is_its_own_error():
    errs = errors(tunnels=[tunnel('qm', 'quark', 'mason', psk=' abc"def#ghi\\jkl\u00e9mnop\n')])
    assert errs == [
        "tunnel 'qm': psk: holds a line break, which would start a new line in the key files",
        "tunnel 'qm': psk: holds a non-ASCII character; use printable ASCII only",
        "tunnel 'qm': psk: holds a quote (\" or '), which ends or starts a quoted value in the key files' grammars",
        "tunnel 'qm': psk: holds a backslash, which strongSwan's secrets file reads as an escape",
        "tunnel 'qm': psk: holds '#', which starts a comment in the configuration grammars",
        "tunnel 'qm': psk: starts or ends with a blank: racoon drops the blanks before a key and keeps those after it",
    ]


@pytest.mark.parametrize('key', [
    'x' * PSK_MIN_LENGTH,
    'k' * PSK_MAX_LENGTH,
    'A key with inner blanks, 0x and ! $ % & ( ) * + , - . / : ; < = > ? @ [ ] ^ _ ` { | } ~',
    '0x' + '0123456789abcdefABCDEF' * 2,
    '0x' + 'ab' * 9,
    'x0x0123456789abcdefghij',
    '0' * 24,
], ids=['min', 'max', 'punctuation', 'hex', 'hex-min', 'not-a-prefix', 'zeros'])
def test_explicit_keys_accepted(key):
    assert key_problems(key) == []
    (t,) = accepted(tunnels=[tunnel('qm', 'quark', 'swan', psk=key)], master=None).tunnels
    assert t.psk_ref['source'] == 'explicit'


def test_key_length_limit_is_racoons_line_limit():
    # The longest address text, a tab, the key and the newline fit in fgets()'s 1,024-byte buffer.
    longest_address = '1111:2222:3333:4444:5555:6666:7777:8888'
    assert len(longest_address + '\t' + 'k' * PSK_MAX_LENGTH + '\n') == 1023


def test_resolve_refuses_a_key_the_model_would_refuse():
    # The second line of defence: the psk filter, where the key is written, checks it again.
    tunnels = [{'name': 'qm', 'hosts': ['quark', 'mason'], 'psk': 'abcdefghijklmnopqrstuvwxyz\n203.0.113.66\tKEY'}]
    with pytest.raises(PskError) as info:
        resolve('qm', {'source': 'explicit', 'origin': 'ipsec_tunnels'}, tunnels=tunnels)
    assert str(info.value) == "tunnel 'qm': psk: holds a line break, which would start a new line in the key files"
    assert 'KEY' not in str(info.value)


def test_psk_filter_fails_the_task_on_a_refused_key():
    # Skipped where the controller's ansible is not there (ansible-test units, module_utils context).
    AnsibleFilterError = pytest.importorskip('ansible.errors').AnsibleFilterError
    from ansible_collections.fleet.ipsec.plugins.filter.psk import psk
    topologies = [{'name': 'core', 'psk': '0sYWJjZGVmZ2hpamtsbW5vcA=='}]
    peer = {'tunnel': 'core-a-b', 'psk_ref': {'source': 'explicit', 'origin': 'topology:core'}}
    with pytest.raises(AnsibleFilterError) as info:
        psk(peer, None, [], topologies)
    assert 'psk: starts with 0s' in str(info.value)


# ---------------------------------------------------------------------------------------
# silent key reuse: duplicate topology names
# ---------------------------------------------------------------------------------------

def test_two_topologies_with_one_name_and_different_keys():
    errs = errors(topologies=[
        {'name': 'core', 'type': 'mesh', 'hosts': ['gluon', 'quark'], 'psk': 'A' * 24},
        {'name': 'core', 'type': 'mesh', 'hosts': ['mason', 'swan'], 'psk': 'B' * 24},
    ])
    assert errs == ["topology 'core': name: ipsec_topologies[0] and ipsec_topologies[1] are both named 'core'; "
                    "topology names must be unique"]


def test_three_topologies_with_one_name():
    errs = errors(topologies=[
        {'name': 'core', 'type': 'mesh', 'hosts': ['gluon', 'quark']},
        {'name': 'other', 'type': 'mesh', 'hosts': ['v6a', 'v6b']},
        {'name': 'core', 'type': 'mesh', 'hosts': ['mason', 'swan']},
        {'name': 'core', 'type': 'hub_and_spoke', 'hubs': ['mason'], 'spokes': ['gluon'], 'mode': 'bogus'},
    ])
    assert errs == [
        "topology 'core': name: ipsec_topologies[0] and ipsec_topologies[2] are both named 'core'; "
        "topology names must be unique",
        "topology 'core': name: ipsec_topologies[0] and ipsec_topologies[3] are both named 'core'; "
        "topology names must be unique",
        "topology 'core': mode: 'bogus' is not a mode; use one of tunnel, transport",
    ]


def test_duplicate_tunnel_names_still_refused():
    errs = errors(tunnels=[tunnel('dup', 'gluon', 'mason', psk='A' * 24), tunnel('dup', 'quark', 'swan', psk='B' * 24)])
    assert errs == ["tunnel 'dup': name: duplicate tunnel name (first defined in ipsec_tunnels)"]


# ---------------------------------------------------------------------------------------
# OS families
# ---------------------------------------------------------------------------------------

def with_host(name, **raw):
    return dict(HOSTS, **{name: dict({'address': '192.0.2.77'}, **raw)})


def test_unsupported_family_of_a_host_with_a_tunnel():
    # The issue's Archlinux host planned fine, then failed alone ("Unknown error.") while its peer got its tunnel.
    errs = errors(hosts=with_host('arch', os_family='Archlinux'), tunnels=[tunnel('am', 'arch', 'mason')])
    assert errs == ["host 'arch': ipsec_os_family: 'Archlinux' is not an OS family the roles support; use one of "
                    "Debian, FreeBSD, NetBSD, RedHat"]


def test_family_that_names_another_roles_vars_file():
    # include_vars would have loaded roles/racoon/vars/FreeBSD.yml from the strongswan role. Refused even on a host
    # with no tunnel: ipsec_os_family is the inventory's own setting.
    errs = errors(hosts=with_host('x', os_family='../../racoon/vars/FreeBSD'))
    assert errs == ["host 'x': ipsec_os_family: '../../racoon/vars/FreeBSD' is not an OS family the roles support; "
                    "use one of Debian, FreeBSD, NetBSD, RedHat"]


@pytest.mark.parametrize('family', [['Debian'], 7, 'debian', 'FreeBSD ', 'OpenBSD'])
def test_other_unsupported_families(family):
    errs = errors(hosts=with_host('x', os_family=family))
    assert errs == ["host 'x': ipsec_os_family: %r is not an OS family the roles support; use one of "
                    "Debian, FreeBSD, NetBSD, RedHat" % (family,)]


def test_family_the_hosts_backend_has_no_vars_for():
    errs = errors(hosts=with_host('nb', os_family='NetBSD', backend='strongswan'), tunnels=[tunnel('nm', 'nb', 'mason')])
    assert errs == ["host 'nb': ipsec_os_family: 'NetBSD' is not an OS family the strongswan backend supports "
                    "(Debian, FreeBSD); set ipsec_backend, or run this host on one of those"]
    # Without a tunnel it loads no vars file.
    accepted(hosts=with_host('nb', os_family='NetBSD', backend='strongswan'))


def test_gathered_family_is_checked_only_where_a_tunnel_needs_it():
    hosts = with_host('arch', os_family='Archlinux', os_family_gathered=True)
    accepted(hosts=hosts)
    errs = errors(hosts=hosts, tunnels=[tunnel('am', 'arch', 'mason')])
    assert errs == ["host 'arch': os_family (gathered): 'Archlinux' is not an OS family the roles support; use one of "
                    "Debian, FreeBSD, NetBSD, RedHat, or set ipsec_os_family"]


@pytest.mark.parametrize('family', model.OS_FAMILIES)
@pytest.mark.parametrize('backend', [None, 'racoon', 'strongswan'])
def test_supported_families(family, backend):
    hosts = with_host('x', os_family=family, backend=backend)
    platform = model.host_platform(hosts['x'])
    if family in model.BACKEND_OS_FAMILIES[platform[1]]:
        accepted(hosts=hosts, tunnels=[tunnel('xm', 'x', 'mason')])
    else:
        assert len(errors(hosts=hosts, tunnels=[tunnel('xm', 'x', 'mason')])) == 1


# ---------------------------------------------------------------------------------------
# management networks that defeat the tunnels
# ---------------------------------------------------------------------------------------

ARTICLE = tunnel('gluon-mason', 'gluon', 'mason', selectors={'gluon': ['192.0.2.10/32'], 'mason': ['0.0.0.0/0']})
OVERLAP_HINT = ('narrow the management network, or list it in ipsec_management_networks_allow_overlap (dangerous) '
                'if that is really meant')


def test_management_everything_v4():
    errs = errors(tunnels=[ARTICLE], management=['0.0.0.0/0'])
    assert errs == ["tunnel 'gluon-mason': ipsec_management_networks[0]: 0.0.0.0/0 covers 198.51.100.1, the address "
                    "of 'mason': on 'gluon' the management bypass comes before the tunnel's policies and would send "
                    "that traffic in clear; " + OVERLAP_HINT]


def test_management_everything_v6_only_matters_with_an_ipv6_tunnel():
    accepted(tunnels=[ARTICLE], management=['::/0'])
    errs = errors(tunnels=[ARTICLE, tunnel('v6', 'v6a', 'v6b')], management=['::/0', '0.0.0.0/0'])
    assert [e.split(': ')[:2] for e in errs] == [["tunnel 'gluon-mason'", 'ipsec_management_networks[1]'],
                                                 ["tunnel 'v6'", 'ipsec_management_networks[0]']]


def test_management_covering_a_selector():
    errs = errors(tunnels=[tunnel('qm', 'quark', 'mason')], management=['10.0.0.0/8'])
    assert errs == [
        "tunnel 'qm': ipsec_management_networks[0]: 10.0.0.0/8 covers 10.1.0.0/24, a selector of 'mason' in this "
        "tunnel: on 'quark' the management bypass comes before the tunnel's policies and would send that traffic "
        "in clear; " + OVERLAP_HINT]


def test_management_covering_the_peer_address():
    errs = errors(tunnels=[tunnel('qm', 'quark', 'mason')], management=['198.51.100.1'])
    assert errs == [
        "tunnel 'qm': ipsec_management_networks[0]: 198.51.100.1/32 covers 198.51.100.1, the address of 'mason': on "
        "'quark' the management bypass comes before the tunnel's policies and would send that traffic in clear; "
        + OVERLAP_HINT]


def test_management_inside_a_selector_is_the_intended_carve_out():
    # The README's example: the management network lies inside gluon's all-traffic selector.
    f = accepted(tunnels=[ARTICLE], management=['192.0.2.128/25', '203.0.113.0/24'])
    assert [s.text for s in f.management] == ['192.0.2.128/25', '203.0.113.0/24']


def test_management_covering_an_end_outside_the_inventory_only_matters_from_the_inside():
    # The outside peer gets no bypass policies from us; gluon's own address is no peer of gluon's.
    accepted(tunnels=[tunnel('g-x', 'gluon', '203.0.113.9')], management=['192.0.2.0/24'])
    errs = errors(tunnels=[tunnel('g-x', 'gluon', '203.0.113.9')], management=['203.0.113.0/24'])
    assert errs[0].startswith("tunnel 'g-x': ipsec_management_networks[0]: 203.0.113.0/24 covers 203.0.113.9, the "
                              "address of '203.0.113.9': on 'gluon'")


def test_management_overlap_allowed_explicitly():
    accepted(tunnels=[ARTICLE], management=['0.0.0.0/0'], management_allow_overlap=True)
    accepted(tunnels=[ARTICLE], management=['0.0.0.0/0', '10.0.0.0/8'], management_allow_overlap=['0.0.0.0/0'])
    errs = errors(tunnels=[tunnel('qm', 'quark', 'mason')], management=['0.0.0.0/0', '10.0.0.0/8'],
                  management_allow_overlap=['0.0.0.0/0'])
    assert [e.split(': ')[:2] for e in errs] == [["tunnel 'qm'", 'ipsec_management_networks[1]']]


@pytest.mark.parametrize('allow, expected', [
    (['10.0.0.0/8'], ["ipsec_management_networks_allow_overlap[0]: '10.0.0.0/8' is not one of "
                      "ipsec_management_networks"]),
    (['nope'], ["ipsec_management_networks_allow_overlap[0]: 'nope' is not one of ipsec_management_networks"]),
    ('yes', ["ipsec_management_networks_allow_overlap: must be true, false or a list of management networks, "
             "got 'yes'"]),
])
def test_management_overlap_allowance_checked(allow, expected):
    assert errors(management=['192.0.2.128/25'], management_allow_overlap=allow) == expected


def test_management_overlap_errors_are_capped_per_network():
    spokes = dict(('s%02d' % i, {'address': '192.0.2.%d' % (100 + i)}) for i in range(25))
    hosts = dict(HOSTS, **spokes)
    errs = errors(hosts=hosts, topologies=[{'name': 'br', 'type': 'hub_and_spoke', 'hubs': ['mason'],
                                            'spokes': sorted(spokes)}], management=['0.0.0.0/0'])
    assert len(errs) == 11
    assert errs[-1] == 'ipsec_management_networks[0]: covers 15 more tunnels in the same way'


# ---------------------------------------------------------------------------------------
# numbers: plain ASCII integers, never a crash
# ---------------------------------------------------------------------------------------

SECONDS = ' is not a positive whole number of seconds or tries (at most 2147483647, in ASCII digits)'


@pytest.mark.parametrize('field, value, message', [
    ('ike.lifetime', '\u00b2', "'\u00b2'" + SECONDS),
    ('ike.lifetime', '\u0661\u0662', "'\u0661\u0662'" + SECONDS),
    ('ike.lifetime', ' 12 ', "' 12 '" + SECONDS),
    ('ike.lifetime', '1_000', "'1_000'" + SECONDS),
    ('ike.lifetime', '+12', "'+12'" + SECONDS),
    ('ike.lifetime', 12.0, '12.0' + SECONDS),
    ('ike.lifetime', True, 'True' + SECONDS),
    ('ike.lifetime', INT_MAX + 1, '2147483648' + SECONDS),
    ('ike.lifetime', '9' * 5000, None),
    ('ike.dpd_delay', '\uff11\uff10', "'\uff11\uff10'" + SECONDS),
    ('esp.lifetime', '3600\n', "'3600\\n'" + SECONDS),
    ('ike.dh_group', '\u00b9\u2074', "'\u00b9\u2074' is not a supported group"),
    ('ike.dh_group', '\u0661\u0664', "'\u0661\u0664' is not a supported group"),
    ('ike.dh_group', ' 14', "' 14' is not a supported group"),
    ('ike.dh_group', 'modp2048 ', "'modp2048 ' is not a supported group"),
    ('ike.dh_group', 14.0, '14.0 is not a supported group'),
    ('esp.pfs_group', '\u00b9\u2074', "'\u00b9\u2074' is not a supported group"),
    ('ike.version', 1.0, '1.0 is not an IKE version; use 1 or 2'),
    ('ike.version', '\u00b9', "'\u00b9' is not an IKE version; use 1 or 2"),
    ('psk_generation', '\u00b2', "'\u00b2' is not a positive whole number"),
    ('psk_generation', '\u0662', "'\u0662' is not a positive whole number"),
    ('psk_generation', 2.0, '2.0 is not a positive whole number'),
    ('psk_generation', False, 'False is not a positive whole number'),
])
def test_numbers_must_be_plain_ascii_integers(field, value, message):
    raw = tunnel('qm', 'quark', 'mason')
    if '.' in field:
        kind, key = field.split('.')
        raw[kind] = {key: value}
    else:
        raw[field] = value
    (err,) = errors(tunnels=[raw])
    assert err.startswith("tunnel 'qm': %s: " % field), err
    if message is not None:
        assert message in err, err


def test_numbers_in_defaults_and_topologies():
    errs = errors(tunnels=[tunnel('qm', 'quark', 'mason')],
                  topologies=[{'name': 'core', 'type': 'mesh', 'hosts': ['gluon', 'swan'], 'ike': {'lifetime': '\u00b2'}}],
                  defaults={'psk_generation': '\u00b3', 'esp': {'lifetime': '\u0663'}})
    assert [e.split(': ')[:2] for e in errs] == [['defaults', 'esp.lifetime'], ["tunnel 'qm'", 'psk_generation'],
                                                 ["topology 'core'", 'ike.lifetime'],
                                                 ["topology 'core'", 'psk_generation']]


def test_plain_integers_accepted():
    (t,) = accepted(tunnels=[tunnel('qm', 'quark', 'swan', ike={'lifetime': '3600', 'dh_group': '15', 'version': '2',
                                                                'dpd_delay': INT_MAX},
                                    esp={'pfs_group': 16, 'lifetime': 600}, psk_generation='7')]).tunnels
    assert (t.ike['lifetime'], t.ike['dh_group'], t.ike['version'], t.ike['dpd_delay']) == (3600, 15, 2, INT_MAX)
    assert t.psk_ref['generation'] == 7


# ---------------------------------------------------------------------------------------
# everything at once, as the operator sees it
# ---------------------------------------------------------------------------------------

def test_a_hostile_inventory_is_refused_whole_with_every_problem():
    hosts = dict(HOSTS, **{'../x': {'address': '192.0.2.91'},
                           'arch': {'address': '192.0.2.92', 'os_family': 'Archlinux'}})
    inv = inventory(
        hosts=hosts,
        tunnels=[tunnel(CLEAR_POLICIES, 'gluon', 'mason'),
                 tunnel('k', 'quark', 'swan', psk='abcdefghijklmnopqrstuvwxyz\n203.0.113.66\tATTACKER-KEY'),
                 tunnel('n', 'arch', 'mason', ike={'lifetime': '\u00b2'}),
                 tunnel('ok', 'gluon', 'quark')],
        topologies=[{'name': 'core', 'type': 'mesh', 'hosts': ['v6a', 'v6b'], 'psk': 'A' * 24},
                    {'name': 'core', 'type': 'mesh', 'hosts': ['gluon', 'quark'], 'psk': 'B' * 24}],
        management=['0.0.0.0/0'])
    with pytest.raises(ModelError) as info:
        build_plan(inv)
    places = [e.split(': ')[:2] for e in info.value.errors]
    assert places == [
        ["host '../x'", 'name'],
        ["tunnel 't\\nspdadd 0.0.0.0/0 0.0.0.0/0 any -P out none;\\nspdadd 0.0.0.0/0 0.0.0.0/0 any -P in none;\\n#'",
         'name'],
        ["tunnel 'k'", 'psk'],
        ["tunnel 'n'", 'ike.lifetime'],
        ["topology 'core'", 'name'],
        ["host 'arch'", 'ipsec_os_family'],
        ["tunnel 'ok'", 'ipsec_management_networks[0]'],
    ]
    assert 'ATTACKER' not in str(info.value)


# ---------------------------------------------------------------------------------------
# fuzz: any shape of inventory is a plan or a ModelError, never a crash
# ---------------------------------------------------------------------------------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_ODD = st.sampled_from(['\u00b2', '\u0661\u0662', ' 12 ', '1_000', '14', 'modp2048', 'tunnel', 'require', 'gluon',
                        'mason', '192.0.2.10', '10.0.0.0/8', '0.0.0.0/0', '::/0', 'racoon', 'strongswan', 'FreeBSD',
                        'Archlinux', '../x', 'a\nb', '"', '0x', '9' * 30, 'mesh', 'hub_and_spoke'])
_LEAVES = st.one_of(st.none(), st.booleans(), st.integers(-5, 2 ** 40), st.floats(allow_nan=False), st.text(max_size=8),
                    _ODD)
_VALUES = st.recursive(_LEAVES, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                        st.dictionaries(st.one_of(st.text(max_size=6), _ODD), inner,
                                                                        max_size=3)), max_leaves=8)


def _mapping(keys):
    return st.dictionaries(st.sampled_from(sorted(keys)), _VALUES, max_size=len(keys))


_HOST_FIELDS = ('address', 'subnets', 'backend', 'os_family', 'os_family_gathered')
_END = st.one_of(st.sampled_from(sorted(HOSTS)), _LEAVES, _mapping(('name', 'address', 'subnets')))
_TUNNEL = st.one_of(_VALUES, st.builds(lambda extra, name, ends: dict(extra, name=name, hosts=ends),
                                       _mapping(model.TUNNEL_KEYS - {'name', 'hosts'}), st.one_of(_ODD, st.text(max_size=8)),
                                       st.lists(_END, min_size=2, max_size=2)))
_TOPOLOGY = st.one_of(_VALUES, st.builds(lambda extra, name, kind, members: dict(extra, name=name, type=kind, hosts=members,
                                                                                 hubs=members[:1], spokes=members[1:]),
                                         _mapping(model.TOPOLOGY_KEYS - {'name', 'type', 'hosts', 'hubs', 'spokes'}),
                                         st.one_of(_ODD, st.text(max_size=8)), st.sampled_from(model.TOPOLOGY_TYPES),
                                         st.lists(_END, min_size=2, max_size=4)))


@settings(max_examples=200, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.one_of(st.sampled_from(sorted(HOSTS)), st.text(max_size=8)), _mapping(_HOST_FIELDS), max_size=4),
       st.lists(_TUNNEL, max_size=3), st.lists(_TOPOLOGY, max_size=2),
       st.one_of(st.none(), _VALUES), st.one_of(st.none(), _VALUES), st.one_of(st.none(), _VALUES))
def test_any_inventory_is_a_plan_or_a_model_error(extra_hosts, tunnels, topologies, defaults, management, allow):
    hosts = copy.deepcopy(HOSTS)
    hosts.update(extra_hosts)
    inv = {'hosts': hosts, 'tunnels': tunnels, 'topologies': topologies, 'psk_master': MASTER,
           'defaults': defaults if isinstance(defaults, dict) else {}, 'management': management,
           'management_allow_overlap': allow}
    try:
        build_plan(inv)
    except ModelError as error:
        assert error.errors
        for line in error.errors:
            assert line.isprintable(), line
