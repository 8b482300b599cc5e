"""The Atom feed under a Green Button file: safe XML parsing, the feed's entries and the links between them.

:mod:`energy_coop.importers.metering.greenbutton` reads the ESPI meaning of the entries; this module knows only
Atom: an entry's ``self``, ``up`` and ``related`` hrefs (compared by path) and the ESPI resources inside its
``content``. Parsing uses :mod:`defusedxml` and refuses a DOCTYPE, entities and external references.

Before parsing, the raw bytes are scanned (:func:`long_token`) for a stretch longer than
:data:`MAX_TOKEN_BYTES` between two ``<``: one huge attribute or text. Expat re-scans an unfinished token
each time it is fed more of the file, so such a token costs time growing with the square of its length
(a 60 MB attribute held a worker for a minute and more); Green Button texts and attributes are numbers, titles
and hrefs, far shorter than the limit, so a file holding one is refused at once.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import urlsplit
from xml.etree.ElementTree import Element, ParseError

import defusedxml
import numpy as np
import defusedxml.ElementTree as SafeET

from energy_coop.importers.metering.common import ParseReport, RowError

ESPI = "{http://naesb.org/espi}"
ATOM = "{http://www.w3.org/2005/Atom}"

#: Longest run of bytes between two ``<`` accepted [bytes]: any one text, attribute list or comment.
MAX_TOKEN_BYTES = 1024**2
_BLOCK = 16 * 1024**2  # [bytes] read at a time by the scan


def long_token(path, limit: int = MAX_TOKEN_BYTES) -> tuple[int, int] | None:
    """``(line, byte offset)`` where a run of more than ``limit`` bytes without a ``<`` starts, else ``None``.

    One pass over the file in blocks of 16 MiB with numpy (about 0.1 s for 60 MB); the line is 1-based.
    """
    last = 0  # offset of the last '<' seen (the file's start counts as one)
    lines_before_last = 0  # newlines before it
    newlines = 0  # newlines before the current block
    offset = 0
    with open(path, "rb") as fh:
        while block := fh.read(_BLOCK):
            data = np.frombuffer(block, dtype=np.uint8)
            opens = np.flatnonzero(data == 60) + offset
            ends = np.append(opens, offset + len(data))  # the block's end closes the run so far
            starts = np.concatenate(([last], opens))
            gaps = ends - starts
            over = np.flatnonzero(gaps > limit)
            nl = np.flatnonzero(data == 10) + offset
            if over.size:
                start = int(starts[over[0]])
                line = (lines_before_last if start == last else newlines + int(np.searchsorted(nl, start))) + 1
                return line, start
            if opens.size:
                last = int(opens[-1])
                lines_before_last = newlines + int(np.searchsorted(nl, last))
            newlines += nl.size
            offset += len(data)
    return None


@dataclass
class Entry:
    """One Atom ``entry``: its title, its ``self``/``up``/``related`` hrefs (paths only) and its ESPI resources."""

    ordinal: int
    title: str
    self_href: str
    up_href: str
    related: set[str]
    resources: list[Element]  # ESPI elements inside atom:content

    def kind(self) -> str:
        """The local name of the entry's first ESPI resource (``UsagePoint``, ``IntervalBlock``...), or ``''``."""
        return self.resources[0].tag[len(ESPI):] if self.resources else ""


