"""The admin console: registers, meter data, the monthly allocation, issuing statements, users, the audit log and
job runs.

Auditors may read every page here (GET), except the confirmation step of issuing statements; only admins may
send the forms (POST answers 403 for auditors).
"""

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")

from web.admin import people, settings, statements, views  # noqa: F401
