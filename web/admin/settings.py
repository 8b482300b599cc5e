"""The co-op settings page (``/admin/settings``, SPEC 13): name, address, contact, currency, locale, time zone
and the grid emission factor. Admins change them (one transaction, ``services.settings.set_settings``, audited);
auditors read them. A refusal shows each reason beside its field and changes nothing."""

from __future__ import annotations

import datetime as dt

from flask import flash, redirect, render_template, url_for

from energy_coop.errors import RefusedError
from energy_coop.formatting import formatter_for
from energy_coop.services.settings import DESCRIPTIONS, get_settings, set_settings
from energy_coop.vocabulary import STAFF_ROLES

from web.admin import bp
from web.admin.forms import SettingsForm
from web.helpers import actor, attach_errors, run
from web.security import roles_required

#: What the page shows as an example of the formats (an amount [cents], an energy [Wh], a day, an instant).
SAMPLE_CENTS, SAMPLE_WH = 123456, 1234567
SAMPLE_DAY = dt.date(2026, 11, 3)


def _samples(settings) -> dict[str, str]:
    f = formatter_for(settings)
    return {"money": f.money(SAMPLE_CENTS), "energy": f.energy_kwh(SAMPLE_WH) + " kWh",
            "date": f.date(SAMPLE_DAY), "month": f.period_label("2026-11"),
            "when": f.when(dt.datetime.now(dt.timezone.utc))}


def _page(form: SettingsForm, status: int = 200):
    settings = run(get_settings, read_only=True)
    return render_template("admin/settings.html", form=form, settings=settings, samples=_samples(settings),
                           hints=DESCRIPTIONS), status


@bp.get("/settings")
@roles_required(*STAFF_ROLES)
def settings_view():
    settings = run(get_settings)
    values = settings.as_dict()
    form = SettingsForm(formdata=None, data={k: values[k] or "" for k in SettingsForm.KEYS})
    return _page(form)


@bp.post("/settings")
@roles_required("admin")
def settings_save():
    form = SettingsForm()
    if not form.validate_on_submit():
        return _page(form, 400)
    changes = {k: getattr(form, k).data or "" for k in SettingsForm.KEYS}
    try:
        run(set_settings, changes, actor=actor())
    except RefusedError as exc:
        attach_errors(form, exc)
        return _page(form, 400)
    flash("Settings saved.", "success")
    return redirect(url_for("admin.settings_view"))
