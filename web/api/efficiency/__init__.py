"""The efficiency programme's API (SPEC sections 8 and 10) under ``/api/v1/efficiency``: premises, energy audits,
measures and their status, incentive programmes, awards and payments, measured savings and CSV exports.

Roles: admins read and write; auditors read everything (403 on writes); a member reads their own premises,
audits, measures and awards (another member's are absent from lists and answer 404 by id) and the programmes'
public terms. Each request is one transaction calling the services of ``energy_coop.services.efficiency``; a
refusal (422), a conflict such as an award beyond a programme's budget (409) or an unknown id (404) writes
nothing. A building's or a measure's details are corrected with PATCH (a partial body: only the fields given
change; an empty body is refused).

The request and response bodies are in :mod:`web.api.efficiency.schemas`, the operations in
:mod:`web.api.efficiency.routes`.
"""

from __future__ import annotations

from web.api.common import api_blueprint

blp = api_blueprint("efficiency", "The efficiency programme: premises, energy audits, measures, incentive "
                                  "programmes, awards and payments (SPEC 8)")

from web.api.efficiency import routes  # noqa: E402,F401  (registers the operations on blp)
