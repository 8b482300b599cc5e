"""Sign-in, roles, JSON errors and the admin writes (imports, allocations) of the API, on SQLite and PostgreSQL."""

from __future__ import annotations

import io

import pytest
from flask import Flask
from sqlalchemy import func, select

from energy_coop.config import Config
from energy_coop.models import AllocationRun, AuditEntry, ImportBatch, LedgerEntry, Reading
from energy_coop.services.accounts import users
from web.api import init_api

READ_PATHS = [
    "/me", "/members", "/members/1001", "/members/1001/credits", "/members/1001/statements/2024-02",
    "/members/1001/statements/2024-02.csv", "/members/1001/statements/2024-02.pdf", "/assets",
    "/assets/SUN1/production", "/assets/SUN1/forecast", "/ledger",
]
UNAUTHORIZED = {"error": "unauthorized", "details": []}


def ok(response, status=200):
    assert response.status_code == status, response.get_data(as_text=True)
    return response.get_json()


def march_csv(kwh: str = "1.5") -> bytes:
    rows = [f"PM-SUN1,2024-03-01T{h:02d}:00:00Z,60,{kwh}" for h in range(3)]
    return ("meter_code,start,interval_minutes,kwh\n" + "\n".join(rows) + "\n").encode()


def upload(api, content: bytes, name: str = "march.csv", **form):
    data = {"file": (io.BytesIO(content), name), **form}
    return api.post("/imports", data=data, content_type="multipart/form-data")


# ------------------------------------------------------------------------------------------------ sign-in


@pytest.mark.parametrize("path", READ_PATHS)
def test_anonymous_requests_are_401_with_a_bearer_challenge(as_role, path):
    response = as_role(None).get(path)
    body = ok(response, 401)
    assert {k: body[k] for k in ("error", "details")} == UNAUTHORIZED
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("header", [
    "Bearer", "Bearer ", "Basic YWRtaW46cGFzc3dvcmQ=", "bearer-ecp_x", "Bearer not-a-token",
    "Bearer ecp_" + "x" * 43, "Bearer ecp_" + "x" * 500, "Bearer ecp_\u00e9\u00e9",
])
def test_malformed_and_unknown_tokens_are_401(as_role, tokens, header):
    response = as_role(None).get("/me", headers={"Authorization": header})
    assert ok(response, 401)["error"] == "unauthorized"


def test_a_revoked_token_or_deactivated_user_is_401(sessions, as_role):
    assert ok(as_role("member").get("/me"))["role"] == "member"
    with sessions.begin() as s:
        users.revoke_tokens(s, users.find_user(s, "ada@example.org"), actor="test")
    assert ok(as_role("member").get("/me"), 401)["error"] == "unauthorized"
    assert ok(as_role("auditor").get("/me"))["role"] == "auditor"
    with sessions.begin() as s:
        users.find_user(s, "auditor@example.org").active = False
    assert ok(as_role("auditor").get("/me"), 401)["error"] == "unauthorized"


@pytest.mark.parametrize("role", ["auditor", "member"])
def test_only_admins_write_and_the_role_is_checked_before_the_input(as_role, role):
    api = as_role(role)
    for response in (api.post("/allocations/2024-02", json={"post": True}),
                     api.post("/allocations/2024-13", json={"nonsense": 1}),
                     upload(api, march_csv()),
                     api.post("/imports", data=b"junk", content_type="text/plain")):
        body = ok(response, 403)
        assert body["error"] == "forbidden" and body["message"].endswith("it needs the role admin")


def test_anonymous_writes_are_401(as_role):
    assert ok(as_role(None).post("/allocations/2024-02", json={"post": True}), 401)["error"] == "unauthorized"
    assert ok(upload(as_role(None), march_csv()), 401)["error"] == "unauthorized"


# ------------------------------------------------------------------------------------------------ errors


def test_unknown_api_paths_and_methods_answer_json(as_role, app):
    assert ok(as_role("admin").get("/nothing/here"), 404) == {
        "error": "not_found", "message": "there is nothing here", "details": []}
    response = as_role("admin").delete("/members")
    assert ok(response, 405)["error"] == "method_not_allowed"
    assert set(response.headers["Allow"].split(", ")) >= {"GET"}
    page = app.test_client().get("/not-an-api-page")
    assert page.status_code == 404 and not page.is_json  # the web pages keep their own error pages


