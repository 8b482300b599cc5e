"""Configuration: the only module that reads environment variables (SPEC section 2).

| variable                   | default                                              |
|----------------------------|------------------------------------------------------|
| ENERGY_COOP_DATABASE_URL   | sqlite file ``instance/energy_coop.db`` (created)     |
| ENERGY_COOP_SECRET_KEY     | generated once and kept in ``instance/secret_key``   |
| ENERGY_COOP_INBOX          | ``instance/inbox``                                   |
| ENERGY_COOP_PROXIES        | ``0``: how many reverse proxies (nginx, Caddy) stand in front of ``serve``; their ``X-Forwarded-For``/``-Proto`` are then trusted for the client's address (sign-in limits) and scheme |
| ENERGY_COOP_ANCHOR_KEY     | none: the Ed25519 private key file ``ledger anchor`` signs with (kept outside the database; ``--key`` overrides) |

Paths are relative to the current directory. ``ENERGY_COOP_INSTANCE`` may move ``instance/`` elsewhere.

The scheduler's timetable (all times UTC, so a local clock change can neither skip nor repeat a run; the
defaults stay clear of the 01:00-03:00 window in which clocks change in most zones):

| variable                              | default  | meaning                                             |
|---------------------------------------|----------|-----------------------------------------------------|
| ENERGY_COOP_SCHEDULE_INBOX_MINUTES    | ``15``   | import the inbox every N minutes (N divides 60)     |
| ENERGY_COOP_SCHEDULE_FORECASTS        | ``04:20``| refresh forecasts daily at HH:MM UTC                 |
| ENERGY_COOP_SCHEDULE_ALLOCATION       | ``3 04:40`` | draft last month's allocation on DAY (1-28) at HH:MM UTC |
| ENERGY_COOP_INBOX_SETTLE_SECONDS      | ``5``    | a file modified more recently is left for the next run |
| ENERGY_COOP_AUTO_POST                 | off      | post the monthly allocation when coverage is complete |

They are kept as text here and parsed by :attr:`Config.schedule`, so a malformed one stops the scheduler at
start with a clear message without getting in the way of any other command.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from energy_coop.errors import RefusedError, RowError


@dataclass(frozen=True)
class Schedule:
    """When the scheduler runs each job (UTC). ``inbox_minutes`` divides 60, so slots start on the hour.

    ``heartbeat_seconds``: how often a running job's process writes that it is alive [s]; after
    :attr:`silence` without one (ten beats) any scheduler, on any host, takes the run over.
    """

    inbox_minutes: int = 15
    forecasts_at: dt.time = dt.time(4, 20)
    allocation_day: int = 3
    allocation_at: dt.time = dt.time(4, 40)
    inbox_settle_seconds: float = 5.0
    heartbeat_seconds: int = 30

    @property
    def silence(self) -> dt.timedelta:
        """How long a running job may go without a heartbeat before it is presumed dead (ten beats)."""
        return dt.timedelta(seconds=10 * self.heartbeat_seconds)


SCHEDULE_VARIABLES = {
    "inbox_minutes": "ENERGY_COOP_SCHEDULE_INBOX_MINUTES",
    "forecasts": "ENERGY_COOP_SCHEDULE_FORECASTS",
    "allocation": "ENERGY_COOP_SCHEDULE_ALLOCATION",
    "settle": "ENERGY_COOP_INBOX_SETTLE_SECONDS",
    "heartbeat": "ENERGY_COOP_JOB_HEARTBEAT_SECONDS",
}
_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


def _hhmm(text: str) -> dt.time | None:
    m = _HHMM.match(text)
    return dt.time(int(m.group(1)), int(m.group(2))) if m else None


def parse_schedule(raw: dict[str, str]) -> Schedule:
    """Turn the schedule settings (variable name -> text, blank = default) into a :class:`Schedule`.

    Every malformed setting is named in one :class:`RefusedError`, with what was found and what is expected.
    """
    default = Schedule()
    errors: list[RowError] = []
    values: dict[str, object] = {}

    def bad(key: str, value: str, expected: str) -> None:
        errors.append(RowError(SCHEDULE_VARIABLES[key], "", f"{value!r} is not {expected}"))

    text = (raw.get(SCHEDULE_VARIABLES["inbox_minutes"]) or "").strip()
    if text:
        if text.isdigit() and 1 <= int(text) <= 60 and 60 % int(text) == 0:
            values["inbox_minutes"] = int(text)
        else:
            bad("inbox_minutes", text, "a whole number of minutes that divides an hour (1, 2, 3, 4, 5, 6, 10, 12, "
                                       "15, 20, 30 or 60)")
    text = (raw.get(SCHEDULE_VARIABLES["forecasts"]) or "").strip()
    if text:
        at = _hhmm(text)
        if at is None:
            bad("forecasts", text, "a UTC time of day as HH:MM, e.g. 04:20")
        else:
            values["forecasts_at"] = at
    text = (raw.get(SCHEDULE_VARIABLES["allocation"]) or "").strip()
    if text:
        day, _, hhmm = text.partition(" ")
        at = _hhmm(hhmm.strip())
        if not (day.isdigit() and 1 <= int(day) <= 28) or at is None:
            bad("allocation", text, "a day of the month (1-28) and a UTC time, e.g. '3 04:40'")
        else:
            values["allocation_day"], values["allocation_at"] = int(day), at
    text = (raw.get(SCHEDULE_VARIABLES["settle"]) or "").strip()
    if text:
        try:
            seconds = float(text)
        except ValueError:
            seconds = -1.0
        if not 0 <= seconds <= 3600:
            bad("settle", text, "a number of seconds between 0 and 3600")
        else:
            values["inbox_settle_seconds"] = seconds
    text = (raw.get(SCHEDULE_VARIABLES["heartbeat"]) or "").strip()
    if text:
        if text.isdigit() and 1 <= int(text) <= 60:
            values["heartbeat_seconds"] = int(text)
        else:
            bad("heartbeat", text, "a whole number of seconds between 1 and 60")
    if errors:
        raise RefusedError("the scheduler's timetable settings are malformed; fix them and start it again", errors)
    return Schedule(**{**default.__dict__, **values})


@dataclass(frozen=True)
class Config:
    database_url: str
    instance_dir: Path
    inbox: Path
    _secret_key: str | None = field(default=None, repr=False)
    auto_post: bool = False
    performance_threshold: float = 0.8
    max_upload_bytes: int = 64 * 1024 * 1024
    # Session cookies only over HTTPS. Production sits behind TLS; the demo on http://127.0.0.1 turns it off.
    cookie_secure: bool = True
    schedule_settings: tuple[tuple[str, str], ...] = ()
    proxies: int = 0  # trusted reverse proxies in front of the web server (ENERGY_COOP_PROXIES)
    anchor_key: Path | None = None  # the ledger anchors' signing key file (ENERGY_COOP_ANCHOR_KEY)

    @property
    def schedule(self) -> Schedule:
        """The scheduler's timetable; raises :class:`RefusedError` naming every malformed setting."""
        return parse_schedule(dict(self.schedule_settings))

    @property
    def secret_key(self) -> str:
        """The Flask secret key: from the environment, else ``instance/secret_key`` (created once, mode 0600)."""
        if self._secret_key:
            return self._secret_key
        path = self.instance_dir / "secret_key"
        if not path.exists():
            self.instance_dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_hex(32))
        return path.read_text().strip()


