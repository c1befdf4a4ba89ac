# -*- coding: utf-8 -*-
# Copyright (c) 2026 fleet.ipsec contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The docsite's playbook reference, made from the playbooks themselves when the docsite is built.

One section per playbooks/*.yml: the comment at its top (what it does; its indented lines are
commands), its plays in order (imported playbooks linked), the tunnels role's entry points it
uses, and the variables it reads that neither it nor the roles set (`name | default(...)`,
`name is defined`). The `fleet-ipsec-playbooks` directive (sphinx_conf.py) puts them into
rst/playbooks.rst; tests/unit/test_docsite.py checks what they are made from. Plain Python and
PyYAML, so the tests need no Sphinx.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import os
import re

import yaml

LABEL = 'ansible_collections.fleet.ipsec.docsite.playbooks'
ROLE = 'fleet.ipsec.tunnels'

# A variable a playbook reads: `name | default(...)` or `name is [not] defined`.
DEFAULTED = re.compile(r'\b([a-z_][a-z0-9_]*) \| default\(((?:[^()]|\([^()]*\))*)\)')
TESTED = re.compile(r'\b([a-z_][a-z0-9_]*) is (?:not )?defined\b')
# Set by Ansible or by the roles: read by playbooks, passed in by nobody.
NOT_INPUTS = frozenset(('ansible_check_mode', 'tunnels_plan', 'inventory_hostname', 'hostvars', 'groups'))
IMPORT = 'ansible.builtin.import_playbook'


def playbook_paths(root):
    return sorted(glob.glob(os.path.join(root, 'playbooks', '*.yml')))


def header(text):
    """The comment lines at the top of a playbook (after `---`), without their '# '."""
    lines = []
    for line in text.splitlines():
        if line.strip() == '---' and not lines:
            continue
        if not line.startswith('#'):
            break
        lines.append(line[2:] if line.startswith('# ') else line[1:])
    return lines


def blocks(lines):
    """[(kind, lines)]: 'prose' paragraphs and 'command' lines (indented ones), in order."""
    result = []
    for line in lines:
        if not line.strip():
            result.append(('break', []))
            continue
        kind = 'command' if line.startswith('  ') else 'prose'
        if result and result[-1][0] == kind:
            result[-1][1].append(line.strip())
        else:
            result.append((kind, [line.strip()]))
    return [block for block in result if block[0] != 'break']


def rst_text(text):
    """Prose as reST: inline markup characters and a word's trailing '_' escaped."""
    text = re.sub(r'([\\*`|])', r'\\\1', text)
    return re.sub(r'_(?=\W|$)', r'\\_', text)


def _tasks(play):
    return [task for part in ('pre_tasks', 'tasks', 'post_tasks') for task in play.get(part) or []]


def facts(text):
    """(plays, entry points, variables) of a playbook.

    plays: [(kind, name)], kind 'import' (name: the playbook imported) or 'play' (its name);
    entry points: the tunnels role's, in order of use; variables: {name: default or None}.
    """
    plays = yaml.safe_load(text) or []
    order = [('import', play[IMPORT]) if IMPORT in play else ('play', play.get('name', '')) for play in plays]
    entries = []
    own = set()
    for play in plays:
        for role in play.get('roles') or []:
            if (role.get('role') if isinstance(role, dict) else role) == ROLE:
                entries.append('main')
        for task in _tasks(play):
            for action in ('ansible.builtin.import_role', 'ansible.builtin.include_role'):
                if (task.get(action) or {}).get('name') == ROLE:
                    entries.append(task[action].get('tasks_from', 'main'))
            if 'register' in task:
                own.add(task['register'])
            own.update(task.get('ansible.builtin.set_fact') or {})
        own.update(play.get('vars') or {})
    body = '\n'.join(line for line in text.splitlines() if not line.lstrip().startswith('#'))
    variables = {}
    for match in DEFAULTED.finditer(body):
        variables.setdefault(match.group(1), match.group(2).split(',')[0].strip())
    for match in TESTED.finditer(body):
        variables.setdefault(match.group(1), None)
    for name in own | NOT_INPUTS:
        variables.pop(name, None)
    return order, list(dict.fromkeys(entries)), variables


def role_options(root):
    """{entry point: option names} of the tunnels role's argument spec."""
    with open(os.path.join(root, 'roles', 'tunnels', 'meta', 'argument_specs.yml')) as handle:
        specs = yaml.safe_load(handle)['argument_specs']
    return dict((entry, set(spec.get('options') or {})) for entry, spec in specs.items())


def _link(playbook):
    return ':ref:`%s <%s.%s>`' % (playbook, LABEL, playbook[:-4])


def section(path, options):
    """reST lines of one playbook's section."""
    name = os.path.basename(path)
    with open(path) as handle:
        text = handle.read()
    out = ['.. _%s.%s:' % (LABEL, name[:-4]), '', name, '-' * len(name), '']
    for kind, lines in blocks(header(text)):
        if kind == 'command':
            out += ['.. code-block:: shell', ''] + ['   ' + line for line in lines] + ['']
        else:
            out += [rst_text(' '.join(lines)), '']
    order, entries, variables = facts(text)
    if any(step[0] == 'import' for step in order):
        out += ['Its plays, in order:', '']
        for number, (kind, play) in enumerate(order, 1):
            out += ['%d. %s' % (number, '%s (imported)' % _link(play) if kind == 'import' else rst_text(play))]
        out += ['']
    if entries:
        out += ['Entry points of :ansplugin:`%s#role` it uses: %s.' % (ROLE, ', '.join('``%s``' % e for e in entries)), '']
    if variables:
        out += ["Variables it reads besides the inventory's:", '']
        for variable, default in sorted(variables.items()):
            documented = [entry for entry in entries if variable in options.get(entry, ())]
            item = ':ansopt:`%s#role:%s:%s`' % (ROLE, documented[0], variable) if documented else '``%s``' % variable
            out += ['- %s, %s' % (item, 'default ``%s``' % default if default else 'unset by default')]
        out += ['']
    return out


def sections(root):
    """reST of every playbook's section, in file name order."""
    options = role_options(root)
    out = []
    for path in playbook_paths(root):
        out += section(path, options)
    return '\n'.join(out)