def test_a_crash_inside_a_view_is_a_json_500_without_internals(as_role, monkeypatch):
    from energy_coop.services.screens import api as api_queries

    def boom(*args, **kwargs):
        raise RuntimeError("secret detail: connection string")

    monkeypatch.setattr(api_queries, "list_assets", boom)
    body = ok(as_role("member").get("/assets"), 500)
    assert body["error"] == "server_error" and "secret" not in str(body)


def test_the_openapi_document_is_public_and_names_every_endpoint(app):
    doc = ok(app.test_client().get("/api/v1/openapi.json"))
    assert doc["openapi"].startswith("3.")
    assert doc["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http", "scheme": "bearer", "description": "a token from `energy-coop users token EMAIL`"}
    assert set(doc["paths"]) == {
        "/api/v1/me", "/api/v1/members", "/api/v1/members/{member_number}",
        "/api/v1/members/{member_number}/credits", "/api/v1/members/{member_number}/statements/{period}",
        "/api/v1/members/{member_number}/statements/{period}.json",
        "/api/v1/members/{member_number}/statements/{period}.csv",
        "/api/v1/members/{member_number}/statements/{period}.pdf", "/api/v1/assets",
        "/api/v1/assets/{asset_code}/production", "/api/v1/assets/{asset_code}/forecast", "/api/v1/imports",
        "/api/v1/import-profiles",  # SPEC 20; checked in tests/api/test_import_profiles.py
        "/api/v1/allocations/{period}", "/api/v1/ledger",
        # a data logger's readings (SPEC 20); checked in tests/api/test_logger_readings.py
        "/api/v1/meters/{meter_code}/readings",
        # issued statement months (SPEC 13); checked in tests/api/test_statement_months.py
        "/api/v1/statement-months", "/api/v1/statement-months/{period}/issue", "/api/v1/settings",
        # the efficiency programme (SPEC 8); its operations are checked in tests/efficiency/test_api.py
        "/api/v1/efficiency/premises", "/api/v1/efficiency/premises/{premises_id}",
        "/api/v1/efficiency/premises/{premises_id}/savings", "/api/v1/efficiency/audits",
        "/api/v1/efficiency/audits/{audit_id}", "/api/v1/efficiency/measures",
        "/api/v1/efficiency/measures/{measure_id}", "/api/v1/efficiency/measures/{measure_id}/status",
        "/api/v1/efficiency/programmes", "/api/v1/efficiency/programmes/{code}",
        "/api/v1/efficiency/programmes/{code}/savings", "/api/v1/efficiency/awards",
        "/api/v1/efficiency/awards/{award_id}", "/api/v1/efficiency/awards/{award_id}/payments",
        "/api/v1/efficiency/exports/{kind}.csv",
    }
    error = doc["components"]["schemas"]["Error"]
    assert set(error["required"]) == {"error", "message", "details"}


def test_api_is_exempt_from_the_pages_csrf_protection(db_url, tmp_path, tokens):
    CSRFProtect = pytest.importorskip("flask_wtf.csrf").CSRFProtect  # the pages' CSRF extension

    app = Flask("csrf-check")
    app.config.update(SECRET_KEY="x", ENERGY_COOP=Config(database_url=db_url, instance_dir=tmp_path,
                                                         inbox=tmp_path, _secret_key="x"))
    CSRFProtect(app)
    init_api(app)

    @app.post("/form")
    def form():
        return "posted"

    client = app.test_client()
    assert client.post("/form").status_code == 400  # pages still need their CSRF token
    response = client.post("/api/v1/allocations/2024-02", json={},
                           headers={"Authorization": f"Bearer {tokens['admin']}"})
    assert ok(response)["status"] == "draft"


# ------------------------------------------------------------------------------------------------ allocations


