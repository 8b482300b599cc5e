"""Signed anchors of the ledger's head (issue 16), as pure functions an auditor can re-implement from this text.

An anchor is a JSON file that says "on ``signed_at`` the ledger ended at entry ``seq`` with hash ``hash``, after
``entries`` entries summing to ``total_wh`` [Wh] and ``total_cents`` [cents]", signed with an Ed25519 key that is
kept outside the database. Kept by someone outside the co-op (an auditor), it lets anyone prove later that the
ledger still *extends* that head: the entry at ``seq`` still has that hash (and, since each hash covers the one
before, so does every entry before it), and the chain from the first entry to today's head verifies.

The file::

    {"format": "energy-coop ledger anchor", "version": 1,
     "head": {"seq": 9, "hash": "3fa2...", "entries": 9, "total_wh": 1234, "total_cents": 567},
     "signed_at": "2026-12-03T04:40:00+00:00",
     "trail": {"stride": 1, "digits": 12, "hashes": "3b1f0c2a9e11..."},
     "signature": {"algorithm": "Ed25519", "public_key": "<base64 of the 32-byte raw key>",
                   "public_key_fingerprint": "sha256:<hex of sha256(raw key)>", "value": "<base64>"}}

The signature covers everything but ``signature`` itself, as the *canonical* JSON text of it: keys sorted, no
spaces (``","`` and ``":"`` separators), non-ASCII escaped, encoded as UTF-8 (:func:`canonical`).

The ``trail`` says *where* a changed ledger first differs: the first ``digits`` hex digits of the hash of every
``stride``-th entry (entries ``stride``, ``2 stride``, ... up to ``seq``), concatenated. ``stride`` is 1 (every
entry) up to :data:`MAX_TRAIL` entries and grows beyond, so the file stays below a megabyte. The trail only
*locates* a change; the full, signed head hash is what *detects* it.

What an anchor cannot see: entries appended after it was signed (a later anchor covers them).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass
from typing import Any, Iterable

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

FORMAT = "energy-coop ledger anchor"
VERSION = 1
ALGORITHM = "Ed25519"
MAX_TRAIL = 65_536  # trail points at most: every entry up to this many, then every stride-th
TRAIL_DIGITS = 12  # hex digits of each trail hash (48 bits: enough to locate, never to detect)
HEX = frozenset("0123456789abcdef")


class AnchorError(ValueError):
    """A file that is not an anchor, or whose signature does not hold; the message says which, in plain words."""


@dataclass(frozen=True)
class Head:
    """The ledger's head: the last entry's ``seq`` and ``hash``, the number of entries and their sums."""

    seq: int
    hash: str
    entries: int
    total_wh: int  # [Wh]
    total_cents: int  # [cents]

    def as_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "hash": self.hash, "entries": self.entries, "total_wh": self.total_wh,
                "total_cents": self.total_cents}


@dataclass(frozen=True)
class Anchor:
    """A read, signature-checked anchor."""

    head: Head
    signed_at: str  # ISO 8601 UTC
    stride: int
    trail: tuple[str, ...]  # hash prefixes of entries stride, 2 stride, ... (<= head.seq)
    public_key: bytes  # raw 32 bytes
    sha256: str  # of the file's canonical body and signature, as recorded in the audit log

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.public_key)

    def summary(self) -> dict[str, Any]:
        """What statements and the audit bundle carry: ``{seq, hash, signed_at, public_key_fingerprint}``."""
        return {"seq": self.head.seq, "hash": self.head.hash, "signed_at": self.signed_at,
                "public_key_fingerprint": self.fingerprint}


def fingerprint(public_key: bytes) -> str:
    """``sha256:<hex>`` of a raw Ed25519 public key: how a person compares two keys."""
    return "sha256:" + hashlib.sha256(public_key).hexdigest()


def raw_public_key(key: Ed25519PrivateKey | Ed25519PublicKey) -> bytes:
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return public.public_bytes(Encoding.Raw, PublicFormat.Raw)


def trail_stride(seq: int) -> int:
    """Every how many entries the trail keeps a hash, for a head at ``seq``: 1 up to :data:`MAX_TRAIL`."""
    return max(1, -(-seq // MAX_TRAIL))


def make_trail(hashes: Iterable[tuple[int, str]], seq: int, stride: int) -> tuple[str, ...]:
    """The trail's prefixes from ``(seq, hash)`` pairs in seq order, for entries ``stride, 2 stride, ... <= seq``."""
    return tuple(h[:TRAIL_DIGITS] for s, h in hashes if s <= seq and s % stride == 0)


