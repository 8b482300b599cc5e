"""The efficiency pages: who sees what, admin forms, CSV exports, and no inline script or style (CSP)."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest

from energy_coop.services.accounts import users
from tests.efficiency.conftest import ADMIN, make_measure, make_programme, stored_corrections
from tests.efficiency.test_services import _store_synthetic


@pytest.fixture
def pages(coop, db_url, tmp_path):
    """The real web app over the efficiency fixtures; ``get``/``post`` sign in as the given user first."""
    from tests.web.conftest import TOKEN_RE, make_config
    from web import create_app

    app = create_app(make_config(db_url, tmp_path), SESSION_COOKIE_SECURE=False)
    with coop.begin() as s:
        for email, role, number in [(ADMIN, "admin", None), ("aud@example.org", "auditor", None),
                                    ("ada@example.org", "member", "2001"), ("bo@example.org", "member", "2002")]:
            users.add_user(s, email, role, "a long enough password", member_number=number, actor="test")
        ada = make_measure(s, "2001", status="installed", audit_date=dt.date(2024, 4, 1),
                           installed_on=dt.date(2024, 5, 10))
        _store_synthetic(s, "CM-2001", dt.date(2024, 5, 10))
        bo = make_measure(s, "2002", status="approved")
        make_programme(s, closes_on=dt.date(2099, 12, 31))
        ids = {"ada_premises": ada.premises_id, "bo_premises": bo.premises_id, "ada": ada.id, "bo": bo.id}
    clients: dict[str, object] = {}

    def client_for(who):
        if who is None:
            return app.test_client()
        if who not in clients:
            c = app.test_client()
            token = TOKEN_RE.search(c.get("/login").get_data(as_text=True)).group(1)
            r = c.post("/login", data={"email": who, "password": "a long enough password", "csrf_token": token})
            assert r.status_code == 302, r.get_data(as_text=True)[:500]
            clients[who] = c
        return clients[who]

    def get(path, who=None, **kw):
        return client_for(who).get(path, **kw)

    def post(path, who, data):
        c = client_for(who)
        token = TOKEN_RE.search(c.get("/account/password").get_data(as_text=True)).group(1)
        return c.post(path, data={**data, "csrf_token": token})

    return get, post, ids


def _no_inline_script_or_style(html: str) -> None:
    assert "<script" not in html and "style=" not in html and not re.search(r"\son[a-z]+=", html)


def test_member_sees_own_savings_chart_and_not_others(pages):
    get, _, ids = pages
    r = get("/efficiency/", "ada@example.org")
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "2001 Elm St" in html and "2002 Elm St" not in html
    assert "<svg" in html and "Measured since" in html
    _no_inline_script_or_style(html)
    assert get(f"/efficiency/premises/{ids['ada_premises']}", "ada@example.org").status_code == 200
    assert get(f"/efficiency/premises/{ids['bo_premises']}", "ada@example.org").status_code == 404
    assert get("/efficiency/export/measures.csv", "ada@example.org").status_code == 403
    signed_out = get("/efficiency/")
    assert signed_out.status_code == 302 and "/login" in signed_out.headers["Location"]


def test_auditor_reads_and_exports_but_cannot_change(pages):
    get, post, ids = pages
    r = get("/efficiency/", "aud@example.org")
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "HEAT-24" in html and 'action="/efficiency' not in html  # sign-out is the only form
    _no_inline_script_or_style(html)
    r = get("/efficiency/export/awards.csv", "aud@example.org")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    assert get("/efficiency/export/secrets.csv", "aud@example.org").status_code == 404
    assert post("/efficiency/awards", "aud@example.org", {"programme": "HEAT-24", "measure_id": ids["bo"],
                                                         "awarded_on": "2024-06-01"}).status_code == 403


def test_admin_awards_pays_and_sees_refusals(pages):
    get, post, ids = pages
    r = post("/efficiency/awards", ADMIN, {"programme": "HEAT-24", "measure_id": str(ids["ada"]),
                                           "awarded_on": "2024-06-01"})
    assert r.status_code == 302
    html = get("/efficiency/", ADMIN).get_data(as_text=True)
    assert "awarded $2,400.00 from HEAT-24" in html and "<form" in html
    _no_inline_script_or_style(html)
    post("/efficiency/awards/1/payments", ADMIN, {"amount": "9999.00", "paid_on": "2024-07-01"})
    assert "at most 2400.00 can be paid" in get("/efficiency/", ADMIN).get_data(as_text=True)
    post(f"/efficiency/measures/{ids['bo']}/status", ADMIN, {"status": "verified", "on": "2024-07-01"})
    assert "never installed" in get("/efficiency/", ADMIN).get_data(as_text=True)
    post("/efficiency/programmes", ADMIN, {"code": "NEW", "name": "New", "budget": "100.00", "rule": "percent_of_cost",
                                           "percent": "12.5", "eligible_member_types": ["household"],
                                           "opens_on": "2024-01-01", "closes_on": "2024-12-31"})
    html = get("/efficiency/", ADMIN).get_data(as_text=True)
    assert "programme NEW created with a budget of $100.00" in html and "12.5% of cost" in html


# ------------------------------------------------------------------ premises, audits and measures through forms


def _counts(sessions) -> dict[str, int]:
    """Rows of the tables the new forms write to (and the audit log every change adds to)."""
    from sqlalchemy import func, select

    from energy_coop.models import AuditEntry, EnergyAudit, Measure, Premises

    with sessions.begin() as s:
        return {m.__name__: s.scalar(select(func.count()).select_from(m))
                for m in (Premises, EnergyAudit, Measure, AuditEntry)}


def _after(get, response, who=ADMIN) -> str:
    """The page a form's redirect leads to, as the text a reader sees (entities such as &#39; undone)."""
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return html.unescape(get(response.headers["Location"], who).get_data(as_text=True))


