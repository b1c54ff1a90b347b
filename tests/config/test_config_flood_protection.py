"""``xfrmctl ike-flood-protection``: defaults, values in every format, ranges, and a reload diff."""

from __future__ import annotations

from xfrmctl.config import diff, load_text, to_set
from xfrmctl.config.model import Config, IkeFloodProtection

SET = """\
set xfrmctl ike-flood-protection half-open-limit 500
set xfrmctl ike-flood-protection cookie-threshold 0
set xfrmctl ike-flood-protection half-open-timeout 10
set xfrmctl ike-flood-protection init-rate 200
"""


def test_defaults_are_the_engines() -> None:
    assert Config().ike_flood_protection == IkeFloodProtection(1000, 100, 30, 0)
    only = load_text("set xfrmctl ike-flood-protection init-rate 5\n", "x.set").require()
    assert only.ike_flood_protection == IkeFloodProtection(1000, 100, 30, 5)


def test_set_yaml_and_curly_agree() -> None:
    result = load_text(SET, "x.set")
    config = result.require()
    assert config.ike_flood_protection == IkeFloodProtection(500, 0, 10, 200)
    yaml = (
        "xfrmctl:\n  ike-flood-protection:\n    half-open-limit: 500\n    cookie-threshold: 0\n"
        "    half-open-timeout: 10\n    init-rate: 200\n"
    )
    curly = (
        "xfrmctl { ike-flood-protection { half-open-limit 500; cookie-threshold 0; "
        "half-open-timeout 10; init-rate 200; } }\n"
    )
    assert load_text(yaml, "x.yaml").require() == config
    assert load_text(curly, "x.conf", "curly").require() == config
    assert result.tree is not None
    assert to_set(result.tree)[0] == SET


def test_out_of_range_is_an_error_with_its_line() -> None:
    result = load_text(SET.replace("half-open-timeout 10", "half-open-timeout 1"), "x.set")
    assert [str(d) for d in result.errors] == [
        "x.set:3: error: xfrmctl ike-flood-protection half-open-timeout 1: out of range 5..300"
    ]
    result = load_text("set xfrmctl ike-flood-protection half-open-limit 0\n", "x.set")
    assert [d.message for d in result.errors] == ["out of range 1..1000000"]


def test_a_change_is_a_reload_without_renegotiation() -> None:
    old = load_text(SET, "x.set").require()
    new = load_text(SET.replace("init-rate 200", "init-rate 300"), "x.set").require()
    change = diff(old, new)
    assert change.other == ("ike-flood-protection",)
    assert not change.vpns.changed_names() and not change.gateways.changed_names()
