"""Every stored code a person reads has words (energy_coop/vocabulary.py), and pages write them with ``|word``."""

from __future__ import annotations

import pytest

from energy_coop import vocabulary as v

TABLES = [
    ("role", v.ROLES), ("member_type", v.MEMBER_TYPES), ("asset_kind", v.ASSET_KINDS),
    ("array_type", v.ARRAY_TYPES), ("share_kind", v.SHARE_KINDS), ("meter_kind", v.METER_KINDS),
    ("reading_quality", v.READING_QUALITIES), ("entry_kind", v.ENTRY_KINDS), ("heating_fuel", v.HEATING_FUELS),
    ("measure_category", v.MEASURE_CATEGORIES), ("measure_status", v.MEASURE_STATUSES),
    ("incentive_rule", v.INCENTIVE_RULES),
]


@pytest.mark.parametrize("name, codes", TABLES, ids=[t[0] for t in TABLES])
def test_every_code_has_words_and_no_label_is_a_code(name, codes):
    labels = v.LABELS[name]
    assert set(labels) == set(codes)
    for code, words in labels.items():
        assert words and "_" not in words and words[0].isupper(), (code, words)


def test_a_label_in_words_and_an_unknown_code_as_it_is():
    assert v.label("heat_pump", "heating_fuel") == "Heat pump"
    assert v.label("per_kwh", "incentive_rule") == "Per kWh saved a year"
    assert v.label("clt_household", "member_type") == "Land-trust household"
    assert v.label("bill_application", "entry_kind") == "Applied to a bill"
    assert v.label("geothermal", "heating_fuel") == "geothermal"
    assert v.label(None, "role") == ""


def test_pages_have_the_word_filter(tmp_path):
    from tests.web.conftest import make_config
    from web import create_app

    app = create_app(make_config(f"sqlite:///{tmp_path / 'unused.db'}", tmp_path))
    template = app.jinja_env.from_string('{{ "heat_pump"|word("measure_category") }}, {{ "admin"|word("role") }}')
    assert template.render() == "Heat pump, Administrator"
