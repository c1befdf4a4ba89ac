# Copyright (c) 2026 fleet.ipsec contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Are the locks that scripts/bootstrap installs from fresh, and do they give what they promise?

    python scripts/check_lock.py                  check every lock (the `lock` stage of scripts/test)
    python scripts/check_lock.py --header FILE    the input lines scripts/lock writes atop FILE's lock

For each lock (LOCKS below), offline and in well under a second:
  - its header names the sha256 of every input file it was made from (the requirements file and
    what that includes with -r), and each still matches the file: a requirements-*.txt changed
    since the last scripts/lock is a stale lock;
  - every entry is an exact pin with at least one hash (pip --require-hashes needs both);
  - every requirement of its inputs is satisfied by a pin of the lock (packaging's specifiers);
  - the lab lock pins each of its packages at the version the dev lock pins, so installing one
    after the other never downgrades anything.
Exit 1 with one line per problem, 0 when there is none. Needs `packaging` (it comes with
ansible-core) only for the checks, not for --header.
"""

import hashlib
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# lock -> the requirements file it is made from (scripts/lock).
LOCKS = {
    'requirements-dev.lock': 'requirements-dev.txt',
    'requirements-lab.lock': 'requirements-lab.txt',
}
# The lock whose pins every other lock must share.
SUPERSET = 'requirements-dev.lock'

# The machine the locks are for: .venv on Debian 12 (CPython 3.11, x86_64 Linux). Requirement
# markers are evaluated against it.
TARGET = {
    'implementation_name': 'cpython',
    'platform_python_implementation': 'CPython',
    'platform_machine': 'x86_64',
    'platform_system': 'Linux',
    'sys_platform': 'linux',
    'os_name': 'posix',
    'python_version': '3.11',
    'python_full_version': '3.11.2',
}

HEADER = re.compile(r'^# input (\S+) sha256:([0-9a-f]{64})$')
HASH = re.compile(r'--hash=(\S+)')
INCLUDE = re.compile(r'^(?:-r|--requirement)(?:\s+|=)(\S+)')


def sha256(path):
    with open(path, 'rb') as handle:
        return hashlib.sha256(handle.read()).hexdigest()


def logical_lines(path):
    """The lines of a pip requirements file, backslash continuations joined, comments dropped."""
    lines, pending = [], ''
    with open(path) as handle:
        for raw in handle:
            line = raw.rstrip('\n')
            if not pending and line.lstrip().startswith('#'):
                continue
            line = re.sub(r'(^|\s)#.*$', '', line).rstrip()
            if line.endswith('\\'):
                pending += line[:-1] + ' '
                continue
            line = (pending + line).strip()
            pending = ''
            if line:
                lines.append(line)
    if pending.strip():
        lines.append(pending.strip())
    return lines


def inputs_of(root, name):
    """The requirements file `name` and every file it includes with -r, relative to root, in order."""
    found = [name]
    for line in logical_lines(os.path.join(root, name)):
        match = INCLUDE.match(line)
        if match:
            included = os.path.normpath(os.path.join(os.path.dirname(name), match.group(1)))
            found.extend(n for n in inputs_of(root, included) if n not in found)
    return found


def header(root, name):
    """The `# input FILE sha256:HEX` lines for a lock made from `name`."""
    return ['# input %s sha256:%s' % (n, sha256(os.path.join(root, n))) for n in inputs_of(root, name)]


def requirements_of(root, name):
    """[(file, Requirement)] of the input `name` and its includes; options other than -r are skipped."""
    from packaging.requirements import Requirement  # pylint: disable=import-outside-toplevel

    found = []
    for path in inputs_of(root, name):
        for line in logical_lines(os.path.join(root, path)):
            if not line.startswith('-'):
                found.append((path, Requirement(HASH.sub('', line).strip())))
    return found


def read_lock(path):
    """({input file: recorded sha256}, {canonical name: (version, [hashes])}, [problems])."""
    from packaging.requirements import InvalidRequirement, Requirement  # pylint: disable=import-outside-toplevel
    from packaging.utils import canonicalize_name  # pylint: disable=import-outside-toplevel

    name = os.path.basename(path)
    recorded = {}
    with open(path) as handle:
        for line in handle:
            match = HEADER.match(line.rstrip('\n'))
            if match:
                recorded[match.group(1)] = match.group(2)
    pins, problems = {}, []
    for line in logical_lines(path):
        if line.startswith('-'):
            continue
        hashes = HASH.findall(line)
        text = HASH.sub('', line).strip()
        try:
            requirement = Requirement(text)
        except InvalidRequirement as exc:
            problems.append('%s: cannot read %r: %s' % (name, text, exc))
            continue
        if requirement.marker is not None and not requirement.marker.evaluate(TARGET):
            continue
        specs = list(requirement.specifier)
        if len(specs) != 1 or specs[0].operator != '==' or '*' in specs[0].version:
            problems.append('%s: %s is not pinned to one version' % (name, text))
            continue
        if not hashes:
            problems.append('%s: %s has no hash' % (name, text))
        pins[canonicalize_name(requirement.name)] = (specs[0].version, hashes)
    return recorded, pins, problems


def check_lock(root, lock, source):
    """The problems of one lock made from the requirements file `source`."""
    from packaging.utils import canonicalize_name  # pylint: disable=import-outside-toplevel

    path = os.path.join(root, lock)
    if not os.path.exists(path):
        return ['%s is missing: run scripts/lock' % lock]
    recorded, pins, problems = read_lock(path)
    inputs = inputs_of(root, source)
    if not recorded:
        problems.append('%s records no input hashes (not made by scripts/lock?): run scripts/lock' % lock)
    for name in sorted(set(recorded) - set(inputs)):
        problems.append('%s was made from %s, which %s no longer includes: run scripts/lock' % (lock, name, source))
    for name in inputs:
        if name in recorded and recorded[name] != sha256(os.path.join(root, name)):
            problems.append('%s is stale: %s changed since it was made: run scripts/lock' % (lock, name))
        elif recorded and name not in recorded:
            problems.append('%s is stale: it was made without %s: run scripts/lock' % (lock, name))
    for where, requirement in requirements_of(root, source):
        if requirement.marker is not None and not requirement.marker.evaluate(TARGET):
            continue
        key = canonicalize_name(requirement.name)
        if key not in pins:
            problems.append('%s pins no %s (%s: %s)' % (lock, requirement.name, where, requirement))
        elif not requirement.specifier.contains(pins[key][0], prereleases=True):
            problems.append('%s pins %s==%s, which does not satisfy %s (%s)'
                            % (lock, requirement.name, pins[key][0], requirement, where))
    return problems


def check(root=ROOT, locks=None, superset=SUPERSET):
    """Every problem of every lock, as lines for a person."""
    locks = LOCKS if locks is None else locks
    problems = []
    for lock in sorted(locks):
        problems.extend(check_lock(root, lock, locks[lock]))
    if superset in locks and os.path.exists(os.path.join(root, superset)):
        wide = read_lock(os.path.join(root, superset))[1]
        for lock in sorted(locks):
            if lock == superset or not os.path.exists(os.path.join(root, lock)):
                continue
            for name, (version, _hashes) in sorted(read_lock(os.path.join(root, lock))[1].items()):
                if wide.get(name, (None,))[0] != version:
                    problems.append('%s pins %s==%s but %s pins %s: run scripts/lock'
                                    % (lock, name, version, superset, wide.get(name, ('nothing',))[0]))
    return problems


def main(argv):
    if len(argv) == 2 and argv[0] == '--header':
        print('\n'.join(header(ROOT, argv[1])))
        return 0
    if argv:
        sys.stderr.write(__doc__)
        return 2
    problems = check()
    for problem in problems:
        print(problem)
    if problems:
        return 1
    print('%s: fresh, and each satisfies its inputs' % ', '.join(sorted(LOCKS)))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
