"""The pages' Jinja filters are the request's Formatter (energy_coop.formatting); its text is tested in
tests/unit/test_formatting.py."""

from __future__ import annotations

from energy_coop import formatting as fmt


def test_every_filter_is_registered(app):
    for name in fmt.FILTER_METHODS:
        assert name in app.jinja_env.filters
