# -*- coding: utf-8 -*-
# Copyright (c) 2026 fleet.ipsec contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The tunnel model: inventory data in, validated tunnels out.

Pure Python, no Ansible imports, so it is unit-tested directly and reused by the action
plugin, the filters and the verify module alike. Every problem is collected (not raised at
the first one) and names the tunnel, or topology, or host, and the field.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import re
import string
from bisect import bisect_left
from itertools import combinations, product
from operator import attrgetter

from ansible_collections.fleet.ipsec.plugins.module_utils.psk import PSK_MIN_LENGTH, key_problems

MODES = ('tunnel', 'transport')
LEVELS = ('require', 'use', 'unique')
BACKENDS = ('racoon', 'strongswan')
TOPOLOGY_TYPES = ('mesh', 'hub_and_spoke')
# The OS families each backend's roles have a vars/<family>.yml for: the one list of them
# (tests/unit/plugins/module_utils/test_os_families.py holds it equal to the roles' files). A host
# whose family is not in its backend's list would fail at its files step while its peers go on.
BACKEND_OS_FAMILIES = {
    'racoon': ('Debian', 'FreeBSD', 'NetBSD', 'RedHat'),   # roles setkey and racoon
    'strongswan': ('Debian', 'FreeBSD'),                   # role strongswan
}
OS_FAMILIES = tuple(sorted(set(family for families in BACKEND_OS_FAMILIES.values() for family in families)))

# What names may hold (docs/plan.md, "What names and keys may contain"). Tunnel and topology
# names become strongSwan section names, which swanctl splits at '.' when it reads them back;
# host names also name directories (render mode) and appear in every peer's files.
NAME_MAX_LENGTH = 64            # tunnel, topology and outside peer names
HOST_NAME_MAX_LENGTH = 253      # inventory host names: as long as a DNS name may be
# Any tunnel name, a topology's <topology>-<a>-<b> included: swanctl copies
# "connections.<name>.children.<name>-<n>" into 256 bytes and "secrets.ike-<name>" into 128, and
# reads a name cut short there as another (an empty connection, a key without its owners).
TUNNEL_NAME_MAX_LENGTH = 100
# The strongSwan backend's management bypass connections are fleet-bypass-<n>; a tunnel of that
# name would be merged into one of them.
RESERVED_TUNNEL_PREFIX = 'fleet-bypass-'
# Every whole-number field (lifetimes, DPD, DH groups, psk_generation) is at most this.
INT_MAX = 2 ** 31 - 1

# What both racoon (ipsec-tools 0.8) and strongSwan accept, and the kernels implement
# (FreeBSD crypto(9), Linux crypto API). Weaker choices (DES, 3DES, MD5, MODP < 2048)
# are refused on purpose: this collection does not roll out known-broken crypto.
IKE_ENCRYPTIONS = ('aes128', 'aes192', 'aes256')
IKE_HASHES = ('sha1', 'sha256', 'sha384', 'sha512')
ESP_ENCRYPTIONS = ('aes128', 'aes192', 'aes256')
ESP_INTEGRITIES = ('sha1', 'sha256', 'sha384', 'sha512')
DH_GROUPS = {
    'modp2048': 14, 'modp3072': 15, 'modp4096': 16, 'modp6144': 17, 'modp8192': 18,
}
DH_GROUP_NUMBERS = tuple(sorted(DH_GROUPS.values()))
IKE_VERSIONS = (1, 2)
ADDRESS_FAMILIES = {4: 'ipv4', 6: 'ipv6'}

DEFAULT_IKE = {
    'version': 1,
    'exchange_mode': 'main',
    'encryption': 'aes256',
    'hash': 'sha256',
    'dh_group': 14,
    'lifetime': 28800,
    'dpd_delay': 10,
    'dpd_retry': 5,
    'dpd_maxfail': 3,
}
DEFAULT_ESP = {
    'encryption': 'aes256',
    'integrity': 'sha256',
    'pfs_group': 14,
    'lifetime': 3600,
}

TUNNEL_KEYS = frozenset((
    'name', 'hosts', 'mode', 'level', 'selectors', 'ike', 'esp', 'psk', 'psk_generation',
))
TOPOLOGY_KEYS = frozenset((
    'name', 'type', 'hosts', 'hubs', 'spokes', 'mode', 'level', 'ike', 'esp', 'psk',
    'psk_generation',
))
PEER_KEYS = frozenset(('name', 'address', 'subnets'))


class ModelError(Exception):
    """All validation problems of one inventory, reported together."""

    def __init__(self, errors):
        self.errors = list(errors)
        super(ModelError, self).__init__('\n'.join(self.errors))


# The kernels' families: a BSD kernel takes PF_KEY SAs as RFC 4868 says, Linux does not (below).
BSD_FAMILIES = ('FreeBSD', 'NetBSD', 'OpenBSD', 'DragonFly')
# An inventory host whose OS family is not known (no facts, no ipsec_os_family) is taken for the
# main target.
DEFAULT_OS_FAMILY = 'FreeBSD'


def host_platform(raw_host):
    """(os_family, backend) of an inventory host: ipsec_backend if set, else racoon on the BSDs
    (in their base system or ports) and strongSwan on Linux (which dropped ipsec-tools)."""
    os_family = raw_host.get('os_family') or DEFAULT_OS_FAMILY
    backend = raw_host.get('backend')
    if backend in (None, ''):
        backend = 'racoon' if os_family in BSD_FAMILIES else 'strongswan'
    return os_family, backend


class Endpoint:
    """One host that terminates tunnels: an inventory host or a peer given by address.

    `sha256_icv96`: SAs of this end use HMAC-SHA-256 cut to 96 bits. Linux does that for SAs
    installed through PF_KEY, i.e. by racoon (a pre-RFC 4868 draft); XFRM netlink (strongSwan)
    and the BSD kernels use 128 bits. Ends that differ agree on SHA-256 in IKE and then drop
    every packet, so the plan gives such a pair another integrity algorithm.
    """

    __slots__ = ('name', 'address', 'version', 'subnets', 'backend', 'in_inventory', 'sha256_icv96')

    def __init__(self, name, address, version, subnets, backend=None, in_inventory=True, sha256_icv96=False):
        self.name = name
        self.address = address
        self.version = version
        self.subnets = subnets
        self.backend = backend  # as the inventory sets it (ipsec_backend), else None
        self.in_inventory = in_inventory
        self.sha256_icv96 = sha256_icv96

    def __repr__(self):
        return 'Endpoint(%r, %r)' % (self.name, self.address)


