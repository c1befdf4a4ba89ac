# -*- coding: utf-8 -*-
# Copyright (c) 2026 fleet.ipsec contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The docsite's sources (docs/docsite) against what they describe.

The playbook reference is made from the playbooks when the docsite is built
(docs/docsite/playbooks_page.py), so it cannot drift from them; these tests hold the playbooks to
what it reads from them (a top comment that says what each does and how to run it). Every
docs/*.md is part of the docsite, included by a page and never copied into one.
(`scripts/test docsite` builds the site itself.)
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import importlib.util
import os
import re

import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
DOCSITE = os.path.join(ROOT, 'docs', 'docsite')

_spec = importlib.util.spec_from_file_location('playbooks_page', os.path.join(DOCSITE, 'playbooks_page.py'))
playbooks_page = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(playbooks_page)


def test_every_playbook_says_what_it_does_and_how_to_run_it():
    paths = playbooks_page.playbook_paths(ROOT)
    assert paths
    for path in paths:
        with open(path) as handle:
            found = playbooks_page.blocks(playbooks_page.header(handle.read()))
        name = os.path.relpath(path, ROOT)
        assert 'prose' in [block[0] for block in found], '%s: no comment at its top says what it does' % name
        commands = [line for kind, lines in found if kind == 'command' for line in lines]
        assert any(line.startswith('ansible-playbook %s' % name) for line in commands), \
            '%s: its top comment has no indented usage line "ansible-playbook %s ..."' % (name, name)


def test_every_playbook_has_a_section():
    page = playbooks_page.sections(ROOT)
    for path in playbooks_page.playbook_paths(ROOT):
        name = os.path.basename(path)
        assert '\n.. _%s.%s:\n\n%s\n' % (playbooks_page.LABEL, name[:-4], name) in '\n' + page, name


def test_variables_a_playbook_reads_link_to_the_role_when_it_documents_them():
    page = playbooks_page.sections(ROOT)
    # site.yml reads ipsec_render_root, an option of the tunnels role's main entry point.
    assert ':ansopt:`fleet.ipsec.tunnels#role:main:ipsec_render_root`, default ``\'\'``' in page
    assert '``ipsec_verify_timeout``, default ``40``' in page


PLAYBOOK = '''---
# Does things.
#   ansible-playbook playbooks/x.yml [-e timeout=N]
#
# More words_ about *it*.
- name: First
  ansible.builtin.import_playbook: verify.yml
- name: Then
  hosts: all
  vars:
    mine: "{{ theirs | default([]) }}"
  roles:
    - role: fleet.ipsec.tunnels
  tasks:
    - name: Plan
      ansible.builtin.import_role:
        name: fleet.ipsec.tunnels
        tasks_from: plan
    - name: Use
      ansible.builtin.debug:
        msg: "{{ timeout | default(40) }} {{ lookup('env', 'X') | default('a, b', true) }}"
      register: result
      when: plan_file is defined and result is not defined and mine | default(1) and tunnels_plan is defined
'''


def test_facts_of_a_playbook():
    order, entries, variables = playbooks_page.facts(PLAYBOOK)
    assert order == [('import', 'verify.yml'), ('play', 'Then')]
    assert entries == ['main', 'plan']
    assert variables == {'theirs': '[]', 'timeout': '40', 'plan_file': None}


def test_header_and_blocks():
    lines = playbooks_page.header(PLAYBOOK)
    assert lines == ['Does things.', '  ansible-playbook playbooks/x.yml [-e timeout=N]', '', 'More words_ about *it*.']
    assert playbooks_page.blocks(lines) == [
        ('prose', ['Does things.']),
        ('command', ['ansible-playbook playbooks/x.yml [-e timeout=N]']),
        ('prose', ['More words_ about *it*.']),
    ]


def test_rst_text_escapes_markup():
    assert playbooks_page.rst_text('a *b* `c` d_ e_f |x|') == r'a \*b\* \`c\` d\_ e_f \|x\|'


def test_every_markdown_document_is_in_the_docsite():
    pages = glob.glob(os.path.join(DOCSITE, 'rst', '*.rst'))
    included = set()
    for page in pages:
        with open(page) as handle:
            included.update(re.findall(r'^\.\. fleet-ipsec-markdown:: (\S+)$', handle.read(), re.M))
    with open(os.path.join(DOCSITE, 'extra-docs.yml')) as handle:
        listed = set()
        for section in yaml.safe_load(handle)['sections']:
            listed.update(entry if isinstance(entry, str) else entry['ref'] for entry in section['toctree'])
    for path in sorted(glob.glob(os.path.join(ROOT, 'docs', '*.md'))):
        name = os.path.relpath(path, ROOT)
        assert name in included, (
            '%s is not in the docsite: add docs/docsite/rst/<page>.rst with a label and the line '
            '".. fleet-ipsec-markdown:: %s" (as docs/docsite/rst/testing.rst has), and list <page> in '
            'docs/docsite/extra-docs.yml' % (name, name))
    for page in pages:
        assert os.path.basename(page)[:-4] in listed, '%s is not listed in docs/docsite/extra-docs.yml' % page