def test_a_draft_changes_nothing_and_says_the_month_is_posted(sessions, as_role):
    body = ok(as_role("admin").post("/allocations/2024-02", json={}))
    assert (body["period"], body["status"], body["run_id"]) == ("2024-02", "draft", None)
    assert body["members"] == [{"member_number": "1001", "wh": 208_800, "cents": 2_088},
                               {"member_number": "1002", "wh": 103_200, "cents": 1_032},
                               {"member_number": "1003", "wh": 471_000, "cents": 4_710}]
    assert (body["total_wh"], body["total_cents"]) == (1_131_000, 11_310)
    assert body["messages"] == ["2024-02 is posted as run 1; this draft re-computes it from today's data"]
    sun = body["assets"][1]
    assert sun["holders"][-1] == {"holder": "COOP", "shares_days": 145, "wh": 348_000, "cents": 3_480}
    with sessions.begin() as s:
        assert s.scalar(select(func.count()).select_from(AllocationRun)) == 1
    assert ok(as_role("admin").post("/allocations/2024-02")) == body  # no body at all is a draft too


def test_posting_a_posted_month_is_409_and_a_repost_of_the_same_data_changes_nothing(sessions, as_role):
    api = as_role("admin")
    conflict = ok(api.post("/allocations/2024-02", json={"post": True}), 409)
    assert conflict["error"] == "conflict"
    assert conflict["message"].startswith("2024-02 is already posted (run 1,")
    assert conflict["message"].endswith('use "repost": true to replace it with reversal entries and new ones')
    same = ok(api.post("/allocations/2024-02", json={"post": True, "repost": True}))
    assert (same["status"], same["run_id"]) == ("posted", 1)
    assert same["messages"] == ["nothing changed since run 1; 2024-02 was not reposted"]
    with sessions.begin() as s:
        assert s.scalar(select(func.count()).select_from(LedgerEntry)) == 4


def test_posting_a_month_with_gaps_is_422_unless_allowed_and_is_audited(sessions, as_role):
    api = as_role("admin")
    ok(upload(api, march_csv()))
    refused = ok(api.post("/allocations/2024-03", json={"post": True}), 422)
    assert refused["message"].startswith("2024-03 cannot be posted: some meter readings are missing")
    assert '"allow_gaps": true' in refused["message"]
    assert {d["where"] for d in refused["details"]} == {"asset SUN1", "asset BAT1"}
    posted = ok(api.post("/allocations/2024-03", json={"post": True, "allow_gaps": True}))
    assert posted["status"] == "posted" and posted["total_wh"] == 4_500
    assert posted["messages"][0].startswith("coverage below 100 %: ")
    with sessions.begin() as s:
        audit = s.scalars(select(AuditEntry).where(AuditEntry.entity == "allocation")
                          .order_by(AuditEntry.id.desc())).first()
        assert (audit.actor, audit.action, audit.entity_key) == ("admin@example.org", "post", "2024-03")
    credits = ok(as_role("member").get("/members/1001/credits?from=2024-03"))
    assert credits["months"] == [{"period": "2024-03", "wh": 1_350, "cents": 14,
                                  "assets": [{"asset_code": "SUN1", "wh": 1_350, "cents": 14}]}]


@pytest.mark.parametrize("period, body, field", [
    ("2024-13", {}, "period"),
    ("24-02", {}, "period"),
    ("2024-02", {"postt": True}, "postt"),
    ("2024-02", {"post": [1]}, "post"),
    ("2024-02", {"post": "maybe"}, "post"),
    ("2024-02", {"allow_gaps": {"a": 1}}, "allow_gaps"),
    ("2024-02", [], ""),
])
def test_bad_allocation_requests_are_422_naming_the_field(sessions, as_role, period, body, field):
    response = ok(as_role("admin").post(f"/allocations/{period}", json=body), 422)
    assert response["error"] == "invalid_input"
    assert [d["field"] for d in response["details"]] == [field], response
    with sessions.begin() as s:
        assert s.scalar(select(func.count()).select_from(AllocationRun)) == 1


def test_a_future_month_is_refused(as_role):
    body = ok(as_role("admin").post("/allocations/2999-01", json={"post": True}), 422)
    assert body["message"] == "2999-01 is in the future; its production has not been metered yet"


# ------------------------------------------------------------------------------------------------ imports