class SharedSettings:
    """What a tunnel has in common with the other tunnels of its topology.

    One object per topology (and one per explicit tunnel): the half million tunnels of a
    1,000-host mesh then hold one reference instead of six.
    """

    __slots__ = ('origin', 'mode', 'level', 'ike', 'esp', 'psk_ref')

    def __init__(self, origin, mode, level, ike, esp, psk_ref):
        self.origin = origin
        self.mode = mode
        self.level = level
        self.ike = ike
        self.esp = esp
        self.psk_ref = psk_ref


def _shared(field):
    """A Tunnel attribute that its topology's SharedSettings hold."""
    return property(lambda tunnel: getattr(tunnel.shared, field))


class Tunnel:
    """One validated tunnel between two endpoints.

    `selectors` holds, per end, the networks that end protects. The explicit PSK (if
    any) is deliberately not kept here: the model only checks it, and `psk.resolve`
    looks it up again from the raw inventory inside a no_log task.

    The ends and their selectors are kept in four slots, not two pairs: two tuples fewer
    per tunnel are 70 MB less for a 1,000-host mesh (and a tenth of a second, measured).
    """

    __slots__ = ('name', 'first', 'second', 'first_selectors', 'second_selectors', 'shared')

    origin = _shared('origin')
    mode = _shared('mode')
    level = _shared('level')
    ike = _shared('ike')
    esp = _shared('esp')
    psk_ref = _shared('psk_ref')

    def __init__(self, name, first, second, first_selectors, second_selectors, shared):
        self.name = name
        self.first = first
        self.second = second
        self.first_selectors = first_selectors
        self.second_selectors = second_selectors
        self.shared = shared

    def __repr__(self):
        return 'Tunnel(%r, %s<->%s)' % (self.name, self.first.name, self.second.name)

    @property
    def ends(self):
        return (self.first, self.second)

    @property
    def selectors(self):
        return (self.first_selectors, self.second_selectors)

    @property
    def version(self):
        """4 or 6: both ends' addresses are of one family (the model checks it)."""
        return self.first.version

    @property
    def family(self):
        return ADDRESS_FAMILIES[self.first.version]


_NAME = attrgetter('name')


class Fleet:
    """The validated fleet: endpoints by name, tunnels sorted by name, management networks,
    inventory host names, and each inventory host's (os_family, backend)."""

    def __init__(self, endpoints, tunnels, management, hosts, platforms):
        self.endpoints = endpoints
        self.tunnels = tunnels
        self.management = management
        self.hosts = hosts
        self.platforms = platforms

    def __repr__(self):
        return 'Fleet(%d endpoints, %d tunnels)' % (len(self.endpoints), len(self.tunnels))


_TUNNEL_CHARS = frozenset(string.ascii_letters + string.digits + '-_')
_HOST_CHARS = _TUNNEL_CHARS | frozenset('.')
_ADDRESS_CHARS = frozenset(string.hexdigits + ':.')
_NAME_RULES = {
    # kind: (allowed characters, characters it may not start with, longest, the rule in words)
    'tunnel': (_TUNNEL_CHARS, '-', NAME_MAX_LENGTH, "ASCII letters, digits, '-' and '_'"),
    'topology': (_TUNNEL_CHARS, '-', NAME_MAX_LENGTH, "ASCII letters, digits, '-' and '_'"),
    'peer': (_HOST_CHARS, '.-', NAME_MAX_LENGTH, "ASCII letters, digits, '.', '-' and '_' (or be an IP address)"),
    'host': (_HOST_CHARS, '.-', HOST_NAME_MAX_LENGTH,
             "ASCII letters, digits, '.', '-' and '_' (or be an IP address)"),
}
_PLAIN_TEXT = re.compile(r'[ -\[\]-~]*\Z')     # printable ASCII but the backslash
_ESCAPES = {'\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t'}


def shown(text, limit=260):
    """`text` as a message may quote it: one line of printable ASCII (line breaks, control and
    non-ASCII characters and backslashes escaped), cut after `limit` characters. Any name the
    model accepts is shown as it is."""
    if not isinstance(text, str):
        text = str(text)
    if len(text) <= limit and _PLAIN_TEXT.match(text):
        return text
    out = []
    for char in text[:limit]:
        code = ord(char)
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif 32 <= code < 127:
            out.append(char)
        elif code < 256:
            out.append('\\x%02x' % code)
        elif code < 65536:
            out.append('\\u%04x' % code)
        else:
            out.append('\\U%08x' % code)
    if len(text) > limit:
        out.append('...')
    return ''.join(out)


def _backend_families(backend):
    """The OS families `backend` supports; all of them for a backend that is not one (reported
    as a wrong ipsec_backend elsewhere)."""
    if isinstance(backend, str) and backend in BACKEND_OS_FAMILIES:
        return BACKEND_OS_FAMILIES[backend]
    return OS_FAMILIES


def _is_address_name(name):
    return set(name) <= _ADDRESS_CHARS and parse_address(name) is not None


def name_problem(name, kind):
    """Why `name` cannot be the name of a `kind` ('tunnel', 'topology', 'peer', 'host'), or None.

    Names reach configuration files (as comments, and as strongSwan section names) and paths,
    so each is one word of a few safe characters: see NAME_MAX_LENGTH and docs/plan.md.
    """
    chars, bad_starts, longest, rule = _NAME_RULES[kind]
    if not isinstance(name, str) or not name:
        return 'must be a non-empty string'
    if kind in ('host', 'peer') and _is_address_name(name):
        return None
    bad = []
    for char in name:
        if char not in chars and char not in bad:
            bad.append(char)
    starts_badly = name[0] in bad_starts
    if not bad and not starts_badly and len(name) <= longest:
        # A topology's tunnels are named <topology>-<a>-<b>.
        if (kind == 'tunnel' and name.startswith(RESERVED_TUNNEL_PREFIX)) or \
                (kind == 'topology' and (name + '-').startswith(RESERVED_TUNNEL_PREFIX)):
            return ("names starting with '%s' are reserved (the strongSwan backend names its management bypass "
                    "connections so)" % RESERVED_TUNNEL_PREFIX)
        if kind == 'tunnel' and name == 'include':
            return "'include' is reserved: swanctl reads a section of that name as an include statement"
        return None
    what = []
    if bad:
        what.append('has %s' % ', '.join("'%s'" % shown(char) for char in bad[:6]) + (', ...' if len(bad) > 6 else ''))
    if starts_badly:
        what.append("starts with '%s'" % name[0])
    if len(name) > longest:
        what.append('is %d characters long' % len(name))
    return 'may contain only %s, must not start with %s and must be at most %d characters long; this one %s' % (
        rule, ' or '.join("'%s'" % char for char in bad_starts), longest, ' and '.join(what))


