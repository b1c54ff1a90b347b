# Copyright: xfrmctl developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""The VPN resource of xfrmctl_vpns: pure functions over the configuration tree.

The daemon's configuration file (YAML form) is one tree of Junos keywords. The resource is the
named objects under eight places of that tree; everything else in the file (traceoptions,
vpn-monitor-options, ...) is kept as it is by every state. The grammar itself lives only in
xfrmctl (`xfrmctl config check` validates the result), so object bodies are free-form here.
Standard library only: the module runs with whatever Python the router has.
"""

from __future__ import annotations

import copy
import json
import re

# Resource key -> where its named objects sit in the configuration tree.
SECTIONS = (
    ("ike_proposals", ("security", "ike", "proposal")),
    ("ike_policies", ("security", "ike", "policy")),
    ("ike_gateways", ("security", "ike", "gateway")),
    ("ipsec_proposals", ("security", "ipsec", "proposal")),
    ("ipsec_policies", ("security", "ipsec", "policy")),
    ("vpns", ("security", "ipsec", "vpn")),
    ("st0_units", ("interfaces", "st0", "unit")),
    ("static_routes", ("routing-options", "static", "route")),
)
SECTION_KEYS = tuple(key for key, _path in SECTIONS)
STATES = ("merged", "replaced", "overridden", "deleted", "gathered", "rendered", "parsed")

# Statements whose values are keys or passwords, masked in every result. The same keywords as
# xfrmctl.config.secrets.SECRET_KEYWORDS (a unit test keeps them equal; the module cannot import
# xfrmctl, which may live in another Python on the router).
SECRET_KEYS = frozenset(
    {
        "ascii-text", "hexadecimal", "password", "secret", "encrypted-password",
        "authentication-key", "plain-text-password-value", "value",
    }
)  # fmt: skip

HEADER = (
    "# Managed by the xfrmctl.ipsec.xfrmctl_vpns Ansible module: changes made here are\n"
    "# overwritten. JSON is YAML: xfrmctl reads this file as its YAML configuration.\n"
)

_PLAIN = re.compile(r"^[A-Za-z0-9_./:@+,=-]+$")


class ResourceError(Exception):
    """Bad module input (a duplicate name, an entry without a name, a non-mapping body)."""


def canonical(value):
    """Keys as strings, one-element lists as their element: equal configurations compare equal.

    xfrmctl reads `address: X` and `address: [X]` alike; treating them alike keeps a second
    run idempotent whichever form the file or the playbook uses."""
    if isinstance(value, dict):
        return {str(k): canonical(v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        items = [canonical(v) for v in value]
        return items[0] if len(items) == 1 else items
    return value


def _at(tree, path):
    node = tree
    for word in path:
        if not isinstance(node, dict):
            return {}
        node = node.get(word, {})
    return node if isinstance(node, dict) else {}


def resource_from_tree(tree):
    """{section: {name: body}} of the objects this module manages."""
    tree = canonical(tree or {})
    return {key: copy.deepcopy(_at(tree, path)) for key, path in SECTIONS}


def resource_from_config(config):
    """The module's `config` option (lists of entries with a `name`) as {section: {name: body}}."""
    result = {}
    for key in SECTION_KEYS:
        entries = (config or {}).get(key)
        if entries is None:
            continue
        objects = {}
        for index, entry in enumerate(entries):
            if not isinstance(entry, dict) or entry.get("name") in (None, ""):
                raise ResourceError(f"{key}[{index}]: every entry needs a name")
            name = str(entry["name"])
            if name in objects:
                raise ResourceError(f"{key}: '{name}' is given twice")
            body = {k: v for k, v in entry.items() if k != "name"}
            objects[name] = canonical(body)
        result[key] = objects
    return result


def resource_to_config(resource):
    """{section: {name: body}} back to the option's form (sorted, empty sections left out)."""
    config = {}
    for key in SECTION_KEYS:
        objects = resource.get(key) or {}
        if objects:
            config[key] = [dict({"name": name}, **copy.deepcopy(body)) for name, body in
                           sorted(objects.items())]  # fmt: skip
    return config


def deep_merge(have, want):
    """`want` over `have`: mappings merge key by key, values and lists are replaced."""
    if not isinstance(have, dict) or not isinstance(want, dict):
        return copy.deepcopy(want)
    merged = copy.deepcopy(have)
    for key, value in want.items():
        merged[key] = deep_merge(merged[key], value) if key in merged else copy.deepcopy(value)
    return merged


