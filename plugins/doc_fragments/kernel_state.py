# -*- coding: utf-8 -*-
# Copyright (c) 2026 fleet.ipsec contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # The modules that read the kernel's SAD and SPD (module_utils/kernel.py).
    DOCUMENTATION = r'''
options:
  source:
    description:
      - Which tool reads the kernel state. V(auto) tries setkey first, then ip xfrm.
    type: str
    choices: [auto, setkey, xfrm]
    default: auto
  setkey_path:
    description:
      - Path of C(setkey), for one outside the search path (a source build under C(/opt), say).
      - Without it, C(setkey) is looked for on the search path and in the usual sbin directories.
    type: path
requirements:
  - C(setkey) (base system on the BSDs, ipsec-tools on Linux) or C(ip) from iproute2, on the host. Root.
attributes:
  diff_mode:
    support: none
  platform:
    platforms: [freebsd, netbsd, linux]
'''
