"""Counter baselines: one record per SA, wraps, replacements, missing entries, ownership moves."""

from __future__ import annotations

import pytest

from xfrmctl.dpd import Direction, DpdError, TrafficLedger

U64 = 2**64


def ledger() -> TrafficLedger:
    led = TrafficLedger()
    led.add("a-in", Direction.IN, 0.0, ike="ike", vpn="v", child=7)
    led.add("a-out", Direction.OUT, 0.0, ike="ike", vpn="v", child=7)
    return led


def test_fresh_sa_has_no_change_until_its_counters_move() -> None:
    led = ledger()
    led.observe(["a-in", "a-out"], {"a-in": (0, 0), "a-out": (0, 0)}, 5.0)
    assert led.last_change(["a-in", "a-out"]) == float("-inf")
    led.observe(["a-in", "a-out"], {"a-in": (0, 0), "a-out": (84, 1)}, 6.0)
    assert led.last_change(["a-in", "a-out"], Direction.OUT) == 6.0
    assert led.last_change(["a-in", "a-out"], Direction.IN) == float("-inf")
    assert led.last_change(["a-in", "a-out"]) == 6.0
    assert led.sas["a-out"].counts == (84, 1)


def test_unchanged_counters_keep_the_old_change_time() -> None:
    led = ledger()
    led.observe(["a-in"], {"a-in": (100, 1)}, 1.0)
    led.observe(["a-in"], {"a-in": (100, 1)}, 2.0)
    assert led.last_change(["a-in"]) == 1.0


def test_sa_missing_from_the_dump_is_unchanged() -> None:
    led = ledger()
    led.observe(["a-in"], {"a-in": (100, 1)}, 1.0)
    led.observe(["a-in"], {}, 2.0)
    assert led.sas["a-in"].counts == (100, 1)
    assert led.last_change(["a-in"]) == 1.0


def test_only_the_asked_sas_are_looked_at() -> None:
    led = ledger()
    led.observe(["a-out"], {"a-in": (100, 1), "a-out": (5, 1)}, 1.0)
    assert led.sas["a-in"].counts == (0, 0)
    assert led.sas["a-in"].changed_at is None


def test_unknown_keys_are_skipped() -> None:
    led = ledger()
    led.observe(["gone"], {"gone": (1, 1)}, 1.0)
    assert "gone" not in led.sas
    assert led.last_change(["gone"]) == float("-inf")


def test_counter_wrap_counts_as_traffic() -> None:
    led = TrafficLedger()
    led.add("s", Direction.IN, 0.0, baseline=(U64 - 10, 5))
    led.observe(["s"], {"s": (20, 6)}, 3.0)  # wrapped past 2**64
    assert led.last_change(["s"]) == 3.0
    assert led.sas["s"].counts == (20, 6)
    led.observe(["s"], {"s": (20, 6)}, 4.0)
    assert led.last_change(["s"]) == 3.0


def test_packet_counter_alone_moving_counts() -> None:
    led = TrafficLedger()
    led.add("s", Direction.IN, 0.0, baseline=(500, 5))
    led.observe(["s"], {"s": (500, 6)}, 1.0)
    assert led.last_change(["s"]) == 1.0


def test_replacement_under_the_same_key_starts_from_zero() -> None:
    led = ledger()
    led.observe(["a-in"], {"a-in": (5000, 50)}, 1.0)
    # the SA is deleted and a new one installed with the same SPI: zero counters, no traffic
    led.add("a-in", Direction.IN, 2.0, ike="ike", vpn="v", child=8)
    assert led.sas["a-in"].changed_at is None
    led.observe(["a-in"], {"a-in": (0, 0)}, 3.0)
    assert led.last_change(["a-in"]) == float("-inf")
    assert led.of_child(7) == {"a-out"}
    assert led.of_child(8) == {"a-in"}


def test_kernel_reset_behind_our_back_counts_once_then_rebases() -> None:
    led = ledger()
    led.observe(["a-in"], {"a-in": (5000, 50)}, 1.0)
    led.observe(["a-in"], {"a-in": (10, 1)}, 2.0)
    assert led.last_change(["a-in"]) == 2.0
    led.observe(["a-in"], {"a-in": (10, 1)}, 3.0)
    assert led.last_change(["a-in"]) == 2.0


def test_indexes_follow_add_remove_and_ike_rekey() -> None:
    led = ledger()
    assert led.of_ike("ike") == {"a-in", "a-out"}
    assert led.of_vpn("v") == {"a-in", "a-out"}
    led.move_ike("ike", "ike2")
    assert led.of_ike("ike") == frozenset()
    assert led.of_ike("ike2") == {"a-in", "a-out"}
    assert led.sas["a-in"].ike == "ike2"
    led.move_ike("nothing", "else")
    assert led.of_ike("else") == frozenset()
    assert led.remove("a-in") is not None
    assert led.remove("a-in") is None
    assert led.of_vpn("v") == {"a-out"}
    led.remove("a-out")
    assert led.of_vpn("v") == frozenset()
    assert list(led.children()) == []


def test_negative_baseline_is_refused() -> None:
    with pytest.raises(DpdError, match="negative counter baseline"):
        TrafficLedger().add("s", Direction.IN, 0.0, baseline=(-1, 0))


def test_bad_direction_is_refused() -> None:
    with pytest.raises(ValueError):
        TrafficLedger().add("s", "sideways", 0.0)  # type: ignore[arg-type]


def test_removed_sa_leaves_its_evidence_with_its_owners() -> None:
    led = ledger()
    led.observe(["a-out"], {"a-out": (10, 1)}, 1.0)
    # a last inbound burst the ledger never looked at, reported with the kernel's delete
    led.remove("a-in", 4.0, (300, 3))
    led.remove("a-out", 5.0, (10, 1))  # unchanged since the last look: its change stays at 1
    assert led.of_ike("ike") == frozenset()
    assert led.last_change_of("ike", "ike", Direction.IN) == 4.0
    assert led.last_change_of("vpn", "v", Direction.IN) == 4.0
    assert led.last_change_of("ike", "ike", Direction.OUT) == 1.0
    assert led.last_change_of("child", 7) == 4.0
    assert led.latest_of("ike", "ike", Direction.IN) == (4.0, 2)
    led.move_ike("ike", "ike2")
    assert led.last_change_of("ike", "ike2", Direction.IN) == 4.0
    led.forget("ike", "ike2")
    assert led.last_change_of("ike", "ike2") == float("-inf")
    assert led.last_change_of("vpn", "v") == 4.0


def test_stamps_order_changes_seen_at_the_same_instant() -> None:
    led = ledger()
    led.observe(["a-in"], {"a-in": (1, 1)}, 2.0)
    first = led.latest_of("vpn", "v", Direction.IN)
    led.observe(["a-in"], {"a-in": (2, 2)}, 2.0)
    assert led.latest_of("vpn", "v", Direction.IN) > first
    assert led.stamp == 2
