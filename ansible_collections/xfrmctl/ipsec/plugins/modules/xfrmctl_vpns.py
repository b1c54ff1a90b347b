#!/usr/bin/python
# Copyright: xfrmctl developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Resource module for xfrmctl route-based VPNs."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: xfrmctl_vpns
short_description: Manage xfrmctl route-based IPsec VPNs (gateways, proposals, policies, st0 units)
version_added: "0.1.0"
description:
  - Manages the VPN objects of an xfrmctl router's configuration file as one network resource
    with the usual resource-module states.
  - The objects are IKE proposals, policies and gateways, IPsec proposals, policies and VPNs
    (with C(vpn-monitor)), st0 units (with C(multipoint) and C(next-hop-tunnel) entries for
    next-hop tunnel binding) and static routes. Every other statement of the file is kept.
  - A change is rendered into a new configuration file, validated with
    C(xfrmctl config check --json), written atomically with mode 0600 and applied with
    C(xfrmctl request system reload). When the daemon refuses it, the old file is put back (the
    daemon keeps running the old configuration) and the task fails with the daemon's error.
  - The C(commands) result lists the change as Junos C(set)/C(delete) lines.
author:
  - xfrmctl developers (@xfrmctl)
requirements:
  - the C(xfrmctl) command on the managed host
  - PyYAML for the module's Python only when the file was not written by this module
extends_documentation_fragment:
  - action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  platform:
    platforms: posix
notes:
  - Object bodies use the keywords of xfrmctl's YAML configuration (Junos statements with
    dashes, for example C(dh-group), C(pre-shared-key), C(bind-interface)); C(xfrmctl config schema)
    lists them all. The module does not restate that grammar; the daemon's check does.
  - A one-element list and its element are the same value (C(address) may be a string or a list).
  - Under C(merged), mappings are merged key by key; a value or list replaces the old one.
  - Keys (C(pre-shared-key) values, manual SA keys) are masked in every result, including diffs.
  - The file is written as JSON, which xfrmctl reads as YAML, so its name must end in C(.yaml) or
    C(.yml).
  - When no daemon runs (no control socket), the file is still written and a warning says the
    daemon applies it when it starts. When a daemon runs but does not answer the reload within
    I(timeout), the task fails and the new file stays (the daemon may be applying it).
options:
  config:
    description:
      - The VPN objects. Each section is a list of entries; C(name) identifies an entry and the
        other keys are its statements.
    type: dict
    suboptions:
      ike_proposals:
        description: C(security ike proposal NAME) entries.
        type: list
        elements: dict
      ike_policies:
        description:
          - "C(security ike policy NAME) entries, with C(pre-shared-key) as
            C({ascii-text: KEY}) or C({hexadecimal: HEX})."
        type: list
        elements: dict
      ike_gateways:
        description: C(security ike gateway NAME) entries.
        type: list
        elements: dict
      ipsec_proposals:
        description: C(security ipsec proposal NAME) entries.
        type: list
        elements: dict
      ipsec_policies:
        description: C(security ipsec policy NAME) entries.
        type: list
        elements: dict
      vpns:
        description:
          - C(security ipsec vpn NAME) entries (C(bind-interface), C(ike), C(establish-tunnels),
            C(vpn-monitor), ...).
        type: list
        elements: dict
      st0_units:
        description:
          - C(interfaces st0 unit N) entries; C(name) is the unit number. Next-hop tunnel binding
            entries go in C(family.inet.next-hop-tunnel), one C(ADDRESS) key each with
            C(ipsec-vpn) naming the VPN.
        type: list
        elements: dict
      static_routes:
        description: C(routing-options static route PREFIX) entries; C(name) is the prefix.
        type: list
        elements: dict
  running_config:
    description:
      - Configuration text (YAML, Junos C(set) lines or curly text) to turn into structured
        data with I(state=parsed).
    type: str
  state:
    description:
      - C(merged) adds and changes the given objects; C(replaced) replaces each given object
        whole; C(overridden) makes the managed objects exactly the given ones; C(deleted)
        deletes the given objects by name (all managed objects when I(config) is empty).
      - C(gathered) returns the file's objects; C(rendered) returns the C(set) lines of
        I(config) without touching the host; C(parsed) structures I(running_config).
    type: str
    choices: [merged, replaced, overridden, deleted, gathered, rendered, parsed]
    default: merged
  config_file:
    description: The daemon's configuration file (the path given to C(xfrmctl daemon --config)).
    type: path
    default: /etc/xfrmctl/xfrmctl.yaml
  xfrmctl_path:
    description: The C(xfrmctl) command, a name looked up on C(PATH) or an absolute path.
    type: str
    default: xfrmctl
  socket:
    description: The daemon's control socket (default that of C(xfrmctl)).
    type: path
  reload:
    description: Ask the daemon to apply a changed file (C(request system reload)).
    type: bool
    default: true
  timeout:
    description: Seconds to wait for the daemon's answer.
    type: float
    default: 60