def desired(have, want, state):
    """The managed objects after applying `want` to `have` with the resource-module `state`."""
    result = {key: copy.deepcopy(have.get(key) or {}) for key in SECTION_KEYS}
    if state == "merged":
        for key, objects in want.items():
            for name, body in objects.items():
                result[key][name] = deep_merge(result[key].get(name, {}), body)
    elif state == "replaced":
        for key, objects in want.items():
            for name, body in objects.items():
                result[key][name] = copy.deepcopy(body)
    elif state == "overridden":
        result = {key: copy.deepcopy(want.get(key) or {}) for key in SECTION_KEYS}
    elif state == "deleted":
        if not any(want.values()):
            result = {key: {} for key in SECTION_KEYS}
        for key, objects in want.items():
            for name in objects:
                result[key].pop(name, None)
    else:
        raise ResourceError(f"state {state} does not change the configuration")
    return result


def tree_with(tree, resource):
    """`tree` with its managed objects replaced by `resource`; emptied branches are pruned."""
    new = canonical(copy.deepcopy(tree or {}))
    for key, path in SECTIONS:
        objects = resource.get(key) or {}
        node = new
        for word in path[:-1]:
            child = node.get(word)
            if not isinstance(child, dict):
                child = {}
                node[word] = child
            node = child
        if objects:
            node[path[-1]] = copy.deepcopy(objects)
        else:
            node.pop(path[-1], None)
    return _prune(new)


def _prune(node):
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        pruned = _prune(value)
        if isinstance(pruned, dict) and not pruned:
            continue
        out[key] = pruned
    return out


def render_file(tree):
    """The configuration file's text: a header comment and the tree as (JSON-formatted) YAML."""
    return HEADER + json.dumps(tree, indent=2) + "\n"


def _word(value):
    text = str(value).lower() if isinstance(value, bool) else str(value)
    if _PLAIN.match(text):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def set_statements(tree, prefix=()):
    """Every statement of `tree` as (words, single) pairs; `single` marks a one-valued leaf.

    Lists give one statement per element (Junos multi-valued statements); `true` is a flag."""
    out = []
    for key, value in (tree or {}).items():
        words = (*prefix, str(key))
        if isinstance(value, dict):
            if value:
                out.extend(set_statements(value, words))
            else:
                out.append((words, True))
        elif isinstance(value, list):
            out.extend(((*words, _word(item)), False) for item in value)
        elif value is True:
            out.append((words, True))
        elif value is False:
            continue
        else:
            out.append(((*words, _word(value)), True))
    return out


def set_lines(tree):
    return ["set " + " ".join(words) for words, _single in set_statements(tree)]


def commands(before_tree, after_tree):
    """The Junos `delete`/`set` lines that turn `before_tree` into `after_tree`.

    A removed subtree is one `delete` of its highest vanished node (an object at the highest);
    a changed one-valued leaf
    is only `set` (Junos overwrites it); a removed list value is deleted by value."""
    before = set_statements(before_tree)
    after = set_statements(after_tree)
    after_words = {words for words, _single in after}
    after_prefixes = set()
    after_leaves = set()
    for words, single in after:
        for n in range(1, len(words) + 1):
            after_prefixes.add(words[:n])
        if single:
            after_leaves.add(words[:-1])
    deletes = []
    for words, single in before:
        if words in after_words:
            continue
        if single and words[:-1] in after_leaves:
            continue  # a one-valued leaf the `set` below overwrites
        for n in range(_object_depth(words), len(words) + 1):
            if words[:n] not in after_prefixes:
                line = "delete " + " ".join(words[:n])
                if line not in deletes:
                    deletes.append(line)
                break
    before_words = {words for words, _single in before}
    sets = ["set " + " ".join(words) for words, _single in after if words not in before_words]
    return deletes + sets


def _object_depth(words):
    """Deletes name at least the object (`delete security ipsec vpn X`, not `... vpn`)."""
    for _key, path in SECTIONS:
        if tuple(words[: len(path)]) == path:
            return min(len(path) + 1, len(words))
    return 1


def secrets(tree):
    """Every key value in `tree` (pre-shared keys, manual SA keys), to mask in all output."""
    found = []

    def walk(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key in SECRET_KEYS:
                    found.extend(_leaves(value))
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(tree or {})
    return [str(value) for value in found if value not in (None, "", True, False)]


def _leaves(node):
    if isinstance(node, dict):
        return [leaf for value in node.values() for leaf in _leaves(value)]
    if isinstance(node, list):
        return [leaf for value in node for leaf in _leaves(value)]
    return [node]


def parse_text(text):
    """A configuration file's tree if it is JSON (as this module writes it), else None."""
    body = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    if not body.strip():
        return {}
    try:
        tree = json.loads(body)
    except ValueError:
        return None
    if not isinstance(tree, dict):
        raise ResourceError("the configuration file is not a mapping of statements")
    return tree
