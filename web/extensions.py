"""Flask extensions, created once here and bound to each app in ``web.create_app`` with ``init_app``."""

from __future__ import annotations

from flask_login import LoginManager
from flask_wtf import CSRFProtect

from web.security import LoginLimiter

login_manager = LoginManager()
csrf = CSRFProtect()
login_limiter = LoginLimiter()
