"""The efficiency pages: who sees what, admin forms, CSV exports, and no inline script or style (CSP)."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from energy_coop.services import users
from tests.efficiency.conftest import ADMIN, make_measure, make_programme
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
    assert "awarded 2400.00 from HEAT-24" in html and "<form" in html
    _no_inline_script_or_style(html)
    post("/efficiency/awards/1/payments", ADMIN, {"amount": "9999.00", "paid_on": "2024-07-01"})
    assert "at most 2400.00 can be paid" in get("/efficiency/", ADMIN).get_data(as_text=True)
    post(f"/efficiency/measures/{ids['bo']}/status", ADMIN, {"status": "verified", "on": "2024-07-01"})
    assert "never installed" in get("/efficiency/", ADMIN).get_data(as_text=True)
    post("/efficiency/programmes", ADMIN, {"code": "NEW", "name": "New", "budget": "100.00", "rule": "percent_of_cost",
                                           "percent": "12.5", "eligible_member_types": ["household"],
                                           "opens_on": "2024-01-01", "closes_on": "2024-12-31"})
    html = get("/efficiency/", ADMIN).get_data(as_text=True)
    assert "programme NEW created with a budget of 100.00" in html and "12.5 % of cost" in html
