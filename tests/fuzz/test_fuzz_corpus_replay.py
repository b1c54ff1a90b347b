"""Every datagram of the seed corpus (strongSwan captures and engine runs, both IKE versions)
decodes, goes through a fresh responder, and so do fixed mutations of it: only ParseError,
protocol answers and bounded state come out (`harness.feed`)."""

import pytest

from tests.fuzz import harness as fz

MUTANTS = 12
FILES = fz.corpus_files()


def test_corpus_has_both_versions_and_strongswan():
    names = [f.name for f in FILES]
    assert sum(n.startswith("ikev1-") for n in names) >= 40
    assert sum(n.startswith("ikev2-") for n in names) >= 40
    assert sum("strongswan" in n for n in names) >= 8


@pytest.mark.parametrize("path", FILES, ids=[f.stem for f in FILES])
def test_replay(path):
    data = path.read_bytes()
    version = fz.ike_version(data)
    decode = fz.decode_v1 if version == 1 else fz.decode_v2
    assert decode(data), "a real datagram must decode"
    fz.feed(fz.responder_for(data), data)
    choose = fz.RandomChooser(path.name)
    for _ in range(MUTANTS):
        mutant = fz.mutate(data, choose)
        decode(mutant)
        fz.feed(fz.responder_for(mutant), mutant)
