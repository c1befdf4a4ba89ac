# Copyright (c) 2026 fleet.ipsec contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests of the verify module's helpers: trigger_pairs and local_addresses.

The module imports ansible.module_utils.basic at the top. Under a Python without
ansible-core (the system python3) it is loaded with a throw-away stand-in for that one
import, under a private name, and sys.modules is restored at once: the helpers under test
never touch AnsibleModule.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import importlib.util
import os
import sys
import time
import types
from ipaddress import ip_address

import pytest

from ansible_collections.fleet.ipsec.plugins.module_utils.plan import build_plan

MODULE = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..', '..', 'plugins', 'modules',
                      'verify.py')


def _load_verify():
    try:
        import ansible.module_utils.basic  # noqa: F401 pylint: disable=unused-import
    except ImportError:
        pass
    else:
        from ansible_collections.fleet.ipsec.plugins.modules import verify
        return verify
    stand_ins = dict((name, types.ModuleType(name))
                     for name in ('ansible', 'ansible.module_utils', 'ansible.module_utils.basic'))
    stand_ins['ansible.module_utils.basic'].AnsibleModule = None
    saved = dict((name, sys.modules.get(name)) for name in stand_ins)
    sys.modules.update(stand_ins)
    try:
        spec = importlib.util.spec_from_file_location('_fleet_ipsec_verify_module_under_test', MODULE)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        for name, old in saved.items():
            if old is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = old
    return module


verify = _load_verify()


def peers_of(hosts, tunnels):
    plan = build_plan({'hosts': hosts, 'tunnels': tunnels, 'topologies': [], 'psk_master': 'x' * 32})
    return dict((name, host['peers']) for name, host in plan['hosts'].items())


def addresses(*texts):
    return [ip_address(t) for t in texts]


def pairs(peers, *local):
    return [(str(src), str(dst)) for src, dst in verify.trigger_pairs(peers, addresses(*local))]


G = peers_of({'g1': {'address': '10.77.0.11', 'subnets': ['10.101.1.0/24']},
              'g2': {'address': '10.77.0.12', 'subnets': ['10.101.2.0/24']}},
             [{'name': 'g1-g2', 'hosts': ['g1', 'g2']}])


# ---------------------------------------------------------------- source

def test_source_is_the_own_endpoint_inside_the_local_selector():
    """The article's host-to-anywhere tunnel: gluon's selector is its own endpoint."""
    peers = peers_of({'gluon': {'address': '192.0.2.10'}, 'mason': {'address': '198.51.100.1'}},
                     [{'name': 'gluon-mason', 'hosts': ['gluon', 'mason'],
                       'selectors': {'gluon': ['192.0.2.10/32'], 'mason': ['0.0.0.0/0']}}])
    # the endpoint wins even when another local address would fit
    assert pairs(peers['gluon'], '127.0.0.1', '192.0.2.10') == [('192.0.2.10', '198.51.100.1')]
    assert pairs(peers['gluon']) == [('192.0.2.10', '198.51.100.1')]
    # from mason: its selector 0.0.0.0/0 holds its endpoint; gluon's /32 is gluon's endpoint
    assert pairs(peers['mason']) == [('198.51.100.1', '192.0.2.10')]


def test_source_is_an_interface_address_inside_the_local_selector():
    assert pairs(G['g1'], '127.0.0.1', '10.77.0.11', '10.101.1.1', '10.101.1.7') == [('10.101.1.1', '10.101.2.1')]
    assert pairs(G['g2'], '10.101.2.1') == [('10.101.2.1', '10.101.1.1')]


def test_no_address_inside_the_local_selector_is_skipped():
    assert pairs(G['g1'], '127.0.0.1', '10.77.0.11', '10.101.2.1') == []
    assert pairs(G['g1']) == []


def test_addresses_of_the_other_family_do_not_fit():
    peers = peers_of({'a': {'address': '2001:db8::a', 'subnets': ['2001:db8:a::/48']},
                      'b': {'address': '2001:db8::b', 'subnets': ['2001:db8:b::/48']}},
                     [{'name': 'v6', 'hosts': ['a', 'b']}])
    assert pairs(peers['a'], '10.101.1.1', '::1') == []
    assert pairs(peers['a'], '10.101.1.1', '2001:db8:a::1') == [('2001:db8:a::1', '2001:db8:b::1')]


