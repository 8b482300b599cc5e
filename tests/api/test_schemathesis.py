"""Property-based checks of the API against its own OpenAPI document, for every role (schemathesis).

For each operation and role, schemathesis generates requests from the document (valid and invalid ones) and
checks every answer: no 5xx, status codes, content types and bodies as documented, authentication honoured
(it also re-sends requests without the token and expects 401). The token is given to schemathesis as the
document's ``bearerAuth`` scheme, so its negative cases that drop the header stay unsigned. The app runs
in-process (WSGI, no network) on the seeded co-op of ``conftest``, on every backend under test; examples are
bounded (``max_examples``) so that each role takes seconds, not minutes.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import positive_data_acceptance

bounded = settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))

# Operations whose inputs have rules OpenAPI cannot state, so that schema-valid input may rightly answer 422:
# 'from' after 'to' and range limits (credits, production, forecast); a future or unpriced month, or gaps in
# the readings (allocations); the content of an uploaded file (imports); in the efficiency programme, records
# that must exist and fit together (a member, a building, an audit, a measure in the right status, an open
# programme with budget left, a time zone, dates in order) and savings that need a year of readings; a manual
# ledger entry needs a member that exists, a sign that fits its kind, a balance that covers a payout and a memo
# that is no spreadsheet formula; a month to issue must be posted, over, not stale and next in order.
SEMANTIC_RULES = {
    ("GET", "/api/v1/members/{member_number}/credits"),
    ("GET", "/api/v1/assets/{asset_code}/production"),
    ("GET", "/api/v1/assets/{asset_code}/forecast"),
    ("POST", "/api/v1/allocations/{period}"),
    ("GET", "/api/v1/allocations/{period}"),
    ("POST", "/api/v1/imports"),
    ("POST", "/api/v1/ledger"),
    ("POST", "/api/v1/statement-months/{period}/issue"),
    ("POST", "/api/v1/efficiency/premises"),
    ("POST", "/api/v1/efficiency/audits"),
    ("POST", "/api/v1/efficiency/measures"),
    ("POST", "/api/v1/efficiency/measures/{measure_id}/status"),
    ("POST", "/api/v1/efficiency/programmes"),
    ("POST", "/api/v1/efficiency/awards"),
    ("POST", "/api/v1/efficiency/awards/{award_id}/payments"),
    # Corrections: the building or measure must exist, a measure's figures are final once it is verified or
    # discarded, its cost and estimate once an incentive was awarded on them, a new meter must be registered,
    # be a consumption meter and not another member's, and the time zone must be a real one; an empty body is
    # refused because it changes nothing (OpenAPI's minProperties is not generated from the schema).
    ("PATCH", "/api/v1/efficiency/premises/{premises_id}"),
    ("PATCH", "/api/v1/efficiency/measures/{measure_id}"),
    ("GET", "/api/v1/efficiency/premises/{premises_id}/savings"),
    ("GET", "/api/v1/efficiency/programmes/{code}/savings"),
    # A setting's value must be a known currency, locale or time zone, an emission factor a decimal >= 0 with
    # its source, a name no spreadsheet formula: text the schema admits may rightly be refused.
    ("PATCH", "/api/v1/settings"),
    # A logger's readings must be of a registered meter, with real dates, interval lengths its kind takes,
    # exact kWh within bounds and no repeated interval; a reused key with other readings is a conflict.
    ("POST", "/api/v1/meters/{meter_code}/readings"),
}


def load(app, token: str | None):
    config = SchemathesisConfig.from_dict({"auth": {"openapi": {"bearerAuth": {"bearer": token}}}} if token else {})
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, config=config)


@pytest.fixture
def admin_schema(app, tokens):
    return load(app, tokens["admin"])


@pytest.fixture
def auditor_schema(app, tokens):
    return load(app, tokens["auditor"])


@pytest.fixture
def member_schema(app, tokens):
    return load(app, tokens["member"])


@pytest.fixture
def anonymous_schema(app, tokens):
    return load(app, None)


def check(case) -> None:
    excluded = []
    if (case.operation.method.upper(), case.operation.path) in SEMANTIC_RULES:
        excluded.append(positive_data_acceptance)
    case.call_and_validate(excluded_checks=excluded)


@schemathesis.pytest.from_fixture("admin_schema").parametrize()
@bounded
def test_admin_answers_match_the_document(case):
    check(case)


@schemathesis.pytest.from_fixture("auditor_schema").parametrize()
@bounded
def test_auditor_answers_match_the_document(case):
    check(case)


@schemathesis.pytest.from_fixture("member_schema").parametrize()
@bounded
def test_member_answers_match_the_document(case):
    check(case)


@schemathesis.pytest.from_fixture("anonymous_schema").parametrize()
@bounded
def test_anonymous_answers_match_the_document(case):
    check(case)
