"""Signed anchors of the ledger's head, and verifying the ledger against one (issue 16). Nothing here commits.

:func:`make_anchor` signs the head (:mod:`energy_coop.calc.credits.anchors` says what is in the file and how it
is signed) with an Ed25519 key read from a file outside the database, and records the anchor in the audit log
(action ``ledger_anchor``: its seq, hash, totals, instant, key fingerprint and the file's SHA-256), where
:func:`latest_anchor` finds it for issued statements and the audit bundle. :func:`verify_against` proves the
ledger still extends an anchor (a file, or a head hash written down from ``ledger verify --json``).

Key files: the private key is PKCS#8 PEM (``-----BEGIN PRIVATE KEY-----``), mode 0600, never in the database;
the public key beside it (``FILE.pub``) is SubjectPublicKeyInfo PEM, to publish and give auditors.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (Encoding, NoEncryption, PrivateFormat, PublicFormat,
                                                          load_pem_private_key, load_pem_public_key)
from sqlalchemy import select
from sqlalchemy.orm import Session

from energy_coop.calc.credits import anchors as calc
from energy_coop.calc.credits.anchors import Anchor, AnchorError, Head
from energy_coop.errors import ConflictError, RefusedError
from energy_coop.models import AuditEntry, LedgerEntry, LedgerHead, utcnow
from energy_coop.services import audit
from energy_coop.services.credits import ledger

ACTION = "ledger_anchor"  # the audit log's action for an anchor made


# ------------------------------------------------------------------------------------------------------- keys


@dataclass(frozen=True)
class KeyPair:
    """A key pair just written: the private key's file (0600), the public key's, its PEM and fingerprint."""

    private_path: Path
    public_path: Path
    public_pem: str
    fingerprint: str

    def as_dict(self) -> dict[str, str]:
        return {"private_key": str(self.private_path), "public_key": str(self.public_path),
                "public_key_pem": self.public_pem, "public_key_fingerprint": self.fingerprint}


def public_key_path(private_path: Path) -> Path:
    return private_path.with_name(private_path.name + ".pub")


def create_key_pair(path: Path) -> KeyPair:
    """Write a new Ed25519 private key to ``path`` (mode 0600, created: an existing file is never overwritten,
    :class:`ConflictError`) and its public key to ``path.pub``."""
    public_path = public_key_path(path)
    for p in (path, public_path):
        if p.exists():
            raise ConflictError(f"{p} exists already; a signing key is never overwritten (anchors signed with it "
                                "would no longer be checked against it): give a new file name")
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    public_pem = key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
        os.chmod(path, 0o600)  # whatever the umask
        public_path.write_bytes(public_pem)
    except OSError as exc:
        raise RefusedError(f"{path}: cannot write the key there ({exc.strerror or exc}); give a file in a folder "
                           "that exists and that you may write to") from None
    return KeyPair(path, public_path, public_pem.decode("ascii"), calc.fingerprint(calc.raw_public_key(key)))


def load_private_key(path: Path) -> Ed25519PrivateKey:
    """The Ed25519 private key in ``path``; refused (naming the file) when it is missing, readable by other users,
    or not such a key."""
    try:
        mode = path.stat().st_mode
        data = path.read_bytes()
    except OSError as exc:
        raise RefusedError(f"the signing key {path} cannot be read ({exc.strerror or exc}); create one with "
                           "`energy-coop ledger anchor-key FILE`") from None
    if os.name == "posix" and mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise RefusedError(f"the signing key {path} can be read by other users (mode {stat.S_IMODE(mode):04o}); "
                           f"make it private first: chmod 600 {path}")
    try:
        key = load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        key = None
    if not isinstance(key, Ed25519PrivateKey):
        raise RefusedError(f"{path} is not an Ed25519 private key (an unencrypted PEM file as `energy-coop ledger "
                           "anchor-key` writes)")
    return key


def load_public_key(path: Path) -> bytes:
    """The raw Ed25519 public key in ``path``: a PEM public key (``FILE.pub``), or one line of base64 as an
    anchor's ``public_key``; refused otherwise."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise RefusedError(f"the public key {path} cannot be read ({exc.strerror or exc})") from None
    try:
        key = load_pem_public_key(data)
        if isinstance(key, Ed25519PublicKey):
            return calc.raw_public_key(key)
    except (ValueError, TypeError):
        try:
            return calc.raw_public_key(Ed25519PublicKey.from_public_bytes(
                base64.b64decode(data.strip(), validate=True)))
        except (binascii.Error, ValueError):
            pass
    raise RefusedError(f"{path} is not an Ed25519 public key (a PEM file as `energy-coop ledger anchor-key` "
                       "writes beside the private key, FILE.pub)")


# ---------------------------------------------------------------------------------------------------- anchors


def current_head(session: Session) -> Head:
    """The ledger head as recorded (:class:`LedgerHead`)."""
    row = session.get(LedgerHead, 1)
    if row is None:
        raise RefusedError("the ledger has no head row; run `energy-coop db upgrade`")
    return Head(row.last_seq, row.last_hash, row.entries, row.total_wh, row.total_cents)


@dataclass(frozen=True)
class MadeAnchor:
    """An anchor just signed: the file's document and what the audit log recorded."""

    document: dict[str, Any]
    anchor: Anchor
    audit_id: int


