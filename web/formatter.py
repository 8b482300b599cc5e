"""The request's :class:`~energy_coop.formatting.Formatter`: pages format money, energy, percentages and dates
by the co-op's settings (SPEC 13).

The settings are read once per request (kept in ``flask.g``) through ``services.settings.current_settings``,
which each process remembers until the audit log changes (every change of a setting is audited), so a page
costs one small query for them. The Jinja filters (``money``, ``kwh``, ``percent``, ``date``, ``when``,
``period``, ...) call the request's Formatter; outside a request they use the en_US / USD / UTC one.
Templates also get ``coop()``: the settings themselves (the co-op's name, address, contact).
"""

from __future__ import annotations

import logging
from typing import Any, Callable

from flask import Flask, g, has_request_context
from sqlalchemy.exc import SQLAlchemyError

from energy_coop import formatting, vocabulary
from energy_coop.formatting import Formatter
from energy_coop.services.settings import CoopSettings, current_settings

from web.helpers import run

log = logging.getLogger(__name__)


def coop_settings() -> CoopSettings:
    """The co-op's settings for this request (read once); the defaults outside a request, or when the
    database cannot be read (an error page must still render)."""
    if not has_request_context():
        return CoopSettings()
    if "coop_settings" not in g:
        try:
            g.coop_settings = run(current_settings, read_only=True)
        except SQLAlchemyError:
            log.exception("the co-op settings could not be read; the page uses the defaults")
            g.coop_settings = CoopSettings()
    return g.coop_settings


def current_formatter() -> Formatter:
    """The Formatter of this request's settings (its locale, currency and time zone)."""
    return formatting.formatter_for(coop_settings())


def _filter(method: str) -> Callable[..., str]:
    def apply(*args: Any, **kwargs: Any) -> str:
        return getattr(current_formatter(), method)(*args, **kwargs)

    apply.__name__ = method
    apply.__doc__ = getattr(Formatter, method).__doc__
    return apply


#: The pages' filters: each is the request's Formatter's method of :data:`formatting.FILTER_METHODS`.
FILTERS: dict[str, Callable[..., str]] = {name: _filter(m) for name, m in formatting.FILTER_METHODS.items()}


def init_app(app: Flask) -> None:
    """Register the filters and ``coop()`` / ``fmt()`` for every template."""
    app.jinja_env.filters.update(FILTERS)
    app.jinja_env.filters["word"] = vocabulary.label  # a stored code in words: {{ m.status|word("measure_status") }}
    app.jinja_env.globals.update(coop=coop_settings, fmt=current_formatter)
