#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 fleet.ipsec contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: files
short_description: Write a host's IPsec files in one step, from templates rendered on the controller
version_added: 0.1.0
description:
  - Renders every template of O(files) on the controller with the host's variables, as
    M(ansible.builtin.template) would, and writes them all on the host in one module run. That is one
    SSH round trip and one Python start per host, however many files there are.
  - Each file is compared by content, mode, owner and group; only what differs is written. A file
    is replaced atomically, and carries its owner and mode before it holds any content, so a key
    file is never readable by others, not even for a moment.
  - Missing parent directories are created (mode 0755, owned by the file's owner and group).
  - A symbolic link at a destination is never followed. It is replaced by a regular file (renamed
    over the link itself); its target is not read, not diffed and keeps its mode and owner. The diff
    says that the destination was a link, and to what. (On the host, the directories above a
    destination are the system's own, and may be links.)
  - A destination that is neither a regular file nor a symbolic link (a directory, a FIFO, a socket,
    a device) is refused, naming the path and what it is, and so is a O(files[].dest) with a C(..)
    component. Every destination is looked at before any file is written, so such a refusal leaves
    all of them as they were. Nothing found at a destination is opened in a way that could block.
  - With O(root), writes on the controller instead, below O(root) (render mode, no SSH, no module
    run at all); owner and group are then not set. Below O(root), every directory is opened one
    component at a time and no symbolic link is followed; a path that would lead through a link or
    out of O(root) is refused, naming the host and the path.
  - The content of a file marked O(files[].secret) never appears in a diff, a result or a log, nor in
    the registered result of the task; the content of every file travels to the host as a C(no_log)
    parameter. In a task with C(no_log), every file is treated as secret.
  - This is an action. On the host it runs M(fleet.ipsec.write_files) with the rendered content.
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
      src:
        description:
          - Template, as an absolute path or a name looked up in the C(templates) directory of the
            role that runs the task.
        type: str
        required: true
      dest:
        description:
          - Absolute path of the file on the host.
        type: str
        required: true
      mode:
        description:
          - Octal mode of the file, as a string such as C("0600").
        type: str
        required: true
      owner:
        description:
          - Owner of the file on the host.
        type: str
        default: root
      group:
        description:
          - Group of the file on the host.
        type: str
        default: root
      secret:
        description:
          - The file holds a key. A diff says that it changed, never how, and the file's old content
            is never read back to the controller; the task's result (and so a variable it is
            registered in) holds neither the old nor the new content.
          - Run such a task with C(no_log=true) too. A task with C(no_log) treats every file as secret.
        type: bool
        default: false
      previous:
        description:
          - When the file's content changes, keep its old content at this path (same owner and mode),
            so that a later step can roll back to it. Removed when the file did not exist before.
        type: str
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
  root:
    description:
      - Write on the controller, below this absolute directory, which stands for the host's C(/)
        (or below O(host_dir) in it). The directory itself may be a link; nothing below it is
        followed.
    type: path
  host_dir:
    description:
      - With O(root), the directory below O(root) that stands for the host's C(/), as a path
        relative to O(root), such as the host's name. It must stay below O(root), so a value that
        is absolute or has a C(..), C(.) or empty component is refused, naming the host.
      - Requires O(root).
    type: str
  journal:
    description:
      - An absolute path on the host for a small file that lists what was written and not yet applied,
        so that a run that dies between writing the files and reloading the daemons is finished by the
        next one. Before the first file changes, its path (and the O(markers) missing from its old
        content) are added there; remove the journal once the daemons have read the new files.
      - When the journal lists files, they are reported in RV(changed_files) and RV(pending_files) again,
        and their markers in RV(new_markers), whether or not they differ now. The rollback copy
        (O(files[].previous)) of a pending file is kept, since it still holds what the host runs.
      - A journal that cannot be parsed leaves every file pending. Not with O(root).
    type: path
extends_documentation_fragment:
  - action_common_attributes
  - action_common_attributes.flow
  - action_common_attributes.files
attributes:
  action:
    support: full
  async:
    support: none
  bypass_host_loop:
    support: none
  check_mode:
    support: full
  diff_mode:
    support: full
    details:
      - Files marked O(files[].secret), and every file of a task with C(no_log), show that they changed,
        never their content.
      - A symbolic link that was at a destination shows as such, and its target's content is not shown.
  platform:
    platforms: posix
  safe_file_operations:
    support: full
  vault:
    support: none
seealso:
  - module: ansible.builtin.template
  - module: fleet.ipsec.write_files
notes:
  - SELinux contexts and file attributes are not managed.
'''

EXAMPLES = r'''
- name: Write racoon.conf and its systemd unit in one module run
  fleet.ipsec.files:
    files:
      - src: racoon.conf.j2
        dest: /etc/racoon/racoon.conf
        mode: "0644"
        watch: true
      - src: racoon.service.j2
        dest: /etc/systemd/system/racoon.service
        mode: "0644"
    markers: "{{ tunnels_host_plan['peers'] | map('fleet.ipsec.fingerprint') | list }}"
  register: written

- name: Write the key file, never shown
  fleet.ipsec.files:
    files:
      - {src: psk.txt.j2, dest: /usr/local/etc/racoon/psk.txt, mode: "0600", group: wheel, secret: true}
  no_log: true

- name: Render the same file for review on the controller, below /tmp/review/<host>
  fleet.ipsec.files:
    root: /tmp/review
    host_dir: "{{ inventory_hostname }}"
    files:
      - {src: racoon.conf.j2, dest: /etc/racoon/racoon.conf, mode: "0644"}
'''

RETURN = r'''
files:
  description: One entry per file of O(files), in order.
  returned: success
  type: list
  elements: dict
  contains:
    dest:
      description: The file's path on the host.
      type: str
      sample: /etc/racoon/racoon.conf
    path:
      description: Where the file was written (below O(root) in render mode, else O(files[].dest)).
      type: str
      sample: /tmp/review/gluon/etc/racoon/racoon.conf
    changed:
      description: Whether the content, mode, owner or group changed (or would, in check mode).
      type: bool
    existed:
      description: Whether something (a regular file or a symbolic link) was at the destination before.
      type: bool
    link_was:
      description:
        - The target of the symbolic link that was at the destination and was replaced by a regular file
          (never followed), or null if there was none.
      type: str
      sample: /srv/elsewhere/racoon.conf
    mode:
      description: The file's mode now.
      type: str
      sample: "0600"
    mode_was:
      description: The mode the file had before, or null if it did not exist (or was a symbolic link).
      type: str
      sample: "0644"
    owner_was:
      description: The owner the file had before, or null if it did not exist (or in render mode).
      type: str
      sample: root
changed_files:
  description: O(files[].dest) of every file that changed, and of every file O(journal) lists as pending.
  returned: success
  type: list
  elements: str
  sample: [/etc/racoon/racoon.conf]
pending_files:
  description: O(files[].dest) of the files that O(journal) lists as written by an earlier run and not yet applied.
  returned: success
  type: list
  elements: str
  sample: []
new_markers:
  description:
    - The O(markers) missing from the old content of a watched file that existed and changed, and those
      O(journal) still lists. Empty when no watched file existed before.
  returned: success
  type: list
  elements: str
'''
