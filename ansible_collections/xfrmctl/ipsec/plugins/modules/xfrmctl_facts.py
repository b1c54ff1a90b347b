#!/usr/bin/python
# Copyright: xfrmctl developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Facts module: the live IKE and IPsec SA state of an xfrmctl daemon."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: xfrmctl_facts
short_description: Live IKE and IPsec security associations of an xfrmctl daemon
version_added: "0.1.0"
description:
  - Asks the running xfrmctl daemon, through C(xfrmctl show ... --json), for its IKE SAs, its
    IPsec tunnels (with their SAs) and its inactive tunnels, and returns them as facts.
  - The fields are those of C(xfrmctl show ... --json), named after the Junos output fields.
author:
  - xfrmctl developers (@xfrmctl)
requirements:
  - the C(xfrmctl) command on the managed host and a running daemon
extends_documentation_fragment:
  - action_common_attributes
  - action_common_attributes.facts
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  facts:
    support: full
  platform:
    platforms: posix
options:
  gather_subset:
    description: Which state to read.
    type: list
    elements: str
    choices: [all, ike, ipsec, inactive]
    default: [all]
  xfrmctl_path:
    description: The C(xfrmctl) command, a name looked up on C(PATH) or an absolute path.
    type: str
    default: xfrmctl
  socket:
    description: The daemon's control socket (default that of C(xfrmctl)).
    type: path
  timeout:
    description: Seconds to wait for the daemon's answer.
    type: float
    default: 30
"""

EXAMPLES = r"""
- name: Read the SAs
  xfrmctl.ipsec.xfrmctl_facts:

- name: Wait until the VPN to-branch has SAs
  xfrmctl.ipsec.xfrmctl_facts:
    gather_subset: ipsec
  register: sa
  until: sa.ansible_facts.xfrmctl.tunnels | selectattr('vpn_name', 'eq', 'to-branch')
    | selectattr('sas') | list | length > 0
  retries: 30
  delay: 2
"""

RETURN = r"""
ansible_facts:
  description: Facts under the key C(xfrmctl).
  returned: always
  type: complex
  contains:
    xfrmctl:
      description: The daemon's state.
      type: dict
      returned: always
      contains:
        ike_security_associations:
          description: C(show security ike security-associations) entries.
          type: list
          elements: dict
          returned: when gathered
        tunnels:
          description: C(show security ipsec security-associations) tunnels with their SAs.
          type: list
          elements: dict
          returned: when gathered
        inactive_tunnels:
          description: C(show security ipsec inactive-tunnels) data.
          type: dict
          returned: when gathered
"""

from ansible.module_utils.basic import AnsibleModule  # noqa: E402

from ansible_collections.xfrmctl.ipsec.plugins.module_utils.router import (  # noqa: E402
    Router,
    RouterError,
)

# gather_subset word -> (show command words, result key, key in the answer or None for all)
SUBSETS = {
    "ike": (
        ("security", "ike", "security-associations"),
        "ike_security_associations",
        "ike_security_associations",
    ),
    "ipsec": (("security", "ipsec", "security-associations"), "tunnels", "tunnels"),
    "inactive": (("security", "ipsec", "inactive-tunnels"), "inactive_tunnels", None),
}


def main():
    module = AnsibleModule(
        argument_spec={
            "gather_subset": {
                "type": "list",
                "elements": "str",
                "choices": ["all", *SUBSETS],
                "default": ["all"],
            },
            "xfrmctl_path": {"type": "str", "default": "xfrmctl"},
            "socket": {"type": "path"},
            "timeout": {"type": "float", "default": 30},
        },
        supports_check_mode=True,
    )
    params = module.params
    wanted = list(SUBSETS) if "all" in params["gather_subset"] else params["gather_subset"]
    router = Router(module, params["xfrmctl_path"], socket=params["socket"],
                    timeout=params["timeout"])  # fmt: skip
    facts = {}
    try:
        for subset in wanted:
            words, key, field = SUBSETS[subset]
            answer = router.show(*words)
            facts[key] = answer.get(field, []) if field else answer
    except RouterError as exc:
        module.fail_json(msg=exc.message, **exc.details)
    module.exit_json(changed=False, ansible_facts={"xfrmctl": facts})


if __name__ == "__main__":
    main()
