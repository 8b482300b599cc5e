"""Admin console views for registers, meter data, the allocation and manual ledger entries (users, the audit log
and job runs are in :mod:`web.admin.people`): each parses the request, calls one service in one transaction
and renders.

GET pages are open to admins and auditors (read-only for auditors: the forms are hidden from them and every
POST here answers 403 for them). Every change goes through a service that writes the audit log.
"""

from __future__ import annotations

import datetime as dt
import re
import tempfile
from pathlib import Path

from flask import abort, current_app, flash, redirect, render_template, request, url_for

from energy_coop.errors import ConflictError, RefusedError, RowError
from energy_coop.period import Period
from energy_coop.services.credits import allocation, ledger
from energy_coop.services.metering import imports
from energy_coop.services.metering import profiles as profiles_service
from energy_coop.services.registers import loading as registers, tariff_templates
from energy_coop.services.paging import Page
from energy_coop.services.registers.queries import MEMBER_LIST_KEYS, MemberFilter
from energy_coop.services.screens import admin as screens
from energy_coop.units import parse_cents
from energy_coop.vocabulary import (ARRAY_TYPE_LABELS, ASSET_KIND_LABELS, MEMBER_TYPE_LABELS, SHARE_KINDS,
                                    STAFF_ROLES)

from web.formatter import current_formatter
from web.helpers import actor, attach_errors, csv_response, page_arg, run
from web.security import roles_required
from web.admin import bp
from web.admin.forms import (
    SOLAR_FIELDS,
    STORAGE_FIELDS,
    AllocationForm,
    AssetForm,
    LedgerEntryForm,
    MemberForm,
    ProfileForm,
    RemoveProfileForm,
    RateForm,
    ShareForm,
    TouForm,
    UploadForm,
    choices,
)

STAFF = STAFF_ROLES


def _last_month() -> Period:
    return Period.of(dt.date.today()).previous()


def _period_arg() -> tuple[Period, str | None]:
    """The ``period`` query argument (default: last month) and a message when it is not a month."""
    text = (request.args.get("period") or "").strip()[:20]
    if not text:
        return _last_month(), None
    try:
        return Period.parse(text), None
    except ValueError as exc:
        return _last_month(), str(exc)


@bp.get("/")
@roles_required(*STAFF)
def index():
    config = current_app.config["ENERGY_COOP"]
    now = dt.datetime.now(dt.UTC)
    return render_template("admin/index.html", overview=run(
        screens.overview, today=now.date(), threshold=config.performance_threshold, now=now,
        schedule=config.schedule, inbox=config.inbox))


# ------------------------------------------------------------------------------------------------ registers


@bp.get("/members")
@roles_required(*STAFF)
def members():
    f, args, problems = _member_filter()
    data, refusal = None, None
    if not problems:
        try:
            data = run(screens.members_screen, page=page_arg(), filter=f, today=dt.date.today())
        except RefusedError as exc:
            refusal = exc
    if data is None:  # a filter that cannot be applied shows no rows, and says why
        data = {"page": Page([], 1, 1, 0, 50), "asset_codes": run(screens.asset_codes)}
    messages = [f"{e.field}: {e.reason}" for e in problems] + (
        [f"{e.field}: {e.reason}" for e in refusal.errors] if refusal is not None else [])
    return render_template("admin/members.html", page=data["page"], asset_codes=data["asset_codes"], args=args,
                           f=f, problems=messages, member_types=MEMBER_TYPE_LABELS, sorts=MEMBER_SORT_LABELS), \
        (400 if messages else 200)


MEMBER_SORT_LABELS = {"number": "Number", "name": "Name", "type": "Type", "joined": "Joined",
                      "shares": "Shares held", "balance": "Balance"}


def _member_filter() -> tuple[MemberFilter, dict[str, str], list[RowError]]:
    """The members list's filter from the query string, the arguments to keep in its links, and what is wrong
    with them (a balance that is not an amount)."""
    a = request.args
    args = {k: a.get(k, "")[:100].strip() for k in ("q", "type", "low_income", "asset", "balance_above", "sort",
                                                   "order")}
    problems = []
    balance = None
    if args["balance_above"]:
        try:
            balance = parse_cents(args["balance_above"])
        except ValueError as exc:
            problems.append(RowError("", "balance above", str(exc)))
    low = {"yes": True, "no": False}.get(args["low_income"])
    f = MemberFilter(q=args["q"], member_type=args["type"] or None, low_income=low, asset_code=args["asset"] or None,
                     balance_above_cents=balance, sort=args["sort"] or "number", descending=args["order"] == "desc")
    return f, {k: v for k, v in args.items() if v}, problems