# What the templates write names with (the fleet.ipsec.safe_name filter): a second line of
# defence behind the checks above, which every name in the plan has passed. Tunnel names a
# topology made hold host names, so '.' and (IPv6 peers) ':'; a strongSwan section name may not
# hold '.', and swanctl copies "secrets.ike-<name>" into 128 bytes.
_WORD_CHARS = _HOST_CHARS | frozenset(':')
_SECTION_CHARS = _TUNNEL_CHARS | frozenset(':')
CONFIG_WORD_GRAMMARS = {
    'comment': (_WORD_CHARS, HOST_NAME_MAX_LENGTH),
    'swanctl': (_SECTION_CHARS, 115),
}


def config_word_problem(word, grammar='comment'):
    """Why `word` (a tunnel, child, host or peer name) cannot be written as one word into a
    configuration file, in a comment or (grammar 'swanctl') as a swanctl section name; or None."""
    if grammar not in CONFIG_WORD_GRAMMARS:
        return 'unknown grammar %r; use one of %s' % (grammar, ', '.join(sorted(CONFIG_WORD_GRAMMARS)))
    chars, longest = CONFIG_WORD_GRAMMARS[grammar]
    if not isinstance(word, str) or not word:
        return 'is not a non-empty string'
    bad = sorted(set(char for char in word if char not in chars))
    if bad:
        return 'has %s' % ', '.join("'%s'" % shown(char) for char in bad[:6])
    if word[0] in '.-':
        return "starts with '%s'" % word[0]
    if len(word) > longest:
        return 'is %d characters long (at most %d)' % (len(word), longest)
    return None


class _Errors:
    def __init__(self):
        self.items = []

    def add(self, where, field, message):
        self.items.append('%s: %s: %s' % (where, field, message) if field else '%s: %s' % (where, message))


_address_cache = {}
_network_cache = {}


def parse_address(text):
    """Return (normalized text, version) for an IP address, or None."""
    if not isinstance(text, str):
        return None
    hit = _address_cache.get(text)
    if hit is None:
        # A zone id (fe80::1%em0) names an interface, which neither setkey nor ip-xfrm
        # selectors can carry.
        if '%' in text:
            return None
        try:
            ip = ipaddress.ip_address(text.strip())
        except ValueError:
            return None
        hit = _address_cache[text] = (str(ip), ip.version)
    return hit


def parse_network(text):
    """Return a Selector for a network (a bare address means the host), or None.

    Host bits set (10.1.0.1/24) are an error, not silently masked: the operator meant
    something and should say which.
    """
    if not isinstance(text, str):
        return None
    hit = _network_cache.get(text)
    if hit is None:
        if '%' in text:
            return None
        try:
            net = ipaddress.ip_network(text.strip(), strict=True)
        except ValueError:
            return None
        hit = _network_cache[text] = Selector(net)
    return hit


class Selector:
    """A CIDR network a policy matches, with the integers the overlap check needs."""

    __slots__ = ('text', 'version', 'start', 'end', 'prefixlen')

    def __init__(self, net):
        self.text = str(net)
        self.version = net.version
        self.start = int(net.network_address)
        self.end = int(net.broadcast_address)
        self.prefixlen = net.prefixlen

    def contains(self, other):
        return self.version == other.version and self.start <= other.start and other.end <= self.end

    def __repr__(self):
        return 'Selector(%r)' % self.text


def _host_selector(address, version):
    return parse_network('%s/%d' % (address, 32 if version == 4 else 128))


def _peer_name(raw):
    """The name of a peer outside the inventory given as a mapping: its name, else its address
    (normalised when it is one, so that it is the same endpoint as the bare address)."""
    name = raw.get('name')
    if name not in (None, ''):
        return name
    address = raw.get('address')
    parsed = parse_address(address)
    return parsed[0] if parsed else address


def _subnet_text(endpoint):
    return ' with subnets %s' % ', '.join(s.text for s in endpoint.subnets) if endpoint.subnets else ''


def _as_list(value):
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


_ASCII_DIGITS = re.compile(r'[0-9]{1,18}\Z')


def _whole_number(value):
    """An int given as one (a bool is not one) or as plain ASCII digits, else None.

    Not str.isdigit() or int(): isdigit() takes superscript digits (which int() then fails on)
    and other scripts' digits (which int() reads), int() also ' 12 ' and '1_000'.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and _ASCII_DIGITS.match(value):
        return int(value)
    return None


def _normalize_dh(value):
    if isinstance(value, str):
        lowered = value.lower()
        if lowered in DH_GROUPS:
            return DH_GROUPS[lowered]
    number = _whole_number(value)
    if number in DH_GROUP_NUMBERS:
        return number
    return None


def _positive_int(value):
    number = _whole_number(value)
    if number is not None and 0 < number <= INT_MAX:
        return number
    return None


_ALGORITHMS = {
    'ike': {'encryption': IKE_ENCRYPTIONS, 'hash': IKE_HASHES},
    'esp': {'encryption': ESP_ENCRYPTIONS, 'integrity': ESP_INTEGRITIES},
}
_DH_CHOICES = ', '.join('%s (%d)' % (name, group) for group, name in sorted((g, n) for n, g in DH_GROUPS.items()))


def _check_proposals(where, raw, defaults, kind, errors):
    """Merge a tunnel's ike/esp overrides onto the defaults, validating each field."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        errors.add(where, kind, 'must be a mapping, got %r' % (raw,))
        return dict(defaults)
    merged = dict(defaults)
    for key, value in raw.items():
        field = '%s.%s' % (kind, shown(key))
        algorithms = _ALGORITHMS[kind].get(key)
        if key not in defaults:
            errors.add(where, field, 'unknown field; known: %s' % ', '.join(sorted(defaults)))
        elif key == 'pfs_group' and value in ('none', None, False, 0):
            merged[key] = 0
        elif key in ('dh_group', 'pfs_group'):
            number = _normalize_dh(value)
            if number is None:
                errors.add(where, field, '%r is not a supported group; use one of %s (modp2048 or stronger)'
                           % (value, _DH_CHOICES))
            else:
                merged[key] = number
        elif algorithms is not None:
            if value not in algorithms:
                errors.add(where, field, '%r is not a supported algorithm; use one of %s'
                           % (value, ', '.join(algorithms)))
            else:
                merged[key] = value
        elif key == 'version':
            number = _whole_number(value)
            if number not in IKE_VERSIONS:
                errors.add(where, field, '%r is not an IKE version; use 1 or 2' % (value,))
            else:
                merged[key] = number
        elif key == 'exchange_mode':
            if value != 'main':
                errors.add(where, field, '%r is not supported; only main mode is (aggressive mode leaks the PSK hash)' % (value,))
        else:
            number = _positive_int(value)
            if number is None:
                errors.add(where, field, '%r is not a positive whole number of seconds or tries (at most %d, '
                           'in ASCII digits)' % (value, INT_MAX))
            else:
                merged[key] = number
    return merged