PREMISES_FORM = {"member_number": "2003", "address": "7 Oak Lane <script>alert(1)</script>",
                 "floor_area_m2": "85", "year_built": "1930", "heating_fuel": "oil", "timezone": "America/Chicago",
                 "meter_code": ""}
AUDIT_FORM = {"audit_date": "2024-06-03", "auditor_name": "Sam Auditor", "auditor_credential": "BPI BA",
              "ashrae_level": "3", "findings": "Attic <b>bare</b>\r\nDrafty doors"}
MEASURE_FORM = {"category": "envelope", "description": "Attic insulation R-49", "cost": "2500.50",
                "estimated_kwh_per_year": "1800", "useful_life_years": "30"}


def test_admin_registers_premises_records_an_audit_and_proposes_a_measure(pages, coop):
    from sqlalchemy import select

    from energy_coop.models import EnergyAudit, Measure, Member, Premises

    get, post, _ = pages
    before = _counts(coop)
    html_text = get("/efficiency/", ADMIN).get_data(as_text=True)
    assert 'action="/efficiency/premises"' in html_text and 'for="premises-member_number"' in html_text
    _no_inline_script_or_style(html_text)

    r = post("/efficiency/premises", ADMIN, PREMISES_FORM)
    assert r.headers["Location"].endswith("/efficiency/")
    page = get("/efficiency/", ADMIN).get_data(as_text=True)
    # stored as typed, shown escaped (in the flash and in the premises table)
    assert "<script>alert(1)" not in page and "7 Oak Lane &lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "registered for member 2003" in page
    with coop.begin() as s:
        p = s.scalars(select(Premises).join(Member).where(Member.member_number == "2003")).one()
        assert (p.address, p.floor_area_m2, p.year_built, p.heating_fuel, p.timezone, p.meter_id) == (
            "7 Oak Lane <script>alert(1)</script>", 85, 1930, "oil", "America/Chicago", None)
        premises_id = p.id

    page_url = f"/efficiency/premises/{premises_id}"
    html_text = get(page_url, ADMIN).get_data(as_text=True)
    assert "Add an audit" in html_text and "Record an audit first" in html_text
    _no_inline_script_or_style(html_text)
    r = post(f"{page_url}/audits", ADMIN, AUDIT_FORM)
    assert r.headers["Location"].endswith(page_url)
    page = get(page_url, ADMIN).get_data(as_text=True)
    assert "(ASHRAE level 3) recorded" in page
    assert "Attic &lt;b&gt;bare&lt;/b&gt;" in page and "<b>bare" not in page
    with coop.begin() as s:
        a = s.scalars(select(EnergyAudit).where(EnergyAudit.premises_id == premises_id)).one()
        assert (a.audit_date, a.auditor_name, a.auditor_credential, a.ashrae_level, a.findings) == (
            dt.date(2024, 6, 3), "Sam Auditor", "BPI BA", 3, "Attic <b>bare</b>\r\nDrafty doors")
        audit_id = a.id

    r = post(f"{page_url}/measures", ADMIN, {**MEASURE_FORM, "audit_id": str(audit_id)})
    assert r.headers["Location"].endswith(page_url)
    page = html.unescape(get(page_url, ADMIN).get_data(as_text=True))
    assert "proposed: Attic insulation R-49, cost $2,500.50, estimated 1,800 kWh/year" in page
    with coop.begin() as s:
        m = s.scalars(select(Measure).where(Measure.premises_id == premises_id)).one()
        assert (m.audit_id, m.category, m.description, m.status, m.cost_cents, m.estimated_kwh_per_year,
                m.useful_life_years) == (audit_id, "envelope", "Attic insulation R-49", "proposed", 250_050, 1_800,
                                         30)
        assert type(m.cost_cents) is int and type(m.estimated_kwh_per_year) is int
    after = _counts(coop)
    assert {k: after[k] - before[k] for k in after} == {"Premises": 1, "EnergyAudit": 1, "Measure": 1,
                                                         "AuditEntry": 3}