def _flag(value: str | None, default: bool) -> bool:
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def load_config(database_url: str | None = None, env: dict[str, str] | None = None) -> Config:
    """Read the configuration; ``database_url`` (the ``--db`` option) beats the environment."""
    env = dict(os.environ if env is None else env)
    instance = Path(env.get("ENERGY_COOP_INSTANCE") or "instance").resolve()
    url = database_url or env.get("ENERGY_COOP_DATABASE_URL")
    if not url:
        instance.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{instance / 'energy_coop.db'}"
    inbox = Path(env.get("ENERGY_COOP_INBOX") or instance / "inbox").resolve()
    threshold = env.get("ENERGY_COOP_PERFORMANCE_THRESHOLD")
    proxies = (env.get("ENERGY_COOP_PROXIES") or "0").strip()
    if not proxies.isdigit() or int(proxies) > 5:
        raise RefusedError(f"ENERGY_COOP_PROXIES is {proxies!r}: it must be how many reverse proxies stand in front "
                           "of the web server, a whole number from 0 to 5")
    return Config(
        database_url=url,
        instance_dir=instance,
        inbox=inbox,
        _secret_key=env.get("ENERGY_COOP_SECRET_KEY") or None,
        auto_post=_flag(env.get("ENERGY_COOP_AUTO_POST"), False),
        cookie_secure=_flag(env.get("ENERGY_COOP_COOKIE_SECURE"), True),
        performance_threshold=float(threshold) if threshold else 0.8,
        schedule_settings=tuple((name, env[name]) for name in SCHEDULE_VARIABLES.values() if name in env),
        proxies=int(proxies),
        anchor_key=Path(env["ENERGY_COOP_ANCHOR_KEY"]).expanduser().resolve()
        if (env.get("ENERGY_COOP_ANCHOR_KEY") or "").strip() else None,
    )