HOST_FIELDS = ('ipsec_address', 'ipsec_subnets', 'ipsec_backend')


def _cuts_sha256_to_96_bits(platform):
    """True for racoon on Linux: see Endpoint."""
    os_family, backend = platform
    return backend == 'racoon' and os_family not in BSD_FAMILIES


def _endpoint(name, raw, errors, where, fields, platform=None):
    """An endpoint from a host's ipsec_* variables, or (platform None) from a peer mapping in
    a tunnel, which is outside the inventory.

    None when no address is given, False when what is given is wrong (already reported).
    """
    raw_address = raw.get('address')
    if raw_address in (None, ''):
        return None
    parsed = parse_address(raw_address)
    if parsed is None:
        errors.add(where, fields[0], '%r is not an IP address' % (raw_address,))
        return False
    address, version = parsed
    subnets = []
    for index, text in enumerate(_as_list(raw.get('subnets'))):
        selector = parse_network(text)
        if selector is None:
            errors.add(where, '%s[%d]' % (fields[1], index), '%r is not an IP network' % (text,))
        else:
            subnets.append(selector)
    backend = raw.get('backend')
    if backend not in (None, '') and backend not in BACKENDS:
        errors.add(where, fields[2], '%r is not a backend; use one of %s' % (backend, ', '.join(BACKENDS)))
        backend = None
    in_inventory = platform is not None
    # An invalid backend fails the build, so the platform's unchecked one decides only valid fleets.
    icv96 = in_inventory and _cuts_sha256_to_96_bits(platform)
    return Endpoint(name, address, version, tuple(subnets), backend or None, in_inventory, icv96)