def _member_form(form: MemberForm | None = None, record: dict[str, str] | None = None) -> MemberForm:
    form = form or MemberForm(formdata=None, data=record or {"member_type": "household", "low_income": "false"})
    form.member_type.choices = choices(list(MEMBER_TYPE_LABELS.items()))
    form.low_income.choices = choices([("false", "No"), ("true", "Yes")])
    return form


def _save_register_form(kind: str, form, fields: tuple[str, ...], source: str):
    """Send a register form's values through the loader's checks (``apply_records``): the LoadResult, or the
    refusal put beside the fields it names (None)."""
    record = {name: (form[name].data or "") for name in fields}
    try:
        return run(registers.apply_records, kind, [record], source=source, actor=actor())
    except RefusedError as exc:
        attach_errors(form, exc)
        return None


MEMBER_FIELDS = ("member_number", "name", "email", "member_type", "joined_on", "low_income", "annual_usage_kwh",
                 "meter_code")


@bp.route("/members/new", methods=["GET", "POST"])
@roles_required("admin")
def member_new():
    form = _member_form(MemberForm() if request.method == "POST" else None)
    if request.method == "POST":
        if form.validate_on_submit():
            if run(screens.member_exists, (form.member_number.data or "").strip()):
                form.member_number.errors = [f"member {form.member_number.data.strip()} is already registered; "
                                             "edit it from the members list"]
            elif _save_register_form("members", form, MEMBER_FIELDS, "member form") is not None:
                flash(f"Member {form.member_number.data.strip()} added.", "success")
                return redirect(url_for("admin.members", q=form.member_number.data.strip()))
        return render_template("admin/register_form.html", form=form, fields=MEMBER_FIELDS, title="Add a member",
                               action=url_for("admin.member_new"), back=url_for("admin.members")), 400
    return render_template("admin/register_form.html", form=form, fields=MEMBER_FIELDS, title="Add a member",
                           action=url_for("admin.member_new"), back=url_for("admin.members"))


@bp.route("/members/<member_number>/edit", methods=["GET", "POST"])
@roles_required("admin")
def member_edit(member_number: str):
    record = run(screens.member_record, member_number)
    title = f"Edit member {record['member_number']}"
    action = url_for("admin.member_edit", member_number=record["member_number"])
    if request.method == "GET":
        form = _member_form(record=record)
        return render_template("admin/register_form.html", form=form, fields=MEMBER_FIELDS, title=title,
                               action=action, back=url_for("admin.members"), fixed=("member_number",))
    form = _member_form(MemberForm())
    form.member_number.data = record["member_number"]  # the key is not edited here
    if form.validate_on_submit():
        result = _save_register_form("members", form, MEMBER_FIELDS, "member form")
        if result is not None:
            flash(f"Member {record['member_number']} saved ({result.updated} changed, {result.unchanged} unchanged).",
                  "success")
            return redirect(url_for("admin.members", q=record["member_number"]))
    return render_template("admin/register_form.html", form=form, fields=MEMBER_FIELDS, title=title, action=action,
                           back=url_for("admin.members"), fixed=("member_number",)), 400


ASSET_FIELDS = ("asset_code", "name", "kind", "meter_code", "timezone", "latitude", "longitude", "altitude_m",
                "total_shares", "commissioned_on", *SOLAR_FIELDS, *STORAGE_FIELDS)


def _asset_form(form: AssetForm | None = None, record: dict[str, str] | None = None) -> AssetForm:
    form = form or AssetForm(formdata=None, data=record or {"kind": "solar", "array_type": "fixed_open_rack"})
    form.kind.choices = choices(list(ASSET_KIND_LABELS.items()))
    form.array_type.choices = choices([("", "(storage: none)")] + list(ARRAY_TYPE_LABELS.items()))
    return form


def _asset_values(form: AssetForm) -> tuple[str, ...]:
    """The fields to send: a solar array's or a battery's own (the others left out, as a CSV leaves them empty)."""
    kind = form.kind.data
    skip = STORAGE_FIELDS if kind == "solar" else SOLAR_FIELDS if kind == "storage" else ()
    return tuple(f for f in ASSET_FIELDS if f not in skip)


