"""xfrmctl derives the keys a real strongSwan derived, from exchanges captured in the lab VM.

The vectors in data/ were captured by integration/tests/test_lab_strongswan_keys.py (which also
checks fresh ones on every lab run): charon 5.9 as initiator, keys from its level-4 log.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.keying.strongswan_vectors import check_vector

VECTORS = sorted((Path(__file__).parent / "data").glob("strongswan-*.json"))


def test_vectors_are_present() -> None:
    assert len(VECTORS) >= 2


@pytest.mark.parametrize("path", VECTORS, ids=lambda p: p.stem)
def test_keys_and_decryption_match_strongswan(path: Path) -> None:
    check_vector(json.loads(path.read_text()))


@pytest.mark.parametrize("path", VECTORS, ids=lambda p: p.stem)
def test_a_flipped_bit_in_the_secret_is_noticed(path: Path) -> None:
    vector = json.loads(path.read_text())
    secret = bytearray.fromhex(vector["shared_secret"])
    secret[0] ^= 1
    vector["shared_secret"] = secret.hex()
    with pytest.raises(AssertionError, match="Sk_d"):
        check_vector(vector)