def test_premises_default_to_the_members_own_meter(pages, coop):
    from sqlalchemy import select

    from energy_coop.models import Member, Premises

    get, post, _ = pages
    _after(get, post("/efficiency/premises", ADMIN, {**PREMISES_FORM, "member_number": "2002"}))
    with coop.begin() as s:
        p = s.scalars(select(Premises).join(Member).where(Member.member_number == "2002")
                      .order_by(Premises.id.desc())).first()
        assert p.meter.code == "CM-2002"


def test_bad_form_input_is_refused_naming_the_field_and_adds_nothing(pages, coop):
    get, post, ids = pages
    ada, bo = ids["ada_premises"], ids["bo_premises"]
    with coop.begin() as s:
        from energy_coop.services.efficiency.measures import get_measure

        bo_audit = get_measure(s, ids["bo"]).audit_id
        ada_audit = get_measure(s, ids["ada"]).audit_id
    measure = {**MEASURE_FORM, "audit_id": str(ada_audit)}
    cases = [
        ("/efficiency/premises", {**PREMISES_FORM, "address": ""}, "address: is required"),
        ("/efficiency/premises", {**PREMISES_FORM, "member_number": ""}, "member_number: is required"),
        ("/efficiency/premises", {**PREMISES_FORM, "member_number": "9999"},
         "member_number: no member with number '9999' is registered"),
        ("/efficiency/premises", {**PREMISES_FORM, "floor_area_m2": "big"},
         "floor_area_m2: 'big' is not a whole number"),
        ("/efficiency/premises", {**PREMISES_FORM, "floor_area_m2": "0"}, "floor_area_m2: must be at least 1 m²"),
        ("/efficiency/premises", {**PREMISES_FORM, "timezone": "Mars/Olympus"},
         "timezone: 'Mars/Olympus' is not a time zone name"),
        ("/efficiency/premises", {**PREMISES_FORM, "heating_fuel": "coal"}, "heating_fuel: 'coal' is not one of"),
        ("/efficiency/premises", {**PREMISES_FORM, "address": "7 Oak\x07Lane"},
         "address: contains a line break or a control character"),
        ("/efficiency/premises", {**PREMISES_FORM, "meter_code": "NOPE"},
         "meter_code: no meter 'NOPE' is registered"),
        (f"/efficiency/premises/{ada}/audits", {**AUDIT_FORM, "ashrae_level": "4"},
         "ashrae_level: must be at most 3, not 4"),
        (f"/efficiency/premises/{ada}/audits", {**AUDIT_FORM, "ashrae_level": ""}, "ashrae_level: is required"),
        (f"/efficiency/premises/{ada}/audits", {**AUDIT_FORM, "auditor_name": " "}, "auditor_name: is required"),
        (f"/efficiency/premises/{ada}/audits", {**AUDIT_FORM, "audit_date": "2024-02-30"},
         "audit_date: '2024-02-30' is not a date like 2024-05-01"),
        (f"/efficiency/premises/{ada}/audits", {**AUDIT_FORM, "findings": "ok\x07"},
         "findings: contains a control character"),
        ("/efficiency/premises/999999/audits", AUDIT_FORM, "no premises 999999"),
        (f"/efficiency/premises/{ada}/measures", {**measure, "cost": "-5.00"},
         "cost: -5.00 is negative; an amount here is 0 or more"),
        (f"/efficiency/premises/{ada}/measures", {**measure, "cost": "12.345"},
         "cost: amount '12.345' has more than 2 decimal places"),
        (f"/efficiency/premises/{ada}/measures", {**measure, "cost": ""}, "cost: is required"),
        (f"/efficiency/premises/{ada}/measures", {**measure, "estimated_kwh_per_year": "-1"},
         "estimated_kwh_per_year: must not be negative (-1)"),
        (f"/efficiency/premises/{ada}/measures", {**measure, "estimated_kwh_per_year": "2.5"},
         "estimated_kwh_per_year: '2.5' is not a whole number"),
        (f"/efficiency/premises/{ada}/measures", {**measure, "useful_life_years": "0"},
         "useful_life_years: must be at least 1 years, not 0"),
        (f"/efficiency/premises/{ada}/measures", {**measure, "category": "magic"},
         "category: 'magic' is not one of"),
        (f"/efficiency/premises/{ada}/measures", {**measure, "audit_id": str(bo_audit)},
         f"audit_id: no audit {bo_audit} was made of these premises"),
        (f"/efficiency/premises/{ada}/measures", {**measure, "audit_id": "999999"},
         "audit_id: no audit 999999 was made of these premises"),
        (f"/efficiency/premises/{bo}/measures", {**measure, "audit_id": ""}, "audit_id: is required"),
        ("/efficiency/premises/999999/measures", measure, "no premises 999999"),
    ]
    before = _counts(coop)
    for path, data, reason in cases:
        page = _after(get, post(path, ADMIN, data))
        assert "was not" in page or "were not" in page or "cannot" in page or "no premises" in page, (path, data)
        assert reason in page, (path, data, reason, re.findall(r'class="flash[^"]*">([^<]*)', page))
    assert _counts(coop) == before


