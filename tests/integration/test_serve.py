"""``energy-coop serve`` as an administrator starts it: several gunicorn worker processes that share sign-ins
(one secret key), answer every page, and stop cleanly on SIGTERM: every worker gone and the port free within
the graceful timeout, even with clients holding connections open, and no worker left if the master is killed."""

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
from web.server import GRACEFUL_TIMEOUT_S, gunicorn_available

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


def start(db_url: str, tmp_path, workers: int) -> tuple[subprocess.Popen, int]:
    """``energy-coop serve`` on a free loopback port, answering (at most 60 s to start)."""
    port = free_port()
    env = {**os.environ, "ENERGY_COOP_INSTANCE": str(tmp_path / "instance"), "ENERGY_COOP_COOKIE_SECURE": "0"}
    env.pop("ENERGY_COOP_SECRET_KEY", None)  # the key file is made once, by the master, before the workers
    proc = subprocess.Popen([sys.executable, "-c", "from energy_coop.cli import main; main()", "serve", "--db",
                             db_url, "--port", str(port), "--workers", str(workers), "--threads", "2"],
                            env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while True:
        if proc.poll() is not None:
            pytest.fail(f"the server ended: {proc.communicate()}")
        try:
            if get(port, "/login").status == 200:
                break
        except OSError:
            pass
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"the server did not answer within 60 s: {proc.communicate()}")
        time.sleep(0.2)
    return proc, port


def alive(pid: int) -> bool:
    """A process that still runs (a zombie, dead but not yet reaped, does not)."""
    try:
        state = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def port_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # connections in TIME_WAIT do not count
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def wait_workers(proc: subprocess.Popen, count: int) -> set[int]:
    deadline = time.monotonic() + 30
    while len(children(proc.pid)) < count:
        assert time.monotonic() < deadline, f"workers: {children(proc.pid)}"
        time.sleep(0.2)
    return children(proc.pid)


@pytest.fixture
def admin_user(sessions):
    with sessions.begin() as s:
        add_user(s, EMAIL, "admin", PASSWORD, actor="test")


@pytest.fixture
def server(db_url, admin_user, tmp_path):
    proc, port = start(db_url, tmp_path, 3)
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


@pytest.fixture
def stopped_afterwards():
    """Processes the test started, killed at its end whatever happened (a failing test leaves nothing)."""
    pids: set[int] = set()
    procs: list[subprocess.Popen] = []
    yield pids, procs
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def test_sigterm_stops_every_worker_and_frees_the_port_within_the_graceful_timeout(db_url, admin_user, tmp_path,
                                                                                   stopped_afterwards):
    pids, procs = stopped_afterwards
    proc, port = start(db_url, tmp_path, 2)
    procs.append(proc)
    workers = wait_workers(proc, 2)
    pids.update(workers)
    # clients that hold connections open: kept alive after an answer, and one halfway through its request
    held = []
    for _ in range(4):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("GET", "/login")
        conn.getresponse().read()
        held.append(conn)
    half = socket.create_connection(("127.0.0.1", port), timeout=30)
    half.sendall(b"GET /login HTTP/1.1\r\nHost: localhost\r\n")
    try:
        proc.send_signal(signal.SIGTERM)
        sent = time.monotonic()
        deadline = sent + GRACEFUL_TIMEOUT_S + 5  # the timeout, and a little for a busy machine
        while not port_free(port):
            assert time.monotonic() < deadline, f"port {port} still taken {time.monotonic() - sent:.0f} s on"
            time.sleep(0.1)
        freed = time.monotonic() - sent
        assert proc.wait(timeout=max(0.1, deadline - time.monotonic())) == 0
        while any(alive(pid) for pid in workers):
            assert time.monotonic() < deadline, f"workers left: {[p for p in workers if alive(p)]}"
            time.sleep(0.1)
        assert freed < 5, f"the port was free only {freed:.1f} s after SIGTERM"  # workers stop listening at once
    finally:
        half.close()
        for conn in held:
            conn.close()


def test_workers_die_with_a_killed_master(db_url, admin_user, tmp_path, stopped_afterwards):
    # a supervisor that loses patience: SIGTERM, then SIGKILL to the master while a client is halfway through a
    # request; the workers must not stay on, re-parented, with nobody to stop them
    pids, procs = stopped_afterwards
    proc, port = start(db_url, tmp_path, 2)
    procs.append(proc)
    workers = wait_workers(proc, 2)
    pids.update(workers)
    half = socket.create_connection(("127.0.0.1", port), timeout=30)
    half.sendall(b"GET /login HTTP/1.1\r\nHost: localhost\r\n")
    try:
        time.sleep(0.5)
        proc.send_signal(signal.SIGTERM)
        time.sleep(1)
        proc.kill()
        proc.wait(timeout=10)
        deadline = time.monotonic() + 3
        while any(alive(pid) for pid in workers) or not port_free(port):
            assert time.monotonic() < deadline, f"orphaned workers left: {[p for p in workers if alive(p)]}"
            time.sleep(0.1)
    finally:
        half.close()