def body(head: Head, signed_at: str, stride: int, trail: Iterable[str]) -> dict[str, Any]:
    """The signed part of an anchor file."""
    return {"format": FORMAT, "version": VERSION, "head": head.as_dict(), "signed_at": signed_at,
            "trail": {"stride": stride, "digits": TRAIL_DIGITS, "hashes": "".join(trail)}}


def canonical(doc: dict[str, Any]) -> bytes:
    """The bytes that are signed: sorted keys, no spaces, ASCII, UTF-8."""
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("utf-8")


def sign(signed: dict[str, Any], key: Ed25519PrivateKey) -> dict[str, Any]:
    """``signed`` (a :func:`body`) with its ``signature``."""
    raw = raw_public_key(key)
    return {**signed, "signature": {
        "algorithm": ALGORITHM, "public_key": base64.b64encode(raw).decode("ascii"),
        "public_key_fingerprint": fingerprint(raw),
        "value": base64.b64encode(key.sign(canonical(signed))).decode("ascii")}}


def _int(value: Any) -> bool:
    return type(value) is int and value >= 0  # noqa: E721 - not a bool, not a float


def _is_hash(value: Any) -> bool:
    return isinstance(value, str) and len(value) == 64 and set(value) <= HEX


def read(doc: Any, trusted_key: bytes | None = None) -> Anchor:
    """Check an anchor document (parsed JSON) and its signature; :class:`AnchorError` saying what is wrong.

    ``trusted_key`` (a raw public key, e.g. the co-op's published one): the anchor must be signed by it. Without
    it, the key written in the file is used, which proves the file is unchanged since it was signed, not who
    signed it.
    """
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise AnchorError("this is not a ledger anchor (no \"format\": \"energy-coop ledger anchor\" in it)")
    if doc.get("version") != VERSION:
        raise AnchorError(f"this ledger anchor is of version {doc.get('version')!r}; this program reads "
                          f"version {VERSION}")
    head, sig, trail = doc.get("head"), doc.get("signature"), doc.get("trail")
    problems = []
    if not isinstance(head, dict) or not all(_int(head.get(k)) for k in ("seq", "entries")) \
            or not all(type(head.get(k)) is int for k in ("total_wh", "total_cents")) \
            or not _is_hash(head.get("hash")):
        problems.append("its head needs a seq, a 64-digit hex hash, entries, total_wh and total_cents")
    if not isinstance(doc.get("signed_at"), str):
        problems.append("it has no signed_at")
    if not isinstance(trail, dict) or not _int(trail.get("stride")) or not trail.get("stride") \
            or trail.get("digits") != TRAIL_DIGITS or not isinstance(trail.get("hashes"), str) \
            or not set(trail["hashes"]) <= HEX or len(trail["hashes"]) % TRAIL_DIGITS:
        problems.append("its trail is malformed")
    if not isinstance(sig, dict) or sig.get("algorithm") != ALGORITHM or not isinstance(sig.get("value"), str) \
            or not isinstance(sig.get("public_key"), str):
        problems.append("it has no Ed25519 signature")
    if problems:
        raise AnchorError("this ledger anchor is malformed: " + "; ".join(problems))
    try:
        raw = base64.b64decode(sig["public_key"], validate=True)
        value = base64.b64decode(sig["value"], validate=True)
        embedded = Ed25519PublicKey.from_public_bytes(raw)
    except (binascii.Error, ValueError):
        raise AnchorError("this ledger anchor's signature or public key is not valid base64 Ed25519") from None
    if trusted_key is not None and raw != trusted_key:
        raise AnchorError(f"this ledger anchor was signed by the key {fingerprint(raw)}, not by the public key "
                          f"given ({fingerprint(trusted_key)})")
    signed = {k: v for k, v in doc.items() if k != "signature"}
    try:
        embedded.verify(value, canonical(signed))
    except InvalidSignature:
        raise AnchorError("this ledger anchor's signature does not match its contents: the file was changed "
                          "after it was signed, or the signature was forged") from None
    seq = head["seq"]
    stride = trail["stride"]
    hashes = trail["hashes"]
    points = tuple(hashes[i:i + TRAIL_DIGITS] for i in range(0, len(hashes), TRAIL_DIGITS))
    if len(points) != seq // stride:
        raise AnchorError(f"this ledger anchor is malformed: its trail has {len(points)} hashes, not "
                          f"{seq // stride}")
    return Anchor(Head(seq, head["hash"], head["entries"], head["total_wh"], head["total_cents"]),
                  doc["signed_at"], stride, points, raw, hashlib.sha256(canonical(doc)).hexdigest())


