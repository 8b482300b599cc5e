"""Every GET page of the URL map, for a member, an administrator and an auditor, on a phone (390 px) and a desktop
(1280 px): no page wider than its viewport, no console or page error, no serious or critical axe-core finding.

Routes come from ``app.url_map``, so a new page is walked without anyone adding it here; its parameters are
filled from the seeded co-op (``ROUTE_VALUES``). A route whose parameters cannot be filled must be named in
``SKIP`` with the reason, or the test fails. Each URL is first fetched with the signed-in context's own cookies:
answers that are not HTML (CSV, PDF, JSON, ZIP, the API, static files) are downloads and are left out by their
content type; 403 and 404 answers (pages the role may not see) are recorded and not visited. One browser context
per role and width, signed in once. A screenshot of every visited page goes to tests/e2e/artifacts/.
"""

from __future__ import annotations

import re

import pytest
from axe_playwright_python.sync_playwright import Axe

ROLES = ("member_a", "admin", "auditor")
WIDTHS = (390, 1280)

# Route parameters -> a real value from the seeded co-op (tests/web/conftest.py ``Seeded``, tests/helpers.py).
ROUTE_VALUES = {
    "member_number": lambda s: s.member_a,
    "period": lambda s: s.period,
    "run_id": lambda s: s.run_id,
    "premises_id": lambda s: s.premises_id,
    "audit_id": lambda s: s.audit_id,
    "measure_id": lambda s: s.measure_id,
    "award_id": lambda s: s.award_id,
    "code": lambda s: s.programme,
    "asset_code": lambda s: "SUN1",
    "kind": lambda s: "measures",
    "fmt": lambda s: "csv",
    "filename": lambda s: "style.css",
}

# Endpoints not walked, with the reason. Anything else whose parameters are not in ROUTE_VALUES fails the test.
SKIP: dict[str, str] = {}

VIEWPORT = {390: dict(viewport={"width": 390, "height": 844}, device_scale_factor=1, is_mobile=True,
                      has_touch=True),
            1280: dict(viewport={"width": 1280, "height": 900})}
BLOCKING = ("serious", "critical")
WIDER_THAN_VIEWPORT = """() => {
  const d = document.documentElement;
  if (d.scrollWidth <= d.clientWidth + 1) return null;
  const wide = [];
  for (const el of document.querySelectorAll('body *')) {
    const r = el.getBoundingClientRect();
    if (r.right > d.clientWidth + 1 && !el.closest('.table-wrap')) {
      wide.push(el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
                (el.className && typeof el.className === 'string' ? '.' + el.className.split(' ').join('.') : '') +
                ' (' + Math.round(r.right) + ' px)');
      if (wide.length >= 5) break;
    }
  }
  return {scrollWidth: d.scrollWidth, clientWidth: d.clientWidth, widest: wide};
}"""


def _routes(app, seeded):
    """(endpoint, url) for every GET route, parameters filled; the endpoints that cannot be filled."""
    from flask import url_for

    routes, unfillable = [], []
    with app.test_request_context():
        for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
            if "GET" not in rule.methods or rule.endpoint in SKIP:
                continue
            missing = sorted(a for a in rule.arguments if a not in ROUTE_VALUES)
            if missing:
                unfillable.append(f"{rule.rule} ({rule.endpoint}): no value for {', '.join(missing)}")
                continue
            values = {a: ROUTE_VALUES[a](seeded) for a in rule.arguments}
            routes.append((rule.endpoint, url_for(rule.endpoint, **values)))
    return routes, unfillable


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-") or "root"


@pytest.mark.slow
def test_every_page_fits_a_phone_and_a_desktop_without_errors_or_serious_accessibility_findings(
        live_coop, browser, artifacts):
    routes, unfillable = _routes(live_coop.app, live_coop.seeded)
    assert not unfillable, ("routes whose parameters the test cannot fill; add the value to ROUTE_VALUES or the "
                            "endpoint to SKIP with the reason:\n" + "\n".join(unfillable))
    assert len(routes) > 40, routes

    axe = Axe()
    problems: list[str] = []
    visited: dict[tuple[str, int], list[str]] = {}
    refused: dict[tuple[str, int], list[str]] = {}
    downloads: set[str] = set()
    for role in ROLES:
        for width in WIDTHS:
            context = browser.new_context(**VIEWPORT[width])
            try:
                page = context.new_page()
                errors: list[str] = []
                page.on("console", lambda msg: errors.append(f"console {msg.type}: {msg.text}")
                        if msg.type == "error" else None)
                page.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))
                live_coop.login(page, role)
                page.wait_for_load_state()
                seen, denied = visited.setdefault((role, width), []), refused.setdefault((role, width), [])
                for endpoint, path in routes:
                    where = f"{path} as {role} at {width} px"
                    answer = context.request.get(live_coop.url + path, max_redirects=5)
                    kind = answer.headers.get("content-type", "")
                    if not kind.startswith("text/html"):  # a download or the API (which wants a token)
                        downloads.add(f"{path} ({kind.split(';')[0]})")
                        continue
                    if answer.status in (403, 404):  # not this role's page
                        denied.append(f"{path} {answer.status}")
                        continue
                    if answer.status != 200:
                        problems.append(f"{where}: answered {answer.status}")
                        continue
                    errors.clear()
                    response = page.goto(live_coop.url + path)
                    page.wait_for_load_state("load")
                    if response is None or response.status != 200:
                        problems.append(f"{where}: the browser got {response and response.status}")
                        continue
                    if page.url.rstrip("/").endswith("/login") and path != "/login":
                        problems.append(f"{where}: sent back to the sign-in page")
                        continue
                    seen.append(path)
                    wide = page.evaluate(WIDER_THAN_VIEWPORT)
                    if wide:
                        problems.append(f"{where}: document {wide['scrollWidth']} px wide in a "
                                        f"{wide['clientWidth']} px viewport; outside a .table-wrap: "
                                        f"{'; '.join(wide['widest']) or '(none found)'}")
                    results = axe.run(page, options={"resultTypes": ["violations"],
                                                     "runOnly": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa",
                                                                 "best-practice"]})
                    for violation in results.response["violations"]:
                        if violation["impact"] not in BLOCKING:
                            continue
                        targets = ", ".join(" ".join(map(str, n["target"])) for n in violation["nodes"][:5])
                        problems.append(f"{where}: axe {violation['id']} ({violation['impact']}): "
                                        f"{violation['help']} at {targets}")
                    page.screenshot(path=str(artifacts / f"every-page-{role}-{width}-{_slug(path)}.png"),
                                    full_page=True)
                    problems.extend(f"{where}: {e}" for e in errors)
            finally:
                context.close()

    # each role saw its own pages and was refused the others
    assert any(p.startswith("/members/1001") for p in visited[("member_a", 390)])
    assert not any(p.startswith("/admin/") for p in visited[("member_a", 390)])
    assert any(p.startswith("/admin/") for p in visited[("admin", 1280)])
    assert any(p.startswith("/audit/") for p in visited[("auditor", 1280)])
    assert downloads, "no download was recognised by its content type"
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems)