def parse_xml(path, report: ParseReport) -> Element | None:
    """The document root, or None after refusing the file in ``report`` (a text or attribute over
    :data:`MAX_TOKEN_BYTES`, DOCTYPE, entities, not well-formed)."""
    too_long = long_token(path)
    if too_long is not None:
        line, start = too_long
        report.refuse(RowError("file", "xml", f"line {line} (byte {start:,}): one element's text or attributes "
                               f"run over {MAX_TOKEN_BYTES // 1024**2} MiB; Green Button values, titles and links "
                               "are far shorter, so the file is refused (is it a Green Button file?)"))
        return None
    try:
        tree = SafeET.parse(os.fspath(path), forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except defusedxml.DTDForbidden:
        report.refuse(RowError("file", "xml", "the file declares a DOCTYPE (which can hide entity tricks such "
                               "as 'billion laughs' or links to other files); Green Button files never need "
                               "one, so it is refused"))
        return None
    except (defusedxml.EntitiesForbidden, defusedxml.ExternalReferenceForbidden, defusedxml.NotSupportedError):
        report.refuse(RowError("file", "xml", "the file declares XML entities or external references; they are "
                               "refused for safety"))
        return None
    except ParseError as exc:
        line, column = getattr(exc, "position", (0, 0))
        report.refuse(RowError("file", "xml", f"the file is not well-formed XML (line {line}, column "
                               f"{column}: {expat_reason(exc)}); is it complete?"))
        return None
    return tree.getroot()


def expat_reason(exc: ParseError) -> str:
    """The reason of an expat error without its position."""
    text = str(exc)
    return text.split(":")[0] if ":" in text else text


def local_name(tag: str) -> str:
    """``{namespace}name`` -> ``name``."""
    return tag.rsplit("}", 1)[-1]


def norm_href(href: str | None) -> str:
    """An href compared by its path only: no scheme, host or surrounding slashes."""
    if not href:
        return ""
    return urlsplit(href.strip()).path.strip("/")


def read_entry(ordinal: int, e: Element) -> Entry:
    """The :class:`Entry` of Atom element ``e``, the ``ordinal``-th entry of the feed."""
    self_href = up_href = ""
    related: set[str] = set()
    for link in e.findall(ATOM + "link"):
        rel, href = link.get("rel", ""), norm_href(link.get("href"))
        if rel == "self":
            self_href = href
        elif rel == "up":
            up_href = href
        elif rel == "related" and href:
            related.add(href)
    content = e.find(ATOM + "content")
    resources = [c for c in content if isinstance(c.tag, str) and c.tag.startswith(ESPI)] if content is not None \
        else []
    return Entry(ordinal, (e.findtext(ATOM + "title") or "").strip(), self_href, up_href, related, resources)


def linked(parent: Entry, child: Entry, collection: str) -> bool:
    """Whether ``child`` belongs to ``parent`` by its hrefs: :func:`by_related` or :func:`by_up`."""
    return by_related(parent, child) or by_up(parent, child, collection)


def by_related(parent: Entry, child: Entry) -> bool:
    """One of ``parent``'s ``related`` hrefs is ``child``'s ``self`` or ``up`` href."""
    return bool(parent.related & {h for h in (child.self_href, child.up_href) if h})


def by_up(parent: Entry, child: Entry, collection: str) -> bool:
    """``child``'s ``up`` href is ``parent``'s ``self`` href + ``/collection`` (or its ``self`` lies under it)."""
    if not parent.self_href:
        return False
    base = f"{parent.self_href}/{collection}"
    return child.up_href == base or child.self_href.startswith(base + "/")


@dataclass
class Links:
    """What :func:`assign` found: ``owner`` (child ordinal -> its parent), ``how`` (child ordinal -> "related",
    "up" or "document order"), and ``problems`` (child -> why it has no parent: ``"none"`` or a sentence)."""

    owner: dict[int, Entry]
    how: dict[int, str]
    problems: dict[int, str]


def assign(parents: list[Entry], children: list[Entry], collection: str, parent_kind: str) -> Links:
    """Link each child entry to one parent entry (a MeterReading to its UsagePoint, an IntervalBlock to its
    MeterReading), trying in turn:

    1. the parent's ``related`` hrefs (:func:`by_related`);
    2. the ``up`` hierarchy of hrefs (:func:`by_up`);
    3. document order, only between the parents the hrefs could not tell apart (or, for a child without any
       href, all parents): the child belongs to the nearest of them before it, as feeds list a MeterReading
       and then its IntervalBlocks. Utilities that redact hrefs leave identical ones behind, which is where
       this decides. It is trusted only when every such child has a candidate before it: a feed that lists
       children before their parents is refused rather than guessed.

    The first method naming exactly one parent wins. A child linked to none by its hrefs (they point outside
    the file) gets problem ``"none"``; one that no method settles gets a sentence saying why.
    """
    links = Links({}, {}, {})
    pending: dict[int, list[Entry]] = {}  # child ordinal -> candidates left to document order
    by_ordinal = {c.ordinal: c for c in children}
    for child in children:
        related = [p for p in parents if by_related(p, child)]
        if len(related) == 1:
            links.owner[child.ordinal], links.how[child.ordinal] = related[0], "related"
            continue
        up = [p for p in parents if by_up(p, child, collection)]
        if len(up) == 1:
            links.owner[child.ordinal], links.how[child.ordinal] = up[0], "up"
            continue
        both = [p for p in related if any(p is q for q in up)]
        candidates = both or related or up
        if not candidates and (child.self_href or child.up_href):
            links.problems[child.ordinal] = "none"
            continue
        pending[child.ordinal] = candidates or list(parents)
    groups: dict[tuple[int, ...], list[int]] = {}
    for ordinal, candidates in pending.items():
        groups.setdefault(tuple(sorted(p.ordinal for p in candidates)), []).append(ordinal)
    for key, ordinals in groups.items():
        candidates = sorted(pending[ordinals[0]], key=lambda p: p.ordinal)
        names = ", ".join(f"entry {p.ordinal}" for p in candidates)
        before = {o: [p for p in candidates if p.ordinal < o] for o in ordinals}
        if len(candidates) == 1:  # no hrefs, and the file has one parent only
            for o in ordinals:
                links.owner[o], links.how[o] = candidates[0], "the only one"
            continue
        if candidates and all(before.values()):
            for o in ordinals:
                links.owner[o], links.how[o] = before[o][-1], "document order"
            continue
        first = min(ordinals)
        for o in ordinals:
            child = by_ordinal[o]
            hrefs = "has no self or up link" if not (child.self_href or child.up_href) else (
                f"its links fit {len(candidates)} {parent_kind}s ({names}), whose hrefs are the same")
            links.problems[o] = (
                f"{hrefs}, and document order does not settle it: entry {first} comes before any of them, so the "
                f"feed does not list each {parent_kind} before its own entries") if candidates else (
                f"{hrefs}, and the file has no {parent_kind}")
    return links