# ---------------------------------------------------------------- target

def test_target_is_the_peer_endpoint_inside_the_remote_selector():
    """Transport mode: both selectors are the endpoints."""
    peers = peers_of({'q': {'address': '192.0.2.20'}, 'b': {'address': '192.0.2.30'}},
                     [{'name': 'q-b', 'hosts': ['q', 'b'], 'mode': 'transport'}])
    assert pairs(peers['q']) == [('192.0.2.20', '192.0.2.30')]
    assert pairs(peers['b']) == [('192.0.2.30', '192.0.2.20')]


def test_target_is_the_peer_endpoint_when_its_subnet_holds_it():
    peers = peers_of({'a': {'address': '10.101.1.254', 'subnets': ['10.101.1.0/24']},
                      'b': {'address': '10.101.2.254', 'subnets': ['10.101.2.0/24']}},
                     [{'name': 'a-b', 'hosts': ['a', 'b']}])
    assert pairs(peers['a']) == [('10.101.1.254', '10.101.2.254')]


def test_target_is_the_first_address_of_the_remote_network():
    assert pairs(G['g1'], '10.101.1.1') == [('10.101.1.1', '10.101.2.1')]


def test_target_of_a_single_address_remote_is_that_address():
    peers = peers_of({'g1': {'address': '10.77.0.11', 'subnets': ['10.101.1.0/24']},
                      'g2': {'address': '10.77.0.12', 'subnets': ['10.101.2.9/32']}},
                     [{'name': 'g1-g2', 'hosts': ['g1', 'g2']}])
    assert pairs(peers['g1'], '10.101.1.1') == [('10.101.1.1', '10.101.2.9')]


def test_ipv6_target_is_the_first_address_of_the_remote_prefix():
    peers = peers_of({'a': {'address': '2001:db8::a', 'subnets': ['2001:db8:a::/48']},
                      'b': {'address': '2001:db8::b', 'subnets': ['2001:db8:b::/48']}},
                     [{'name': 'v6', 'hosts': ['a', 'b']}])
    assert pairs(peers['b'], '2001:db8:b::1') == [('2001:db8:b::1', '2001:db8:a::1')]


# ---------------------------------------------------------------- several children and peers

def test_one_pair_per_child_in_plan_order_without_duplicates():
    peers = peers_of({'b': {'address': '10.77.0.11', 'subnets': ['10.3.0.0/24', '10.33.0.0/24']},
                      'q': {'address': '10.77.0.12', 'subnets': ['10.2.0.0/24', '10.22.0.0/24']},
                      'h': {'address': '10.77.0.13', 'subnets': ['10.4.0.0/24']}},
                     [{'name': 'b-q', 'hosts': ['b', 'q']}, {'name': 'b-h', 'hosts': ['b', 'h']}])
    assert [p['tunnel'] for p in peers['b']] == ['b-h', 'b-q']
    assert pairs(peers['b'], '10.3.0.1', '10.33.0.1') == [
        ('10.3.0.1', '10.4.0.1'), ('10.33.0.1', '10.4.0.1'),
        ('10.3.0.1', '10.2.0.1'), ('10.3.0.1', '10.22.0.1'), ('10.33.0.1', '10.2.0.1'), ('10.33.0.1', '10.22.0.1')]
    # the same pair twice (here: the same peer record twice) is pinged once
    assert pairs(peers['b'] + peers['b'], '10.3.0.1') == pairs(peers['b'], '10.3.0.1')
    # without 10.33.0.1 the children of that selector are skipped, the others kept
    assert pairs(peers['b'], '10.3.0.1') == [('10.3.0.1', '10.4.0.1'), ('10.3.0.1', '10.2.0.1'),
                                             ('10.3.0.1', '10.22.0.1')]


def test_no_peers_no_pairs():
    assert verify.trigger_pairs([], addresses('10.0.0.1')) == []


def test_pairs_are_address_objects():
    ((src, dst),) = verify.trigger_pairs(G['g1'], addresses('10.101.1.1'))
    assert (src.version, dst.version) == (4, 4)
    assert (src, dst) == (ip_address('10.101.1.1'), ip_address('10.101.2.1'))


# ---------------------------------------------------------------- local_addresses