"""

EXAMPLES = r"""
- name: One route-based IKEv2 VPN to a branch
  xfrmctl.ipsec.xfrmctl_vpns:
    config:
      ike_proposals:
        - name: ike-gcm
          authentication-method: pre-shared-keys
          dh-group: group31
          encryption-algorithm: aes-256-gcm
      ike_policies:
        - name: ike-pol
          proposals: ike-gcm
          pre-shared-key:
            ascii-text: "{{ vault_branch_psk }}"
      ike_gateways:
        - name: branch
          ike-policy: ike-pol
          address: 198.51.100.2
          external-interface: eth0
          version: v2-only
      ipsec_proposals:
        - name: esp-gcm
          protocol: esp
          encryption-algorithm: aes-256-gcm
      ipsec_policies:
        - name: ipsec-pol
          proposals: esp-gcm
      vpns:
        - name: to-branch
          bind-interface: st0.0
          ike:
            gateway: branch
            ipsec-policy: ipsec-pol
          establish-tunnels: immediately
          vpn-monitor:
            destination-ip: 198.18.255.2
      st0_units:
        - name: 0
          family:
            inet:
              address: 198.18.255.1/30
      static_routes:
        - name: 198.18.2.0/24
          next-hop: st0.0
    state: merged

- name: Remove the VPN and its st0 unit, keep the shared proposals
  xfrmctl.ipsec.xfrmctl_vpns:
    config:
      vpns:
        - name: to-branch
      st0_units:
        - name: 0
    state: deleted

- name: Read the VPN objects of the configuration file
  xfrmctl.ipsec.xfrmctl_vpns:
    state: gathered
  register: vpns

- name: Junos set lines of a configuration, offline
  xfrmctl.ipsec.xfrmctl_vpns:
    config:
      static_routes:
        - name: 198.18.2.0/24
          next-hop: st0.0
    state: rendered
"""

RETURN = r"""
before:
  description: The managed objects before the task (same form as I(config)).
  returned: when I(state) is merged, replaced, overridden or deleted
  type: dict
after:
  description: The managed objects after the task.
  returned: when changed
  type: dict
commands:
  description: The change as Junos C(delete)/C(set) lines (keys masked).
  returned: when I(state) is merged, replaced, overridden or deleted
  type: list
  elements: str
  sample:
    - delete security ipsec vpn old-vpn
    - set security ike gateway branch address 198.51.100.2
warnings_from_check:
  description: Warnings C(xfrmctl config check) gave for the new file.
  returned: when changed
  type: list
  elements: str
reloaded:
  description: Whether the daemon applied the new file (false when no daemon was running).
  returned: when changed and not in check mode
  type: bool
rendered:
  description: The C(set) lines of I(config).
  returned: when I(state) is rendered
  type: list
  elements: str
gathered:
  description: The managed objects of the configuration file.
  returned: when I(state) is gathered
  type: dict
parsed:
  description: The managed objects of I(running_config).
  returned: when I(state) is parsed
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule  # noqa: E402

from ansible_collections.xfrmctl.ipsec.plugins.module_utils.resource import (  # noqa: E402
    SECTION_KEYS,
    STATES,
    ResourceError,
    commands,
    desired,
    render_file,
    resource_from_config,
    resource_from_tree,
    resource_to_config,
    secrets,
    set_lines,
    tree_with,
)
from ansible_collections.xfrmctl.ipsec.plugins.module_utils.router import (  # noqa: E402
    Router,
    RouterError,
)

