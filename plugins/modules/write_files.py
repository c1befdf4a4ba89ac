#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 fleet.ipsec contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: write_files
short_description: Write files whose content is given, all in one module run (the host side of fleet.ipsec.files)
version_added: 0.1.0
description:
  - The part of M(fleet.ipsec.files) that runs on the host. That action renders the templates on the
    controller and runs this module once per host with the content; use it rather than this module.
  - Each file is compared by content, mode, owner and group; only what differs is written. A file
    is replaced atomically, and carries its owner and mode before it holds any content, so a key
    file is never readable by others, not even for a moment.
  - Missing parent directories are created (mode 0755, owned by the file's owner and group).
  - A symbolic link at a destination is never followed, read or diffed through; it is replaced by a
    regular file, and its target keeps its content, mode and owner. A destination that is a
    directory, a FIFO, a socket or a device is refused, naming the path and what it is, before any
    file is written; nothing is opened in a way that could block.
author:
  - fleet.ipsec contributors (@fleet-ipsec)
options:
  files:
    description:
      - The files to write.
    type: list
    elements: dict
    required: true
    suboptions:
      dest:
        description:
          - Absolute path of the file.
        type: path
        required: true
      content:
        description:
          - The file's content.
        type: str
        required: true
      mode:
        description:
          - Octal mode of the file, as a string such as C("0600").
        type: str
        required: true
      owner:
        description:
          - Owner of the file.
        type: str
        default: root
      group:
        description:
          - Group of the file.
        type: str
        default: root
      secret:
        description:
          - The file holds a key; its old content is never returned, not even with O(want_before).
        type: bool
        default: false
      previous:
        description:
          - When the file's content changes, keep its old content at this path (same owner and mode).
            Removed when the file did not exist before.
        type: path
      watch:
        description:
          - Look for O(markers) in the file's old content; see RV(new_markers).
        type: bool
        default: false
  markers:
    description:
      - Strings to look for in the old content of the files marked O(files[].watch).
    type: list
    elements: str
    default: []
  journal:
    description:
      - A file on the host that lists the files written and not yet applied. Before the first file
        changes, its path (and the O(markers) missing from its old content) are added there; the caller
        removes the journal once the daemons have read the new files.
      - A run that died between writing and applying left the journal behind; the files it lists are
        then reported in RV(changed_files) (and RV(pending_files)) again, and their markers in RV(new_markers),
        so that this run applies them. The rollback copy (O(files[].previous)) of a pending file is kept.
      - A journal that cannot be parsed leaves every file pending.
    type: path
  want_before:
    description:
      - Return the old content of each changed file that is not O(files[].secret), as RV(before), from which
        M(fleet.ipsec.files) builds its diffs (and then drops it).
    type: bool
    default: false
extends_documentation_fragment:
  - action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
    details: M(fleet.ipsec.files) builds the diffs, from RV(before).
  platform:
    platforms: posix
seealso:
  - module: fleet.ipsec.files
notes:
  - SELinux contexts and file attributes are not managed.
'''

EXAMPLES = r'''
- name: Write a file with a given content (fleet.ipsec.files does this with rendered templates)
  fleet.ipsec.write_files:
    files:
      - dest: /etc/racoon/racoon.conf
        content: "log notify;\n"
        mode: "0644"
'''

RETURN = r'''
files:
  description:
    - One entry per file of O(files), in order, with the keys M(fleet.ipsec.files) documents for its RV(fleet.ipsec.files#module:files)
      (C(path) is the same as C(dest) here).
  returned: success
  type: list
  elements: dict
changed_files:
  description: O(files[].dest) of every file that changed, and of every file that O(journal) lists as pending.
  returned: success
  type: list
  elements: str
pending_files:
  description: O(files[].dest) of the files that O(journal) lists as written by an earlier run and not yet applied.
  returned: success
  type: list
  elements: str
new_markers:
  description: As M(fleet.ipsec.files) returns it.
  returned: success
  type: list
  elements: str
before:
  description: The old content of each changed file that is not secret, by O(files[].dest).
  returned: when O(want_before) is true and such a file changed
  type: dict
'''

import grp
import os
import pwd

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_bytes, to_native
from ansible_collections.fleet.ipsec.plugins.module_utils.file_writer import FileWriterError, write_files


def _ids(module, entry):
    try:
        uid = pwd.getpwnam(entry['owner']).pw_uid
    except KeyError:
        module.fail_json(msg='%s: no user %s on this host' % (entry['dest'], entry['owner']))
    try:
        gid = grp.getgrnam(entry['group']).gr_gid
    except KeyError:
        module.fail_json(msg='%s: no group %s on this host' % (entry['dest'], entry['group']))
    return uid, gid


def main():
    module = AnsibleModule(
        argument_spec=dict(
            files=dict(type='list', elements='dict', required=True, options=dict(
                dest=dict(type='path', required=True),
                content=dict(type='str', required=True, no_log=True),
                mode=dict(type='str', required=True),
                owner=dict(type='str', default='root'),
                group=dict(type='str', default='root'),
                secret=dict(type='bool', default=False),
                previous=dict(type='path'),
                watch=dict(type='bool', default=False),
            )),
            markers=dict(type='list', elements='str', default=[]),
            journal=dict(type='path'),
            want_before=dict(type='bool', default=False),
        ),
        supports_check_mode=True,
    )
    files = []
    for entry in module.params['files']:
        if not os.path.isabs(entry['dest']):
            module.fail_json(msg='%s: not an absolute path' % entry['dest'])
        try:
            mode = int(entry['mode'], 8)
        except ValueError:
            module.fail_json(msg='%s: mode %s is not octal' % (entry['dest'], entry['mode']))
        uid, gid = _ids(module, entry)
        files.append(dict(entry, path=entry['dest'], mode=mode, uid=uid, gid=gid,
                          content=to_bytes(entry['content'], errors='surrogate_or_strict')))
    try:
        result = write_files(files, module.params['markers'], module.check_mode, module.params['want_before'],
                             journal=module.params['journal'])
    except FileWriterError as exc:
        module.fail_json(msg=to_native(exc))
    if not result['before']:
        # Internal to the action, which builds the diffs and drops this key.
        del result['before']
    module.exit_json(**result)


if __name__ == '__main__':
    main()
