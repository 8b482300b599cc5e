"""``energy-coop serve`` as an administrator starts it: several gunicorn worker processes that share sign-ins
(one secret key), answer every page, and stop cleanly on SIGTERM."""

from __future__ import annotations

import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import time
from http.cookies import SimpleCookie
from urllib.parse import urlencode

import pytest

from energy_coop.services.accounts.users import add_user
from web.server import gunicorn_available

pytestmark = pytest.mark.skipif(not gunicorn_available(), reason="gunicorn does not run on this system (Windows)")

EMAIL, PASSWORD = "admin@example.org", "a long admin password"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(port: int, path: str, cookie: str = "") -> http.client.HTTPResponse:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)  # a new connection: any worker may answer
    conn.request("GET", path, headers={"Cookie": cookie} if cookie else {})
    response = conn.getresponse()
    response.body = response.read()
    conn.close()
    return response


def children(pid: int) -> set[int]:
    found = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = open(f"/proc/{entry}/stat").read()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.add(int(entry))
    return found


@pytest.fixture
def server(db_url, sessions, tmp_path):
    with sessions.begin() as s:
        add_user(s, EMAIL, "admin", PASSWORD, actor="test")
    port = free_port()
    env = {**os.environ, "ENERGY_COOP_INSTANCE": str(tmp_path / "instance"), "ENERGY_COOP_COOKIE_SECURE": "0"}
    env.pop("ENERGY_COOP_SECRET_KEY", None)  # the key file is made once, by the master, before the workers
    proc = subprocess.Popen([sys.executable, "-c", "from energy_coop.cli import main; main()", "serve", "--db",
                             db_url, "--port", str(port), "--workers", "3", "--threads", "2"],
                            env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while True:
        assert proc.poll() is None, proc.communicate()
        try:
            if get(port, "/login").status == 200:
                break
        except OSError:
            pass
        assert time.monotonic() < deadline, "the server did not answer within 60 s"
        time.sleep(0.2)
    yield proc, port
    if proc.poll() is None:
        proc.kill()
        proc.wait()


def test_workers_share_sign_ins_and_stop_on_sigterm(server, tmp_path):
    proc, port = server
    deadline = time.monotonic() + 30
    while len(children(proc.pid)) < 3:  # gunicorn's master and its three workers
        assert time.monotonic() < deadline, f"workers: {children(proc.pid)}"
        time.sleep(0.2)
    assert (tmp_path / "instance" / "secret_key").stat().st_mode & 0o777 == 0o600

    page = get(port, "/login")
    jar = SimpleCookie()
    for header in page.headers.get_all("Set-Cookie") or []:
        jar.load(header)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.body.decode()).group(1)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("POST", "/login", body=urlencode({"email": EMAIL, "password": PASSWORD, "csrf_token": token}),
                 headers={"Content-Type": "application/x-www-form-urlencoded",
                          "Cookie": "; ".join(f"{k}={v.value}" for k, v in jar.items())})
    signed = conn.getresponse()
    signed.read()
    conn.close()
    assert signed.status == 302, signed.status
    for header in signed.headers.get_all("Set-Cookie") or []:
        jar.load(header)
    cookie = "; ".join(f"{k}={v.value}" for k, v in jar.items())

    # thirty fresh connections are spread over the workers; each accepts the session another one signed
    for _ in range(30):
        response = get(port, "/admin/users", cookie)
        if response.status != 200:
            proc.kill()
            pytest.fail(f"status {response.status}; the server said:\n{proc.communicate()[1][-3000:]}")
        assert EMAIL.encode() in response.body
    assert get(port, "/admin/users").status == 302  # and without the cookie: to the sign-in page

    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0
    out, _ = proc.communicate()
    assert "gunicorn, 3 worker processes x 2 threads" in out