SECTION_SPEC = {key: {"type": "list", "elements": "dict"} for key in SECTION_KEYS}

ARGUMENT_SPEC = {
    "config": {"type": "dict", "options": SECTION_SPEC},
    "running_config": {"type": "str"},
    "state": {
        "type": "str",
        "default": "merged",
        "choices": list(STATES),
    },
    "config_file": {"type": "path", "default": "/etc/xfrmctl/xfrmctl.yaml"},
    "xfrmctl_path": {"type": "str", "default": "xfrmctl"},
    "socket": {"type": "path"},
    "reload": {"type": "bool", "default": True},
    "timeout": {"type": "float", "default": 60},
}


def _mask(module, tree):
    for value in secrets(tree):
        module.no_log_values.add(value)


def _changes(module, router, result):
    params = module.params
    state = params["state"]
    if not params["config_file"].endswith((".yaml", ".yml")):
        module.fail_json(msg="config_file must end in .yaml or .yml (the module writes YAML)")
    old_text = router.read_text()
    old_tree = router.tree_of(old_text, params["config_file"])
    _mask(module, old_tree)
    want_config = params["config"] or {}
    _mask(module, want_config)
    want = resource_from_config(want_config)
    have = resource_from_tree(old_tree)
    new = desired(have, want, state)
    new_tree = tree_with(old_tree, new)
    base_tree = tree_with(old_tree, have)
    result["before"] = resource_to_config(have)
    result["commands"] = commands(base_tree, new_tree)
    if not result["commands"]:
        return
    new_text = render_file(new_tree)
    result["changed"] = True
    result["after"] = resource_to_config(new)
    if module._diff:
        result["diff"] = {
            "before": "".join(line + "\n" for line in set_lines(base_tree)),
            "after": "".join(line + "\n" for line in set_lines(new_tree)),
            "before_header": params["config_file"],
            "after_header": params["config_file"],
        }
    result["warnings_from_check"] = router.check(new_text)
    if module.check_mode:
        return
    router.write(new_text)
    if not params["reload"]:
        result["reloaded"] = False
        return
    try:
        result["reloaded"] = router.reload()
    except RouterError as exc:
        if not exc.restore:
            result["reloaded"] = False
            raise
        router.restore(old_text)
        raise
    if not result["reloaded"]:
        module.warn(
            "no xfrmctl daemon answered: the new configuration file is in place and applies "
            "when the daemon starts"
        )


def main():
    module = AnsibleModule(
        argument_spec=ARGUMENT_SPEC,
        mutually_exclusive=[["config", "running_config"]],
        required_if=[
            ["state", "merged", ["config"]],
            ["state", "replaced", ["config"]],
            ["state", "overridden", ["config"]],
            ["state", "rendered", ["config"]],
            ["state", "parsed", ["running_config"]],
        ],
        supports_check_mode=True,
    )
    params = module.params
    state = params["state"]
    result = {"changed": False}
    try:
        if state == "rendered":
            _mask(module, params["config"])
            want = resource_from_config(params["config"])
            result["rendered"] = set_lines(tree_with({}, want))
            module.exit_json(**result)
        router = Router(module, params["xfrmctl_path"], params["config_file"], params["socket"],
                        params["timeout"])  # fmt: skip
        if state == "parsed":
            tree = router.tree_of(params["running_config"], "running_config")
            _mask(module, tree)
            result["parsed"] = resource_to_config(resource_from_tree(tree))
        elif state == "gathered":
            tree = router.tree_of(router.read_text(), params["config_file"])
            _mask(module, tree)
            result["gathered"] = resource_to_config(resource_from_tree(tree))
        else:
            _changes(module, router, result)
    except (ResourceError, RouterError) as exc:
        # Nothing was changed (a refused file is put back before this is reached), unless the
        # daemon stopped answering after it read the new file.
        if getattr(exc, "restore", True):
            result["changed"] = False
            result.pop("after", None)
        result.update(getattr(exc, "details", {}))
        module.fail_json(msg=str(exc), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