def make_anchor(session: Session, key: Ed25519PrivateKey, *, actor: str,
                now: dt.datetime | None = None) -> MadeAnchor:
    """Sign the ledger's head at ``now`` [UTC] with ``key`` and record it in the audit log; holds the head's lock,
    so nothing is appended meanwhile. Refused when the ledger does not verify (an anchor would vouch for a broken
    chain) or is empty."""
    ledger.lock_head(session)
    report = ledger.verify(session)
    if not report.ok:
        raise RefusedError("the ledger does not verify, so it cannot be anchored: "
                           + "; ".join(report.problems[:5]))
    head = current_head(session)
    if head.seq == 0:
        raise RefusedError("the ledger is empty; there is no head to anchor yet")
    stride = calc.trail_stride(head.seq)
    rows = session.execute(select(LedgerEntry.seq, LedgerEntry.hash)
                           .where(LedgerEntry.seq <= head.seq, LedgerEntry.seq % stride == 0)
                           .order_by(LedgerEntry.seq).execution_options(yield_per=20_000))
    trail = calc.make_trail(((s, h) for s, h in rows), head.seq, stride)
    signed_at = (now or utcnow()).astimezone(dt.timezone.utc).isoformat(timespec="seconds")
    document = calc.sign(calc.body(head, signed_at, stride, trail), key)
    anchor = calc.read(document)
    entry = audit.record(session, actor=actor, action=ACTION, entity="ledger", key=str(head.seq),
                         after={**anchor.summary(), "entries": head.entries, "total_wh": head.total_wh,
                                "total_cents": head.total_cents, "anchor_sha256": anchor.sha256})
    session.flush()
    return MadeAnchor(document, anchor, entry.id)


def latest_anchor(session: Session, *, up_to_seq: int | None = None) -> dict[str, Any] | None:
    """The newest anchor recorded in the audit log (of a head at or before ``up_to_seq``), as
    ``{seq, hash, signed_at, public_key_fingerprint}``; ``None`` when there is none."""
    for after in session.scalars(select(AuditEntry.after).where(AuditEntry.action == ACTION)
                                 .order_by(AuditEntry.id.desc())):
        if not isinstance(after, dict) or not isinstance(after.get("seq"), int):
            continue
        if up_to_seq is None or after["seq"] <= up_to_seq:
            return {k: after.get(k) for k in ("seq", "hash", "signed_at", "public_key_fingerprint")}
    return None


def read_against(against: str, public_key: Path | None = None) -> Anchor | str:
    """What ``--against`` names: an anchor file (read and its signature checked, against ``public_key`` when
    given) or a head hash (64 hex digits, returned lower-case). Refused, in plain words, for anything else."""
    text = against.strip()
    path = Path(text)
    if not path.exists() and len(text) == 64 and set(text.lower()) <= calc.HEX:
        if public_key is not None:
            raise RefusedError("a public key checks an anchor file's signature; a head hash has none")
        return text.lower()
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise RefusedError(f"{text}: is neither an anchor file that can be read ({exc.strerror or exc}) nor a "
                           "head hash (64 hex digits, as `ledger verify --json` prints it)") from None
    trusted = load_public_key(public_key) if public_key is not None else None
    try:
        doc = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise RefusedError(f"{text}: this is not a ledger anchor (not a JSON file)") from None
    try:
        return calc.read(doc, trusted)
    except AnchorError as exc:
        raise RefusedError(f"{text}: {exc}") from None


@dataclass
class AgainstReport:
    """The ledger verified (:class:`ledger.VerifyReport`) and against what: ``anchor`` (seq, hash, signed_at,
    fingerprint; ``None`` for a bare hash), the hash, the seq it was found at, and the problems found."""

    ledger: ledger.VerifyReport
    hash: str
    seq: int | None
    anchor: dict[str, Any] | None = None
    signature: str = ""  # how the signature was checked, in words
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.ledger.ok and not self.problems

    def as_dict(self) -> dict[str, Any]:
        doc = self.ledger.as_dict()
        doc["ok"] = self.ok
        doc["against"] = {"hash": self.hash, "seq": self.seq, "anchor": self.anchor, "signature": self.signature,
                          "extends": not self.problems, "problems": self.problems}
        return doc


def verify_against(session: Session, against: Anchor | str, *, key_given: bool = False) -> AgainstReport:
    """Verify the whole ledger (:func:`ledger.verify`) and that it still extends ``against``: an :class:`Anchor`
    (the entry at its seq still has its hash, the first changed or missing entry named otherwise) or a bare head
    hash (some entry still has it). ``key_given``: the anchor's signature was checked against a key the caller
    trusts, not only the one written in it."""
    report = ledger.verify(session)
    if isinstance(against, str):
        seq = session.scalar(select(LedgerEntry.seq).where(LedgerEntry.hash == against))
        out = AgainstReport(report, against, seq, signature="none: a bare head hash is not signed")
        if seq is None:
            out.problems.append(f"no ledger entry has the hash {calc.short(against)}: the entries up to the one that "
                                f"had it were changed or removed (the ledger now ends at entry "
                                f"{current_head(session).seq})")
        return out
    rows = session.execute(select(LedgerEntry.seq, LedgerEntry.hash).where(LedgerEntry.seq <= against.head.seq)
                           .order_by(LedgerEntry.seq).execution_options(yield_per=20_000))
    problems = calc.check_extends(against, ((s, h) for s, h in rows))
    how = (f"checked against the public key given ({against.fingerprint})" if key_given else
           f"checked against the key written in the file ({against.fingerprint}); give the co-op's public key "
           "to check who signed it")
    return AgainstReport(report, against.head.hash, against.head.seq, against.summary(), how, problems)
