"""Import profiles (SPEC 20): the built-in ones and those an administrator added, found by name or file.

``find_profile`` resolves what an import names (a profile's name, or the path of a profile file);
``add_profile`` checks a profile file and stores it (audited), so every entry point (the web upload, the API,
the inbox) can use it by name; ``all_profiles`` lists built-ins first, then the stored ones by name.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from energy_coop.errors import ConflictError, NotFoundError, RefusedError, RowError
from energy_coop.importers.metering.profiles import BUILT_IN, Profile, ProfileInvalid, load_profile
from energy_coop.importers.metering.profiles.spec import MAX_PROFILE_BYTES
from energy_coop.models import ImportProfile
from energy_coop.services import audit

#: Where the README explains writing a profile (named in refusals of files in no known layout).
HOW_TO = "README section 'Meter files from utilities: profiles'"


def stored_profiles(session: Session) -> list[Profile]:
    """The profiles administrators added, by name (each was checked when added)."""
    rows = session.scalars(select(ImportProfile).order_by(ImportProfile.name)).all()
    out = []
    for row in rows:
        try:
            out.append(load_profile(row.source, f"stored profile {row.name!r}"))
        except ProfileInvalid:  # pragma: no cover - checked on add; a later, stricter check would skip it
            continue
    return out


def all_profiles(session: Session) -> list[Profile]:
    """Built-in profiles first, then the stored ones: the order auto-detection tries them in."""
    return list(BUILT_IN.values()) + stored_profiles(session)


def profile_documents(session: Session) -> list[dict]:
    """``profiles list --json`` and ``GET /api/v1/import-profiles``: one plain document per profile."""
    rows = {r.name: r for r in session.scalars(select(ImportProfile))}
    docs = []
    for p in all_profiles(session):
        doc = p.describe()
        row = rows.get(p.name)
        doc["added_by"] = row.added_by if row else None
        doc["added_at"] = row.added_at.isoformat() if row else None
        docs.append(doc)
    return docs


def read_profile_file(path: str | Path) -> Profile:
    """A profile file from disk, checked; :class:`RefusedError` naming every problem."""
    path = Path(path)
    try:
        if path.stat().st_size > MAX_PROFILE_BYTES:
            raise RefusedError(f"{path.name}: a profile is a few lines; this file is larger than "
                               f"{MAX_PROFILE_BYTES // 1024} KiB", subject=path.name)
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise RefusedError(f"{path.name}: the profile is not UTF-8 text", subject=path.name) from None
    except OSError as exc:
        raise RefusedError(f"{path.name}: cannot read the profile file ({exc.strerror})", subject=path.name) from None
    return check_profile(text, path.name)


def check_profile(text: str, source: str) -> Profile:
    """A profile's text, checked; :class:`RefusedError` naming every problem by line and key."""
    try:
        return load_profile(text, source)
    except ProfileInvalid as exc:
        raise RefusedError(f"{source}: the profile cannot be used: {len(exc.errors)} problem(s)",
                           exc.errors, subject=source) from None


def find_profile(session: Session, name_or_path: str) -> Profile:
    """The profile an import names: a built-in's or a stored profile's name. (A profile *file* is read by the
    command line with :func:`read_profile_file`; uploads never name a path on the server.)"""
    name = name_or_path.strip()
    if name in BUILT_IN:
        return BUILT_IN[name]
    row = session.scalar(select(ImportProfile).where(ImportProfile.name == name))
    if row is not None:
        return load_profile(row.source, f"stored profile {row.name!r}")
    known = ", ".join(p.name for p in all_profiles(session))
    raise NotFoundError(f"there is no import profile {name[:60]!r}; the profiles are: {known} "
                        f"({HOW_TO} says how to write one for a new layout)", subject=name[:60])


def add_profile(session: Session, text: str, *, source: str, actor: str, replace: bool = False) -> Profile:
    """Check a profile file's text and store it under its name (audited).

    Refused (every problem named by line and key) when it is invalid; a built-in's name is refused; a stored
    profile of the same name is a :class:`ConflictError` unless ``replace``.
    """
    profile = check_profile(text, source)
    if profile.name in BUILT_IN:
        raise ConflictError(f"{source}: {profile.name!r} is a built-in profile's name; give yours another name",
                            [RowError("line 1", "name", "is a built-in profile's name")], subject=profile.name)
    row = session.scalar(select(ImportProfile).where(ImportProfile.name == profile.name))
    before = None
    if row is not None:
        if not replace:
            raise ConflictError(f"{source}: a profile named {profile.name!r} is stored already (added by "
                                f"{row.added_by}); replace it explicitly to change it", subject=profile.name,
                                option="replace")
        before = {"source": row.source}
        row.source = text
        row.added_by = actor
    else:
        row = ImportProfile(name=profile.name, source=text, added_by=actor)
        session.add(row)
    session.flush()
    audit.record(session, actor=actor, action="replace" if before else "add", entity="import_profile",
                 key=profile.name, before=before, after={"source": text})
    return profile


def remove_profile(session: Session, name: str, *, actor: str) -> None:
    """Delete a stored profile (audited); readings imported through it stay as they are."""
    row = session.scalar(select(ImportProfile).where(ImportProfile.name == name))
    if row is None:
        if name in BUILT_IN:
            raise RefusedError(f"{name!r} is a built-in profile; it cannot be removed", subject=name)
        raise NotFoundError(f"there is no stored import profile {name[:60]!r}", subject=name[:60])
    audit.record(session, actor=actor, action="remove", entity="import_profile", key=name,
                 before={"source": row.source})
    session.delete(row)
    session.flush()
