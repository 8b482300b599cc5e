"""The efficiency programme's pages (SPEC sections 8 and 10): views in :mod:`web.efficiency.views`, the admin
forms' parsing in :mod:`web.efficiency.forms`, their charts in :mod:`web.charts`.

Members see their own buildings; admins manage the programme; auditors read everything and export CSV.
"""

from flask import Blueprint

bp = Blueprint("efficiency", __name__, url_prefix="/efficiency", template_folder="../templates")

from web.efficiency import views  # noqa: E402,F401
