"""Configuration: the only module that reads environment variables (SPEC section 2).

| variable                   | default                                              |
|----------------------------|------------------------------------------------------|
| ENERGY_COOP_DATABASE_URL   | sqlite file ``instance/energy_coop.db`` (created)     |
| ENERGY_COOP_SECRET_KEY     | generated once and kept in ``instance/secret_key``   |
| ENERGY_COOP_INBOX          | ``instance/inbox``                                   |

Paths are relative to the current directory. ``ENERGY_COOP_INSTANCE`` may move ``instance/`` elsewhere.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Config:
    database_url: str
    instance_dir: Path
    inbox: Path
    _secret_key: str | None = field(default=None, repr=False)
    auto_post: bool = False
    performance_threshold: float = 0.8
    max_upload_bytes: int = 64 * 1024 * 1024

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
    return Config(
        database_url=url,
        instance_dir=instance,
        inbox=inbox,
        _secret_key=env.get("ENERGY_COOP_SECRET_KEY") or None,
        auto_post=_flag(env.get("ENERGY_COOP_AUTO_POST"), False),
        performance_threshold=float(threshold) if threshold else 0.8,
    )
