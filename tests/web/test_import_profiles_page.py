"""The admin's upload page and import profiles (SPEC 20): the select, the list, the report naming the profile."""

from __future__ import annotations

import io

from tests.conftest import TEST_DATA
from tests.profile_exports import MY_UTILITY
from tests.web.conftest import form_token

DATA = TEST_DATA / "profiles"


def test_the_page_offers_detection_and_every_profile_and_reports_the_one_used(signed_in, seeded):
    c = signed_in("admin")
    page = c.get("/admin/imports").get_data(as_text=True)
    assert '<option value="">Detect the layout</option>' in page
    for name in ("utility-blocks", "start-end-kwh", "inverter-register"):
        assert f'<option value="{name}">{name}</option>' in page
    data = {"csrf_token": form_token(c, "/admin/imports"), "meter": "PM-SUN1", "timezone": "Europe/Berlin",
            "profile": "inverter-register",
            "file": (io.BytesIO((DATA / "inverter_register_2024-06.csv").read_bytes()), "inverter.csv")}
    resp = c.post("/admin/imports", data=data, content_type="multipart/form-data")
    text = resp.get_data(as_text=True)
    assert resp.status_code == 200, text[:2000]
    assert "Status: imported" in text and 'id="report-accepted">48<' in text
    assert "Read as import profile <strong>inverter-register</strong>." in text


def test_a_file_in_no_layout_is_refused_on_the_page_in_words(signed_in, seeded):
    c = signed_in("admin")
    data = {"csrf_token": form_token(c, "/admin/imports"), "meter": "PM-SUN1",
            "file": (io.BytesIO(b"Energy Usage Information\nWhen,Amount\n2024-03-01 00:00,1.5\n"), "odd.csv")}
    resp = c.post("/admin/imports", data=data, content_type="multipart/form-data")
    text = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert "the file is in no known layout: line 1 looks like metadata" in text.replace("&#39;", "'")
    assert "--" not in text.split('id="import-report"')[1].split("</section>")[0]  # no command-line words


#: the README's worked profile (tests/profile_exports.py), stored under a name of its own
PROFILE = MY_UTILITY.replace('name = "my-utility"', 'name = "stadtwerke-wh"', 1)


def test_an_admin_adds_and_removes_a_profile_on_the_page(signed_in, seeded, sessions):
    from sqlalchemy import func, select

    from energy_coop.models import AuditEntry, ImportProfile

    c = signed_in("admin")
    token = form_token(c, "/admin/imports")
    bad = c.post("/admin/import-profiles", data={"csrf_token": token, "profile-text": 'name = "x"\nlayout = "pile"\n'})
    assert bad.status_code == 400 and "the profile cannot be used" in bad.get_data(as_text=True)
    builtin = c.post("/admin/import-profiles", data={"csrf_token": token,
                                                     "profile-text": PROFILE.replace("stadtwerke-wh", "utility-blocks")})
    assert builtin.status_code == 409 and "is a built-in profile&#39;s name" in builtin.get_data(as_text=True)
    with sessions.begin() as s:
        assert s.scalar(select(func.count()).select_from(ImportProfile)) == 0
    done = c.post("/admin/import-profiles", data={"csrf_token": token, "profile-file": (io.BytesIO(PROFILE.encode()),
                                                                                        "stadtwerke.toml")},
                  content_type="multipart/form-data")
    assert done.status_code == 302, done.get_data(as_text=True)[:3000]
    page = c.get("/admin/imports").get_data(as_text=True)
    assert '<option value="stadtwerke-wh">stadtwerke-wh (added here)</option>' in page
    with sessions.begin() as s:
        assert s.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.entity == "import_profile")) == 1
    assert c.post("/admin/import-profiles/stadtwerke-wh/remove", data={"csrf_token": token}).status_code == 302
    assert "stadtwerke-wh (added here)" not in c.get("/admin/imports").get_data(as_text=True)
    auditor = signed_in("auditor")
    refused = auditor.post("/admin/import-profiles", data={"csrf_token": form_token(auditor, "/admin/imports"),
                                                           "profile-text": PROFILE})
    assert refused.status_code == 403
