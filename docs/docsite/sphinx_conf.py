# Copyright (c) 2026 fleet.ipsec contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Sphinx settings for fleet.ipsec's docsite, on top of what `antsibull-docs sphinx-init` writes.

scripts/test (run_docsite) appends this file to the generated conf.py, whose `setup` it becomes.
FLEET_IPSEC_DOCSITE_SOURCE is the collection tree being documented.
"""

import os
import re
import sys

from docutils import nodes
from docutils.statemachine import StringList
from docutils.parsers.rst import directives
from docutils.parsers.rst.directives.misc import Include
from sphinx.directives.code import LiteralInclude
from sphinx.util.docutils import SphinxDirective
from sphinx.util.nodes import nested_parse_with_titles

# The build runs offline: docs.ansible.com is not reachable, so intersphinx gets no inventory to
# fetch (setup empties its mapping). The few references the generated pages make into Ansible's
# own documentation are resolved to their docs.ansible.com addresses below instead; any other
# unresolved reference stays a warning, which fails the build.
ANSIBLE_DOCS = 'https://docs.ansible.com/projects/ansible/devel/'
ANSIBLE_LABELS = {
    'action_plugins': 'plugins/action.html',
    'ansible_configuration_settings': 'reference_appendices/config.html',
    'common_return_values': 'reference_appendices/common_return_values.html',
}
# A plugin or role of another collection, as antsibull-docs labels it.
OTHER_PLUGIN = re.compile(r'^ansible_collections\.([a-z0-9_]+)\.([a-z0-9_]+)\.([a-zA-Z0-9_]+)_([a-z_]+)$')

SOURCE = os.environ['FLEET_IPSEC_DOCSITE_SOURCE']
sys.path.insert(0, os.path.join(SOURCE, 'docs', 'docsite'))
import playbooks_page  # noqa: E402 pylint: disable=wrong-import-position


def ansible_docs_reference(app, env, node, contnode):
    """Resolve a :ref: into Ansible's documentation to its address there (missing-reference)."""
    if node.get('refdomain') != 'std' or node.get('reftype') != 'ref':
        return None
    target = node.get('reftarget', '')
    path = ANSIBLE_LABELS.get(target)
    match = OTHER_PLUGIN.match(target)
    if path is None and match and match.group(1, 2) != ('fleet', 'ipsec'):
        path = 'collections/%s/%s/%s_%s.html' % match.groups()
    if path is None:
        return None
    reference = nodes.reference('', '', internal=False, refuri=ANSIBLE_DOCS + path)
    reference += contnode
    return reference


class CollectionMarkdown(Include, SphinxDirective):
    """`.. fleet-ipsec-markdown:: docs/testing.md`: a markdown file of the collection (a path
    relative to its top), parsed with MyST where the directive stands; `:start-after:` and
    `:end-before:` take a part of it. The guides include docs/*.md and README sections this way,
    so each text has one source, and a part that is no longer there fails the build."""

    def run(self):
        path = os.path.join(SOURCE, self.arguments[0])
        self.arguments[0] = path
        self.options['parser'] = directives.parser_name('myst_parser.sphinx_')
        self.env.note_dependency(path)
        result = super().run()
        # An image of the markdown (images/x.png beside docs/report.md) is relative to that file,
        # where Sphinx would look for it beside this page.
        here = os.path.dirname(self.env.doc2path(self.env.docname))
        for node in result:
            for image in node.findall(nodes.image) if isinstance(node, nodes.Node) else ():
                uri = image['uri']
                if '://' not in uri and not uri.startswith(('/', 'data:')):
                    image['uri'] = os.path.relpath(os.path.join(os.path.dirname(path), uri), here)
        return result


class CollectionFile(LiteralInclude):
    """`.. fleet-ipsec-file:: examples/article/inventory.yml`: a file of the collection (a path
    relative to its top) shown as a code block, with literalinclude's options."""

    def run(self):
        path = os.path.join(SOURCE, self.arguments[0])
        here = os.path.dirname(self.env.doc2path(self.env.docname))
        self.arguments[0] = os.path.relpath(path, here)
        return super().run()


class Playbooks(SphinxDirective):
    """`.. fleet-ipsec-playbooks::`: a section per playbook, made from the playbooks (playbooks_page.py)."""

    def run(self):
        for path in playbooks_page.playbook_paths(SOURCE):
            self.env.note_dependency(path)
        content = StringList(playbooks_page.sections(SOURCE).splitlines(), source='playbooks/')
        holder = nodes.section()
        nested_parse_with_titles(self.state, content, holder)
        return holder.children


def setup(app):
    app.config.intersphinx_mapping = {}
    app.setup_extension('myst_parser')
    app.add_directive('fleet-ipsec-markdown', CollectionMarkdown)
    app.add_directive('fleet-ipsec-file', CollectionFile)
    app.add_directive('fleet-ipsec-playbooks', Playbooks)
    app.connect('missing-reference', ansible_docs_reference)