@bp.get("/assets/<asset_code>")
@roles_required(*STAFF)
def asset_page(asset_code: str):
    config = current_app.config["ENERGY_COOP"]
    data = run(screens.asset_screen, asset_code, today=dt.date.today(), threshold=config.performance_threshold)
    return render_template("admin/asset.html", data=data, kind_labels=ASSET_KIND_LABELS,
                           array_labels=ARRAY_TYPE_LABELS)


@bp.route("/assets/new", methods=["GET", "POST"])
@roles_required("admin")
def asset_new():
    form = _asset_form(AssetForm() if request.method == "POST" else None)
    page = dict(fields=ASSET_FIELDS, title="Add an asset", action=url_for("admin.asset_new"), back=url_for("admin.assets"))
    if request.method == "POST":
        if form.validate_on_submit():
            code = (form.asset_code.data or "").strip()
            if code in run(screens.asset_codes):
                form.asset_code.errors = [f"asset {code} is already registered; edit it from the assets page"]
            elif _save_register_form("assets", form, _asset_values(form), "asset form") is not None:
                flash(f"Asset {code} added.", "success")
                return redirect(url_for("admin.assets"))
        return render_template("admin/register_form.html", form=form, **page), 400
    return render_template("admin/register_form.html", form=form, **page)


@bp.route("/assets/<asset_code>/edit", methods=["GET", "POST"])
@roles_required("admin")
def asset_edit(asset_code: str):
    record = run(screens.asset_record, asset_code)
    page = dict(fields=ASSET_FIELDS, title=f"Edit asset {record['asset_code']}", back=url_for("admin.assets"),
                action=url_for("admin.asset_edit", asset_code=record["asset_code"]), fixed=("asset_code", "kind"))
    if request.method == "GET":
        return render_template("admin/register_form.html", form=_asset_form(record=record), **page)
    form = _asset_form(AssetForm())
    form.asset_code.data, form.kind.data = record["asset_code"], record["kind"]  # neither changes here
    if form.validate_on_submit():
        result = _save_register_form("assets", form, _asset_values(form), "asset form")
        if result is not None:
            flash(f"Asset {record['asset_code']} saved ({result.updated} changed, {result.unchanged} unchanged).",
                  "success")
            return redirect(url_for("admin.assets"))
    return render_template("admin/register_form.html", form=form, **page), 400


@bp.get("/members.csv")
@roles_required(*STAFF)
def members_csv():
    rows = run(screens.members_csv)
    header = ["member_number", "name", "email", "member_type", "joined_on", "low_income", "meter_code"]
    return csv_response(header, rows, "members.csv")


@bp.get("/members-list.csv")
@roles_required(*STAFF)
def members_list_csv():
    """The members list as its filter shows it, every row, with shares held and balance [cents]."""
    f, _, problems = _member_filter()
    if problems:
        abort(400, "; ".join(f"{e.field}: {e.reason}" for e in problems))
    try:
        rows = run(screens.members_list_csv, filter=f, today=dt.date.today())
    except RefusedError as exc:
        abort(400, "; ".join(f"{e.field}: {e.reason}" for e in exc.errors))
    return csv_response(list(MEMBER_LIST_KEYS), rows, "members-list.csv")


@bp.get("/assets")
@roles_required(*STAFF)
def assets():
    return render_template("admin/assets.html", assets=run(screens.assets_screen, today=dt.date.today()),
                           kind_labels=ASSET_KIND_LABELS)


def _share_forms(codes: list[str]) -> dict[str, ShareForm]:
    forms = {}
    for kind in SHARE_KINDS:
        form = ShareForm(prefix=kind, formdata=None)
        form.asset_code.choices = choices([(c, c) for c in codes])
        form.ref.data = f"WEB-{dt.datetime.now(dt.UTC):%Y%m%d%H%M%S}-{kind[0].upper()}"
        form.date.data = dt.date.today().isoformat()
        forms[kind] = form
    return forms


def _shares_page(screen: dict, forms: dict[str, ShareForm], status: int = 200):
    return render_template("admin/shares.html", page=screen["page"], forms=forms), status


@bp.get("/shares")
@roles_required(*STAFF)
def shares():
    screen = run(screens.shares_screen, page=page_arg())
    return _shares_page(screen, _share_forms(screen["asset_codes"]))


