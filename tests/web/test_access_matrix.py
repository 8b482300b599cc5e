"""Who may reach what: every rule in ``app.url_map``, for anonymous, member A, member B, admin and auditor.

``EXPECT`` is keyed by endpoint name and method. A rule without an entry fails ``test_every_rule_has_an_expectation``
(add one line when you add a route: pick a row type below, or spell out the five answers). Entries for
endpoints this app does not have (e.g. the API before it is merged) are ignored.

Answers: ``OK`` = allowed (2xx, a redirect that is not to sign-in, or a 400/409 refusal of the empty form the
test sends: the role got past the access check); ``LOGIN`` = redirect to the sign-in page; 401/403/404 = exactly
that status. URLs use the real keys of a seeded co-op with a posted month; member B asking for member A's data
must get 404, never 403. Pages use the session cookie; ``/api/`` rules use each user's bearer token.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from energy_coop.services.accounts.users import new_token
from tests.web.conftest import Seeded, login, make_config

OK, LOGIN = "ok", "login"
ROLES = ("anonymous", "member_a", "member_b", "admin", "auditor")


@dataclass(frozen=True)
class Expect:
    url: Callable[[Seeded], str]
    answers: tuple  # one per ROLES entry


def fixed(path: str) -> Callable[[Seeded], str]:
    return lambda s: path


# Row types (anonymous, member A, member B, admin, auditor)
PUBLIC = (OK, OK, OK, OK, OK)
SIGNED_IN = (LOGIN, OK, OK, OK, OK)
STAFF_PAGE = (LOGIN, 403, 403, OK, OK)  # admin console / audit area: read by admins and auditors
ADMIN_WRITE = (LOGIN, 403, 403, OK, 403)  # auditors never write
MEMBER_A_DATA = (LOGIN, OK, 404, OK, OK)  # member B gets 404, never 403
OWN_ACCOUNT_WRITE = (LOGIN, OK, OK, OK, OK)  # one's own password: not co-op data, so auditors too
SIGN_OUT = (LOGIN, LOGIN, LOGIN, LOGIN, LOGIN)  # everyone lands on the sign-in page (auditors too)
API_SIGNED_IN = (401, OK, OK, OK, OK)
API_STAFF_READ = (401, 403, 403, OK, OK)
API_ADMIN_WRITE = (401, 403, 403, OK, 403)
API_MEMBER_A_DATA = (401, OK, 404, OK, OK)

A = "1001"

EXPECT: dict[tuple[str, str], Expect] = {
    # static files and sign-in
    ("static", "GET"): Expect(fixed("/static/style.css"), PUBLIC),
    ("auth.login", "GET"): Expect(fixed("/login"), PUBLIC),
    ("auth.login", "POST"): Expect(fixed("/login"), PUBLIC),
    ("auth.index", "GET"): Expect(fixed("/"), SIGNED_IN),
    ("auth.logout", "POST"): Expect(fixed("/logout"), SIGN_OUT),
    ("auth.logout_everywhere", "POST"): Expect(fixed("/logout/everywhere"), SIGN_OUT),
    ("auth.password", "GET"): Expect(fixed("/account/password"), SIGNED_IN),
    ("auth.password", "POST"): Expect(fixed("/account/password"), OWN_ACCOUNT_WRITE),
    ("auth.token_new", "POST"): Expect(fixed("/account/tokens"), OWN_ACCOUNT_WRITE),
    # one's own tokens only: a token id that is not one's own is 404 for every role (tests/web/test_account_tokens)
    ("auth.token_revoke", "POST"): Expect(fixed("/account/tokens/99999/revoke"), (LOGIN, 404, 404, 404, 404)),
    # member pages
    ("member.me", "GET"): Expect(fixed("/me"), SIGNED_IN),
    ("member.dashboard", "GET"): Expect(fixed(f"/members/{A}"), MEMBER_A_DATA),
    ("member.statements_list", "GET"): Expect(fixed(f"/members/{A}/statements"), MEMBER_A_DATA),
    ("member.statement_download", "GET"): Expect(lambda s: f"/members/{A}/statements/{s.period}.pdf", MEMBER_A_DATA),
    ("member.statement_page", "GET"): Expect(lambda s: f"/members/{A}/statements/{s.period}", MEMBER_A_DATA),
    # admin console
    ("admin.index", "GET"): Expect(fixed("/admin/"), STAFF_PAGE),
    ("admin.members", "GET"): Expect(fixed("/admin/members"), STAFF_PAGE),
    ("admin.members_csv", "GET"): Expect(fixed("/admin/members.csv"), STAFF_PAGE),
    ("admin.members_list_csv", "GET"): Expect(fixed("/admin/members-list.csv"), STAFF_PAGE),
    ("admin.member_new", "GET"): Expect(fixed("/admin/members/new"), ADMIN_WRITE),
    ("admin.member_new", "POST"): Expect(fixed("/admin/members/new"), ADMIN_WRITE),
    ("admin.member_edit", "GET"): Expect(fixed("/admin/members/1001/edit"), ADMIN_WRITE),
    ("admin.member_edit", "POST"): Expect(fixed("/admin/members/1001/edit"), ADMIN_WRITE),
    ("admin.asset_page", "GET"): Expect(fixed("/admin/assets/SUN1"), STAFF_PAGE),
    ("admin.asset_new", "GET"): Expect(fixed("/admin/assets/new"), ADMIN_WRITE),
    ("admin.asset_new", "POST"): Expect(fixed("/admin/assets/new"), ADMIN_WRITE),
    ("admin.asset_edit", "GET"): Expect(fixed("/admin/assets/SUN1/edit"), ADMIN_WRITE),
    ("admin.asset_edit", "POST"): Expect(fixed("/admin/assets/SUN1/edit"), ADMIN_WRITE),
    ("admin.assets", "GET"): Expect(fixed("/admin/assets"), STAFF_PAGE),
    ("admin.shares", "GET"): Expect(fixed("/admin/shares"), STAFF_PAGE),
    ("admin.share_record", "POST"): Expect(fixed("/admin/shares/issue"), ADMIN_WRITE),
    ("admin.rates", "GET"): Expect(fixed("/admin/rates"), STAFF_PAGE),
    ("admin.rate_add", "POST"): Expect(fixed("/admin/rates"), ADMIN_WRITE),
    ("admin.rate_tou", "POST"): Expect(fixed("/admin/rates/time-of-use"), ADMIN_WRITE),
    ("admin.imports_page", "GET"): Expect(fixed("/admin/imports"), STAFF_PAGE),
    ("admin.imports_upload", "POST"): Expect(fixed("/admin/imports"), ADMIN_WRITE),
    ("admin.profile_add", "POST"): Expect(fixed("/admin/import-profiles"), ADMIN_WRITE),
    ("admin.profile_remove", "POST"): Expect(fixed("/admin/import-profiles/none-such/remove"), (LOGIN, 403, 403, 404, 403)),
    ("admin.coverage", "GET"): Expect(lambda s: f"/admin/coverage?period={s.period}", STAFF_PAGE),
    ("admin.allocation_view", "GET"): Expect(lambda s: f"/admin/allocation?period={s.period}", STAFF_PAGE),
    ("admin.allocation_post", "POST"): Expect(fixed("/admin/allocation"), ADMIN_WRITE),
    ("admin.statements_view", "GET"): Expect(fixed("/admin/statements"), STAFF_PAGE),
    # the confirmation step starts a write: admins only (auditors read the list)
    ("admin.statements_confirm", "GET"): Expect(lambda s: f"/admin/statements/{s.period}/issue", ADMIN_WRITE),
    ("admin.statements_issue", "POST"): Expect(lambda s: f"/admin/statements/{s.period}/issue", ADMIN_WRITE),
    ("admin.ledger_entries", "GET"): Expect(fixed("/admin/ledger-entries"), STAFF_PAGE),
    ("admin.ledger_entry_add", "POST"): Expect(fixed("/admin/ledger-entries"), ADMIN_WRITE),
    ("admin.users_view", "GET"): Expect(fixed("/admin/users"), STAFF_PAGE),
    ("admin.settings_view", "GET"): Expect(fixed("/admin/settings"), STAFF_PAGE),
    ("admin.settings_save", "POST"): Expect(fixed("/admin/settings"), ADMIN_WRITE),
    ("admin.user_add", "POST"): Expect(fixed("/admin/users"), ADMIN_WRITE),
    ("admin.user_role", "POST"): Expect(lambda s: f"/admin/users/{s.user_ids['member_b']}/role", ADMIN_WRITE),
    ("admin.user_active", "POST"): Expect(lambda s: f"/admin/users/{s.user_ids['member_b']}/active", ADMIN_WRITE),
    ("admin.user_unlock", "POST"): Expect(lambda s: f"/admin/users/{s.user_ids['member_b']}/unlock", ADMIN_WRITE),
    ("admin.user_password", "POST"): Expect(lambda s: f"/admin/users/{s.user_ids['member_b']}/password",
                                            ADMIN_WRITE),
    ("admin.audit_log", "GET"): Expect(fixed("/admin/audit-log"), STAFF_PAGE),
    ("admin.jobs", "GET"): Expect(fixed("/admin/jobs"), STAFF_PAGE),
    # auditors' area
    ("audit.index", "GET"): Expect(fixed("/audit/"), STAFF_PAGE),
    ("audit.ledger", "GET"): Expect(fixed("/audit/ledger"), STAFF_PAGE),
    ("audit.runs", "GET"): Expect(fixed("/audit/runs"), STAFF_PAGE),
    ("audit.run_detail", "GET"): Expect(lambda s: f"/audit/runs/{s.run_id}", STAFF_PAGE),
    ("audit.run_document", "GET"): Expect(lambda s: f"/audit/runs/{s.run_id}.json", STAFF_PAGE),
    ("audit.ledger_csv", "GET"): Expect(fixed("/audit/exports/ledger.csv"), STAFF_PAGE),
    ("audit.audit_bundle", "GET"): Expect(lambda s: f"/audit/exports/audit-{s.period}.zip", STAFF_PAGE),
    ("audit.statements_bundle", "GET"): Expect(lambda s: f"/audit/exports/statements-{s.period}-csv.zip",
                                               STAFF_PAGE),
    # JSON API (SPEC 10; endpoint names of the api branch - checked once it is merged)
    ("energy-coop-api-api-docs.openapi_json", "GET"): Expect(fixed("/api/v1/openapi.json"), PUBLIC),
    ("api_members.me", "GET"): Expect(fixed("/api/v1/me"), API_SIGNED_IN),
    # SPEC 10 "a member for themself": a member's list holds only their own record (tested in tests/api)
    ("api_members.list_members", "GET"): Expect(fixed("/api/v1/members"), API_SIGNED_IN),
    ("api_members.get_member", "GET"): Expect(fixed(f"/api/v1/members/{A}"), API_MEMBER_A_DATA),
    ("api_members.credits", "GET"): Expect(fixed(f"/api/v1/members/{A}/credits"), API_MEMBER_A_DATA),
    ("api_members.statement_json_5", "GET"): Expect(lambda s: f"/api/v1/members/{A}/statements/{s.period}",
                                                    API_MEMBER_A_DATA),
    ("api_members.statement_json", "GET"): Expect(lambda s: f"/api/v1/members/{A}/statements/{s.period}.json",
                                                  API_MEMBER_A_DATA),
    ("api_members.statement_as_csv", "GET"): Expect(lambda s: f"/api/v1/members/{A}/statements/{s.period}.csv",
                                                    API_MEMBER_A_DATA),
    ("api_members.statement_as_pdf", "GET"): Expect(lambda s: f"/api/v1/members/{A}/statements/{s.period}.pdf",
                                                    API_MEMBER_A_DATA),
    ("api_assets.list_assets", "GET"): Expect(fixed("/api/v1/assets"), API_SIGNED_IN),
    ("api_settings.settings", "GET"): Expect(fixed("/api/v1/settings"), API_SIGNED_IN),
    ("api_settings.settings_patch", "PATCH"): Expect(fixed("/api/v1/settings"), API_ADMIN_WRITE),
    ("api_assets.production", "GET"): Expect(fixed("/api/v1/assets/SUN1/production"), API_SIGNED_IN),
    ("api_assets.forecast", "GET"): Expect(fixed("/api/v1/assets/SUN1/forecast"), API_SIGNED_IN),
    ("api_operations.import_readings", "POST"): Expect(fixed("/api/v1/imports"), API_ADMIN_WRITE),
    ("api_operations.import_profiles", "GET"): Expect(fixed("/api/v1/import-profiles"), API_STAFF_READ),
    ("api_meters.post_readings", "POST"): Expect(fixed("/api/v1/meters/PM-SUN1/readings"), API_ADMIN_WRITE),
    ("api_operations.allocate", "POST"): Expect(lambda s: f"/api/v1/allocations/{s.period}", API_ADMIN_WRITE),
    ("api_operations.allocation_draft", "GET"): Expect(lambda s: f"/api/v1/allocations/{s.period}",
                                                       API_ADMIN_WRITE),
    ("api_operations.ledger", "GET"): Expect(fixed("/api/v1/ledger"), API_STAFF_READ),
    ("api_statements.statement_months", "GET"): Expect(fixed("/api/v1/statement-months"), API_SIGNED_IN),
    ("api_statements.issue", "POST"): Expect(lambda s: f"/api/v1/statement-months/{s.period}/issue",
                                             API_ADMIN_WRITE),
    ("api_operations.ledger_record", "POST"): Expect(fixed("/api/v1/ledger"), API_ADMIN_WRITE),
    # efficiency programme pages (SPEC 8): a member sees their own records; admins manage; auditors read
    ("efficiency.index", "GET"): Expect(fixed("/efficiency/"), SIGNED_IN),
    ("efficiency.premises", "GET"): Expect(lambda s: f"/efficiency/premises/{s.premises_id}", MEMBER_A_DATA),
    ("efficiency.export", "GET"): Expect(fixed("/efficiency/export/measures.csv"), STAFF_PAGE),
    ("efficiency.create_programme", "POST"): Expect(fixed("/efficiency/programmes"), ADMIN_WRITE),
    ("efficiency.award", "POST"): Expect(fixed("/efficiency/awards"), ADMIN_WRITE),
    ("efficiency.measure_status", "POST"): Expect(lambda s: f"/efficiency/measures/{s.measure_id}/status",
                                                  ADMIN_WRITE),
    ("efficiency.edit_premises", "POST"): Expect(lambda s: f"/efficiency/premises/{s.premises_id}/edit",
                                                 ADMIN_WRITE),
    ("efficiency.edit_measure", "POST"): Expect(lambda s: f"/efficiency/measures/{s.measure_id}/edit",
                                                ADMIN_WRITE),
    ("efficiency.payment", "POST"): Expect(lambda s: f"/efficiency/awards/{s.award_id}/payments", ADMIN_WRITE),
    ("efficiency.create_premises", "POST"): Expect(fixed("/efficiency/premises"), ADMIN_WRITE),
    ("efficiency.record_audit", "POST"): Expect(lambda s: f"/efficiency/premises/{s.premises_id}/audits",
                                                ADMIN_WRITE),
    ("efficiency.propose_measure", "POST"): Expect(lambda s: f"/efficiency/premises/{s.premises_id}/measures",
                                                   ADMIN_WRITE),
    # efficiency API (SPEC 10): lists hold only a member's own records; another member's record is 404
    **{(f"api_efficiency.{kind}_list", "GET"): Expect(fixed(f"/api/v1/efficiency/{kind}"), API_SIGNED_IN)
       for kind in ("premises", "audits", "measures", "programmes", "awards")},
    **{(f"api_efficiency.{kind}_create", "POST"): Expect(fixed(f"/api/v1/efficiency/{kind}"), API_ADMIN_WRITE)
       for kind in ("premises", "audits", "measures", "programmes", "awards")},
    ("api_efficiency.premises_get", "GET"): Expect(lambda s: f"/api/v1/efficiency/premises/{s.premises_id}",
                                                   API_MEMBER_A_DATA),
    ("api_efficiency.premises_savings", "GET"): Expect(
        lambda s: f"/api/v1/efficiency/premises/{s.premises_id}/savings", API_MEMBER_A_DATA),
    ("api_efficiency.audits_get", "GET"): Expect(lambda s: f"/api/v1/efficiency/audits/{s.audit_id}",
                                                 API_MEMBER_A_DATA),
    ("api_efficiency.measures_get", "GET"): Expect(lambda s: f"/api/v1/efficiency/measures/{s.measure_id}",
                                                   API_MEMBER_A_DATA),
    ("api_efficiency.measures_status", "POST"): Expect(
        lambda s: f"/api/v1/efficiency/measures/{s.measure_id}/status", API_ADMIN_WRITE),
    ("api_efficiency.premises_update", "PATCH"): Expect(lambda s: f"/api/v1/efficiency/premises/{s.premises_id}",
                                                        API_ADMIN_WRITE),
    ("api_efficiency.measures_update", "PATCH"): Expect(lambda s: f"/api/v1/efficiency/measures/{s.measure_id}",
                                                        API_ADMIN_WRITE),
    ("api_efficiency.awards_get", "GET"): Expect(lambda s: f"/api/v1/efficiency/awards/{s.award_id}",
                                                 API_MEMBER_A_DATA),
    ("api_efficiency.awards_pay", "POST"): Expect(lambda s: f"/api/v1/efficiency/awards/{s.award_id}/payments",
                                                  API_ADMIN_WRITE),
    ("api_efficiency.programmes_get", "GET"): Expect(lambda s: f"/api/v1/efficiency/programmes/{s.programme}",
                                                     API_SIGNED_IN),
    ("api_efficiency.programmes_savings", "GET"): Expect(
        lambda s: f"/api/v1/efficiency/programmes/{s.programme}/savings", API_STAFF_READ),
    ("api_efficiency.export", "GET"): Expect(fixed("/api/v1/efficiency/exports/measures.csv"), API_STAFF_READ),
}


def _routes(app) -> list[tuple[str, str]]:
    out = set()
    for rule in app.url_map.iter_rules():
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            out.add((rule.endpoint, method))
    return sorted(out)


def test_every_rule_has_an_expectation(make_app):
    missing = [f"{endpoint} {method}" for endpoint, method in _routes(make_app()) if (endpoint, method) not in EXPECT]
    assert not missing, ("these routes have no expected answers in tests/web/test_access_matrix.py EXPECT; add "
                         "one line each:\n  " + "\n  ".join(missing))


def _verdict(resp) -> object:
    loc = resp.headers.get("Location", "")
    if resp.status_code in (301, 302, 303, 307, 308):
        return LOGIN if "/login" in loc else OK
    if resp.status_code in (401, 403, 404):
        return resp.status_code
    if resp.status_code >= 500 or resp.status_code == 405:
        return f"status {resp.status_code}"
    return OK  # 2xx, or a 400/409/413/422 refusal of the (empty) request after the access check


@pytest.fixture
def matrix(make_app, seeded, sessions):
    app = make_app(WTF_CSRF_ENABLED=False)
    tokens = {}
    with sessions.begin() as s:
        for role, email in (("member_a", "ada@coop.test"), ("member_b", "bees@coop.test"),
                            ("admin", "admin@coop.test"), ("auditor", "auditor@coop.test")):
            tokens[role] = new_token(s, email, actor="test")
    return app, tokens


def test_access_matrix(matrix, seeded):
    app, tokens = matrix
    clients = {"anonymous": app.test_client()}
    for role in ROLES[1:]:
        c = app.test_client()
        assert login(c, role).status_code == 302
        clients[role] = c
    failures = []
    # Signing out ends the session (everywhere: every session of the user), so those go last.
    last = (("auth.logout", "POST"), ("auth.logout_everywhere", "POST"))
    for endpoint, method in sorted(_routes(app), key=lambda r: last.index(r) + 1 if r in last else 0):
        expect = EXPECT.get((endpoint, method))
        if expect is None:
            continue  # reported by test_every_rule_has_an_expectation
        url = expect.url(seeded)
        for role, wanted in zip(ROLES, expect.answers):
            client = clients[role]
            headers = {}
            if url.startswith("/api/") and role != "anonymous":
                headers["Authorization"] = f"Bearer {tokens[role]}"
            resp = client.open(url, method=method, headers=headers, data={} if method != "GET" else None)
            got = _verdict(resp)
            if got != wanted:
                failures.append(f"{method} {url} ({endpoint}) as {role}: expected {wanted}, got {got} "
                                f"[{resp.status_code} {resp.headers.get('Location', '')}]")
    assert not failures, "\n".join(failures)


def test_auditor_write_attempts_change_nothing(matrix, seeded, sessions):
    """Auditors are refused before anything runs: no audit-log entry appears for their POSTs."""
    from sqlalchemy import func, select

    from energy_coop.models import AuditEntry

    app, _ = matrix
    c = app.test_client()
    login(c, "auditor")
    with sessions.begin() as s:
        before = s.scalar(select(func.count()).select_from(AuditEntry))
    data = {"issue-ref": "X1", "issue-date": "2024-03-01", "issue-asset_code": "SUN1", "issue-member_number": "1001",
            "issue-shares": "1"}
    assert c.post("/admin/shares/issue", data=data).status_code == 403
    assert c.post("/admin/allocation", data={"period": "2024-02", "repost": "1"}).status_code == 403
    with sessions.begin() as s:
        assert s.scalar(select(func.count()).select_from(AuditEntry)) == before


def test_unknown_paths_are_404_for_everyone(make_app, seeded, tmp_path, db_url):
    app = make_app(make_config(db_url, tmp_path))
    c = app.test_client()
    assert c.get("/no/such/page").status_code == 404
    assert c.get("/admin/users/abc/role").status_code == 404
    login(c, "member_a")
    assert c.get("/members/1001/statements/2024-02.doc").status_code == 404
    assert c.get("/members/9999/statements").status_code == 404


def test_an_id_beyond_any_record_answers_404_everywhere(matrix):
    """Every rule that takes a record id, page or API, GET or POST: an id too big for the database's BIGINT
    (or for a JSON client's integers) matches no route, so it is a 404, never a 500 from the database."""
    from werkzeug.routing import IntegerConverter

    app, tokens = matrix
    admin = app.test_client()
    assert login(admin, "admin").status_code == 302
    checked = []
    for rule in app.url_map.iter_rules():
        converters = rule._converters  # name -> converter of each variable part
        if not converters or not all(isinstance(c, IntegerConverter) for c in converters.values()):
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            for huge in ("9" * 30, str(2**63), str(2**53)):
                url = rule.rule
                for name in converters:
                    url = url.replace(url[url.index("<"):url.index(">") + 1], huge, 1)
                headers = {"Authorization": f"Bearer {tokens['admin']}"} if url.startswith("/api/") else {}
                resp = admin.open(url, method=method, headers=headers, data={} if method != "GET" else None)
                assert resp.status_code == 404, (method, url, resp.status_code)
            checked.append(rule.endpoint)
    assert {"admin.user_role", "audit.run_detail", "efficiency.premises", "api_efficiency.awards_pay",
            "efficiency.edit_measure", "api_efficiency.measures_update"} <= set(checked)


NUL_REQUESTS = [  # (method, url, keyword arguments of the test client's open) - each with a NUL somewhere
    ("GET", "/members/10%0001", {}),
    ("GET", "/admin/members?q=a%00b", {}),
    ("GET", "/audit/ledger?period=2024-0%002", {}),
    ("POST", "/admin/shares/issue", {"data": {"issue-ref": "R\x001", "issue-date": "2024-03-01",
                                              "issue-asset_code": "SUN1", "issue-member_number": "1001",
                                              "issue-shares": "1"}}),
    ("POST", "/admin/ledger-entries", {"data": {"kind": "payout", "member_number": "10\x0001", "amount": "-1",
                                                "memo": "x"}}),
    ("POST", "/login", {"data": {"email": "a\x00@b.org", "password": "x"}}),
    ("GET", "/api/v1/members/10%0001", {}),
    ("GET", "/api/v1/assets/SU%00N1/production", {}),
    ("POST", "/api/v1/ledger", {"json": {"kind": "payout", "member_number": "10\x0001", "cents": -1, "memo": "x"}}),
    ("POST", "/api/v1/efficiency/premises", {"json": {"member_number": "1001", "address": "1 Main St\x00"}}),
    ("POST", "/api/v1/allocations/2024-02", {"json": {"po\x00st": True}}),
    ("POST", "/api/v1/ledger", {"data": "[" * 100_000 + "]" * 100_000, "content_type": "application/json"}),
]


@pytest.mark.parametrize("method, url, kwargs", NUL_REQUESTS, ids=[f"{m} {u[:40]}" for m, u, _ in NUL_REQUESTS])
def test_a_nul_character_or_a_bottomless_json_body_is_refused_before_any_view(matrix, sessions, method, url, kwargs):
    """PostgreSQL cannot store a NUL character and Python cannot read JSON nested 100,000 deep: either used to
    answer 500. Now pages answer 400 and the API 422 naming the place, and nothing changes."""
    from sqlalchemy import func, select

    from energy_coop.models import AuditEntry, LedgerEntry

    app, tokens = matrix
    c = app.test_client()
    assert login(c, "admin").status_code == 302
    with sessions.begin() as s:
        before = [s.scalar(select(func.count()).select_from(t)) for t in (AuditEntry, LedgerEntry)]
    headers = {"Authorization": f"Bearer {tokens['admin']}"} if url.startswith("/api/") else {}
    resp = c.open(url, method=method, headers=headers, **kwargs)
    if url.startswith("/api/"):
        assert resp.status_code == 422 and resp.json["message"].startswith("the request could not be read")
        assert resp.json["details"] and all(d["reason"] for d in resp.json["details"])
    else:
        assert resp.status_code == 400 and "NUL character" in resp.get_data(as_text=True)
    with sessions.begin() as s:
        assert [s.scalar(select(func.count()).select_from(t)) for t in (AuditEntry, LedgerEntry)] == before
