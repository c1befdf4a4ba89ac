# Copyright (c) 2026 fleet.ipsec contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""site.yml in render mode against hostile input (issue 18): a host name that would leave the
render root, links planted in the render root, and a key change run with --diff and -vvv
after which every variable of every host is printed: no key may appear anywhere."""

import json
import os
import shutil
import subprocess
import sys

import pytest
import yaml

from ansible_collections.fleet.ipsec.plugins.module_utils.psk import derive

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..'))
ARTICLE = os.path.join(ROOT, 'examples', 'article')
PASSWORD = os.path.join(ARTICLE, 'vault-password.txt')

# The ansible commands of the Python that runs the tests (.venv/bin when run as
# `.venv/bin/python -m pytest`), ahead of PATH.
PATH = os.pathsep.join([os.path.dirname(sys.executable), os.environ.get('PATH', '')])
pytestmark = pytest.mark.skipif(shutil.which('ansible-playbook', path=PATH) is None, reason='ansible-playbook is not installed')

# site.yml, then every variable of each host, as a later task (or an operator's debug) would
# print them.
PRINT_EVERYTHING = '''
- name: Roll out
  ansible.builtin.import_playbook: %s

- name: Print every variable of each host
  hosts: all
  gather_facts: false
  tasks:
    - name: Every variable
      ansible.builtin.debug:
        var: hostvars[inventory_hostname]
'''


def playbook(book, inventory, *extra, password=True):
    env = dict(os.environ, PATH=PATH, ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'), ANSIBLE_NOCOLOR='1',
               ANSIBLE_FORCE_COLOR='0')
    command = ['ansible-playbook', book, '-i', inventory] + (['--vault-password-file', PASSWORD] if password else [])
    return subprocess.run(command + list(extra), cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, check=False, timeout=900)


def shown(run):
    return run.stdout[-6000:] + '\n--- stderr\n' + run.stderr[-3000:]


def article_master():
    plain = subprocess.run(['ansible-vault', 'view', '--vault-password-file', PASSWORD,
                            os.path.join(ARTICLE, 'group_vars', 'all', 'vault.yml')],
                           stdout=subprocess.PIPE, universal_newlines=True, check=True,
                           env=dict(os.environ, PATH=PATH)).stdout
    return plain.split(':', 1)[1].strip()


def article_tunnels(generation):
    with open(os.path.join(ARTICLE, 'group_vars', 'all', 'ipsec.yml')) as handle:
        tunnels = yaml.safe_load(handle)['ipsec_tunnels']
    return [dict(tunnel, psk_generation=generation) for tunnel in tunnels]


def files_below(path):
    return sorted(os.path.relpath(os.path.join(directory, name), path)
                  for directory, _dirs, names in os.walk(path) for name in names)


@pytest.mark.parametrize('check', [False, True], ids=['apply', 'check'])
def test_no_key_in_any_variable_after_a_diff_run_that_changes_the_key(tmp_path, check):
    """The issue's reproduction: a --diff run that changes a key (the tunnel's psk_generation
    goes from 1 to 2), then every variable of the host printed with -vvv. The registered result
    of the key-writing task is among them: it says the key file changed, and holds no key."""
    root = tmp_path / 'render'
    book = tmp_path / 'print-everything.yml'
    book.write_text(PRINT_EVERYTHING % os.path.join(ROOT, 'playbooks', 'site.yml'))
    inventory = os.path.join(ARTICLE, 'inventory.yml')
    first = playbook(str(book), inventory, '-e', 'ipsec_render_root=%s' % root)
    assert first.returncode == 0, shown(first)
    generation_2 = tmp_path / 'generation-2.json'
    generation_2.write_text(json.dumps({'ipsec_tunnels': article_tunnels(2)}))
    extra = ['--check'] if check else []
    second = playbook(str(book), inventory, '-e', 'ipsec_render_root=%s' % root, '-e', '@%s' % generation_2,
                      '--diff', '-vvv', *extra)
    assert second.returncode == 0, shown(second)
    master = article_master()
    old, new = derive(master, 'gluon-mason', 1), derive(master, 'gluon-mason', 2)
    psk = (root / 'mason' / 'usr' / 'local' / 'etc' / 'racoon' / 'psk.txt').read_text()
    assert (old if check else new) in psk  # the run did (or, in check mode, would) change the key
    output = second.stdout + second.stderr
    # The registered result of the key task was printed, and says only that the file changed.
    assert '"tunnels_secrets_written": {' in second.stdout
    assert '/usr/local/etc/racoon/psk.txt: changed (secret, not shown)' in second.stdout
    assert output.count(old) == 0, 'the old key was printed'
    assert output.count(new) == 0, 'the new key was printed'


def hostile_inventory(tmp_path, name):
    inventory = {'all': {
        'vars': {'ipsec_psk_master': 'hostile-inventory-master-0123456789', 'ipsec_os_family': 'FreeBSD',
                 'ipsec_tunnels': [{'name': 'hostile', 'hosts': ['mason', name]}]},
        'hosts': {'mason': {'ipsec_address': '198.51.100.1'}, name: {'ipsec_address': '192.0.2.10'}}}}
    path = tmp_path / 'inventory.yml'
    path.write_text(yaml.safe_dump(inventory))
    return str(path)


@pytest.mark.parametrize('name', ['../../../escaped', '/tmp-escaped-host', 'a/../../../escaped'])
def test_a_host_name_cannot_take_the_render_outside_its_root(tmp_path, name):
    """Whichever layer refuses it (the model's check of host names or the writer's own), the
    host's files land nowhere outside the root, and the run fails naming the host."""
    root = tmp_path / 'a' / 'b' / 'c' / 'root'
    inventory = hostile_inventory(tmp_path, name)
    run = playbook(os.path.join(ROOT, 'playbooks', 'site.yml'), inventory, '-e', 'ipsec_render_root=%s' % root,
                   password=False)
    assert run.returncode != 0, shown(run)
    assert name in run.stdout, shown(run)
    assert files_below(str(tmp_path)) == ['inventory.yml'] + ['a/b/c/root/%s' % f for f in files_below(str(root))]
    assert not os.path.exists('/tmp-escaped-host')
    assert not any(path.startswith(('a/escaped', 'a/b/c/escaped')) for path in files_below(str(tmp_path)))


@pytest.mark.parametrize('planted', ['gluon', 'mason/usr/local/etc/racoon'])
def test_a_link_planted_in_the_render_root_is_not_followed(tmp_path, planted):
    root = tmp_path / 'render'
    elsewhere = tmp_path / 'elsewhere'
    elsewhere.mkdir()
    link = root / planted
    link.parent.mkdir(parents=True)
    link.symlink_to(elsewhere, target_is_directory=True)
    run = playbook(os.path.join(ROOT, 'playbooks', 'site.yml'), os.path.join(ARTICLE, 'inventory.yml'),
                   '-e', 'ipsec_render_root=%s' % root)
    assert run.returncode != 0, shown(run)
    host = planted.split('/')[0]
    assert 'host %s: %s is a symbolic link (to %s)' % (host, link, elsewhere) in run.stdout, shown(run)
    assert os.listdir(str(elsewhere)) == []
    assert link.is_symlink()
