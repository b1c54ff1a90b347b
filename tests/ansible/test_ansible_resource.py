"""The xfrmctl_vpns resource logic: states, the configuration tree, Junos commands, key masking."""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from xfrmctl.config import load_text, to_set
from xfrmctl.config.secrets import SECRET_KEYWORDS

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
R: Any = importlib.import_module("ansible_collections.xfrmctl.ipsec.plugins.module_utils.resource")

PSK = "lab-only-secret-0123456789"

FILE_TREE: dict[str, Any] = {
    "security": {
        "ike": {
            "traceoptions": {"flag": ["ike"]},
            "proposal": {"P1": {"authentication-method": "pre-shared-keys", "dh-group": "group31"}},
            "policy": {"IKEPOL": {"proposals": ["P1"], "pre-shared-key": {"ascii-text": PSK}}},
            "gateway": {
                "GW": {"ike-policy": "IKEPOL", "address": ["192.0.2.2"], "version": "v2-only"}
            },
        },
        "ipsec": {
            "vpn": {
                "vpn1": {
                    "bind-interface": "st0.0",
                    "ike": {"gateway": "GW", "ipsec-policy": "IPSECPOL"},
                },
                "vpn2": {"bind-interface": "st0.1", "ike": {"gateway": "GW"}},
            },
        },
    },
    "interfaces": {"st0": {"unit": {0: {"family": {"inet": {"address": "198.18.255.1/30"}}}}}},
}


def have() -> Any:
    return R.resource_from_tree(FILE_TREE)


def test_resource_from_tree_takes_the_named_objects_in_canonical_form():
    res = have()
    assert res["ike_gateways"] == {
        "GW": {"ike-policy": "IKEPOL", "address": "192.0.2.2", "version": "v2-only"}
    }
    assert res["st0_units"] == {"0": {"family": {"inet": {"address": "198.18.255.1/30"}}}}
    assert res["static_routes"] == {}
    assert list(res) == list(R.SECTION_KEYS)


def test_config_entries_need_unique_names():
    with pytest.raises(R.ResourceError, match=r"vpns\[1\]: every entry needs a name"):
        R.resource_from_config({"vpns": [{"name": "a"}, {"bind-interface": "st0.0"}]})
    with pytest.raises(R.ResourceError, match="vpns: 'a' is given twice"):
        R.resource_from_config({"vpns": [{"name": "a"}, {"name": "a"}]})
    assert R.resource_from_config({"st0_units": [{"name": 3, "multipoint": True}]}) == {
        "st0_units": {"3": {"multipoint": True}}
    }


def test_merged_merges_mappings_and_replaces_values():
    want = R.resource_from_config(
        {"vpns": [{"name": "vpn1", "ike": {"ipsec-policy": "P9"}, "df-bit": "clear"}]}
    )
    new = R.desired(have(), want, "merged")
    assert new["vpns"]["vpn1"] == {
        "bind-interface": "st0.0",
        "ike": {"gateway": "GW", "ipsec-policy": "P9"},
        "df-bit": "clear",
    }
    assert new["vpns"]["vpn2"] == have()["vpns"]["vpn2"]


def test_replaced_overridden_deleted():
    want = R.resource_from_config({"vpns": [{"name": "vpn1", "bind-interface": "st0.4"}]})
    replaced = R.desired(have(), want, "replaced")
    assert replaced["vpns"] == {
        "vpn1": {"bind-interface": "st0.4"},
        "vpn2": have()["vpns"]["vpn2"],
    }
    assert replaced["ike_gateways"] == have()["ike_gateways"]
    overridden = R.desired(have(), want, "overridden")
    assert overridden == {
        key: ({"vpn1": {"bind-interface": "st0.4"}} if key == "vpns" else {})
        for key in R.SECTION_KEYS
    }
    deleted = R.desired(have(), R.resource_from_config({"vpns": [{"name": "vpn2"}]}), "deleted")
    assert list(deleted["vpns"]) == ["vpn1"]
    assert R.desired(have(), {}, "deleted") == {key: {} for key in R.SECTION_KEYS}