@bp.post("/shares/<kind>")
@roles_required("admin")
def share_record(kind: str):
    if kind not in SHARE_KINDS:
        abort(404)
    codes = run(screens.form_choices)
    forms = _share_forms(codes)
    form = ShareForm(prefix=kind)
    form.asset_code.choices = choices([(c, c) for c in codes])
    forms[kind] = form
    if not form.validate_on_submit():
        return _shares_page(run(screens.shares_screen, page=page_arg()), forms, 400)
    record = {"ref": form.ref.data, "date": form.date.data, "asset_code": form.asset_code.data, "kind": kind,
              "member_number": form.member_number.data, "shares": form.shares.data,
              "price_per_share": form.price_per_share.data or ""}
    if kind == "transfer":
        record["from_member_number"] = form.from_member_number.data or ""
    try:
        result = run(registers.apply_records, "shares", [record], source="share form", actor=actor())
    except RefusedError as exc:
        attach_errors(form, exc)
        return _shares_page(run(screens.shares_screen, page=page_arg()), forms, 400)
    verb = {"issue": "issued", "transfer": "transferred", "redeem": "redeemed"}[kind]
    flash(f"Shares {verb} ({result.created} created, {result.updated} updated, {result.unchanged} unchanged).",
          "success")
    return redirect(url_for("admin.shares"))


def _rate_forms(codes: list[str], rate: RateForm | None = None, tou: TouForm | None = None):
    options = [("", "every asset")] + [(c, c) for c in codes]
    rate = rate or RateForm(prefix="rate", formdata=None)
    tou = tou or TouForm(prefix="tou", formdata=None)
    rate.asset_code.choices = choices(options)
    tou.asset_code.choices = choices(options)
    if tou.timezone.data is None:
        tou.timezone.data = "America/New_York"
    return rate, tou


def _rates_page(rate: RateForm, tou: TouForm, status: int = 200):
    page = run(screens.rates_screen, page=page_arg())["page"]
    return render_template("admin/rates.html", page=page, rate_form=rate, tou_form=tou), status


@bp.get("/rates")
@roles_required(*STAFF)
def rates():
    screen = run(screens.rates_screen, page=page_arg())
    rate, tou = _rate_forms(screen["asset_codes"])
    return render_template("admin/rates.html", page=screen["page"], rate_form=rate, tou_form=tou)


@bp.post("/rates")
@roles_required("admin")
def rate_add():
    rate, tou = _rate_forms(run(screens.form_choices), rate=RateForm(prefix="rate"))
    if not rate.validate_on_submit():
        return _rates_page(rate, tou, 400)
    record = {"valid_from": rate.valid_from.data, "rate_per_kwh": rate.rate_per_kwh.data,
              "asset_code": rate.asset_code.data or ""}
    try:
        result = run(registers.apply_records, "rates", [record], source="rate form", actor=actor())
    except RefusedError as exc:
        attach_errors(rate, exc)
        return _rates_page(rate, tou, 400)
    flash(f"Rate saved ({result.created} created, {result.updated} updated, {result.unchanged} unchanged).", "success")
    return redirect(url_for("admin.rates"))


@bp.post("/rates/time-of-use")
@roles_required("admin")
def rate_tou():
    rate, tou = _rate_forms(run(screens.form_choices), tou=TouForm(prefix="tou"))
    if not tou.validate_on_submit():
        return _rates_page(rate, tou, 400)
    bands = [(getattr(tou, f"band{i}_start").data or "", getattr(tou, f"band{i}_rate").data or "")
             for i in range(1, TouForm.BANDS + 1)]
    try:
        result = run(tariff_templates.apply_time_of_use, asset_code=tou.asset_code.data, timezone=tou.timezone.data,
                     first_day=tou.first_day.data, last_day=tou.last_day.data, bands=bands, actor=actor())
    except RefusedError as exc:
        attach_errors(tou, exc)
        return _rates_page(rate, tou, 400)
    flash(f"Time-of-use tariff saved: {result.created} rate rows created, {result.updated} updated, "
          f"{result.unchanged} unchanged.", "success")
    return redirect(url_for("admin.rates"))


# ------------------------------------------------------------------------------------------------ meter data


def _imports_page(form: UploadForm, report: dict | None = None, status: int = 200,
                  profile_form: ProfileForm | None = None):
    page = run(screens.imports_screen)
    form.profile.choices = [("", "Detect the layout")] + [
        (p["name"], p["name"] + ("" if p["built_in"] else " (added here)")) for p in page["profiles"]]
    return render_template("admin/imports.html", form=form, report=report, batches=page["batches"],
                           profiles=page["profiles"], profile_form=profile_form or ProfileForm(prefix="profile", formdata=None),
                           remove_form=RemoveProfileForm(formdata=None)), status