class _Builder:
    """Validates raw inventory data and builds the Fleet; one instance per build."""

    def __init__(self, inventory):
        self.errors = _Errors()
        self.hosts = inventory.get('hosts') or {}
        # Also for hosts without an address: each gets a slice in the plan.
        self.platforms = dict((name, host_platform(raw or {})) for name, raw in self.hosts.items())
        defaults = inventory.get('defaults') or {}
        self.defaults_ike = _check_proposals('defaults', defaults.get('ike'), DEFAULT_IKE, 'ike', self.errors)
        self.defaults_esp = _check_proposals('defaults', defaults.get('esp'), DEFAULT_ESP, 'esp', self.errors)
        self.default_level = defaults.get('level', 'require')
        self.default_generation = defaults.get('psk_generation', 1)
        master = inventory.get('psk_master')
        self.has_master = master not in (None, '')
        if self.has_master and (not isinstance(master, str) or len(master) < PSK_MIN_LENGTH):
            self.errors.add('ipsec_psk_master', None, 'must be a string of at least %d characters' % PSK_MIN_LENGTH)
        self.endpoints = {}
        self._host_endpoints = {}
        self.tunnels = []
        self._names = {}
        self._pairs = {}
        self._proposal_cache = {}
        self._peers = {}
        self._by_address = {}
        self._topology_names = {}
        # Inventory hosts and outside peers whose names were refused (reported once, by name).
        self._bad_names = set()

    # -- endpoints -------------------------------------------------------------------

    def host_endpoint(self, name):
        """The endpoint of an inventory host, or None when it has no usable address."""
        if name not in self._host_endpoints:
            endpoint = _endpoint(name, self.hosts[name] or {}, self.errors, "host '%s'" % shown(name), HOST_FIELDS,
                                 self.platforms[name])
            self._host_endpoints[name] = endpoint
            if endpoint:
                self.endpoints[name] = endpoint
        return self._host_endpoints[name]

    def define_peers(self, tunnels, topologies):
        """First pass: index inventory hosts by address and define every outside peer.

        Done before any tunnel is built, so a peer given as a mapping in one place and by
        bare address in another is the same endpoint whatever the order of the lists.
        """
        for name in self.hosts:
            problem = name_problem(name, 'host')
            if problem:
                # Its name would be a directory (render mode) and a word in every peer's files.
                self.errors.add("host '%s'" % shown(name), 'name', problem)
                self._bad_names.add(name)
            endpoint = self.host_endpoint(name)
            if endpoint:
                self._by_address.setdefault(endpoint.address, endpoint)
        places = []
        for index, raw in enumerate(tunnels):
            if isinstance(raw, dict) and isinstance(raw.get('hosts'), (list, tuple)):
                where = "tunnel '%s'" % shown(raw.get('name')) if raw.get('name') else 'ipsec_tunnels[%d]' % index
                places.extend((where, 'hosts[%d]' % i, item) for i, item in enumerate(raw['hosts']))
        for index, raw in enumerate(topologies):
            if not isinstance(raw, dict):
                continue
            where = "topology '%s'" % shown(raw.get('name')) if raw.get('name') else 'ipsec_topologies[%d]' % index
            for field in ('hosts', 'hubs', 'spokes'):
                if isinstance(raw.get(field), (list, tuple)):
                    places.extend((where, '%s[%d]' % (field, i), item) for i, item in enumerate(raw[field]))
        for where, field, item in places:
            if isinstance(item, dict):
                self._define_peer(where, field, item)

    def _define_peer(self, where, field, raw):
        if self.unknown_fields(where, field, raw, PEER_KEYS):
            return
        name = _peer_name(raw)
        if not isinstance(name, str):
            self.errors.add(where, field, 'a peer outside the inventory needs a name or an address')
            return
        if raw.get('name') not in (None, ''):
            problem = name_problem(name, 'peer')
            if problem:
                self.errors.add(where, '%s.name' % field, problem)
                return
        if name in self.hosts:
            self.errors.add(where, field, "'%s' is an inventory host; name it by its inventory name only" % shown(name))
            return
        fields = ('%s.address' % field, '%s.subnets' % field, '%s.backend' % field)
        endpoint = _endpoint(name, raw, self.errors, where, fields)
        if endpoint is None:
            self.errors.add(where, field, "peer '%s' outside the inventory needs an address" % (name,))
        if not endpoint:
            return
        known = self._peers.get(name) or self._by_address.get(endpoint.address)
        if known is None:
            self._peers[name] = self._by_address[endpoint.address] = self.endpoints[name] = endpoint
        elif (known.name, known.address, known.subnets) != (endpoint.name, endpoint.address, endpoint.subnets):
            self.errors.add(where, field, "peer '%s' (%s%s) is defined differently elsewhere: '%s' (%s%s)"
                            % (endpoint.name, endpoint.address, _subnet_text(endpoint), known.name, known.address,
                               _subnet_text(known)))

    def resolve_end(self, where, field, raw):
        """An end of a tunnel: an inventory host name, an address, or a mapping for a peer outside.

        Mappings were checked by define_peers; their errors are not repeated here.
        """
        if isinstance(raw, dict):
            name = _peer_name(raw)
            return self._peers.get(name) if isinstance(name, str) else None
        if not isinstance(raw, str) or not raw:
            self.errors.add(where, field, '%r is not a host name or address' % (raw,))
            return None
        if raw in self.hosts:
            endpoint = self.host_endpoint(raw)
            if endpoint is None:
                self.errors.add(where, field, "host '%s' has no ipsec_address (and no default address was found)"
                                % shown(raw))
            return endpoint or None
        parsed = parse_address(raw)
        if parsed is None:
            self.errors.add(where, field, "host '%s' is neither in the inventory nor given an address" % shown(raw))
            return None
        # An inventory host or a defined peer named by its address is that same endpoint.
        known = self._by_address.get(parsed[0])
        if known is None:
            known = self._by_address[parsed[0]] = self.endpoints[parsed[0]] = Endpoint(
                parsed[0], parsed[0], parsed[1], (), None, False)
        return known

    # -- tunnels ---------------------------------------------------------------------

    def proposals(self, where, raw_ike, raw_esp):
        key = (repr(raw_ike), repr(raw_esp))
        hit = self._proposal_cache.get(key)
        if hit is None:
            errors_before = len(self.errors.items)
            ike = _check_proposals(where, raw_ike, self.defaults_ike, 'ike', self.errors)
            esp = _check_proposals(where, raw_esp, self.defaults_esp, 'esp', self.errors)
            if len(self.errors.items) != errors_before:
                return ike, esp
            hit = self._proposal_cache[key] = (ike, esp)
        return hit

    def selectors_for(self, where, end, raw, mode, version):
        """The networks one end protects: given, or its subnets, or its own address."""
        if raw is None:
            subnets = tuple(s for s in end.subnets if s.version == version) if mode == 'tunnel' else ()
            return subnets or (_host_selector(end.address, version),)
        field = 'selectors.%s' % shown(end.name)
        if not _as_list(raw):
            self.errors.add(where, field, 'is empty; leave it out to protect the default networks')
            return ()
        selectors = []
        seen = set()
        for index, text in enumerate(_as_list(raw)):
            selector = parse_network(text)
            if selector is None:
                self.errors.add(where, '%s[%d]' % (field, index), '%r is not an IP network' % (text,))
                continue
            if selector.version != version:
                self.errors.add(where, '%s[%d]' % (field, index),
                                "'%s' is IPv%d but the tunnel's endpoints are IPv%d (one address family per tunnel)"
                                % (selector.text, selector.version, version))
                continue
            if selector.text in seen:
                self.errors.add(where, '%s[%d]' % (field, index), "'%s' is listed twice" % selector.text)
                continue
            seen.add(selector.text)
            if mode == 'transport' and selector.text != _host_selector(end.address, version).text:
                self.errors.add(where, '%s[%d]' % (field, index),
                                "transport mode protects only the endpoints themselves; '%s' is not %s"
                                % (selector.text, end.address))
                continue
            selectors.append(selector)
        return tuple(selectors)

    def settings(self, where, raw, origin):
        """Validate the fields a tunnel shares with its topology; None when any is wrong."""
        errors_before = len(self.errors.items)
        mode = raw.get('mode', 'tunnel')
        if mode not in MODES:
            self.errors.add(where, 'mode', '%r is not a mode; use one of %s' % (mode, ', '.join(MODES)))
        level = raw.get('level', self.default_level)
        if level not in LEVELS:
            self.errors.add(where, 'level', '%r is not a level; use one of %s' % (level, ', '.join(LEVELS)))
        ike, esp = self.proposals(where, raw.get('ike'), raw.get('esp'))
        generation = _positive_int(raw.get('psk_generation', self.default_generation))
        if generation is None:
            self.errors.add(where, 'psk_generation', '%r is not a positive whole number (at most %d, in ASCII digits)'
                            % (raw.get('psk_generation', self.default_generation), INT_MAX))
        psk = raw.get('psk')
        psk_source = None
        if psk not in (None, ''):
            psk_source = 'explicit'
            # The value itself is never echoed: key_problems says what is wrong, not what it is.
            for problem in key_problems(psk):
                self.errors.add(where, 'psk', problem)
        elif self.has_master:
            psk_source = 'derived'
        else:
            self.errors.add(where, 'psk', 'no psk is set and there is no ipsec_psk_master to derive one from')
        if len(self.errors.items) != errors_before:
            return None
        # One psk_ref serves every tunnel of a topology: the tunnel's own name, which the
        # derivation label needs, is beside it in each plan record.
        psk_ref = {'source': psk_source, 'generation': generation, 'origin': origin}
        return SharedSettings(origin, mode, level, ike, esp, psk_ref)

    def unknown_fields(self, where, field, raw, known):
        """Report fields of `raw` not in `known`; True when there were any.

        YAML may give non-string keys (1:, yes:), hence str().
        """
        unknown = sorted(shown(key) for key in raw if key not in known)
        if unknown:
            self.errors.add(where, field, 'unknown field(s) %s; known: %s' % (', '.join(unknown), ', '.join(sorted(known))))
        return bool(unknown)

    def claim_name(self, where, name, origin):
        first = self._names.get(name)
        if first is not None:
            self.errors.add(where, 'name', 'duplicate tunnel name (first defined in %s)' % first)
            return False
        self._names[name] = origin
        return True

    def add_tunnel(self, raw, where, name_ok=True):
        """One entry of ipsec_tunnels; with a refused name (`name_ok` False) it is checked, not built."""
        self.unknown_fields(where, None, raw, TUNNEL_KEYS)
        name = raw['name']
        if name_ok and not self.claim_name(where, name, 'ipsec_tunnels'):
            return
        hosts = raw.get('hosts')
        if not isinstance(hosts, (list, tuple)) or len(hosts) != 2:
            self.errors.add(where, 'hosts', 'must list exactly two ends, got %r' % (hosts,))
            return
        ends = [self.resolve_end(where, 'hosts[%d]' % index, item) for index, item in enumerate(hosts)]
        settings = self.settings(where, raw, 'ipsec_tunnels')
        raw_selectors = raw.get('selectors')
        if raw_selectors is None:
            raw_selectors = {}
        elif not isinstance(raw_selectors, dict):
            self.errors.add(where, 'selectors', 'must map each end to its networks')
            return
        if None in ends:
            return
        a, b = ends
        unknown = sorted(shown(k) for k in raw_selectors if k not in (a.name, b.name, a.address, b.address))
        if unknown:
            self.errors.add(where, 'selectors', 'names no end of this tunnel: %s' % ', '.join(unknown))
            return
        if not self.check_pair(where, name, a, b, settings):
            return
        errors_before = len(self.errors.items)
        a_selectors = self.selectors_for(where, a, raw_selectors.get(a.name, raw_selectors.get(a.address)),
                                         settings.mode, a.version)
        b_selectors = self.selectors_for(where, b, raw_selectors.get(b.name, raw_selectors.get(b.address)),
                                         settings.mode, a.version)
        if len(self.errors.items) == errors_before and name_ok:
            self.tunnels.append(Tunnel(name, a, b, a_selectors, b_selectors, settings))

    def check_pair(self, where, name, a, b, settings):
        """Check a pair of ends and claim it for tunnel `name`; True if the tunnel may be built.

        The ends are checked even when the tunnel's settings were wrong (`settings` None),
        so one run reports both kinds of problem.
        """
        if a is b or a.address == b.address:
            self.errors.add(where, 'hosts', "a tunnel from '%s' to itself" % shown(a.name))
            return False
        if a.version != b.version:
            self.errors.add(where, 'hosts', "'%s' is IPv%d and '%s' is IPv%d (one address family per tunnel)"
                            % (shown(a.name), a.version, shown(b.name), b.version))
            return False
        if not (a.in_inventory or b.in_inventory):
            self.errors.add(where, 'hosts', 'neither end is an inventory host, so no host would carry this tunnel')
            return False
        # Keyed on addresses: an inventory host named once by name and once by address is
        # still the same pair.
        pair = (a.address, b.address) if a.address < b.address else (b.address, a.address)
        first = self._pairs.get(pair)
        if first is not None:
            self.errors.add(where, 'hosts', "'%s' and '%s' are already paired by tunnel '%s'"
                            % (shown(a.name), shown(b.name), shown(first)))
            return False
        self._pairs[pair] = name
        if settings is None:
            return False
        if settings.ike['version'] == 2 and (a.backend == 'racoon' or b.backend == 'racoon'):
            self.errors.add(where, 'ike.version', 'racoon speaks IKEv1 only; an end here runs racoon')
            return False
        return True

    def add_topology(self, index, raw):
        if not isinstance(raw, dict):
            self.errors.add('ipsec_topologies[%d]' % index, None, 'must be a mapping')
            return
        name = raw.get('name')
        where = "topology '%s'" % shown(name) if name else 'ipsec_topologies[%d]' % index
        if not name or not isinstance(name, str):
            self.errors.add(where, 'name', 'is required')
            return
        # A refused or repeated name is reported once, and its topology is checked but not expanded.
        name_ok = True
        problem = name_problem(name, 'topology')
        if problem:
            self.errors.add(where, 'name', problem)
            name_ok = False
        first = self._topology_names.setdefault(name, index)
        if first != index:
            # psk.resolve finds a topology's explicit key by its name: both would get the first's.
            self.errors.add(where, 'name', "ipsec_topologies[%d] and ipsec_topologies[%d] are both named '%s'; "
                            'topology names must be unique' % (first, index, shown(name)))
            name_ok = False
        unknown = self.unknown_fields(where, None, raw, TOPOLOGY_KEYS)
        origin = 'topology:%s' % name
        # The shared settings first, so a structural problem below does not hide them.
        settings = self.settings(where, raw, origin)
        kind = raw.get('type')
        well_formed = False
        if kind == 'mesh':
            members = self._members(where, raw, 'hosts')
            well_formed = True
        elif kind == 'hub_and_spoke':
            hubs = self._members(where, raw, 'hubs')
            spokes = self._members(where, raw, 'spokes')
            both = set(h.name for h in hubs) & set(s.name for s in spokes)
            if both:
                self.errors.add(where, 'spokes', 'also listed as hubs: %s' % ', '.join(sorted(both)))
            else:
                well_formed = True
        else:
            self.errors.add(where, 'type', '%r is not a topology type; use one of %s' % (kind, ', '.join(TOPOLOGY_TYPES)))
        # Validated once above for the whole topology; per pair only what differs is checked.
        if unknown or not well_formed or not name_ok:
            return
        if kind == 'mesh':
            pairs = combinations(members, 2)
        else:
            members = hubs + spokes
            pairs = product(hubs, spokes)
        # A topology names no selectors, so a member protects the same networks in each of its
        # tunnels: worked out once here, not per pair (check_pair keeps each pair to one family).
        selectors = {}
        if settings is not None:
            selectors = dict((member.name, self.selectors_for(where, member, None, settings.mode, member.version))
                             for member in members)
        # The names of its tunnels are checked per pair only where one of them could be refused.
        check_names = self._made_names_need_checks(name, members)
        for left, right in pairs:
            # Mesh pairs are named in sorted order, so reordering a group renames (and
            # re-keys) nothing; hub-and-spoke names say which end is the hub.
            if kind == 'mesh' and right.name < left.name:
                left, right = right, left
            tunnel_name = '%s-%s-%s' % (name, left.name, right.name)
            # Plain when nothing needs checking: its parts passed their checks (and it saves a
            # second on a 1,000-host mesh).
            pair_where = "tunnel '%s' (topology '%s')" % (shown(tunnel_name) if check_names else tunnel_name, name)
            if check_names and not self._made_name_ok(pair_where, tunnel_name, left, right):
                continue
            if self.claim_name(pair_where, tunnel_name, origin) and \
                    self.check_pair(pair_where, tunnel_name, left, right, settings):
                self.tunnels.append(Tunnel(tunnel_name, left, right, selectors[left.name], selectors[right.name],
                                           settings))

    def _runs_strongswan(self, endpoint):
        return endpoint.in_inventory and self.platforms[endpoint.name][1] == 'strongswan'

    def _made_names_need_checks(self, topology, members):
        """Whether any <topology>-<a>-<b> of these members could be refused by _made_name_ok."""
        if not members:
            return False
        longest = max(len(member.name) for member in members)
        dotted = any('.' in member.name for member in members)
        return (len(topology) + 2 + 2 * longest > TUNNEL_NAME_MAX_LENGTH
                or RESERVED_TUNNEL_PREFIX.startswith(topology + '-')
                or any(member.name in self._bad_names for member in members)
                or (dotted and any(self._runs_strongswan(member) for member in members)))

    def _made_name_ok(self, where, name, left, right):
        """Check the name a topology made for a pair; its parts were checked already."""
        if left.name in self._bad_names or right.name in self._bad_names:
            return False    # that host's name is reported, once
        ok = True
        if len(name) > TUNNEL_NAME_MAX_LENGTH:
            self.errors.add(where, 'name', "is %d characters long, and a tunnel name may be at most %d (strongSwan's "
                            'swanctl cuts longer ones short when it reads them); shorten the names of the topology '
                            'or of its hosts' % (len(name), TUNNEL_NAME_MAX_LENGTH))
            ok = False
        if name.startswith(RESERVED_TUNNEL_PREFIX):
            self.errors.add(where, 'name', "names starting with '%s' are reserved (the strongSwan backend names its "
                            'management bypass connections so)' % RESERVED_TUNNEL_PREFIX)
            ok = False
        if '.' in name:
            swan = [end.name for end in (left, right) if self._runs_strongswan(end)]
            if swan:
                self.errors.add(where, 'name', "holds '.', which strongSwan's swanctl reads as a separator in the "
                                "names of connections and secrets (it would load them without their settings), "
                                "and '%s' runs strongSwan; give the hosts of this topology names without '.'"
                                % shown(swan[0]))
                ok = False
        return ok

    def _members(self, where, raw, field):
        """The endpoints a topology lists under `field`, each resolved once."""
        members = raw.get(field)
        if not isinstance(members, (list, tuple)) or not members:
            self.errors.add(where, field, 'must be a non-empty list of hosts')
            return []
        seen = set()
        result = []
        for index, member in enumerate(members):
            endpoint = self.resolve_end(where, '%s[%d]' % (field, index), member)
            if endpoint is None:
                continue
            if endpoint.name in seen:
                self.errors.add(where, '%s[%d]' % (field, index), "'%s' is listed twice" % (shown(endpoint.name),))
                continue
            seen.add(endpoint.name)
            result.append(endpoint)
        return result

    # -- cross-tunnel checks ---------------------------------------------------------

    def check_overlaps(self):
        """Reject selector pairs on one host that let two tunnels claim the same traffic.

        CIDR blocks are nested or disjoint, so two selector pairs overlap only when both
        their local and their remote networks nest. Nested pairs are fine (the more
        specific pair has the higher precedence); equal pairs, or pairs nested crosswise
        (local narrower but remote wider), leave the kernel's choice undefined.
        """
        by_host = {}
        for tunnel in self.tunnels:
            for end, locals_, remotes in ((tunnel.first, tunnel.first_selectors, tunnel.second_selectors),
                                          (tunnel.second, tunnel.second_selectors, tunnel.first_selectors)):
                if not end.in_inventory:
                    continue
                groups = by_host.get(end.name)
                if groups is None:
                    groups = by_host[end.name] = {}
                for local in locals_:
                    entry = groups.get(local.text)
                    if entry is None:
                        entry = groups[local.text] = (local, {})
                    group = entry[1]
                    for remote in remotes:
                        owner = group.setdefault(remote.text, tunnel)
                        if owner is not tunnel:
                            self._overlap(end.name, tunnel, owner, local, remote, local, remote)
        for host, groups in by_host.items():
            locals_ = [groups[k][0] for k in groups]
            if len(locals_) < 2:
                continue
            for narrow in locals_:
                for wide in locals_:
                    if narrow is wide or not wide.contains(narrow):
                        continue
                    self._crosswise(host, narrow, groups[narrow.text][1], wide, groups[wide.text][1])

    def _crosswise(self, host, narrow, narrow_remotes, wide, wide_remotes):
        """A narrow local with a remote strictly wider than one of a wide local's remotes."""
        entries = sorted((s.version, s.start, s.prefixlen, s.text)
                         for s in (parse_network(text) for text in wide_remotes))
        keys = [(entry[0], entry[1]) for entry in entries]
        for text, tunnel in narrow_remotes.items():
            remote = parse_network(text)
            position = bisect_left(keys, (remote.version, remote.start))
            while position < len(entries):
                version, start, prefixlen, other_text = entries[position]
                if version != remote.version or start > remote.end:
                    break
                # Same start and no longer prefix: it contains or equals `remote`, a nested
                # (unambiguous) pair. Anything else starting inside `remote` lies within it.
                if start > remote.start or prefixlen > remote.prefixlen:
                    owner = wide_remotes[other_text]
                    if owner is not tunnel:
                        self._overlap(host, tunnel, owner, narrow, remote, wide, parse_network(other_text))
                        break
                position += 1

    def _overlap(self, host, tunnel, other, local, remote, other_local, other_remote):
        self.errors.add("tunnel '%s'" % shown(tunnel.name), 'selectors.%s' % shown(host),
                        "on host '%s', %s -> %s claims the same traffic as tunnel '%s' (%s -> %s)"
                        % (shown(host), local.text, remote.text, shown(other.name), other_local.text, other_remote.text))

    def check_os_families(self):
        """Each inventory host's OS family must be one its backend's roles know (BACKEND_OS_FAMILIES).

        ipsec_os_family is checked on every host: it names a vars file the roles load. A gathered
        os_family is checked only on hosts that carry a tunnel, the only ones that load one.
        """
        # (A backend that is no string is reported as a wrong ipsec_backend, and checked like one here.)
        suspect = [name for name, (family, backend) in self.platforms.items()
                   if not (isinstance(family, str) and family in _backend_families(backend))]
        if not suspect:
            return
        carrying = set()
        for tunnel in self.tunnels:
            carrying.add(tunnel.first.name)
            carrying.add(tunnel.second.name)
        for name in sorted(suspect, key=str):
            raw = self.hosts[name] or {}
            family, backend = self.platforms[name]
            gathered = bool(raw.get('os_family_gathered'))
            if gathered and name not in carrying:
                continue
            where = "host '%s'" % shown(name)
            field = 'os_family (gathered)' if gathered else 'ipsec_os_family'
            if not isinstance(family, str) or family not in OS_FAMILIES:
                self.errors.add(where, field, '%r is not an OS family the roles support; use one of %s%s'
                                % (family, ', '.join(OS_FAMILIES), ', or set ipsec_os_family' if gathered else ''))
            elif name in carrying and family not in _backend_families(backend):
                self.errors.add(where, field, "'%s' is not an OS family the %s backend supports (%s); set ipsec_backend, "
                                'or run this host on one of those' % (family, backend,
                                                                      ', '.join(BACKEND_OS_FAMILIES[backend])))

    def check_management(self, management, raw_allowed):
        """Refuse a management network that covers a tunnel's peer or the peer's selectors.

        Every inventory host bypasses IPsec for the management networks, ahead of every tunnel
        policy: one that covers the peer's address or a selector on the peer's side sends that
        traffic in clear (0.0.0.0/0 or ::/0: all of it). ipsec_management_networks_allow_overlap
        (true, or a list of the management networks) lets such a network through.
        """
        allowed = self._allowed_overlaps(management, raw_allowed)
        checked = [(index, network) for index, network in management if network.text not in allowed]
        if not checked or not self.tunnels:
            return
        # What covers each end's address and each selector tuple, worked out once: a topology's
        # tunnels share their members' tuples, and most of them are covered by nothing.
        by_address = {}
        by_selectors = {}
        seen = set()
        reported = {}
        for tunnel in self.tunnels:
            for local, remote, selectors in ((tunnel.first, tunnel.second, tunnel.second_selectors),
                                             (tunnel.second, tunnel.first, tunnel.first_selectors)):
                if not local.in_inventory:
                    continue
                hits = by_address.get(remote.name)
                if hits is None:
                    address = _host_selector(remote.address, remote.version)
                    hits = by_address[remote.name] = [(index, network, None) for index, network in checked
                                                      if network.contains(address)]
                more = by_selectors.get(id(selectors))
                if more is None:
                    more = by_selectors[id(selectors)] = [(index, network, selector) for selector in selectors
                                                          for index, network in checked if network.contains(selector)]
                if hits or more:
                    self._report_management(tunnel, local, remote, hits + more, seen, reported)
        for index, count in sorted(reported.items()):
            if count > 10:
                self.errors.add('ipsec_management_networks[%d]' % index, None,
                                'covers %d more tunnels in the same way' % (count - 10))

    def _report_management(self, tunnel, local, remote, hits, seen, reported):
        """One error per management network that covers something of `remote` in `tunnel` (`seen`:
        the (tunnel, network) pairs told already), ten per network at most (`reported` counts them;
        check_management sums up the rest)."""
        for index, network, selector in hits:
            if (tunnel.name, index) in seen:
                continue
            seen.add((tunnel.name, index))
            count = reported[index] = reported.get(index, 0) + 1
            if count > 10:
                continue
            if selector is None:
                what = "%s, the address of '%s'" % (remote.address, shown(remote.name))
            else:
                what = "%s, a selector of '%s' in this tunnel" % (selector.text, shown(remote.name))
            self.errors.add("tunnel '%s'" % shown(tunnel.name), 'ipsec_management_networks[%d]' % index,
                            "%s covers %s: on '%s' the management bypass comes before the tunnel's policies and "
                            'would send that traffic in clear; narrow the management network, or list it in '
                            'ipsec_management_networks_allow_overlap (dangerous) if that is really meant'
                            % (network.text, what, shown(local.name)))

    def _allowed_overlaps(self, management, raw):
        """The texts of the management networks ipsec_management_networks_allow_overlap names."""
        if raw in (None, False, [], ()):
            return set()
        if raw is True:
            return set(network.text for dummy, network in management)
        if not isinstance(raw, (list, tuple)):
            self.errors.add('ipsec_management_networks_allow_overlap', None,
                            'must be true, false or a list of management networks, got %r' % (raw,))
            return set()
        texts = set(network.text for dummy, network in management)
        allowed = set()
        for index, item in enumerate(raw):
            selector = parse_network(item)
            if selector is None:
                address = parse_address(item)
                selector = _host_selector(*address) if address else None
            if selector is None or selector.text not in texts:
                self.errors.add('ipsec_management_networks_allow_overlap[%d]' % index, None,
                                '%r is not one of ipsec_management_networks' % (item,))
            else:
                allowed.add(selector.text)
        return allowed


