# -*- coding: utf-8 -*-
# Copyright (c) 2026 fleet.ipsec contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Whatever names and keys the model accepts render into the backends' files as one word each.

Property and fuzz tests (issue 18): random tunnel, topology, host and outside peer names and
explicit keys, hostile ones among them, go through build_plan. What it refuses must be refused
with printable, one-line messages that hold no key. What it accepts is rendered with the roles'
own templates (racoon.conf, psk.txt, setkey's ipsec.conf, swanctl's connections and secrets) and
the collection's own filters, and read back by models of the real parsers:

- racoon.conf and ipsec.conf: the tokens outside comments, and the number of lines, are those of
  the same plan with every name replaced by a plain one (names only ever reach comments there);
- psk.txt: read as racoon's getpsk() reads it (fgets() into 1,024 bytes, '#' lines skipped, the
  first word the address, the key to the end of the line, 0x read as hex);
- swanctl: read as strongSwan's settings lexer and parser read it (settings_lexer.l,
  settings_parser.y), then looked up as swanctl looks connections, children and secrets up (a
  name formatted into a 128- or 256-byte buffer and split at '.'); the tree must be that of the
  plain plan, and each key must be the bytes racoon reads for the same tunnel.

racoon -t, setkey -n and swanctl themselves are not on the machines these tests run on (racoon
and setkey exist only in the lab's guests); these models follow their sources.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import copy
import os
import string

import jinja2
import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from ansible_collections.fleet.ipsec.plugins.module_utils.model import (
    ModelError,
    config_word_problem,
    management_selectors,
)
from ansible_collections.fleet.ipsec.plugins.module_utils.plan import build_plan, peer_fingerprint
from ansible_collections.fleet.ipsec.plugins.module_utils.psk import PSK_MAX_LENGTH, derive, resolve

try:
    # The collection's filters, as the roles render with them (plain pytest, tests/unit).
    from ansible_collections.fleet.ipsec.plugins.filter.bypass import bypass
    from ansible_collections.fleet.ipsec.plugins.filter.fingerprint import fingerprint
    from ansible_collections.fleet.ipsec.plugins.filter.psk import psk
    from ansible_collections.fleet.ipsec.plugins.filter.safe_name import safe_name
    FILTERS = True
except ImportError:
    # `ansible-test units` runs module_utils tests without the controller's ansible package: the
    # functions each filter wraps, unwrapped.
    FILTERS = False

    def bypass(networks):
        return [{'network': s.text, 'any': '0.0.0.0/0' if s.version == 4 else '::/0'}
                for s in management_selectors(networks)]

    def fingerprint(peer):
        return peer_fingerprint(peer)

    def psk(peer, master=None, tunnels=None, topologies=None):
        return resolve(peer['tunnel'], peer['psk_ref'], master, tunnels, topologies)

    def safe_name(name, grammar='comment'):
        problem = config_word_problem(name, grammar)
        if problem:
            raise ValueError(problem)
        return name

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
ROLES = os.path.join(ROOT, 'roles')
MASTER = 'property-master-secret-0123456789'
SETTINGS = settings(max_examples=300, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


# ---------------------------------------------------------------------------------------
# rendering with the roles' templates
# ---------------------------------------------------------------------------------------

def _vars(role, name):
    with open(os.path.join(ROLES, role, 'vars', name)) as handle:
        return yaml.safe_load(handle)


RACOON_VARS = _vars('racoon', 'main.yml')
STRONGSWAN_VARS = _vars('strongswan', 'main.yml')
FIXED_VARS = {
    'ansible_managed': 'Ansible managed',
    '__racoon_psk_file': '/usr/local/etc/racoon/psk.txt',
    'racoon_log_level': 'notify',
    'racoon_adminsock': True,
    '__racoon_adminsock_path': '/var/db/racoon/racoon.sock',
    '__racoon_root_group': 'wheel',
    '__racoon_encryption': RACOON_VARS['__racoon_encryption'],
    '__racoon_hash': RACOON_VARS['__racoon_hash'],
    '__racoon_authentication': RACOON_VARS['__racoon_authentication'],
    '__setkey_priorities': True,
    '__strongswan_dh': STRONGSWAN_VARS['__strongswan_dh'],
    '__strongswan_pfs': STRONGSWAN_VARS['__strongswan_pfs'],
}
TEMPLATES = {
    'racoon.conf': ('racoon', 'racoon.conf.j2'),
    'psk.txt': ('racoon', 'psk.txt.j2'),
    'ipsec.conf': ('setkey', 'ipsec.conf.j2'),
    'swanctl.conf': ('strongswan', 'fleet-ipsec.conf.j2'),
    'secrets.conf': ('strongswan', 'fleet-ipsec-secrets.conf.j2'),
}


def _environment(key_filter):
    # As ansible.builtin.template renders: trim_blocks, no lstrip_blocks.
    env = jinja2.Environment(trim_blocks=True, keep_trailing_newline=True, undefined=jinja2.StrictUndefined)
    env.filters['fleet.ipsec.psk'] = key_filter
    env.filters['fleet.ipsec.fingerprint'] = fingerprint
    env.filters['fleet.ipsec.safe_name'] = safe_name
    compiled = {}
    for name, (role, template) in TEMPLATES.items():
        with open(os.path.join(ROLES, role, 'templates', template)) as handle:
            compiled[name] = env.from_string(handle.read())
    return compiled


REAL = _environment(psk)
PLAIN_KEY = 'plain-key-0123456789-abcdef'
PLAIN = _environment(lambda peer, *args: PLAIN_KEY)


BACKEND_FILES = {'racoon': ('racoon.conf', 'psk.txt', 'ipsec.conf'), 'strongswan': ('swanctl.conf', 'secrets.conf')}


def render(templates, plan, host, inventory):
    """The files of the host's backend, as its roles render them."""
    context = dict(FIXED_VARS)
    context.update({
        'inventory_hostname': host,
        'tunnels_host_plan': plan['hosts'][host],
        'tunnels_bypass': bypass(plan['management'] + ['10.77.0.1']),
        'ipsec_psk_master': inventory.get('psk_master'),
        'ipsec_tunnels': inventory.get('tunnels') or [],
        'ipsec_topologies': inventory.get('topologies') or [],
    })
    return dict((name, templates[name].render(context)) for name in BACKEND_FILES[plan['hosts'][host]['backend']])


def plain_names(plan):
    """The plan with every tunnel, child, host and peer name replaced by a plain one, and the mapping."""
    mapping = {}
    for index, host in enumerate(sorted(plan['hosts'])):
        mapping[host] = 'host%d' % index
    tunnels = {}
    for index, tunnel in enumerate(plan['tunnels']):
        tunnels[tunnel['name']] = 'tunnel%d' % index
        for end in tunnel['hosts']:
            mapping.setdefault(end, 'peer%d' % len(mapping))
    plain = copy.deepcopy(plan)
    plain['hosts'] = dict((mapping[name], host) for name, host in plain['hosts'].items())
    seen = set()
    for host in plain['hosts'].values():
        for peer in host['peers']:
            if id(peer) in seen:
                continue
            seen.add(id(peer))
            peer['name'] = mapping[peer['name']]
            peer['tunnel'] = tunnels[peer['tunnel']]
        for child in host['policies']:
            if id(child) in seen:
                continue
            seen.add(id(child))
            old = child['tunnel']
            child['tunnel'] = tunnels[old]
            child['name'] = tunnels[old] + child['name'][len(old):]
    return plain, mapping, tunnels


# ---------------------------------------------------------------------------------------
# models of the real parsers
# ---------------------------------------------------------------------------------------

def conf_tokens(text):
    """racoon.conf (cftoken.l) and setkey -f (token.l) words: '#' to the end of the line is a
    comment, a quoted string is one word, { } ; [ ] stand alone."""
    tokens = []
    position = 0
    while position < len(text):
        char = text[position]
        if char in ' \t\r\n':
            position += 1
        elif char == '#':
            end = text.find('\n', position)
            position = len(text) if end == -1 else end
        elif char == '"':
            end = text.index('"', position + 1)
            tokens.append(text[position:end + 1])
            position = end + 1
        elif char in '{};[]':
            tokens.append(char)
            position += 1
        else:
            end = position
            while end < len(text) and text[end] not in ' \t\r\n#"{};[]':
                end += 1
            tokens.append(text[position:end])
            position = end
    return tokens


def _is_c_space(byte):
    return byte in b' \t\n\v\f\r'


def racoon_getpsk(data, address):
    """The key racoon reads from psk.txt for `address` (ipsec-tools src/racoon/localconf.c getpsk())."""
    position = 0
    while position < len(data):
        newline = data.find(b'\n', position)
        end = position + 1023 if newline == -1 or newline >= position + 1023 else newline + 1
        buf = data[position:end]
        position = end
        if buf[:1] == b'#':
            continue
        first = 0
        while first < len(buf) and not _is_c_space(buf[first:first + 1]):
            first += 1
        if first == len(buf):
            continue
        key = first + 1
        while key < len(buf) and _is_c_space(buf[key:key + 1]):
            key += 1
        if key == len(buf):
            continue
        if buf[:first] != address.encode('ascii'):
            continue
        value = buf[key:].split(b'\n')[0]
        if value[:2] == b'0x':
            digits = value[2:]
            # str2val(): hex digits and blanks only, else no key at all.
            if any(not (chr(c) in string.hexdigits or _is_c_space(bytes([c]))) for c in digits):
                return None
            digits = bytes(c for c in digits if chr(c) in string.hexdigits)
            assert len(digits) % 2 == 0
            return bytes.fromhex(digits.decode('ascii'))
        return value
    return None


class SwanctlSyntaxError(Exception):
    pass


def swanctl_tokens(text):
    """strongSwan's settings lexer (src/libstrongswan/settings/settings_lexer.l)."""
    tokens = []
    position = 0
    in_value = False
    length = len(text)
    while position < length:
        char = text[position]
        if in_value:
            if char in '\r\t ':
                position += 1
            elif char in '#}\n':
                in_value = False            # unput: read again outside the value
            elif char == '"':
                value, position = _swanctl_string(text, position)
                tokens.append(('STRING', value))
            else:
                end = position
                while end < length and text[end] not in '#}"\r\n\t ':
                    end += 1
                tokens.append(('NAME', text[position:end]))
                position = end
            continue
        if char == '#':
            # A comment runs to the end of the line; the line break is a NEWLINE.
            end = text.find('\n', position)
            position = length if end == -1 else end
        elif char in '\t\r ':
            position += 1
        elif char == '\n':
            tokens.append(('NEWLINE', None))
            position += 1
        elif char in '{}':
            tokens.append((char, None))
            position += 1
        elif char == '=':
            tokens.append(('=', None))
            in_value = True
            position += 1
        elif char == '"':
            raise SwanctlSyntaxError('unexpected string detected')
        else:
            end = position
            while end < length and text[end] not in '#{}="\r\n\t ':
                end += 1
            word = text[position:end]
            rest = text[end:]
            if word == 'include' and rest[:1] in ('\t', ' ') and rest.lstrip('\t ')[:1] not in ('=', ''):
                raise SwanctlSyntaxError('an include statement')
            tokens.append(('NAME', word))
            position = end
    return tokens


def _swanctl_string(text, position):
    """A quoted value from its opening quote: (its text, the position after it)."""
    out = []
    position += 1
    while True:
        if position >= len(text):
            raise SwanctlSyntaxError('unterminated string detected')
        char = text[position]
        if char == '"':
            return ''.join(out), position + 1
        if char == '\\':
            following = text[position + 1:position + 2]
            if following == '':
                raise SwanctlSyntaxError('unterminated string detected')
            if following == '\n' or text[position + 1:position + 3] == '\r\n':
                position += 2 if following == '\n' else 3
                continue
            out.append({'n': '\n', 'r': '\r', 't': '\t'}.get(following, following))
            position += 2
        elif char == '\r':
            position += 1
        else:
            out.append(char)
            position += 1


def swanctl_parse(text):
    """strongSwan's settings parser (settings_parser.y): sections (repeated ones merged) and values."""
    tokens = swanctl_tokens(text) + [('EOF', None)]
    position = [0]

    def peek(offset=0):
        return tokens[position[0] + offset]

    def take():
        token = tokens[position[0]]
        position[0] += 1
        return token

    def statements(section, closing):
        while True:
            kind, value = peek()
            if kind == 'NEWLINE':
                take()
            elif kind == closing:
                take()
                return section
            elif kind == 'NAME':
                take()
                if peek()[0] == '{' or (peek()[0] == 'NEWLINE' and peek(1)[0] == '{'):
                    if peek()[0] == 'NEWLINE':
                        take()
                    take()
                    child = statements({'sections': {}, 'kv': {}, 'merged': 0}, '}')
                    existing = section['sections'].get(value)
                    if existing is None:
                        section['sections'][value] = child
                    else:
                        existing['merged'] += 1
                        existing['kv'].update(child['kv'])
                        existing['sections'].update(child['sections'])
                elif peek()[0] == '=':
                    take()
                    parts = []
                    while peek()[0] in ('NAME', 'STRING'):
                        parts.append(take()[1])
                    section['kv'][value] = ' '.join(parts) if parts else None
                else:
                    raise SwanctlSyntaxError('syntax error at %r' % (peek(),))
            else:
                raise SwanctlSyntaxError('syntax error at %r' % (peek(),))

    return statements({'sections': {}, 'kv': {}, 'merged': 0}, 'EOF')


def swanctl_lookup(tree, key):
    """A section the way swanctl's settings find one from a key it printed into a buffer: the
    key is split at '.' (settings.c find_section_buffered())."""
    section = tree
    for part in key.split('.'):
        section = section['sections'].get(part)
        if section is None:
            return None
    return section


def swanctl_secret_bytes(value):
    """The bytes swanctl loads for a secret (src/swanctl/commands/load_creds.c load_secret())."""
    if value[:2].lower() == '0x':
        return bytes.fromhex(value[2:])
    if value[:2].lower() == '0s':
        return base64.b64decode(value[2:])
    return value.encode('utf-8')


def strongswan_connections(tree):
    """Each connection and child as swanctl load-conns finds it (load_conns.c, load_conn() and
    add_sections(): "connections.<name>" in 128 bytes, "...children.<child>" in 256)."""
    found = {}
    for name, section in tree['sections']['connections']['sections'].items():
        key = ('connections.%s' % name)[:127]
        assert swanctl_lookup(tree, key) is section, name
        children = {}
        for child, child_section in section['sections'].get('children', {'sections': {}})['sections'].items():
            child_key = ('%s.%s' % (('%s.children' % key)[:255], child))[:255]
            assert swanctl_lookup(tree, child_key) is child_section, child
            children[child] = child_section
        found[name] = (section, children)
    return found


def strongswan_secrets(tree):
    """Each secret as swanctl load-creds loads it: its bytes and its owners ("secrets.<name>" in
    128 bytes, split at '.')."""
    found = {}
    for name, section in tree['sections']['secrets']['sections'].items():
        assert name.startswith('ike'), name
        owners_section = swanctl_lookup(tree, ('secrets.%s' % name)[:127])
        assert owners_section is section, name
        owners = sorted(value for key, value in owners_section['kv'].items() if key.startswith('id'))
        found[name] = (swanctl_secret_bytes(section['kv']['secret']), owners)
    return found


# ---------------------------------------------------------------------------------------
# unit tests of the models themselves
# ---------------------------------------------------------------------------------------

def test_getpsk_model_reads_what_racoon_reads():
    data = b'# comment\n192.0.2.1\tsecret one\n192.0.2.2   0x6162\n192.0.2.3\t  \n' + b'192.0.2.4\t' + b'k' * 1020 + b'\n'
    assert racoon_getpsk(data, '192.0.2.1') == b'secret one'
    assert racoon_getpsk(data, '192.0.2.2') == b'ab'
    assert racoon_getpsk(data, '192.0.2.3') is None
    # A line over 1,023 characters is read as two: the key is cut, and its tail is a line.
    assert racoon_getpsk(data, '192.0.2.4') == b'k' * (1023 - len('192.0.2.4\t'))
    # The issue's key: a second line for the attacker's address.
    injected = b'192.0.2.1\tabcdefghijklmnopqrstuvwxyz\n203.0.113.66\tATTACKER-KEY\n'
    assert racoon_getpsk(injected, '203.0.113.66') == b'ATTACKER-KEY'


def test_swanctl_model_sees_an_injected_block():
    text = 'secrets {\n    ike-t {\n        id-local = 192.0.2.1\n        secret = "x"\n    }\n' \
           '    ike-evil {\n        secret = "y"\n    }\n}\n'
    tree = swanctl_parse(text)
    assert sorted(strongswan_secrets(tree)) == ['ike-evil', 'ike-t']
    assert strongswan_secrets(tree)['ike-t'] == (b'x', ['192.0.2.1'])


def test_swanctl_model_reads_dots_and_include_as_swanctl_does():
    tree = swanctl_parse('secrets {\n  ike-a.b {\n    id = 192.0.2.1\n    secret = 0x6162\n  }\n}\n')
    # The section parses, but swanctl's owner lookup splits its name at the dot: a key for anyone.
    assert swanctl_lookup(tree, 'secrets.ike-a.b') is None
    with pytest.raises(SwanctlSyntaxError):
        swanctl_parse('connections {\n  include {\n  }\n}\n')
    with pytest.raises(SwanctlSyntaxError):
        swanctl_parse('connections {\n  "x" {\n  }\n}\n')
    assert swanctl_parse('a {\n  b = "x\\"y" z # c\n}\n')['sections']['a']['kv'] == {'b': 'x"y z'}
    assert swanctl_secret_bytes('0X6162') == b'ab'
    assert swanctl_secret_bytes('0sYWI=') == b'ab'


# ---------------------------------------------------------------------------------------
# the property
# ---------------------------------------------------------------------------------------

FIXED_HOST = 'fixed-swan'


def fleet_inventory(hosts, tunnel_name, topology, topology2, peer, key1, key2):
    h1, h2, h3 = hosts
    return {
        'hosts': {
            h1: {'address': '192.0.2.1', 'subnets': ['10.1.0.0/24'], 'os_family': 'FreeBSD'},
            h2: {'address': '192.0.2.2', 'subnets': ['10.2.0.0/24'], 'os_family': 'Debian'},
            h3: {'address': '192.0.2.3', 'subnets': ['10.3.0.0/24'], 'os_family': 'FreeBSD'},
            FIXED_HOST: {'address': '192.0.2.4', 'subnets': ['10.4.0.0/24'], 'os_family': 'Debian'},
        },
        'psk_master': MASTER,
        'management': ['192.0.2.128/25'],
        # racoon (h1) with strongSwan (h2), an explicit key; strongSwan (h2) with an outside peer.
        'tunnels': [{'name': tunnel_name, 'hosts': [h1, h2], 'psk': key1},
                    {'name': 'fixed-out', 'hosts': [h2, {'name': peer, 'address': '203.0.113.9',
                                                         'subnets': ['172.16.0.0/16']}]}],
        'topologies': [
            # racoon only: names with dots are fine.
            {'name': topology, 'type': 'mesh', 'hosts': [h1, h3], 'mode': 'transport', 'psk': key2},
            # strongSwan only, a derived key.
            {'name': topology2, 'type': 'hub_and_spoke', 'hubs': [h2], 'spokes': [FIXED_HOST]},
        ],
    }


def expected_key(inventory, plan, tunnel):
    record = [t for t in plan['tunnels'] if t['name'] == tunnel][0]
    ref = record['psk_ref']
    if ref['source'] == 'derived':
        return derive(MASTER, tunnel, ref['generation']).encode('ascii')
    if ref['origin'].startswith('topology:'):
        key = [t for t in inventory['topologies'] if t['name'] == ref['origin'][len('topology:'):]][0]['psk']
    else:
        key = [t for t in inventory['tunnels'] if t['name'] == tunnel][0]['psk']
    return bytes.fromhex(key[2:]) if key.startswith('0x') else key.encode('ascii')


def check_refusal(error, inventory):
    names = list(inventory['hosts']) + [str(t.get('name')) for t in inventory['tunnels'] + inventory['topologies']]
    names.append(str(inventory['tunnels'][1]['hosts'][1]['name']))
    # A key is never told; a key that is also part of a name may be, as that name.
    keys = [t['psk'] for t in inventory['tunnels'] + inventory['topologies']
            if isinstance(t.get('psk'), str) and not any(t['psk'] in name for name in names)]
    for line in error.errors:
        assert line.isprintable(), line
        for key in keys:
            assert key not in line


def check_rendering(inventory):
    plan = build_plan(inventory)
    plain, mapping, tunnels = plain_names(plan)
    for host in plan['hosts']:
        # A host's name is one path component below the render root.
        assert host not in ('.', '..') and '/' not in host and '\x00' not in host
        assert os.path.dirname(os.path.normpath(os.path.join('/render', host))) == '/render'
        if not plan['hosts'][host]['peers']:
            continue
        files = render(REAL, plan, host, inventory)
        baseline = render(PLAIN, plain, mapping[host], inventory)
        backend = plan['hosts'][host]['backend']
        if backend == 'racoon':
            for name in ('racoon.conf', 'ipsec.conf'):
                assert files[name].count('\n') == baseline[name].count('\n'), name
                assert conf_tokens(files[name]) == conf_tokens(baseline[name]), name
            data = files['psk.txt'].encode('ascii')
            assert data.count(b'\n') == baseline['psk.txt'].count('\n')
            for peer in plan['hosts'][host]['peers']:
                assert racoon_getpsk(data, peer['address']) == expected_key(inventory, plan, peer['tunnel'])
        else:
            for name in ('swanctl.conf', 'secrets.conf'):
                assert files[name].count('\n') == baseline[name].count('\n'), name
            connections = strongswan_connections(swanctl_parse(files['swanctl.conf']))
            plain_connections = strongswan_connections(swanctl_parse(baseline['swanctl.conf']))
            renamed = dict((tunnels.get(name, name), value) for name, value in connections.items())
            assert sorted(renamed) == sorted(plain_connections)
            for name, (section, children) in renamed.items():
                plain_section, plain_children = plain_connections[name]
                assert section['merged'] == 0
                assert section['kv'] == plain_section['kv']
                assert len(children) == len(plain_children)
            secrets = strongswan_secrets(swanctl_parse(files['secrets.conf']))
            plain_secrets = strongswan_secrets(swanctl_parse(baseline['secrets.conf']))
            assert len(secrets) == len(plain_secrets) == len(plan['hosts'][host]['peers'])
            for peer in plan['hosts'][host]['peers']:
                data, owners = secrets['ike-' + peer['tunnel']]
                assert owners == sorted([peer['local_address'], peer['address']])
                assert data == expected_key(inventory, plan, peer['tunnel'])
    # Both ends of the racoon/strongSwan tunnel hold the same bytes.
    h1, h2 = inventory['tunnels'][0]['hosts']
    racoon_key = racoon_getpsk(render(REAL, plan, h1, inventory)['psk.txt'].encode('ascii'), '192.0.2.2')
    swan_key = strongswan_secrets(swanctl_parse(render(REAL, plan, h2, inventory)['secrets.conf']))[
        'ike-' + inventory['tunnels'][0]['name']][0]
    assert racoon_key == swan_key
    return plan


DANGEROUS = '\n\r\t "\'{}#;=%/\\:.,$`[]*\x00\x0b\x0c\x7f\x85\u00b2\u0661\u00e9\u2028\u2029\u202e\ufeff'
WORD = string.ascii_letters + string.digits + '-_.'
PRINTABLE = ''.join(chr(c) for c in range(32, 127))
SPECIAL_NAMES = ['include', 'fleet-bypass-1', 'fleet-bypass', '.', '..', '-', 'connections', 'secrets', 'children',
                 'ike-x', '2001:db8::7', '10.0.0.1', 'a' * 64, 'a' * 65, 'a.b', 'x%s', 'x%n']

names = st.one_of(
    st.text(alphabet=WORD, min_size=1, max_size=70),
    st.text(alphabet=WORD + DANGEROUS, min_size=1, max_size=40),
    st.text(min_size=1, max_size=20),
    st.sampled_from(SPECIAL_NAMES),
)
keys = st.one_of(
    st.text(alphabet=PRINTABLE, min_size=18, max_size=60),
    st.text(alphabet=PRINTABLE + DANGEROUS, min_size=18, max_size=60),
    st.builds(lambda digits: '0x' + digits, st.text(alphabet=string.hexdigits, min_size=16, max_size=60)),
    st.builds(lambda prefix, rest: prefix + rest, st.sampled_from(['0X', '0s', '0S', '0x', ' ', '#', '"']),
              st.text(alphabet=PRINTABLE, min_size=18, max_size=40)),
    st.text(min_size=18, max_size=40),
    st.integers(PSK_MAX_LENGTH - 5, PSK_MAX_LENGTH + 5).map(lambda n: 'k' * n),
)


@SETTINGS
@given(st.lists(names, min_size=3, max_size=3, unique=True), names, names, names, names, keys, keys)
def test_any_input_is_refused_cleanly_or_renders_as_one_word(hosts, tunnel_name, topology, topology2, peer, key1, key2):
    assume(FIXED_HOST not in hosts)
    inventory = fleet_inventory(hosts, tunnel_name, topology, topology2, peer, key1, key2)
    try:
        check_rendering(inventory)
    except ModelError as error:
        check_refusal(error, inventory)


# Names and keys of the documented alphabets: the model must accept them all, and render them safely.
valid_host_names = st.from_regex(r'\A[A-Za-z0-9_][A-Za-z0-9_-]{0,30}\Z')
valid_racoon_host_names = st.from_regex(r'\A[A-Za-z0-9_][A-Za-z0-9._-]{0,60}\Z')
valid_tunnel_names = st.from_regex(r'\A[A-Za-z0-9_][A-Za-z0-9_-]{0,63}\Z').filter(
    lambda name: name != 'include' and not name.startswith('fleet-bypass-'))
valid_topology_names = st.from_regex(r'\A[A-Za-z0-9_][A-Za-z0-9_-]{0,20}\Z').filter(
    lambda name: not (name + '-').startswith('fleet-bypass-'))
valid_peer_names = st.one_of(st.from_regex(r'\A[A-Za-z0-9_][A-Za-z0-9._-]{0,63}\Z'),
                             st.sampled_from(['203.0.113.9', '2001:db8::9']))
valid_keys = st.one_of(
    st.text(alphabet=PRINTABLE.replace('"', '').replace("'", '').replace('\\', '').replace('#', ''),
            min_size=20, max_size=120).map(lambda key: key.strip(' ')).filter(
        lambda key: len(key) >= 20 and key[:2] not in ('0x', '0X', '0s', '0S')),
    st.builds(lambda pairs: '0x' + pairs, st.text(alphabet=string.hexdigits, min_size=9, max_size=200).map(
        lambda digits: digits * 2)),
)


@SETTINGS
@given(st.tuples(valid_racoon_host_names, valid_host_names, valid_racoon_host_names).filter(
    lambda hosts: len(set(hosts)) == 3 and FIXED_HOST not in hosts),
    valid_tunnel_names, valid_topology_names, valid_topology_names, valid_peer_names, valid_keys, valid_keys)
def test_names_and_keys_of_the_documented_alphabets_are_accepted_and_render_as_one_word(
        hosts, tunnel_name, topology, topology2, peer, key1, key2):
    assume(topology != topology2 and peer not in hosts)
    assume(len('%s-%s-%s' % (topology, hosts[0], hosts[2])) <= 100)
    inventory = fleet_inventory(hosts, tunnel_name, topology, topology2, peer, key1, key2)
    assume(tunnel_name not in ('fixed-out',) and not tunnel_name.startswith(topology + '-')
           and not tunnel_name.startswith(topology2 + '-'))
    check_rendering(inventory)


@pytest.mark.parametrize('hosts, tunnel_name, key', [
    (['gluon', 'mason', 'quark'], 'gluon-mason', 'plain-explicit-key-0123456789'),
    (['gluon.example.org', 'swan', 'q.example.org'], 'T_1', '0x' + '0123456789abcdef' * 4),
    (['10.77.0.11', 'swan', '2001:db8::77'], 'x', 'A key, with inner blanks: $ % & ( ) * + ; < = > ? @ [ ] ^ ` { | } ~'),
    # The topology's tunnel name (core-<h1>-<h3>) is at most 100 characters.
    (['a' * 47, 'b' * 30, 'c' * 47], 'y' * 64, 'k' * PSK_MAX_LENGTH),
], ids=['article', 'fqdn-and-hex', 'addresses-and-punctuation', 'longest'])
def test_examples_render_as_one_word(hosts, tunnel_name, key):
    topology = 'core'
    check_rendering(fleet_inventory(hosts, tunnel_name, topology, 'hs', 'office', key, 'other-key-0123456789'))


def test_the_issues_inventories_never_reach_a_template():
    hostile = [
        (['gluon', 'swan', 'quark'], 't\nspdadd 0.0.0.0/0 0.0.0.0/0 any -P out none;\n#', 'plain-explicit-key-0123'),
        (['a\npath certificate "/INJ";\n#', 'swan', 'quark'], 't', 'plain-explicit-key-0123'),
        (['gluon', 'swan', 'quark'], 't', 'abcdefghijklmnopqrstuvwxyz\n203.0.113.66\tATTACKER-KEY'),
        (['gluon', 'swan', 'quark'], 't', 'abcdefghijklmnop"\n    }\n    ike-evil {\n        secret = "x'),
        (['gluon', 'swan', 'quark'], 'x }\n    evil {', 'plain-explicit-key-0123'),
        (['../../../escaped', 'swan', 'quark'], 't', 'plain-explicit-key-0123'),
    ]
    for hosts, tunnel_name, key in hostile:
        inventory = fleet_inventory(hosts, tunnel_name, 'core', 'hs', 'office', key, 'other-key-0123456789')
        with pytest.raises(ModelError) as info:
            build_plan(inventory)
        check_refusal(info.value, inventory)


@pytest.mark.parametrize('name, grammar, fails', [
    ('gluon-mason', 'comment', False),
    ('core-a.example-b', 'comment', False),
    ('ext-v6a-2001:db8::99', 'swanctl', False),
    ('core-a.example-b', 'swanctl', True),
    ('t\nspdadd', 'comment', True),
    ('x {', 'swanctl', True),
    ('-x', 'comment', True),
    ('x' * 116, 'swanctl', True),
    ('x' * 116, 'comment', False),
    ('', 'comment', True),
    (None, 'comment', True),
    ('x', 'yaml', True),
])
def test_safe_name_filter(name, grammar, fails):
    AnsibleFilterError = pytest.importorskip('ansible.errors').AnsibleFilterError
    assert FILTERS
    if fails:
        with pytest.raises(AnsibleFilterError) as info:
            safe_name(name, grammar)
        assert str(info.value).startswith('fleet.ipsec.safe_name: ')
        assert str(info.value).isprintable()
    else:
        assert safe_name(name, grammar) == name