def test_an_admin_imports_a_file_and_a_second_upload_is_a_duplicate(sessions, as_role):
    api = as_role("admin")
    report = ok(upload(api, march_csv(), name="../../etc/march.csv"))
    assert {k: report[k] for k in ("file", "status", "meters", "accepted", "unchanged", "revised", "rejected",
                                   "errors", "stale_periods")} == {
        "file": "march.csv", "status": "imported", "meters": ["PM-SUN1"], "accepted": 3, "unchanged": 0,
        "revised": 0, "rejected": 0, "errors": [], "stale_periods": []}
    assert len(report["sha256"]) == 64 and "rejected_file" not in report
    again = ok(upload(api, march_csv()))
    assert again["status"] == "duplicate" and again["batch_id"] == report["batch_id"]
    with sessions.begin() as s:
        batch = s.get(ImportBatch, report["batch_id"])
        assert (batch.file_name, batch.imported_by) == ("march.csv", "admin@example.org")
        audit = s.scalars(select(AuditEntry).where(AuditEntry.entity == "import_batch")).one()
        assert audit.actor == "admin@example.org"


def test_a_revision_inside_a_posted_month_is_reported_stale(as_role):
    api = as_role("admin")
    before = ok(as_role("member").get("/members/1001/statements/2024-02"))
    content = b"meter_code,start,interval_minutes,kwh\nPM-SUN1,2024-02-10T10:00:00Z,60,2\n"
    report = ok(upload(api, content, name="fix.csv"))
    assert (report["revised"], report["stale_periods"]) == (1, ["2024-02"])
    # the month is stale (a repost is due), but its issued statement never changes: a repost shows on the next
    assert ok(as_role("member").get("/members/1001/statements/2024-02")) == before


def test_a_refused_file_is_422_with_its_report_and_keeps_nothing(sessions, as_role):
    content = (b"meter_code,start,interval_minutes,kwh\n"
               b"PM-SUN1,2024-03-01T00:00:00Z,60,1\n"
               b"PM-SUN1,2024-03-01T01:00:00,60,1\n"
               b"PM-NOPE,2024-03-01T02:00:00Z,60,1\n")
    body = ok(upload(as_role("admin"), content, name="bad.csv"), 422)
    assert body["error"] == "invalid_input" and body["message"].startswith("bad.csv: refused, nothing imported")
    assert [d["where"] for d in body["details"]] == ["line 3", "line 4"]
    report = body["report"]
    assert (report["file"], report["status"], report["accepted"], report["rejected"]) == ("bad.csv", "refused", 0, 2)
    assert report["errors"] == body["details"]
    with sessions.begin() as s:
        assert s.scalar(select(func.count()).select_from(ImportBatch).where(ImportBatch.file_name == "bad.csv")) == 0
        assert s.scalar(select(func.count()).select_from(Reading).where(Reading.start >= 1709251200)) == 0


def test_skip_invalid_imports_the_good_rows_and_lists_the_bad(as_role):
    content = (b"meter_code,start,interval_minutes,kwh\n"
               b"PM-SUN1,2024-03-01T00:00:00Z,60,1\n"
               b"PM-SUN1,2024-03-01T01:00:00,60,1\n")
    report = ok(upload(as_role("admin"), content, name="mixed.csv", skip_invalid="true"))
    assert (report["status"], report["accepted"], report["rejected"]) == ("partial", 1, 1)
    assert [e["where"] for e in report["errors"]] == ["line 3"] and "rejected_file" not in report


def test_naive_times_import_with_a_named_time_zone(as_role):
    content = b"meter_code,start,interval_minutes,kwh\nPM-SUN1,2024-03-01T01:00:00,60,1\n"
    report = ok(upload(as_role("admin"), content, name="naive.csv", timezone="Europe/Paris"))
    assert report["accepted"] == 1


@pytest.mark.parametrize("make, field", [
    (lambda api: api.post("/imports", data={"meter": "PM-SUN1"}, content_type="multipart/form-data"), "file"),
    (lambda api: api.post("/imports", data=b"meter_code,start", content_type="text/csv"), "body"),
    (lambda api: upload(api, march_csv(), colour="blue"), "colour"),
    (lambda api: upload(api, march_csv(), skip_invalid="perhaps"), "skip_invalid"),
    (lambda api: upload(api, march_csv(), meter="M" * 65), "meter"),
    (lambda api: api.post("/imports", data={"file": (io.BytesIO(b"x"), "a.csv"),
                                            "other": (io.BytesIO(b"y"), "b.csv")},
                          content_type="multipart/form-data"), "other"),
])
def test_bad_uploads_are_422_naming_the_field(as_role, make, field):
    body = ok(make(as_role("admin")), 422)
    assert [d["field"] for d in body["details"]] == [field], body