def test_auditors_and_members_get_403_and_see_no_forms(pages, coop):
    get, post, ids = pages
    ada = ids["ada_premises"]
    with coop.begin() as s:
        from energy_coop.services.efficiency.measures import get_measure

        ada_audit = get_measure(s, ids["ada"]).audit_id
    before = _counts(coop)
    for who in ("aud@example.org", "ada@example.org"):
        assert post("/efficiency/premises", who, {**PREMISES_FORM, "member_number": "2001"}).status_code == 403
        assert post(f"/efficiency/premises/{ada}/audits", who, AUDIT_FORM).status_code == 403
        assert post(f"/efficiency/premises/{ada}/measures", who,
                    {**MEASURE_FORM, "audit_id": str(ada_audit)}).status_code == 403
        for url in ("/efficiency/", f"/efficiency/premises/{ada}"):
            page = get(url, who).get_data(as_text=True)
            assert 'action="/efficiency' not in page and "Propose a measure" not in page, (who, url)
    assert _counts(coop) == before


def test_numbers_too_large_for_decimal_arithmetic_are_refused_not_crashed(pages, coop):
    """``1e999999999`` overflows Decimal and ``Infinity`` has no integer: both are refusals naming the field."""
    from sqlalchemy import func, select

    from energy_coop.models import IncentiveProgramme

    get, post, ids = pages
    with coop.begin() as s:
        programmes = s.scalar(select(func.count()).select_from(IncentiveProgramme))
        from energy_coop.services.efficiency.measures import get_measure

        ada_audit = get_measure(s, ids["ada"]).audit_id
    before = _counts(coop)
    page = _after(get, post("/efficiency/programmes", ADMIN, {
        "code": "BIG", "name": "Big", "budget": "1e999999999", "rule": "percent_of_cost", "percent": "Infinity",
        "bonus": "1e999999999", "eligible_member_types": ["household"], "opens_on": "2024-01-01",
        "closes_on": "2024-12-31"}))
    assert "budget: amount '1e999999999' is far too large" in page
    assert "percent: 'Infinity' is not a percentage with at most two decimals" in page
    assert "bonus: '1e999999999' is far too large a number" in page  # a percentage: Decimal overflows
    page = _after(get, post(f"/efficiency/premises/{ids['ada_premises']}/measures", ADMIN,
                            {**MEASURE_FORM, "audit_id": str(ada_audit), "cost": "1e999999999"}))
    assert "cost: amount '1e999999999' is far too large" in page
    with coop.begin() as s:
        assert s.scalar(select(func.count()).select_from(IncentiveProgramme)) == programmes
    assert _counts(coop) == before


