"""Headers every API answer carries (issue 14): nothing under /api/v1 may be kept by a cache, and CSV answers
name one charset."""

from __future__ import annotations


def test_every_api_answer_is_not_stored_by_caches(as_role, app):
    admin, anonymous = as_role("admin"), as_role(None)
    answers = [admin.get("/me"), admin.get("/members"), admin.get("/members/1001/statements/2024-02"),
               admin.get("/members/nope"), admin.get("/no/such/route"), anonymous.get("/me"),
               admin.post("/members", json={"member_number": ""}), admin.get("/members/1001/statements/2024-02.csv")]
    for resp in answers:
        assert resp.headers.get("Cache-Control") == "no-store", (resp.request.path, resp.status_code)
    assert [r.status_code for r in answers[:3]] == [200, 200, 200]
    assert anonymous.get("/me").status_code == 401


def test_api_csv_answers_name_one_charset(as_role):
    admin = as_role("admin")
    for path in ["/members/1001/statements/2024-02.csv"] + [f"/efficiency/exports/{kind}.csv" for kind in (
            "premises", "audits", "measures", "programmes", "awards", "payments")]:
        resp = admin.get(path)
        assert resp.status_code == 200, path
        assert resp.headers.getlist("Content-Type") == ["text/csv; charset=utf-8"], (path, resp.headers)
