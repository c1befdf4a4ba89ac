#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 fleet.ipsec contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: render
short_description: Write a role's templates for one host into a directory on the controller
version_added: 0.1.0
description:
  - The write step of render mode (C(-e ipsec_render_root=DIR) on C(playbooks/site.yml)). Renders each
    template of O(files) with the host's variables, as M(ansible.builtin.template) would, and writes
    it to O(root) followed by the file's absolute path on the host.
  - Runs inside the controller's worker and starts no module process, so rendering a large fleet costs
    a fraction of delegating M(ansible.builtin.template) to localhost for every file.
  - Idempotent; a file whose content is right but whose mode is wrong is fixed and reported as changed.
    Files are replaced atomically and carry their mode before they hold any content.
  - Missing parent directories are created with mode 0755.
  - This is an action plugin; it runs on the controller only and writes only there.
author:
  - fleet.ipsec contributors (@fleet-ipsec)
options:
  root:
    description:
      - Absolute directory that stands for the host's C(/).
    type: path
    required: true
  files:
    description:
      - The files to write.
    type: list
    elements: dict
    required: true
    suboptions:
      src:
        description:
          - Template name, looked up in the C(templates) directory of the role that runs the task, as
            for M(ansible.builtin.template).
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
      secret:
        description:
          - The file holds a key. Its content never appears in a diff, only the fact that it changed.
          - Run such a task with C(no_log=true) too.
        type: bool
        default: false
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
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
    details: Files marked O(files[].secret) show that they changed, never their content.
  platform:
    platforms: posix
    details: Writes on the controller.
seealso:
  - module: ansible.builtin.template
notes:
  - Ownership is not set; the files belong to the user running the playbook.
'''

EXAMPLES = r'''
- name: Render the policy file of this host under /tmp/review/<host>/etc/ipsec.conf
  fleet.ipsec.render:
    root: "/tmp/review/{{ inventory_hostname }}"
    files:
      - src: ipsec.conf.j2
        dest: /etc/ipsec.conf
        mode: "0600"

- name: Render a key file
  fleet.ipsec.render:
    root: "/tmp/review/{{ inventory_hostname }}"
    files:
      - {src: psk.txt.j2, dest: /usr/local/etc/racoon/psk.txt, mode: "0600", secret: true}
  no_log: true
'''

RETURN = r'''
files:
  description: One entry per file of O(files), in order.
  returned: success
  type: list
  elements: dict
  contains:
    path:
      description: Where the file was written on the controller.
      type: str
      sample: /tmp/review/gluon/etc/ipsec.conf
    changed:
      description: Whether the content or the mode changed (or would, in check mode).
      type: bool
    mode:
      description: The file's mode now.
      type: str
      sample: "0600"
    mode_was:
      description: The mode the file had before, or null if it did not exist.
      type: str
      sample: "0644"
  sample:
    - {path: /tmp/review/gluon/etc/ipsec.conf, changed: true, mode: "0600", mode_was: null}
'''