def test_ids_beyond_the_database_range_are_404_or_refused_not_crashed(pages, coop):
    """PostgreSQL's BIGINT ends at 2**63 - 1: a longer id in a URL is 404, in a form field a refusal."""
    get, post, ids = pages
    huge = "9" * 25
    assert get(f"/efficiency/premises/{huge}", ADMIN).status_code == 404
    for path in (f"/efficiency/premises/{huge}/audits", f"/efficiency/premises/{huge}/measures",
                 f"/efficiency/measures/{huge}/status", f"/efficiency/awards/{huge}/payments"):
        assert post(path, ADMIN, {}).status_code == 404, path
    before = _counts(coop)
    page = _after(get, post(f"/efficiency/premises/{ids['ada_premises']}/measures", ADMIN,
                            {**MEASURE_FORM, "audit_id": huge}))
    assert f"audit_id: '{huge}' is far too large a number" in page
    page = _after(get, post("/efficiency/awards", ADMIN, {"programme": "HEAT-24", "measure_id": huge,
                                                          "awarded_on": "2024-06-01"}))
    assert f"measure_id: '{huge}' is far too large a number" in page
    assert _counts(coop) == before


# ------------------------------------------------------------------------- corrections of premises and measures


#: The edit forms as the premises page prefills them for the fixtures' measures (see ``make_measure``).
BUILDING = {"address": "2001 Elm St, Greensboro", "floor_area_m2": "120", "year_built": "1962",
            "heating_fuel": "natural_gas", "timezone": "America/New_York", "meter_code": "CM-2001"}
FIGURES = {"category": "heat_pump", "description": "Cold-climate heat pump", "cost": "8000.00",
           "estimated_kwh_per_year": "3000", "useful_life_years": "15"}


