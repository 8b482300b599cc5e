"""The member and asset forms (issue 18): the same checks as the register files, with the same words, every
change in the audit log, and a refused form changes nothing. SQLite and PostgreSQL."""

from __future__ import annotations

import html as html_lib

from sqlalchemy import func, select

from energy_coop.errors import RefusedError
from energy_coop.models import Asset, AuditEntry, Member
from energy_coop.services.registers.loading import apply_records
from tests.web.conftest import form_token


def post(client, url, data):
    return client.post(url, data={"csrf_token": form_token(client, url), **data})


def loader_words(sessions, kind, record) -> list[str]:
    """What the register loader says of ``record``: each problem's reason (rolled back)."""
    with sessions() as s:
        try:
            apply_records(s, kind, [record], source="check", actor="test")
        except RefusedError as exc:
            return [e.reason for e in exc.errors]
        finally:
            s.rollback()
    raise AssertionError("the loader accepted it")


def state(sessions):
    with sessions.begin() as s:
        return (s.scalar(select(func.count()).select_from(Member)), s.scalar(select(func.count()).select_from(Asset)),
                s.scalar(select(func.count()).select_from(AuditEntry)))


MEMBER = {"member_number": "1010", "name": "Cy Neighbour", "email": "cy@example.org", "member_type": "worker_coop",
          "joined_on": "2024-05-01", "low_income": "true", "annual_usage_kwh": "4200.5", "meter_code": ""}


def test_adding_and_editing_a_member_is_audited(signed_in, seeded, sessions):
    admin = signed_in("admin")
    before = state(sessions)
    done = post(admin, "/admin/members/new", MEMBER)
    assert done.status_code == 302, done.get_data(as_text=True)[:3000]
    with sessions.begin() as s:
        m = s.scalar(select(Member).where(Member.member_number == "1010"))
        assert (m.name, m.member_type, m.low_income, m.annual_usage_wh) == ("Cy Neighbour", "worker_coop", True,
                                                                            4_200_500)
    edit = admin.get("/admin/members/1010/edit").get_data(as_text=True)
    assert 'value="Cy Neighbour"' in edit and 'value="4200.5"' in edit
    changed = post(admin, "/admin/members/1010/edit", {**MEMBER, "name": "Cy Neighbour-Smith",
                                                       "member_number": "9999"})  # the key is not edited
    assert changed.status_code == 302
    with sessions.begin() as s:
        assert s.scalar(select(Member.name).where(Member.member_number == "1010")) == "Cy Neighbour-Smith"
        assert s.scalar(select(Member.id).where(Member.member_number == "9999")) is None
    after = state(sessions)
    assert after[0] == before[0] + 1 and after[2] >= before[2] + 2  # a create and an update in the audit log


def test_a_bad_member_gets_the_loaders_words_and_changes_nothing(signed_in, seeded, sessions):
    admin = signed_in("admin")
    bad = {**MEMBER, "email": "not an email", "joined_on": "01/05/2024", "annual_usage_kwh": "-3"}
    before = state(sessions)
    refused = post(admin, "/admin/members/new", bad)
    page = html_lib.unescape(refused.get_data(as_text=True))
    assert refused.status_code == 400
    words = loader_words(sessions, "members", bad)
    assert len(words) == 3  # the email, the date and the negative use, each in the loader's words
    for reason in words:
        assert reason in page
    assert state(sessions) == before
    again = post(admin, "/admin/members/new", {**MEMBER, "member_number": "1001"})
    assert again.status_code == 400 and "member 1001 is already registered" in again.get_data(as_text=True)
    assert state(sessions) == before


def test_an_asset_form_is_judged_like_the_assets_file(signed_in, seeded, sessions):
    admin = signed_in("admin")
    solar = {"asset_code": "SUN2", "name": "Library roof", "kind": "solar", "meter_code": "PM-SUN2",
             "timezone": "America/Denver", "latitude": "39.7", "longitude": "-105.0", "altitude_m": "",
             "total_shares": "20", "commissioned_on": "2024-04-01", "capacity_kw_dc": "120", "capacity_kw_ac": "100",
             "tilt_deg": "25", "azimuth_deg": "180", "losses_pct": "", "array_type": "fixed_roof_mount",
             "storage_kwh": "", "storage_kw": "", "roundtrip_efficiency": ""}
    bad = {**solar, "timezone": "Mars/Olympus", "latitude": "95", "capacity_kw_ac": "0"}
    before = state(sessions)
    refused = post(admin, "/admin/assets/new", bad)
    page = html_lib.unescape(refused.get_data(as_text=True))
    assert refused.status_code == 400
    record = {k: v for k, v in bad.items() if k not in ("storage_kwh", "storage_kw", "roundtrip_efficiency")}
    words = loader_words(sessions, "assets", record)
    assert len(words) >= 3
    for reason in words:
        assert reason in page
    assert state(sessions) == before
    assert post(admin, "/admin/assets/new", solar).status_code == 302
    with sessions.begin() as s:
        a = s.scalar(select(Asset).where(Asset.asset_code == "SUN2"))
        assert (a.capacity_kw_ac, a.array_type, a.meter.code, a.losses_pct) == (100.0, "fixed_roof_mount", "PM-SUN2",
                                                                                14.0)
    shrink = post(admin, "/admin/assets/SUN1/edit", {**solar, "asset_code": "SUN1", "meter_code": "PM-SUN1",
                                                     "name": "School roof", "total_shares": "2"})
    assert shrink.status_code == 400  # members hold 6 of SUN1's shares
    with sessions.begin() as s:
        assert s.scalar(select(Asset.total_shares).where(Asset.asset_code == "SUN1")) == 10


def test_auditors_see_no_forms(signed_in, seeded):
    auditor = signed_in("auditor")
    assert auditor.get("/admin/members/new").status_code == 403
    assert "Add a member" not in auditor.get("/admin/members").get_data(as_text=True)
    assert "/edit" not in auditor.get("/admin/assets").get_data(as_text=True)
