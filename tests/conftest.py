# Copyright (c) 2026 fleet.ipsec contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Make this checkout importable as ansible_collections.fleet.ipsec for plain pytest.

ansible-test does this itself by copying the collection; for a quick `pytest tests/unit`
a symlinked ansible_collections tree in a temporary directory is enough.
"""

import atexit
import os
import shutil
import socket
import sys
import tempfile

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _collection_root():
    here = ROOT.split(os.sep)
    if here[-3:-2] == ['ansible_collections'] and here[-2:] == ['fleet', 'ipsec']:
        return os.sep.join(here[:-3])
    base = tempfile.mkdtemp(prefix='fleet-ipsec-')
    atexit.register(shutil.rmtree, base, True)
    os.makedirs(os.path.join(base, 'ansible_collections', 'fleet'))
    os.symlink(ROOT, os.path.join(base, 'ansible_collections', 'fleet', 'ipsec'))
    return base


if 'ansible_collections.fleet.ipsec' not in sys.modules:
    sys.path.insert(0, _collection_root())


# What a library's warning looks like to a test: a line on stderr at every Python start, as
# cryptography's CryptographyDeprecationWarning was at every ansible-core command (it broke the
# tests that read a command's stdout and stderr as one stream).
STARTUP_WARNING = 'FleetIpsecTestWarning: printed on stderr at every Python start'


@pytest.fixture
def warning_on_stderr(tmp_path, monkeypatch):
    """Make every Python started from the test (ansible-playbook, ansible-inventory, ...) print
    STARTUP_WARNING on stderr first: a sitecustomize.py on PYTHONPATH. Returns the warning."""
    site = tmp_path / 'warning-site'
    site.mkdir()
    (site / 'sitecustomize.py').write_text('import sys\nsys.stderr.write(%r)\nsys.stderr.flush()\n'
                                           % ('sitecustomize.py:1: %s\n' % STARTUP_WARNING))
    monkeypatch.setenv('PYTHONPATH', os.pathsep.join(filter(None, [str(site), os.environ.get('PYTHONPATH')])))
    return STARTUP_WARNING


@pytest.fixture
def plant():
    """plant(path, kind) puts a FIFO, a directory (holding a file `inside`) or a listening UNIX
    socket at path, for the tests of what the file writer refuses. Sockets close at teardown."""
    servers = []

    def planted(path, kind):
        path.parent.mkdir(parents=True, exist_ok=True)
        if kind == 'FIFO':
            os.mkfifo(str(path))
        elif kind == 'directory':
            path.mkdir()
            (path / 'inside').write_text('keep me\n')
        elif kind == 'socket':
            if len(str(path)) >= 100:
                pytest.skip('the path is too long for a UNIX socket here')
            server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            server.bind(str(path))
            server.listen(1)
            servers.append(server)
        else:
            raise ValueError('plant: no kind %r' % (kind,))
    yield planted
    for server in servers:
        server.close()
