"""Files and folders that appear whole or not at all: written under a temporary name in the same folder and
renamed (``os.replace``) only when complete, so a full disk, a missing folder or a crash mid-way leaves no
0-byte PDF, no half a CSV and no audit folder without its manifest.

The temporary names start with a dot and end in ``.partial-XXXXXXXX`` (random), so the scheduler's inbox never
takes them for a file to import (:data:`jobs.inbox_files.PARTIAL_SUFFIXES`) and two exports never share one.
A failure removes what was written and re-raises the error (an :class:`OSError` that
:func:`energy_coop.storage_faults.translate` names in plain words).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import IO

PARTIAL_MARK = ".partial-"


def _partial_name(target: Path) -> Path:
    return target.with_name(f".{target.name}{PARTIAL_MARK}{secrets.token_hex(4)}")


def is_partial(name: str) -> bool:
    """Whether ``name`` is one of this module's temporary names (left only by a process killed mid-write)."""
    return name.startswith(".") and PARTIAL_MARK in name


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):  # some file systems cannot sync a folder; the rename stands anyway
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def atomic_file(target: str | os.PathLike, mode: str = "w", *, encoding: str | None = "utf-8",
                newline: str | None = "") -> Iterator[IO]:
    """Open a temporary file beside ``target`` for writing; on a clean exit it is flushed, synced and renamed
    onto ``target``; on any error it is removed. ``mode`` is ``"w"`` (text) or ``"wb"``."""
    target = Path(target)
    tmp = _partial_name(target)
    binary = "b" in mode
    fh = open(tmp, "xb" if binary else "x", **({} if binary else {"encoding": encoding, "newline": newline}))
    try:
        with fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise
    _fsync_dir(target.parent)


def write_bytes(target: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``target`` whole or not at all."""
    with atomic_file(target, "wb") as fh:
        fh.write(data)
    return Path(target)


@contextlib.contextmanager
def atomic_folder(target: str | os.PathLike) -> Iterator[Path]:
    """A temporary folder beside ``target`` to write into; on a clean exit it becomes ``target`` (an existing
    ``target`` is replaced whole, never merged), on any error it is removed with everything in it.

    The parent of ``target`` must exist (an :class:`OSError` ``ENOENT`` otherwise, naming it).
    """
    target = Path(target)
    parent = target.parent
    if not parent.is_dir():
        raise FileNotFoundError(2, "No such file or directory", str(parent))
    tmp = _partial_name(target)
    tmp.mkdir()
    try:
        yield tmp
        for root, _dirs, files in os.walk(tmp):
            for name in files:
                fd = os.open(os.path.join(root, name), os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
        old = None
        if target.exists():  # rename the old one aside first: a folder cannot be replaced by a rename over it
            old = _partial_name(target)
            os.rename(target, old)
        try:
            os.rename(tmp, target)
        except BaseException:
            if old is not None:
                os.rename(old, target)
            raise
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _fsync_dir(parent)


def write_all(files: list[tuple[Path, bytes]]) -> list[Path]:
    """Write several files, each whole, and none of them unless all could be written: every one goes to its
    temporary name first, and the renames happen only once the last is written (a failure removes them all)."""
    written: list[tuple[Path, Path]] = []
    try:
        for target, data in files:
            tmp = _partial_name(target)
            written.append((tmp, target))
            with open(tmp, "xb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
        for tmp, target in written:
            os.replace(tmp, target)
    except BaseException:
        for tmp, _target in written:
            with contextlib.suppress(OSError):
                os.remove(tmp)
        raise
    if files:
        _fsync_dir(files[0][0].parent)
    return [target for target, _data in files]
