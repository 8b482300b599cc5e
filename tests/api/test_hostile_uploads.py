"""Uploads that answered HTTP 500 before issue 14 (the parsers' overflows): now 422 with the report, nothing kept."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from energy_coop.models import ImportBatch, Reading
from tests.conftest import TEST_DATA

GB = (TEST_DATA / "gb_month_end.xml").read_text(encoding="utf-8")


def csv_with(kwh: str) -> bytes:
    return f"meter_code,start,interval_minutes,kwh\nPM-SUN1,2024-03-01T00:00:00Z,60,{kwh}\n".encode()


@pytest.mark.parametrize("name, content, where, field", [
    ("huge.xml", GB.replace("<ns1:value>1</ns1:value>", "<ns1:value>1" + "0" * 30 + "</ns1:value>", 1).encode(),
     "UsagePoint 'PV-ME', IntervalBlock 1, IntervalReading 1", "value"),
    ("e.csv", csv_with("1e999999"), "line 2", "kwh"),
    ("digits.csv", csv_with("9" * 10_000_000), "line 2", "kwh"),
], ids=["greenbutton-10e30", "csv-1e999999", "csv-10MB-of-digits"])
def test_overflowing_uploads_are_422_not_500(sessions, as_role, name, content, where, field):
    with sessions.begin() as s:
        before = (s.scalar(select(func.count()).select_from(ImportBatch)),
                  s.scalar(select(func.count()).select_from(Reading)))
    response = as_role("admin").post("/imports", data={"file": (io.BytesIO(content), name),
                                                       **({"meter": "PM-SUN1"} if name.endswith(".xml") else {})},
                                     content_type="multipart/form-data")
    assert response.status_code == 422, response.get_data(as_text=True)[:500]
    body = response.get_json()
    assert [(d["where"], d["field"]) for d in body["details"]] == [(where, field)]
    assert "too large for one reading" in body["details"][0]["reason"]
    assert body["report"]["batch_id"] is None
    with sessions.begin() as s:
        assert (s.scalar(select(func.count()).select_from(ImportBatch)),
                s.scalar(select(func.count()).select_from(Reading))) == before
