"""A SQLite write lock held past the busy timeout: a sign-in (and an API write) answers 503 with Retry-After in
plain words, never a 500; once the lock is gone the same sign-in works."""

from __future__ import annotations

import sqlite3

import pytest

from tests.api.conftest import seed as seed_api
from tests.web.conftest import PASSWORD, TOKEN_RE, USERS, make_config, seed_coop


@pytest.fixture
def held_lock(db_url):
    if not db_url.startswith("sqlite"):
        pytest.skip("SQLite's write lock and busy timeout; PostgreSQL's lock_timeout is in test_storage_faults")
    holder = sqlite3.connect(db_url[len("sqlite:///"):], isolation_level=None)

    class Lock:
        def hold(self):
            holder.execute("BEGIN IMMEDIATE")

        def release(self):
            holder.execute("ROLLBACK")

    yield Lock()
    holder.close()


def _app(db_url, tmp_path):
    from web import create_app

    # a short busy timeout for the test (production waits 30 s): SQLite's own ?timeout= in the URL
    return create_app(make_config(db_url + "?timeout=0.3", tmp_path), SESSION_COOKIE_SECURE=False)


def test_a_sign_in_under_a_held_write_lock_is_503_with_retry_after(sessions, db_url, tmp_path, held_lock):
    seed_coop(sessions, tmp_path / "registers")
    client = _app(db_url, tmp_path).test_client()
    token = TOKEN_RE.search(client.get("/login").get_data(as_text=True)).group(1)
    form = {"email": USERS["admin"][0], "password": PASSWORD, "csrf_token": token}
    held_lock.hold()
    response = client.post("/login", data=form)
    page = response.get_data(as_text=True)
    assert response.status_code == 503, page
    assert response.headers["Retry-After"] == "60"
    assert "the database is busy with another change; try again in a minute" in page
    assert "Traceback" not in page and "SQL" not in page
    held_lock.release()
    response = client.post("/login", data=form)
    assert response.status_code == 302  # signed in, on to the admin's pages


def test_an_api_write_under_a_held_write_lock_is_503_json_with_retry_after(sessions, db_url, tmp_path, held_lock):
    tokens = seed_api(sessions, tmp_path / "registers")
    client = _app(db_url, tmp_path).test_client()
    held_lock.hold()
    response = client.post("/api/v1/allocations/2024-02", json={"post": True, "repost": True},
                           headers={"Authorization": f"Bearer {tokens['admin']}"})
    held_lock.release()
    assert response.status_code == 503, response.get_data(as_text=True)
    assert response.headers["Retry-After"] == "60"
    doc = response.get_json()
    assert doc["error"] == "unavailable" and doc["fault"] == "busy" and doc["details"] == []
    assert doc["message"] == "the database is busy with another change; try again in a minute (nothing was changed)"