@bp.post("/import-profiles")
@roles_required("admin")
def profile_add():
    """Store an import profile (pasted or uploaded), checked by the same rules as `profiles add`."""
    form = ProfileForm(prefix="profile")
    if not form.validate_on_submit():
        return _imports_page(UploadForm(formdata=None), status=400, profile_form=form)
    text, source = (form.text.data or "").strip(), "the pasted profile"
    upload = form.file.data
    if upload is not None and getattr(upload, "filename", ""):
        raw = upload.read(64 * 1024 + 1)
        source = _display_name(upload.filename)
        try:
            text = raw.decode("utf-8") if len(raw) <= 64 * 1024 else ""
        except UnicodeDecodeError:
            form.file.errors = [f"{source}: the profile is not UTF-8 text"]
            return _imports_page(UploadForm(formdata=None), status=400, profile_form=form)
        if not text:
            form.file.errors = [f"{source}: a profile is a few lines; this file is larger than 64 KiB"]
            return _imports_page(UploadForm(formdata=None), status=400, profile_form=form)
    if not text:
        form.text.errors = ["paste a profile's text or choose a profile file"]
        return _imports_page(UploadForm(formdata=None), status=400, profile_form=form)
    try:
        profile = run(profiles_service.add_profile, text, source=source, actor=actor(), replace=bool(form.replace.data))
    except RefusedError as exc:
        attach_errors(form, exc)
        return _imports_page(UploadForm(formdata=None), status=409 if isinstance(exc, ConflictError) else 400,
                             profile_form=form)
    flash(f"Import profile {profile.name} stored; uploads and the inbox can now read files in its layout.", "success")
    return redirect(url_for("admin.imports_page") + "#profiles-h")


@bp.post("/import-profiles/<name>/remove")
@roles_required("admin")
def profile_remove(name: str):
    if not RemoveProfileForm().validate_on_submit():
        abort(400)
    try:
        run(profiles_service.remove_profile, name, actor=actor())
    except RefusedError as exc:
        flash(exc.message, "error")
        return redirect(url_for("admin.imports_page") + "#profiles-h")
    flash(f"Import profile {name} removed; readings imported through it stay as they are.", "success")
    return redirect(url_for("admin.imports_page") + "#profiles-h")


@bp.get("/imports")
@roles_required(*STAFF)
def imports_page():
    return _imports_page(UploadForm(formdata=None))


def _display_name(filename: str | None) -> str:
    name = Path((filename or "upload").replace("\\", "/")).name
    name = re.sub(r"[\x00-\x1f\x7f]", "", name).strip()[:200]
    return name or "upload"


@bp.post("/imports")
@roles_required("admin")
def imports_upload():
    form = UploadForm()
    if not form.validate_on_submit():
        return _imports_page(form, status=400)
    name = _display_name(form.file.data.filename)
    with tempfile.TemporaryDirectory(prefix="energy-coop-upload-") as tmp:
        path = Path(tmp) / ("upload" + (Path(name).suffix[:10] if Path(name).suffix else ""))
        form.file.data.save(path)
        try:
            report = run(imports.import_file, path, actor=actor(), display_name=name,
                         meter=(form.meter.data or "").strip() or None,
                         timezone=(form.timezone.data or "").strip() or None,
                         skip_invalid=bool(form.skip_invalid.data), rejected_path=Path(tmp) / "rejected.csv",
                         profile=(form.profile.data or "").strip() or None)
        except imports.ImportRefused as exc:
            return _imports_page(form, exc.report.as_dict() | {"error_count": exc.report.error_count}, 400)
        except RefusedError as exc:
            attach_errors(form, exc)
            return _imports_page(form, status=400)
    doc = report.as_dict() | {"error_count": report.error_count}
    doc.pop("rejected_file", None)  # a temporary file, gone with the request
    return _imports_page(UploadForm(formdata=None), doc)


@bp.get("/coverage")
@roles_required(*STAFF)
def coverage():
    period, problem = _period_arg()
    rows = run(screens.coverage_screen, period)
    return render_template("admin/coverage.html", period=str(period), problem=problem, rows=rows)


