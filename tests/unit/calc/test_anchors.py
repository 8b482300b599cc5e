"""The anchor file's signature and `check_extends` (energy_coop.calc.credits.anchors) with literal chains."""

from __future__ import annotations

import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from energy_coop.calc.credits import anchors as calc
from energy_coop.calc.credits.anchors import AnchorError, Head


def chain(n: int, tag: str = "") -> list[tuple[int, str]]:
    """A made-up chain of ``n`` hashes; ``tag`` changes every hash from entry 1 on (a rewrite)."""
    out, prev = [], "0" * 64
    for seq in range(1, n + 1):
        prev = hashlib.sha256(f"{prev}|{seq}{tag}".encode()).hexdigest()
        out.append((seq, prev))
    return out


def rewritten_from(entries: list[tuple[int, str]], seq: int) -> list[tuple[int, str]]:
    prev = entries[seq - 2][1] if seq > 1 else "0" * 64
    out = entries[:seq - 1]
    for s, _ in entries[seq - 1:]:
        prev = hashlib.sha256(f"{prev}|{s}forged".encode()).hexdigest()
        out.append((s, prev))
    return out


def anchor_of(entries, key, stride=None) -> calc.Anchor:
    seq, digest = entries[-1]
    stride = stride or calc.trail_stride(seq)
    doc = calc.sign(calc.body(Head(seq, digest, seq, 0, 0), "2026-12-03T04:40:00+00:00", stride,
                              calc.make_trail(entries, seq, stride)), key)
    return calc.read(doc)


@pytest.fixture(scope="module")
def key():
    return Ed25519PrivateKey.generate()


def test_the_signature_covers_every_field_and_names_the_signing_key(key):
    entries = chain(5)
    doc = calc.sign(calc.body(Head(5, entries[-1][1], 5, 10, 20), "2026-12-03T04:40:00+00:00", 1,
                              calc.make_trail(entries, 5, 1)), key)
    anchor = calc.read(doc, calc.raw_public_key(key))
    assert anchor.summary() == {"seq": 5, "hash": entries[-1][1], "signed_at": "2026-12-03T04:40:00+00:00",
                                "public_key_fingerprint": doc["signature"]["public_key_fingerprint"]}
    for change in ({"signed_at": "2026-12-04T00:00:00+00:00"}, {"head": {**doc["head"], "total_cents": 21}}):
        with pytest.raises(AnchorError, match="signature does not match its contents"):
            calc.read({**doc, **change})
    with pytest.raises(AnchorError, match="was signed by the key sha256:"):
        calc.read(doc, calc.raw_public_key(Ed25519PrivateKey.generate()))
    with pytest.raises(AnchorError, match="not a ledger anchor"):
        calc.read({"head": doc["head"]})


def test_an_untouched_ledger_with_later_entries_extends_its_anchor(key):
    entries = chain(12)
    assert calc.check_extends(anchor_of(entries[:9], key), entries) == []


def test_the_first_changed_and_the_first_missing_entry_are_named(key):
    entries = chain(9)
    anchor = anchor_of(entries, key)
    [changed] = calc.check_extends(anchor, rewritten_from(entries, 4))
    assert changed.startswith("entry 4 changed after the anchor of 2026-12-03T04:40:00+00:00 was signed")
    [missing] = calc.check_extends(anchor, entries[:6])
    assert missing == ("entry 7 is missing: the anchor of 2026-12-03T04:40:00+00:00 covers entries 1 to 9, and "
                       "the ledger now ends at entry 6")
    [gap] = calc.check_extends(anchor, entries[:3] + entries[5:])
    assert gap.startswith("entry 4 is missing") and "entries are missing from 4 on" in gap
    assert calc.check_extends(anchor, [])[0].endswith("and the ledger is now empty")


def test_with_a_stride_the_change_is_located_to_a_span(key):
    entries = chain(40)
    anchor = anchor_of(entries, key, stride=8)
    assert len(anchor.trail) == 5
    [changed] = calc.check_extends(anchor, rewritten_from(entries, 19))
    assert changed.startswith("an entry from 17 to 24 changed (the first to differ)")
    [changed] = calc.check_extends(anchor, rewritten_from(entries, 17))
    assert changed.startswith("an entry from 17 to 24 changed")
    anchor = anchor_of(entries[:38], key, stride=8)  # the head lies after the last trail point (32)
    [changed] = calc.check_extends(anchor, rewritten_from(entries, 35))
    assert changed.startswith("an entry from 33 to 38 changed")


def test_the_trail_stays_small():
    assert calc.trail_stride(1) == 1 and calc.trail_stride(calc.MAX_TRAIL) == 1
    assert calc.trail_stride(calc.MAX_TRAIL + 1) == 2 and calc.trail_stride(10 * calc.MAX_TRAIL) == 10