def test_the_premises_page_offers_admins_prefilled_edit_forms(pages, coop):
    get, _, ids = pages
    with coop.begin() as s:
        from energy_coop.services.efficiency.measures import get_measure, set_measure_status

        set_measure_status(s, ids["ada"], "verified", on=dt.date(2024, 6, 1), actor=ADMIN)
        still_open = make_measure(s, "2001", status="approved", cost_cents=123_456).id  # a second building
        premises_id = get_measure(s, still_open).premises_id
    text = get(f"/efficiency/premises/{premises_id}", ADMIN).get_data(as_text=True)
    _no_inline_script_or_style(text)
    assert "<summary>Edit this building</summary>" in text
    assert f'action="/efficiency/premises/{premises_id}/edit"' in text
    assert f'action="/efficiency/measures/{still_open}/edit"' in text
    for name, value in BUILDING.items():
        if name == "heating_fuel":
            assert f'<option value="{value}" selected>' in text
        else:
            assert f'id="edit-premises-{name}" name="{name}" value="{value}"' in text, name
        assert f'<label for="edit-premises-{name}">' in text, name
    assert f'id="edit-measure-{still_open}-cost" name="cost" value="1234.56"' in text
    for name in ("category", "description", "cost", "estimated_kwh_per_year", "useful_life_years"):
        assert f'<label for="edit-measure-{still_open}-{name}">' in text, name
    # a verified measure has no edit form
    ada_page = get(f"/efficiency/premises/{ids['ada_premises']}", ADMIN).get_data(as_text=True)
    assert f"/efficiency/measures/{ids['ada']}/edit" not in ada_page and "Edit this building" in ada_page


def test_admin_corrects_a_building_and_a_measure_through_the_forms(pages, coop):
    get, post, ids = pages
    page_url = f"/efficiency/premises/{ids['ada_premises']}"
    page = _after(get, post(f"{page_url}/edit", ADMIN, {**BUILDING, "address": "12 Elm Street, Greensboro",
                                                        "floor_area_m2": "135"}))
    assert f"premises {ids['ada_premises']} corrected: address, floor area m2" in page
    page = _after(get, post(f"/efficiency/measures/{ids['ada']}/edit", ADMIN,
                            {**FIGURES, "cost": "8123.45", "estimated_kwh_per_year": "3250"}))
    assert "12 Elm Street, Greensboro" in page  # back on the premises page
    assert f"measure {ids['ada']} corrected: Cold-climate heat pump, cost $8,123.45, estimated 3,250 kWh/year" in page
    premises, measure, updates = stored_corrections(coop, ids["ada"])
    assert premises == ("12 Elm Street, Greensboro", 135, 1962, "natural_gas", "America/New_York", "CM-2001")
    assert measure == ("heat_pump", "Cold-climate heat pump", "installed", 812_345, 3_250, 15)
    assert type(measure[3]) is int
    assert updates == [
        (ADMIN, "premises", str(ids["ada_premises"]), {"address": "2001 Elm St, Greensboro", "floor_area_m2": 120},
         {"address": "12 Elm Street, Greensboro", "floor_area_m2": 135}),
        (ADMIN, "measure", str(ids["ada"]), {"cost_cents": 800_000, "estimated_kwh_per_year": 3_000},
         {"cost_cents": 812_345, "estimated_kwh_per_year": 3_250})]
    # blank fields keep their values; so does sending the form back as it was
    for path in (f"{page_url}/edit", f"/efficiency/measures/{ids['ada']}/edit"):
        assert "nothing to change" in _after(get, post(path, ADMIN, {}))
    assert "nothing to change" in _after(get, post(f"{page_url}/edit", ADMIN,
                                                   {**BUILDING, "address": "12 Elm Street, Greensboro",
                                                    "floor_area_m2": "135"}))
    page = _after(get, post(f"/efficiency/measures/{ids['ada']}/edit", ADMIN, {"useful_life_years": "20"}))
    assert "useful life 20 years" in page
    assert stored_corrections(coop, ids["ada"])[1][3:] == (812_345, 3_250, 20)
    assert len(stored_corrections(coop, ids["ada"])[2]) == 3