LINUX_IP_ADDR = """\
1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever
1: lo    inet6 ::1/128 scope host noprefixroute \\       valid_lft forever preferred_lft forever
2: eth0    inet 10.77.0.11/24 brd 10.77.0.255 scope global eth0\\       valid_lft forever preferred_lft forever
3: eth1    inet 10.101.1.1/24 brd 10.101.1.255 scope global eth1\\       valid_lft forever preferred_lft forever
2: eth0    inet6 fe80::5054:ff:fe12:3456/64 scope link \\       valid_lft forever preferred_lft forever
"""

BSD_IFCONFIG = """\
vtnet0: flags=1008843<UP,BROADCAST,RUNNING,SIMPLEX,MULTICAST,LOWER_UP> metric 0 mtu 1500
\toptions=4c07bb<RXCSUM,TXCSUM,VLAN_MTU>
\tether 52:54:00:12:34:56
\tinet 192.0.2.10 netmask 0xffffff00 broadcast 192.0.2.255
\tinet6 fe80::5054:ff:fe12:3456%vtnet0 prefixlen 64 scopeid 0x1
\tinet6 2001:db8:a::1 prefixlen 64
lo0: flags=1008049<UP,LOOPBACK,RUNNING,MULTICAST,LOWER_UP> metric 0 mtu 16384
\tinet 127.0.0.1 netmask 0xff000000
"""


class FakeModule(object):
    def __init__(self, bins, out):
        self.bins = bins
        self.out = out
        self.argv = None

    def get_bin_path(self, name, required=False):
        return self.bins.get(name)

    def run_command(self, argv):
        self.argv = argv
        return 0, self.out, ''


def test_local_addresses_linux():
    module = FakeModule({'ip': '/usr/sbin/ip'}, LINUX_IP_ADDR)
    assert [str(a) for a in verify.local_addresses(module)] == [
        '127.0.0.1', '::1', '10.77.0.11', '10.101.1.1', 'fe80::5054:ff:fe12:3456']
    assert module.argv == ['/usr/sbin/ip', '-o', 'addr', 'show']


def test_local_addresses_bsd():
    module = FakeModule({'ifconfig': '/sbin/ifconfig'}, BSD_IFCONFIG)
    assert [str(a) for a in verify.local_addresses(module)] == [
        '192.0.2.10', 'fe80::5054:ff:fe12:3456', '2001:db8:a::1', '127.0.0.1']
    assert module.argv == ['/sbin/ifconfig', '-a']


def test_local_addresses_feed_trigger_pairs():
    module = FakeModule({'ip': '/usr/sbin/ip'}, LINUX_IP_ADDR)
    assert pairs(G['g1'], *[str(a) for a in verify.local_addresses(module)]) == [('10.101.1.1', '10.101.2.1')]


def test_old_net_tools_ifconfig_addr_prefix():
    module = FakeModule({'ifconfig': '/sbin/ifconfig'},
                        'eth0      Link encap:Ethernet\n          inet addr:10.101.1.1  Bcast:10.101.1.255\n')
    assert [str(a) for a in verify.local_addresses(module)] == ['10.101.1.1']


@pytest.mark.parametrize('junk', ['inet 999.1.1.1/8', 'inet6 :::::/64', 'inet ', ''])
def test_local_addresses_skip_what_is_not_an_address(junk):
    module = FakeModule({'ip': '/usr/sbin/ip'}, '1: lo    %s scope host\n2: eth0    inet 10.0.0.1/24\n' % junk)
    assert [str(a) for a in verify.local_addresses(module)] == ['10.0.0.1']


# ---------------------------------------------------------------- main, with a stand-in AnsibleModule

def text(kind, name):
    with open(os.path.join(os.path.dirname(MODULE), '..', '..', 'tests', 'fixtures', kind, name + '.txt')) as f:
        return f.read()


class Done(Exception):
    pass


class StandInModule(object):
    """Just what verify.main uses of AnsibleModule; answers commands from a table."""

    params = None
    check_mode = False
    answers = None
    commands = None

    def __init__(self, argument_spec, supports_check_mode):
        assert supports_check_mode is True
        params = dict((name, spec.get('default')) for name, spec in argument_spec.items())
        params.update(type(self).params)
        self.params = params

    def get_bin_path(self, name, required=False):
        return {'ip': '/usr/sbin/ip', 'ping': '/usr/bin/ping'}.get(name)

    def run_command(self, argv):
        type(self).commands.append(list(argv))
        return type(self).answers(argv)

    def exit_json(self, **result):
        raise Done(dict(result, failed=False))

    def fail_json(self, **result):
        raise Done(dict(result, failed=True))


