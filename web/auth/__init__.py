"""Signing in and out, and changing one's own password."""

from flask import Blueprint

bp = Blueprint("auth", __name__)

from web.auth import views  # noqa: F401  (routes register themselves on bp)