def test_refused_corrections_name_the_field_and_change_nothing(pages, coop):
    get, post, ids = pages
    with coop.begin() as s:
        from energy_coop.services.efficiency.incentives import award_incentive
        from energy_coop.services.efficiency.measures import set_measure_status

        award_incentive(s, programme_code="HEAT-24", measure_id=ids["ada"], awarded_on=dt.date(2024, 6, 1),
                        actor=ADMIN)
        set_measure_status(s, ids["bo"], "installed", on=dt.date(2024, 5, 1), actor=ADMIN)
        set_measure_status(s, ids["bo"], "verified", on=dt.date(2024, 6, 1), actor=ADMIN)
    ada_page = f"/efficiency/premises/{ids['ada_premises']}"
    text = get(ada_page, ADMIN).get_data(as_text=True)
    assert f'id="edit-measure-{ids["ada"]}-cost" name="cost" value="8000.00" inputmode="decimal" readonly' in text
    assert "An incentive was awarded on its cost and estimated savings: they are fixed." in text
    ada_measure, bo_measure = f"/efficiency/measures/{ids['ada']}/edit", f"/efficiency/measures/{ids['bo']}/edit"
    cases = [
        (ada_measure, {**FIGURES, "cost": "9000.00"},
         "cost: cannot change: an incentive was awarded on this figure"),
        (ada_measure, {**FIGURES, "estimated_kwh_per_year": "1"},
         "estimated_kwh_per_year: cannot change: an incentive was awarded on this figure"),
        (bo_measure, {**FIGURES, "description": "Heat pump, corrected"},
         f"status: measure {ids['bo']} is verified: its figures are final"),
        (ada_measure, {"cost": "12.345"}, "cost: amount '12.345' has more than 2 decimal places"),
        (ada_measure, {"cost": "-5.00"}, "cost: -5.00 is negative"),
        (ada_measure, {"useful_life_years": "0"}, "useful_life_years: must be at least 1 years, not 0"),
        (ada_measure, {"estimated_kwh_per_year": "lots"}, "estimated_kwh_per_year: 'lots' is not a whole number"),
        (ada_measure, {"category": "magic"}, "category: 'magic' is not one of"),
        (ada_measure, {"description": "Heat\x07pump"}, "description: contains a line break or a control character"),
        (f"{ada_page}/edit", {**BUILDING, "floor_area_m2": "0"}, "floor_area_m2: must be at least 1 m², not 0"),
        (f"{ada_page}/edit", {"floor_area_m2": "big"}, "floor_area_m2: 'big' is not a whole number"),
        (f"{ada_page}/edit", {"timezone": "Mars/Olympus"}, "timezone: 'Mars/Olympus' is not a time zone name"),
        (f"{ada_page}/edit", {"heating_fuel": "coal"}, "heating_fuel: 'coal' is not one of"),
        (f"{ada_page}/edit", {"meter_code": "CM-2002"}, "meter_code: meter 'CM-2002' belongs to member 2002"),
        (f"{ada_page}/edit", {"year_built": "1200"}, "year_built: must be at least 1600, not 1200"),
        ("/efficiency/premises/999999/edit", BUILDING, "no premises 999999"),
        ("/efficiency/measures/999999/edit", FIGURES, "no measure 999999"),
    ]
    before = (_counts(coop), stored_corrections(coop, ids["ada"]), stored_corrections(coop, ids["bo"]))
    for path, data, reason in cases:
        page = _after(get, post(path, ADMIN, data))
        assert reason in page, (path, data, reason, re.findall(r'class="flash[^"]*">([^<]*)', page))
        assert "corrected" not in page and ("not changed" in page or "cannot change" in page
                                            or "no premises" in page or "no measure" in page), (path, data)
    assert (_counts(coop), stored_corrections(coop, ids["ada"]), stored_corrections(coop, ids["bo"])) == before
    # the awarded measure's cost sent back unchanged is no change: its other figures can still be corrected
    page = _after(get, post(ada_measure, ADMIN, {**FIGURES, "description": "Ducted heat pump"}))
    assert f"measure {ids['ada']} corrected: Ducted heat pump, cost $8,000.00" in page
    assert stored_corrections(coop, ids["ada"])[2][-1][3:] == ({"description": "Cold-climate heat pump"},
                                                     {"description": "Ducted heat pump"})