def run_main(monkeypatch, params, answers, check_mode=False):
    monkeypatch.setattr(StandInModule, 'params', params)
    monkeypatch.setattr(StandInModule, 'check_mode', check_mode)
    monkeypatch.setattr(StandInModule, 'answers', staticmethod(answers))
    monkeypatch.setattr(StandInModule, 'commands', [])
    monkeypatch.setattr(verify, 'AnsibleModule', StandInModule)
    monkeypatch.setattr(verify.platform, 'system', lambda: 'Linux')
    monkeypatch.setattr(verify.time, 'sleep', lambda seconds: None)
    with pytest.raises(Done) as done:
        verify.main()
    return done.value.args[0], StandInModule.commands


G1_STATE, G1_POLICY = text('xfrm', 'ikev1-g1-ip-s-xfrm-state'), text('xfrm', 'ikev1-g1-ip-xfrm-policy')


def g1_host(state=G1_STATE, ping_rc=0):
    def answers(argv):
        if argv[1:] == ['-s', 'xfrm', 'state']:
            return 0, state, ''
        if argv[1:] == ['-s', 'xfrm', 'policy']:
            return 0, G1_POLICY, ''
        if argv[1:] == ['-o', 'addr', 'show']:
            return 0, LINUX_IP_ADDR, ''
        if argv[0] == 'ping':
            return ping_rc, '', ''
        return 127, '', 'unexpected command %r' % (argv,)
    return answers


def test_main_check_mode_sends_no_traffic(monkeypatch):
    result, commands = run_main(monkeypatch, {'peers': G['g1'], 'source': 'xfrm'}, g1_host(), check_mode=True)
    assert result['failed'] is False and result['changed'] is False
    assert result['source'] == 'xfrm' and result['triggers'] == []
    ((tunnel,)) = result['tunnels']
    assert (tunnel['tunnel'], tunnel['verdict']) == ('g1-g2', 'up')
    assert not any(c[0] == 'ping' for c in commands)


def test_main_triggers_then_judges(monkeypatch):
    result, commands = run_main(monkeypatch, {'peers': G['g1'], 'source': 'xfrm', 'timeout': 0}, g1_host())
    assert result['failed'] is False
    assert result['triggers'] == ['10.101.1.1 -> 10.101.2.1: answered']
    assert ['ping', '-c', '1', '-W', '1', '-I', '10.101.1.1', '10.101.2.1'] in commands


def test_main_fails_naming_each_tunnel_that_is_not_up(monkeypatch):
    result, _commands = run_main(monkeypatch, {'peers': G['g1'], 'source': 'xfrm', 'timeout': 0},
                                 g1_host(state='', ping_rc=1))
    assert result['failed'] is True
    assert result['msg'] == 'g1-g2: no_sa (policies are in place but there is no SA)'
    assert result['triggers'] == ['10.101.1.1 -> 10.101.2.1: no answer']
    assert [t['verdict'] for t in result['tunnels']] == ['no_sa']


def test_main_rejects_records_that_are_not_plan_peers(monkeypatch):
    result, commands = run_main(monkeypatch, {'peers': [{'tunnel': 't'}]}, g1_host())
    assert result['failed'] is True
    assert result['msg'] == 'peers[0] is not a plan peer record: no name, address, local_address, children'
    assert commands == []


def test_trigger_pings_go_out_together_and_keep_their_order(monkeypatch):
    """A hundred pairs whose pings each wait 0.2 s take about one wait per group, not a hundred."""
    hundred = [(ip_address('10.0.0.1'), ip_address('10.1.0.%d' % n)) for n in range(1, 101)]

    def slow_ping(_module, _source, target):
        time.sleep(0.2)
        return int(str(target).rsplit('.', 1)[1]) % 2 == 0
    monkeypatch.setattr(verify, 'ping', slow_ping)
    started = time.time()
    answered = verify.ping_all(None, hundred)
    assert time.time() - started < 0.2 * 100 / 4
    assert answered == [n % 2 == 0 for n in range(1, 101)]
