"""A member's own pages: dashboard, statements and their downloads (admins and auditors see every member's)."""

from flask import Blueprint

bp = Blueprint("member", __name__)

from web.member import views  # noqa: F401
