"""The share register (SPEC section 3): issues, transfers and redemptions keyed by ``ref``, checked whole (no
holding below zero, no asset over its total) as it would be after the file; and reading it back as plain
values. The caller owns the transaction; nothing here commits.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, union_all
from sqlalchemy.orm import Session, aliased

from energy_coop.calc.credits.holdings import ShareTransaction as ShareTxn
from energy_coop.calc.credits.holdings import validate_register
from energy_coop.errors import RowError
from energy_coop.importers.registers.tables import TableRow
from energy_coop.models import Asset, Member, ShareTransaction
from energy_coop.services.registers.fields import MISSING, RowFields, duplicate_keys
from energy_coop.services.registers.upsert import LoadResult, apply_changes, create_row, refuse_if
from energy_coop.units import parse_cents
from energy_coop.vocabulary import SHARE_KINDS

REQUIRED = {"ref", "date", "asset_code", "kind", "member_number", "shares"}
OPTIONAL = {"from_member_number", "price_per_share"}


_FROM_MEMBER = aliased(Member)  # the giving member of a transfer; made once (an alias is costly to build)


def share_register(session: Session, asset_id: int | None = None, *,
                   member_number: str | None = None) -> list[ShareTxn]:
    """The stored share register as plain values (optionally for one asset, or only the transactions that move
    one member's shares: enough to know that member's holdings on any day)."""
    frm = _FROM_MEMBER
    stmt = (
        select(
            ShareTransaction.ref,
            ShareTransaction.date,
            Asset.asset_code,
            ShareTransaction.kind,
            Member.member_number,
            frm.member_number,
            ShareTransaction.shares,
        )
        .join(Asset, ShareTransaction.asset_id == Asset.id)
        .join(Member, ShareTransaction.member_id == Member.id)
        .outerjoin(frm, ShareTransaction.from_member_id == frm.id)
    )
    if asset_id is not None:
        stmt = stmt.where(ShareTransaction.asset_id == asset_id)
    if member_number is not None:
        # the member's transaction ids through the two indexed columns, then those rows: written as an IN over a
        # UNION because with a plain OR SQLite's planner walks the whole register asset by asset
        member_id = select(Member.id).where(Member.member_number == member_number).scalar_subquery()
        ids = union_all(select(ShareTransaction.id).where(ShareTransaction.member_id == member_id),
                        select(ShareTransaction.id).where(ShareTransaction.from_member_id == member_id))
        stmt = stmt.where(ShareTransaction.id.in_(ids))
    return [ShareTxn(*row) for row in session.execute(stmt)]


def load_shares(session: Session, rows: list[TableRow], name: str, actor: str) -> LoadResult:
    """Upsert the share transactions of file ``name`` by ``ref``; the whole register as it would be after the
    file must be valid (no holding below zero, no asset over its total), else the file is refused whole."""
    errors = duplicate_keys(rows, lambda r: r.values["ref"], "ref")
    parsed: list[tuple[TableRow, dict[str, Any]]] = []
    for row in rows:
        f = RowFields(row, errors)
        kind = f.choice("kind", SHARE_KINDS, required=True)
        values = {
            "ref": f.text("ref", required=True, max_len=64),
            "date": f.date("date", required=True),
            "asset_code": f.text("asset_code", required=True, max_len=64),
            "kind": kind,
            "member_number": f.text("member_number", required=True, max_len=64),
            "from_member_number": f.text("from_member_number", max_len=64),
            "shares": f.integer("shares", required=True, minimum=1, maximum=2_000_000_000),
            "price_per_share_cents": f.exact("price_per_share", parse_cents, minimum=0),
        }
        if values["from_member_number"] is MISSING:
            values["from_member_number"] = None
        if kind == "transfer" and not values["from_member_number"]:
            f.error("from_member_number", "a transfer needs the member the shares come from")
        if kind in ("issue", "redeem") and values["from_member_number"]:
            f.error("from_member_number", f"applies only to transfers; leave it empty for an {kind}")
        if kind == "transfer" and values["from_member_number"] == values["member_number"]:
            f.error("from_member_number", "a member cannot transfer shares to themself")
        if f.ok:
            parsed.append((row, values))
    assets = {a.asset_code: a for a in session.scalars(select(Asset))} if parsed else {}
    numbers = {v["member_number"] for _, v in parsed} | {v["from_member_number"] for _, v in parsed
                                                        if v["from_member_number"]}
    members = {m.member_number: m for m in session.scalars(select(Member).where(Member.member_number.in_(numbers)))}
    refs = [v["ref"] for _, v in parsed]
    existing = {t.ref: t for t in session.scalars(select(ShareTransaction).where(ShareTransaction.ref.in_(refs)))}
    line_of: dict[str, TableRow] = {}
    for row, values in parsed:
        line_of[values["ref"]] = row
        if values["asset_code"] not in assets:
            errors.append(RowError(row.where, "asset_code", f"no asset with code {values['asset_code']!r} is registered"))
        for col in ("member_number", "from_member_number"):
            number = values[col]
            if number and number not in members:
                errors.append(RowError(row.where, col, f"no member with number {number!r} is registered"))
    refuse_if(errors, name)
    # The whole register as it would be after this file: stored transactions overridden by the file's.
    register = {t.ref: t for t in share_register(session)}
    for _, values in parsed:
        register[values["ref"]] = ShareTxn(values["ref"], values["date"], values["asset_code"], values["kind"],
                                           values["member_number"], values["from_member_number"], values["shares"])
    totals = {code: a.total_shares for code, a in assets.items()}
    for problem in validate_register(list(register.values()), totals):
        row = line_of.get(problem.ref)
        if row is not None:
            errors.append(RowError(row.where, "shares", problem.reason))
        else:
            errors.append(RowError(f"stored transaction {problem.ref}", "shares", problem.reason))
    refuse_if(errors, name)
    result = LoadResult(name, "shares")
    for _, values in parsed:
        stored = {
            "date": values["date"],
            "asset_id": assets[values["asset_code"]].id,
            "kind": values["kind"],
            "member_id": members[values["member_number"]].id,
            "from_member_id": members[values["from_member_number"]].id if values["from_member_number"] else None,
            "shares": values["shares"],
            "price_per_share_cents": values["price_per_share_cents"],
        }
        shown = {k: v for k, v in values.items() if v is not MISSING}
        txn = existing.get(values["ref"])
        if txn is None:
            txn = ShareTransaction(ref=values["ref"], **{k: v for k, v in stored.items() if v is not MISSING})
            create_row(session, result, txn, shown, actor=actor, entity="share_transaction", key=values["ref"])
        else:
            apply_changes(session, result, txn, stored, actor=actor, entity="share_transaction", key=values["ref"])
    session.flush()
    return result