def test_an_empty_or_binary_file_is_refused_in_words(as_role):
    body = ok(upload(as_role("admin"), b"", name="empty.csv"), 422)
    assert body["report"]["status"] == "refused" and body["details"]
    body = ok(upload(as_role("admin"), bytes(range(256)) * 10, name="blob.bin"), 422)
    assert body["report"]["status"] == "refused" and body["details"]


def test_an_upload_over_the_limit_is_413(db_url, tmp_path, tokens):
    from web import create_app

    config = Config(database_url=db_url, instance_dir=tmp_path, inbox=tmp_path, _secret_key="x",
                    max_upload_bytes=1000)
    client = create_app(config).test_client()
    response = client.post("/api/v1/imports", data={"file": (io.BytesIO(b"x" * 5000), "big.csv")},
                           content_type="multipart/form-data", headers={"Authorization": f"Bearer {tokens['admin']}"})
    assert ok(response, 413)["error"] == "too_large"


# ------------------------------------------------------------------------------------------------ manual entries


def test_a_payout_through_the_api_and_its_refusals(sessions, as_role):
    api = as_role("admin")
    paid = ok(api.post("/ledger", json={"kind": "payout", "member_number": "1001", "cents": -2_000,
                                        "memo": "cheque 17", "period": "2024-02"}), 201)
    # February's statements are issued, so the payout for February shows on March's (the open month)
    assert paid == {"seq": 5, "kind": "payout", "member_number": "1001", "period": "2024-02", "booked": "2024-03",
                    "wh": 0, "cents": -2_000, "memo": "cheque 17", "balance_wh": 208_800, "balance_cents": 88}
    listed = ok(api.get("/ledger?after_seq=4"))["entries"]
    assert [(e["seq"], e["kind"], e["cents"], e["memo"]) for e in listed] == [(5, "payout", -2_000, "cheque 17")]
    over = ok(api.post("/ledger", json={"kind": "payout", "member_number": "1001", "cents": -100,
                                        "memo": "cheque 18"}), 422)
    assert over["message"] == "no ledger entry was made"
    assert [(d["field"], d["reason"]) for d in over["details"]] == [
        ("cents", "member 1001's balance is 0.88; -1.00 would leave it at -0.12")]
    for body, field in [({"cents": True}, "cents"), ({"cents": 1.5}, "cents"), ({"cents": "-5"}, "cents"),
                        ({"cents": -10**12}, "cents"), ({"memo": "=cmd|' /C calc'!A0"}, "memo"),
                        ({"kind": "gift"}, "kind"), ({"period": "2024-2"}, "period"), ({"extra": 1}, "extra"),
                        ({"member_number": "<b>1001</b>"}, "member_number")]:
        refused = ok(api.post("/ledger", json={"kind": "payout", "member_number": "1001", "cents": -1,
                                               "memo": "cheque 19"} | body), 422)
        assert field in {d.get("field") for d in refused["details"]}, (body, refused)
    with sessions.begin() as s:
        assert s.scalar(select(func.count()).select_from(LedgerEntry)) == 5


def test_the_document_says_no_text_takes_a_nul_character(app, as_role):
    """The app refuses a NUL anywhere before any view (PostgreSQL cannot store one); the document says so, so
    that a client generated from it (and schemathesis) never sends one as valid input."""
    doc = app.test_client().get("/api/v1/openapi.json").get_json()
    after = next(p for p in doc["paths"]["/api/v1/members"]["get"]["parameters"] if p["name"] == "after")
    assert after["schema"]["pattern"] == "^[^\\x00]*$"
    number = doc["paths"]["/api/v1/members/{member_number}"]["parameters"][0]
    assert number["schema"]["pattern"] == "^[^\\x00]*$"
    assert doc["components"]["schemas"]["ManualEntryBody"]["properties"]["memo"]["pattern"] == "^[^\\x00]*$"
    refused = as_role("admin").get("/members?after=%00")
    assert refused.status_code == 422 and refused.get_json()["details"] == [
        {"where": "query", "field": "after", "reason": "holds a NUL character (\\0), which no field may contain"}]
