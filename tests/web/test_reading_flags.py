"""Readings of the wrong sign on the admin pages (SPEC 20): the Overview's to-do line, the coverage page, the
import report page."""

from __future__ import annotations

from tests.conftest import TEST_DATA
from tests.helpers import add_readings, utc

from .conftest import form_token


def _negative_june(sessions) -> None:
    # PM-SUN1: 200 kW AC, standby 1,000 W = 1 kWh an hour; three hours at -2 kWh, one at -1 kWh (within standby)
    start = utc(2024, 6, 1)
    rows = [(start + 3600 * h, start + 3600 * (h + 1), mwh)
            for h, mwh in enumerate([-2_000_000, -2_000_000, -2_000_000, -1_000_000, 5_000_000])]
    with sessions.begin() as s:
        add_readings(s, "PM-SUN1", rows, name="june")


def test_overview_and_coverage_pages_show_the_wrong_sign(signed_in, sessions, seeded):
    _negative_june(sessions)
    c = signed_in("admin")
    home = c.get("/admin/").get_data(as_text=True)
    assert "To do" in home
    assert "meter &#39;PM-SUN1&#39; has 3 readings with the wrong sign in 2024-06" in home
    assert 'href="/admin/coverage?period=2024-06"' in home
    cov = c.get("/admin/coverage?period=2024-06").get_data(as_text=True)
    assert "Readings with the wrong sign" in cov
    assert "meter &#39;PM-SUN1&#39; has 3 readings with the wrong sign in 2024-06" in cov
    feb = c.get("/admin/coverage?period=2024-02").get_data(as_text=True)
    assert "Readings with the wrong sign" not in feb


def test_overview_without_flags_has_no_wrong_sign_line(signed_in, seeded):
    home = signed_in("admin").get("/admin/").get_data(as_text=True)
    assert "To do" in home and "with the wrong sign" not in home


def test_the_import_report_page_shows_flags(signed_in, seeded):
    c = signed_in("admin")
    text = (TEST_DATA / "gb_redacted_links.xml").read_text()
    swapped = (text.replace(">1</espi:flowDirection>", ">X</espi:flowDirection>")
               .replace(">19</espi:flowDirection>", ">1</espi:flowDirection>")
               .replace(">X</espi:flowDirection>", ">19</espi:flowDirection>"))
    import io
    resp = c.post("/admin/imports", data={"csrf_token": form_token(c, "/admin/imports"), "meter": "", "timezone": "",
                                          "file": (io.BytesIO(swapped.encode()), "swapped.xml")},
                  content_type="multipart/form-data")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200, page[:2000]
    assert "Warning: meter &#39;PM-SUN1&#39; has 4 readings with the wrong sign in 2024-06" in page