def test_auditors_and_members_cannot_correct(pages, coop):
    get, post, ids = pages
    before = (_counts(coop), stored_corrections(coop, ids["ada"]))
    for who in ("aud@example.org", "ada@example.org", "bo@example.org"):
        assert post(f"/efficiency/premises/{ids['ada_premises']}/edit", who,
                    {**BUILDING, "address": "Elsewhere"}).status_code == 403, who
        assert post(f"/efficiency/measures/{ids['ada']}/edit", who, {**FIGURES, "cost": "1.00"}).status_code == 403
    for who in ("aud@example.org", "ada@example.org"):
        page = get(f"/efficiency/premises/{ids['ada_premises']}", who).get_data(as_text=True)
        assert "Edit this building" not in page and "/edit" not in page and "<details" not in page, who
    assert (_counts(coop), stored_corrections(coop, ids["ada"])) == before


def test_other_scripts_digits_are_not_numbers_in_the_forms(pages, coop):
    """Issue 14: int() and Decimal() read "١٢٣" (Arabic-Indic) and "１２" (full-width) as numbers, so a floor
    area, a year or a percentage typed in them was stored. Only ASCII digits are numbers here."""
    get, post, ids = pages
    ada_page = f"/efficiency/premises/{ids['ada_premises']}"
    programme = {"code": "ARAB", "name": "Arab", "budget": "100.00", "rule": "percent_of_cost",
                 "percent": "12.5", "eligible_member_types": ["household"], "opens_on": "2024-01-01",
                 "closes_on": "2024-12-31"}
    cases = [
        (f"{ada_page}/edit", {"floor_area_m2": "\u0661\u0662\u0663"},
         "floor_area_m2: '\u0661\u0662\u0663' is not a whole number"),
        (f"{ada_page}/edit", {"year_built": "\uff11\uff19\uff18\uff10"}, "is not a whole number"),
        ("/efficiency/programmes", {**programme, "percent": "\u0661\u0662"},
         "percent: '\u0661\u0662' is not a percentage"),
        ("/efficiency/programmes", {**programme, "bonus": "\uff15"}, "bonus: '\uff15' is not a percentage"),
    ]
    before = (_counts(coop), stored_corrections(coop, ids["ada"]))
    for path, data, reason in cases:
        page = html.unescape(_after(get, post(path, ADMIN, data)))
        assert reason in page, (path, data, reason, re.findall(r'class="flash[^"]*">([^<]*)', page))
    assert (_counts(coop), stored_corrections(coop, ids["ada"])) == before


def _status_form(html_text: str, measure_id: int) -> str:
    match = re.search(rf'action="/efficiency/measures/{measure_id}/status">(.*?)</form>', html_text, re.S)
    assert match, f"no status form for measure {measure_id}"
    return match.group(1)


def test_status_drop_downs_start_at_the_measures_own_status_and_codes_read_as_words(pages):
    get, post, ids = pages
    page = get("/efficiency/", ADMIN).get_data(as_text=True)
    ada, bo = _status_form(page, ids["ada"]), _status_form(page, ids["bo"])
    # Ada's measure is installed, Bo's approved: each drop-down shows that, not the first status of the list
    assert re.findall(r'<option value="(\w+)" selected>', ada) == ["installed"]
    assert re.findall(r'<option value="(\w+)" selected>', bo) == ["approved"]
    assert '<option value="installed" selected>Installed (now)</option>' in ada
    assert 'value="proposed"' not in ada  # a measure never goes back to proposed
    # dates are typed one way everywhere: YYYY-MM-DD text, named in the label
    assert 'type="date"' not in page and "Date (YYYY-MM-DD)" in ada
    visible = re.sub(r"<[^>]+>", " ", page)
    for code in ("per_kwh", "percent_of_cost", "heat_pump", "clt_household", "worker_coop"):
        assert code not in visible, code
    assert "Per kWh saved a year" in page and "Land-trust household" in page
    premises = get(f"/efficiency/premises/{ids['ada_premises']}", ADMIN).get_data(as_text=True)
    assert 'type="date"' not in premises and "Date of the audit (YYYY-MM-DD)" in premises
    assert "heat_pump" not in re.sub(r"<[^>]+>", " ", premises)