def build_fleet(inventory):
    """Validate an inventory and expand it into a Fleet.

    `inventory` is plain data:
      hosts: {name: {address, subnets, backend, os_family, os_family_gathered}} for every
        inventory host (os_family_gathered: true when os_family is a gathered fact, not
        ipsec_os_family)
      tunnels: the ipsec_tunnels list; topologies: the ipsec_topologies list
      psk_master: the master secret or None (only its presence and length are used)
      defaults: {ike: {...}, esp: {...}, level, psk_generation}
      management: ipsec_management_networks; management_allow_overlap: its
        ipsec_management_networks_allow_overlap (true, or a list of those networks)
    Raises ModelError with every problem found.
    """
    builder = _Builder(inventory)
    tunnels = inventory.get('tunnels') or []
    topologies = inventory.get('topologies') or []
    if not isinstance(tunnels, (list, tuple)):
        builder.errors.add('ipsec_tunnels', None, 'must be a list')
        tunnels = []
    if not isinstance(topologies, (list, tuple)):
        builder.errors.add('ipsec_topologies', None, 'must be a list')
        topologies = []
    builder.define_peers(tunnels, topologies)
    for index, raw in enumerate(tunnels):
        if not isinstance(raw, dict):
            builder.errors.add('ipsec_tunnels[%d]' % index, None, 'must be a mapping')
            continue
        name = raw.get('name')
        if not name or not isinstance(name, str):
            builder.errors.add('ipsec_tunnels[%d]' % index, 'name', 'is required')
            continue
        where = "tunnel '%s'" % shown(name)
        problem = name_problem(name, 'tunnel')
        if problem:
            builder.errors.add(where, 'name', problem)
        builder.add_tunnel(raw, where, name_ok=problem is None)
    for index, raw in enumerate(topologies):
        builder.add_topology(index, raw)
    builder.check_overlaps()
    builder.check_os_families()
    management = _management(inventory.get('management'), builder.errors)
    builder.check_management(management, inventory.get('management_allow_overlap'))
    management = [network for dummy, network in management]
    if builder.errors.items:
        raise ModelError(builder.errors.items)
    builder.tunnels.sort(key=_NAME)
    return Fleet(builder.endpoints, builder.tunnels, management, sorted(builder.hosts), builder.platforms)


def _management(networks, errors):
    """(index in ipsec_management_networks, selector) of each management network, without repeats."""
    result = []
    seen = set()
    for index, raw in enumerate(_as_list(networks)):
        selector = parse_network(raw)
        if selector is None:
            address = parse_address(raw)
            selector = _host_selector(*address) if address else None
        if selector is None:
            errors.add('ipsec_management_networks[%d]' % index, None, '%r is not an IP network or address' % (raw,))
        elif selector.text not in seen:
            seen.add(selector.text)
            result.append((index, selector))
    return result


def management_selectors(networks, errors=None):
    """Management networks (or bare addresses) as selectors, in order, without repeats.

    These get bypass policies ahead of every tunnel policy, so the controller keeps
    reaching each host whatever the tunnels claim.
    """
    own_errors = errors is None
    errors = _Errors() if own_errors else errors
    result = [selector for dummy, selector in _management(networks, errors)]
    if own_errors and errors.items:
        raise ModelError(errors.items)
    return result