def short(digest: str) -> str:
    return digest[:12] + "…"


def check_extends(anchor: Anchor, entries: Iterable[tuple[int, str]]) -> list[str]:
    """Whether a ledger, given as its ``(seq, hash)`` pairs in seq order, still extends ``anchor``'s head.

    Names, in plain words, the first entry changed since the anchor was signed (located by the trail: exactly
    when its stride is 1, otherwise the span of entries it lies in) and the first entry missing (a ledger that
    ends before the anchor's ``seq``, or has a gap before it). Empty list: the ledger extends the anchor.
    Whether the chain itself is whole is :func:`energy_coop.calc.credits.chain.verify_chain`'s question.
    """
    head, stride = anchor.head, anchor.stride
    expected = 1
    first_missing: int | None = None
    changed_at: int | None = None  # the first trail point whose hash differs
    last_matching = 0  # the last trail point (or 0) whose hash matched, before any that differed
    head_hash: str | None = None
    last_seq = 0
    for seq, digest in entries:
        if seq > head.seq:
            break
        if first_missing is None and seq != expected:
            first_missing = expected
        expected = seq + 1
        last_seq = seq
        if seq % stride == 0 and changed_at is None:
            if digest[:len(anchor.trail[seq // stride - 1])] == anchor.trail[seq // stride - 1]:
                last_matching = seq
            else:
                changed_at = seq
        if seq == head.seq:
            head_hash = digest
    if first_missing is None and last_seq < head.seq:
        first_missing = last_seq + 1
    problems: list[str] = []
    if head_hash is not None and head_hash != head.hash and changed_at is None:
        changed_at = head.seq  # between the last trail point and the head
    if changed_at is not None and (first_missing is None or changed_at < first_missing):
        if stride == 1 or changed_at == last_matching + 1:
            where = f"entry {changed_at} changed"
        else:
            where = f"an entry from {last_matching + 1} to {changed_at} changed (the first to differ)"
        problems.append(f"{where} after the anchor of {anchor.signed_at} was signed: the ledger was rewritten "
                        f"from there, so entry {head.seq} no longer has the anchored hash {short(head.hash)}"
                        + ("" if head_hash is None else f" (it is now {short(head_hash)})"))
    if first_missing is not None:
        if first_missing != last_seq + 1:
            ends = f"entries are missing from {first_missing} on, before entry {last_seq}"
        else:
            ends = f"the ledger now ends at entry {last_seq}" if last_seq else "the ledger is now empty"
        problems.append(f"entry {first_missing} is missing: the anchor of {anchor.signed_at} covers entries 1 to "
                        f"{head.seq}, and {ends}")
    return problems
