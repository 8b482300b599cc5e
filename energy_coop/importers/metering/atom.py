"""The Atom feed under a Green Button file: safe XML parsing, the feed's entries and the links between them.

:mod:`energy_coop.importers.metering.greenbutton` reads the ESPI meaning of the entries; this module knows only
Atom: an entry's ``self``, ``up`` and ``related`` hrefs (compared by path) and the ESPI resources inside its
``content``. Parsing uses :mod:`defusedxml` and refuses a DOCTYPE, entities and external references.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import urlsplit
from xml.etree.ElementTree import Element, ParseError

import defusedxml
import defusedxml.ElementTree as SafeET

from energy_coop.importers.metering.common import ParseReport, RowError

ESPI = "{http://naesb.org/espi}"
ATOM = "{http://www.w3.org/2005/Atom}"


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
    """The document root, or None after refusing the file in ``report`` (DOCTYPE, entities, not well-formed)."""
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
    """Whether ``child`` belongs to ``parent`` (see :mod:`energy_coop.importers.metering.greenbutton`)."""
    if parent.related & {h for h in (child.self_href, child.up_href) if h}:
        return True
    if parent.self_href:
        base = f"{parent.self_href}/{collection}"
        return child.up_href == base or child.self_href.startswith(base + "/")
    return False