def test_tree_with_keeps_unmanaged_statements_and_prunes_empty_branches():
    emptied = R.desired(have(), {}, "deleted")
    assert R.tree_with(FILE_TREE, emptied) == {
        "security": {"ike": {"traceoptions": {"flag": "ike"}}}
    }


def test_commands_delete_vanished_objects_and_set_new_values():
    want = R.resource_from_config(
        {
            "vpns": [{"name": "vpn2"}],
            "ike_gateways": [{"name": "GW", "address": ["192.0.2.9", "192.0.2.10"]}],
        }
    )
    after = R.desired(R.desired(have(), want, "merged"), R.resource_from_config(
        {"vpns": [{"name": "vpn2"}]}), "deleted")  # fmt: skip
    before_tree = R.tree_with(FILE_TREE, have())
    after_tree = R.tree_with(FILE_TREE, after)
    assert R.commands(before_tree, after_tree) == [
        "delete security ike gateway GW address 192.0.2.2",
        "delete security ipsec vpn vpn2",
        "set security ike gateway GW address 192.0.2.9",
        "set security ike gateway GW address 192.0.2.10",
    ]
    assert R.commands(after_tree, after_tree) == []


def test_one_valued_leaf_change_is_a_set_only_and_flags_are_words():
    before = {"security": {"ike": {"gateway": {"GW": {"version": "v1-only"}}}}}
    after = {
        "security": {"ike": {"gateway": {"GW": {"version": "v2-only", "no-nat-traversal": True}}}}
    }
    assert R.commands(before, after) == [
        "set security ike gateway GW version v2-only",
        "set security ike gateway GW no-nat-traversal",
    ]


def test_set_lines_quote_words_with_spaces():
    tree = {"security": {"ike": {"policy": {"P": {"description": 'a "b" c', "mode": "main"}}}}}
    assert R.set_lines(tree) == [
        'set security ike policy P description "a \\"b\\" c"',
        "set security ike policy P mode main",
    ]


def test_secrets_finds_every_key_value():
    tree = {
        "security": {
            "ike": {"policy": {"P": {"pre-shared-key": {"hexadecimal": "00ff"}}}},
            "ipsec": {"vpn": {"M": {"manual": {"authentication": {"key": {"ascii-text": "x"}},
                                               "encryption-key": {"hexadecimal": "abcd"}}}}},
        }
    }  # fmt: skip
    assert R.secrets(tree) == ["00ff", "x", "abcd"]
    assert R.secrets(FILE_TREE) == [PSK]


def test_secret_keywords_are_those_of_xfrmctl():
    assert R.SECRET_KEYS == SECRET_KEYWORDS


def test_rendered_file_is_read_back_by_xfrmctl_and_by_the_module():
    text = R.render_file(R.tree_with(FILE_TREE, have()))
    assert text.startswith("# Managed by the xfrmctl.ipsec.xfrmctl_vpns Ansible module")
    assert R.parse_text(text) == R.canonical(FILE_TREE)
    result = load_text(text, "x.yaml", "yaml", {})
    assert result.tree is not None
    set_text, _redacted = to_set(result.tree, True)
    assert "set security ike gateway GW address 192.0.2.2" in set_text.splitlines()
    assert R.parse_text("security:\n  ike: {}\n") is None
    assert R.parse_text("# only a comment\n") == {}
    with pytest.raises(R.ResourceError):
        R.parse_text("[1, 2]")


def test_canonical_makes_list_and_scalar_forms_equal():
    assert R.canonical({"a": ["x"], 1: {"b": None, "c": [1, 2]}}) == {"a": "x", "1": {"c": [1, 2]}}
    assert json.dumps(R.canonical({"k": ()})) == '{"k": []}'
