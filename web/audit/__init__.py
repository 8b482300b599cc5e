"""The auditors' area: the ledger with its chain verification, allocation runs with their inputs, exports.

Read-only: every route is GET. Admins may use it too.
"""

from flask import Blueprint

bp = Blueprint("audit", __name__, url_prefix="/audit")

from web.audit import views  # noqa: F401
