# Copyright (c) 2026 fleet.ipsec contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The execution environment: ansible-builder's build context for an EE holding this checkout's
fleet.ipsec, and what ansible-builder finds in the collection itself. No container engine: the
image build is not run, its inputs are checked."""

import os
import re
import shutil
import tarfile

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))

REQUIREMENT = re.compile(r'^([A-Za-z0-9_.-]+)==(\S+)')


def pins(path):
    """{lower-case name: version} of the name==version lines of a pip requirements file or lock."""
    found = {}
    with open(path) as handle:
        for line in handle:
            match = REQUIREMENT.match(line.strip())
            if match:
                found[match.group(1).lower()] = match.group(2)
    return found


def requirement_lines(path):
    """The requirement lines of a pip or bindep file, without comments."""
    with open(path) as handle:
        return [line.split('#', 1)[0].strip() for line in handle if line.split('#', 1)[0].strip()]


@pytest.fixture(scope='module')
def definition():
    with open(os.path.join(ROOT, 'execution-environment.yml')) as handle:
        return yaml.safe_load(handle)


def test_the_collection_declares_its_dependencies_for_ansible_builder():
    with open(os.path.join(ROOT, 'meta', 'execution-environment.yml')) as handle:
        meta = yaml.safe_load(handle)
    assert meta['dependencies'] == {'python': 'requirements.txt', 'system': 'bindep.txt'}
    for name in meta['dependencies'].values():
        assert requirement_lines(os.path.join(ROOT, name)), name


def test_python_requirements_are_ranges_the_tests_run_within(definition):
    # requirements.txt gives ranges (an EE combines collections); the tests run with the exact
    # versions of requirements-dev.lock, which must fall within them.
    lines = requirement_lines(os.path.join(ROOT, 'requirements.txt'))
    wanted = dict((canonicalize_name(r.name), r) for r in (Requirement(line) for line in lines))
    assert {'netaddr', 'networkx', 'numpy', 'scipy'} <= set(wanted)
    assert len(wanted) == len(lines)
    assert not pins(os.path.join(ROOT, 'requirements.txt')), 'ranges, not exact pins'
    dev = dict((canonicalize_name(name), version) for name, version in pins(os.path.join(ROOT, 'requirements-dev.lock')).items())
    for name, requirement in wanted.items():
        operators = set(spec.operator for spec in requirement.specifier)
        assert {'>=', '<'} <= operators, 'a lower and an upper bound: %s' % requirement
        assert name in dev, 'requirements-dev.lock pins no %s' % name
        assert requirement.specifier.contains(dev[name]), 'requirements-dev.lock pins %s==%s, outside %s' % (
            name, dev[name], requirement)
    deps = definition['dependencies']
    assert deps['ansible_core']['package_pip'] == 'ansible-core==%s' % dev['ansible-core']
    assert deps['ansible_runner']['package_pip'] == 'ansible-runner==%s' % dev['ansible-runner']


def test_bindep_gives_this_platform_the_ssh_client(awx):
    listed = awx.run([awx.tool('bindep'), '-f', os.path.join(ROOT, 'bindep.txt'), '--list_all=newline']).split()
    if shutil.which('dpkg'):
        assert listed == ['openssh-client']
    else:
        assert 'openssh-client' not in listed


def test_the_tarball_carries_the_ee_metadata_and_not_the_build_definition(collection_tarball):
    with tarfile.open(str(collection_tarball)) as tar:
        names = set(tar.getnames())
    assert {'meta/execution-environment.yml', 'requirements.txt', 'bindep.txt'} <= names
    assert 'execution-environment.yml' not in names
    assert not [n for n in names if n.startswith(('context/', '.venv/', '.ansible/'))]
    # The test environment's requirements and locks are not the collection's.
    assert [n for n in names if n.startswith('requirements')] == ['requirements.txt']


def test_builder_create_makes_a_complete_build_context(collection_tarball, tmp_path, definition, awx):
    # As from a checkout: the definition, its requirement files and the built tarball side by side.
    for name in ('execution-environment.yml', 'requirements.txt', 'bindep.txt'):
        shutil.copy(os.path.join(ROOT, name), str(tmp_path / name))
    shutil.copy(str(collection_tarball), str(tmp_path / collection_tarball.name))
    awx.run([awx.tool('ansible-builder'), 'create', '-c', 'context', '--output-filename', 'Containerfile'], cwd=str(tmp_path))
    context = tmp_path / 'context'
    containerfile = (context / 'Containerfile').read_text()
    assert 'ARG EE_BASE_IMAGE="%s"' % definition['images']['base_image']['name'] in containerfile
    assert 'ARG PYCMD="/usr/bin/python3.11"' in containerfile
    assert 'ARG ANSIBLE_INSTALL_REFS="%s %s"' % (definition['dependencies']['ansible_core']['package_pip'],
                                                 definition['dependencies']['ansible_runner']['package_pip']) in containerfile
    assert 'ansible-galaxy collection install $ANSIBLE_GALAXY_CLI_COLLECTION_OPTS -r requirements.yml' in containerfile
    assert '--user-pip=requirements.txt --user-bindep=bindep.txt' in containerfile

    build = context / '_build'
    with open(str(build / 'requirements.yml')) as handle:
        collections = yaml.safe_load(handle)['collections']
    # ansible-galaxy runs in /build, where _build/ is copied: the tarball must be where the
    # requirement says, under the version galaxy.yml gives.
    local = [c for c in collections if c.get('type') == 'file']
    assert [c['name'] for c in local] == ['collections/fleet-ipsec-%s.tar.gz' % awx.galaxy_version()]
    assert (build / local[0]['name']).read_bytes() == collection_tarball.read_bytes()
    assert 'community.general' in [c['name'] for c in collections]

    assert requirement_lines(str(build / 'requirements.txt')) == requirement_lines(os.path.join(ROOT, 'requirements.txt'))
    assert requirement_lines(str(build / 'bindep.txt')) == requirement_lines(os.path.join(ROOT, 'bindep.txt'))


def test_builder_introspection_finds_the_collections_requirements(installed_collections, tmp_path, awx):
    # The step the image build runs once the collections are installed (introspect.py).
    pip_out, bindep_out = tmp_path / 'pip.txt', tmp_path / 'bindep.txt'
    awx.run([awx.tool('ansible-builder'), 'introspect', str(installed_collections),
             '--write-pip', str(pip_out), '--write-bindep', str(bindep_out)])
    for written, source in ((pip_out, 'requirements.txt'), (bindep_out, 'bindep.txt')):
        lines = [line for line in written.read_text().splitlines() if line.strip()]
        assert lines and all(line.endswith('# from collection fleet.ipsec') for line in lines), lines
        assert [line.split('#', 1)[0].strip() for line in lines] == requirement_lines(os.path.join(ROOT, source))