# ------------------------------------------------------------------------------------------------ allocation


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _allocation_page(period: Period, form: AllocationForm | None = None, problem: str | None = None,
                     refusal: RefusedError | None = None, status: int = 200):
    data = run(screens.allocation_screen, period, now=_now())
    form = form or AllocationForm(formdata=None, period=str(period))
    return render_template("admin/allocation.html", data=data, form=form, problem=problem,
                           refusal=refusal), status


@bp.get("/allocation")
@roles_required(*STAFF)
def allocation_view():
    period, problem = _period_arg()
    return _allocation_page(period, problem=problem)


@bp.post("/allocation")
@roles_required("admin")
def allocation_post():
    """Step 1 (the allocation page's button): the confirmation page, which shows the draft's totals and posts
    nothing. Step 2 (its "Confirm" button, ``confirm=1`` with the draft's inputs hash): post, refused if the
    draft changed in between."""
    form = AllocationForm()
    period_text = (form.period.data or "").strip()[:20]
    try:
        period = Period.parse(period_text)
    except ValueError as exc:
        return _allocation_page(_last_month(), problem=str(exc), status=400)
    if not form.validate_on_submit():
        return _allocation_page(period, form, status=400)
    repost = form.repost.data == "1"
    if form.confirm.data != "1":
        try:
            data = run(screens.allocation_confirmation, period, repost=repost, now=_now())
        except ConflictError as exc:
            return _allocation_page(period, form, refusal=exc, status=409)
        except RefusedError as exc:
            return _allocation_page(period, form, refusal=exc, status=400)
        confirm = AllocationForm(formdata=None, period=str(period), repost="1" if repost else "0", confirm="1",
                                 inputs_sha256=data["inputs_sha256"])
        return render_template("admin/allocation_confirm.html", data=data, form=confirm)
    if not form.inputs_sha256.data:
        return _allocation_page(period, form, refusal=RefusedError(
            f"{period} was not posted: confirm the draft on the confirmation page first"), status=400)
    try:
        outcome = run(allocation.post, str(period), actor=actor(), repost=repost,
                      allow_gaps=bool(form.allow_gaps.data), now=_now(),
                      expected_inputs_sha256=form.inputs_sha256.data)
    except ConflictError as exc:
        return _allocation_page(period, form, refusal=exc, status=409)
    except RefusedError as exc:
        return _allocation_page(period, form, refusal=_page_words(exc), status=400)
    for message in outcome.messages:
        flash(message, "info")
    flash(f"{period} is posted (run {outcome.run_id}).", "success")
    return redirect(url_for("admin.allocation_view", period=str(period)))


#: A refusal's ``option`` in the page's words (the services name no command-line option, see RefusedError).
PAGE_HINTS = {"allow_gaps": "tick \"Post even though readings are missing\" on the confirmation page to post "
                            "anyway"}


def _page_words(exc: RefusedError) -> RefusedError:
    hint = PAGE_HINTS.get(exc.option or "")
    if hint and hint not in exc.message:
        exc.message = f"{exc.message}; {hint}"
    return exc


# ------------------------------------------------------------------------------------------------ ledger entries


def _ledger_entries_page(form: LedgerEntryForm, status: int = 200):
    page = run(screens.ledger_entries_screen, page=page_arg())
    return render_template("admin/ledger_entries.html", form=form, page=page), status


@bp.get("/ledger-entries")
@roles_required(*STAFF)
def ledger_entries():
    form = LedgerEntryForm()
    if request.args.get("member"):  # "Record a payout" from a member's page fills in the number
        form.member_number.data = request.args["member"][:64]
    return _ledger_entries_page(form)


@bp.post("/ledger-entries")
@roles_required("admin")
def ledger_entry_add():
    form = LedgerEntryForm()
    if not form.validate_on_submit():
        return _ledger_entries_page(form, 400)
    try:
        cents, wh = ledger.parse_amounts(form.amount.data, form.kwh.data)
        entry = run(ledger.record_manual_entry, kind=form.kind.data, member_number=form.member_number.data,
                    cents=cents, wh=wh, memo=form.memo.data, period=form.period.data or None, actor=actor())
    except RefusedError as exc:
        attach_errors(form, exc, {"cents": "amount", "wh": "kwh"})
        return _ledger_entries_page(form, 400)
    money = current_formatter().money
    flash(f"Ledger entry {entry.seq}: {entry.kind.replace('_', ' ')} of {money(entry.cents)} for member "
          f"{entry.member_number} in {entry.period}. Their balance is now {money(entry.balance_cents)}.",
          "success")
    return redirect(url_for("admin.ledger_entries"))
