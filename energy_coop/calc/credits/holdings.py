"""Share holdings from the share register (SPEC section 3, ``shares.csv``; SPEC section 5 step 2).

The register is a list of transactions (:class:`ShareTransaction`): ``issue`` (new shares to ``member_number``),
``transfer`` (``shares`` move from ``from_member_number`` to ``member_number``) and ``redeem``
(``member_number`` gives ``shares`` back). Amounts are whole shares [shares].

**Same-day rule.** A transaction dated d is effective from 00:00 of d in the asset's time zone, so it already
counts for local day d. All of a day's transactions take effect together at the start of that day: only the
holding at the end of the day's transactions is a holding anyone ever has. Consequences, on purpose:

* the order of the rows in the file (and of same-day rows) never changes any result;
* a same-day chain (issue 5 to A, A transfers 5 to B) is valid;
* a holding is negative, or the shares held exceed the asset's ``total_shares``, only if the net of the whole
  day makes it so; then every row of that day that takes shares away from that member (resp. issues shares
  of that asset) is named, because changing any of them could fix it.

Holdings are represented compactly, never per interval: a *timeline* is, per member, the list of change points
``(date, shares held from that date)``; *segments* are ``(start_index, stop_index, shares)`` runs over a list
of days. Costs grow with the number of transactions and days, not with members x intervals.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import NamedTuple
from energy_coop.vocabulary import SHARE_KINDS

__all__ = [
    "KINDS",
    "RegisterProblem",
    "ShareTransaction",
    "Timeline",
    "holding_segments",
    "holdings_on",
    "holdings_timeline",
    "holdings_timelines",
    "validate_register",
]

KINDS = SHARE_KINDS

#: member_number -> change points ``[(date, shares held from that date on), ...]`` in date order.
Timeline = dict[str, list[tuple[date, int]]]


class ShareTransaction(NamedTuple):
    """One row of the share register. ``shares`` [shares] > 0; ``date`` is a local calendar date."""

    ref: str
    date: date
    asset_code: str
    kind: str
    member_number: str
    from_member_number: str | None
    shares: int


class RegisterProblem(NamedTuple):
    """A transaction that cannot be accepted: its ``ref``, its ``date`` and ``asset_code`` (``None`` when
    unreadable) and a plain-language ``reason``."""

    ref: str
    date: date | None
    asset_code: str | None
    reason: str


def _as_transaction(tx: object) -> ShareTransaction:
    if isinstance(tx, ShareTransaction):
        return tx
    if isinstance(tx, tuple):
        return ShareTransaction(*tx)
    return ShareTransaction(
        tx.ref,
        tx.date,
        tx.asset_code,
        tx.kind,
        tx.member_number,
        tx.from_member_number,
        tx.shares,  # type: ignore[attr-defined]
    )


def _deltas(tx: ShareTransaction) -> list[tuple[str, int]]:
    """The (member, change [shares]) pairs a well-formed transaction makes."""
    if tx.kind == "issue":
        return [(tx.member_number, tx.shares)]
    if tx.kind == "transfer":
        return [(tx.member_number, tx.shares), (tx.from_member_number, -tx.shares)]  # type: ignore[list-item]
    if tx.kind == "redeem":
        return [(tx.member_number, -tx.shares)]
    raise ValueError(f"share transaction {tx.ref}: kind {tx.kind!r} is not one of {', '.join(KINDS)}")


def holdings_timelines(transactions: Iterable[object]) -> dict[str, Timeline]:
    """All assets' timelines in one pass: ``{asset_code: {member_number: [(date, shares), ...]}}``.

    ``shares`` [shares] is what the member holds from that date (inclusive) until the next change point; before
    the first point they hold 0. Dates whose transactions net to no change for a member make no point; a member
    whose holding returns to 0 gets a ``(date, 0)`` point. Does not validate (see :func:`validate_register`);
    a negative holding shows up as a negative number.
    """
    # (asset, member) -> {date: net change}; most members have a single dated change, kept without sorting.
    net: dict[tuple[str, str], dict[date, int]] = {}
    for raw in transactions:
        tx = _as_transaction(raw)
        for member, change in _deltas(tx):
            by_date = net.get((tx.asset_code, member))
            if by_date is None:
                net[(tx.asset_code, member)] = {tx.date: change}
            else:
                by_date[tx.date] = by_date.get(tx.date, 0) + change
    result: dict[str, Timeline] = {}
    for (asset_code, member), by_date in net.items():
        timeline = result.get(asset_code)
        if timeline is None:
            timeline = result[asset_code] = {}
        if len(by_date) == 1:
            [(day, change)] = by_date.items()
            if change:
                timeline[member] = [(day, change)]
            continue
        held = 0
        points: list[tuple[date, int]] = []
        for day in sorted(by_date):
            change = by_date[day]
            if change:
                held += change
                points.append((day, held))
        if points:
            timeline[member] = points
    return result


def holdings_timeline(transactions: Iterable[object], asset_code: str) -> Timeline:
    """``{member_number: [(date, shares held from that date) ...]}`` for one asset (see
    :func:`holdings_timelines`). For many assets, call :func:`holdings_timelines` once instead."""
    return holdings_timelines(
        tx for tx in map(_as_transaction, transactions) if tx.asset_code == asset_code
    ).get(asset_code, {})


def holdings_on(transactions: Iterable[object], asset_code: str, day: date) -> dict[str, int]:
    """Shares [shares] each member holds in ``asset_code`` on local ``day`` (transactions dated ``day``
    count). Members holding 0 are left out."""
    if isinstance(day, datetime) or not isinstance(day, date):
        raise TypeError(f"day must be a datetime.date, got {day!r}")
    held: dict[str, int] = defaultdict(int)
    for raw in transactions:
        tx = _as_transaction(raw)
        if tx.asset_code == asset_code and tx.date <= day:
            for member, change in _deltas(tx):
                held[member] += change
    return {member: shares for member, shares in sorted(held.items()) if shares}


def holding_segments(points: Sequence[tuple[date, int]], days: Sequence[date]) -> list[tuple[int, int, int]]:
    """One member's timeline over a sorted list of local ``days``: ``[(start, stop, shares), ...]``.

    ``days[start:stop]`` are the days on which the member holds ``shares`` [shares] (the last change point on or
    before each day). Runs of 0 shares are left out, so a member who held nothing in ``days`` gets ``[]``.
    Cost: O(change points x log days).
    """
    n = len(days)
    if not points or n == 0:
        return []
    for k in range(1, len(points)):
        if points[k - 1][0] >= points[k][0]:
            raise ValueError("a holdings timeline must list its change points in increasing date order")
    # Holding on days[0]: the last change point dated on or before it.
    first = bisect_right(points, days[0], key=lambda p: p[0])
    changes: list[tuple[int, int]] = [(0, points[first - 1][1] if first else 0)]
    for point_day, shares in points[first:]:
        idx = bisect_left(days, point_day)  # first listed day the point applies to
        if idx >= n:
            break
        if changes[-1][0] == idx:  # several points before the same listed day: the latest wins
            changes[-1] = (idx, shares)
        else:
            changes.append((idx, shares))
    segments: list[tuple[int, int, int]] = []
    for k, (start, shares) in enumerate(changes):
        stop = changes[k + 1][0] if k + 1 < len(changes) else n
        if not shares or stop == start:
            continue
        if segments and segments[-1][1] == start and segments[-1][2] == shares:
            segments[-1] = (segments[-1][0], stop, shares)
        else:
            segments.append((start, stop, shares))
    return segments


def _join(actions: list[str]) -> str:
    if len(actions) == 1:
        return actions[0]
    return ", ".join(actions[:-1]) + " and " + actions[-1]


def _own_faults(
    tx: ShareTransaction, ref_count: Mapping[object, int], total_shares: Mapping[str, int]
) -> list[tuple[str, bool]]:
    """What is wrong with one row on its own: ``(reason, still_replayable)`` pairs."""
    faults: list[tuple[str, bool]] = []
    if not isinstance(tx.ref, str) or not tx.ref.strip():
        faults.append(("the ref is empty", False))
    elif ref_count[tx.ref] > 1:
        faults.append(
            (f"ref {tx.ref} is used by {ref_count[tx.ref]} rows; each transaction needs its own ref", True)
        )
    if isinstance(tx.date, datetime) or not isinstance(tx.date, date):
        faults.append((f"the date {tx.date!r} is not a calendar date (YYYY-MM-DD)", False))
    if not isinstance(tx.asset_code, str) or not tx.asset_code:
        faults.append(("the asset_code is empty", False))
    elif tx.asset_code not in total_shares:
        faults.append((f"asset {tx.asset_code} is not in the asset register", True))
    if tx.kind not in KINDS:
        faults.append((f"kind {tx.kind!r} is not one of {', '.join(KINDS)}", False))
    if not isinstance(tx.shares, int) or isinstance(tx.shares, bool) or tx.shares <= 0:
        faults.append((f"shares must be a whole number greater than 0, not {tx.shares!r}", False))
    if not isinstance(tx.member_number, str) or not tx.member_number:
        faults.append(("the member_number is empty", False))
    if tx.kind == "transfer":
        if not isinstance(tx.from_member_number, str) or not tx.from_member_number:
            faults.append(("a transfer needs the from_member_number of the member giving the shares", False))
        elif tx.from_member_number == tx.member_number:
            faults.append((f"member {tx.member_number} cannot transfer shares to themself", False))
    elif tx.kind in KINDS and tx.from_member_number not in (None, ""):
        faults.append((f"from_member_number is only for transfers, but this row is a {tx.kind}", False))
    return faults


def _row_problems(
    txs: list[ShareTransaction], total_shares: Mapping[str, int]
) -> tuple[list[RegisterProblem], set[int]]:
    """Problems rows have on their own (bad kind, amount, missing member, unknown asset, duplicate ref), and
    the positions of the rows too malformed to replay (a shared ref or an unknown asset alone still replays)."""
    problems: list[RegisterProblem] = []
    malformed: set[int] = set()
    ref_count: dict[object, int] = defaultdict(int)
    for tx in txs:
        ref_count[tx.ref] += 1
    for position, tx in enumerate(txs):
        day = tx.date if isinstance(tx.date, date) and not isinstance(tx.date, datetime) else None
        asset = tx.asset_code if isinstance(tx.asset_code, str) and tx.asset_code else None
        for reason, replayable in _own_faults(tx, ref_count, total_shares):
            problems.append(RegisterProblem(str(tx.ref), day, asset, reason))
            if not replayable:
                malformed.add(position)
    return problems, malformed


def validate_register(
    transactions: Iterable[object], total_shares: Mapping[str, int]
) -> list[RegisterProblem]:
    """Every problem of a share register, each naming the transaction's ``ref`` (empty list = valid).

    ``total_shares``: ``{asset_code: total shares [shares]}`` of every registered asset. Checks each row on its
    own (kind, amount > 0, members present, transfer has a different ``from_member_number``, asset registered,
    ref unique), then replays the well-formed rows day by day (same-day rule in the module docstring) and names
    every row that leaves a member holding fewer than 0 shares, and every issue on a day that leaves the members
    holding more than the asset's ``total_shares``. Problems are sorted by date, asset, ref.
    """
    txs = [_as_transaction(tx) for tx in transactions]
    problems, malformed = _row_problems(txs, total_shares)
    by_asset_day: dict[str, dict[date, list[ShareTransaction]]] = defaultdict(lambda: defaultdict(list))
    for position, tx in enumerate(txs):
        if position not in malformed:
            by_asset_day[tx.asset_code][tx.date].append(tx)

    for asset_code, by_day in by_asset_day.items():
        cap = total_shares.get(asset_code)
        held: dict[str, int] = defaultdict(int)
        total_held = 0
        for day in sorted(by_day):
            rows = sorted(by_day[day], key=lambda t: str(t.ref))
            start_of_day: dict[str, int] = {}
            gains: dict[str, int] = defaultdict(int)
            losses: dict[str, list[ShareTransaction]] = defaultdict(list)
            issued = redeemed = 0
            for tx in rows:
                for member, change in _deltas(tx):
                    start_of_day.setdefault(member, held[member])
                    held[member] += change
                    if change > 0:
                        gains[member] += change
                    else:
                        losses[member].append(tx)
                if tx.kind == "issue":
                    issued += tx.shares
                elif tx.kind == "redeem":
                    redeemed += tx.shares
            for member, debits in sorted(losses.items()):
                end = held[member]
                if end >= 0:
                    continue
                actions = []
                if gains[member]:
                    actions.append(f"receive {gains[member]}")
                transferred = sum(t.shares for t in debits if t.kind == "transfer")
                redeemed_by_member = sum(t.shares for t in debits if t.kind == "redeem")
                if transferred:
                    actions.append(f"transfer {transferred}")
                if redeemed_by_member:
                    actions.append(f"redeem {redeemed_by_member}")
                involved = sorted(
                    {str(t.ref) for t in rows if member in (t.member_number, t.from_member_number)}
                )
                same_day = f" (that day's rows: {', '.join(involved)})" if len(involved) > 1 else ""
                reason = (
                    f"on {day.isoformat()} member {member} would hold {end} shares of {asset_code}: "
                    f"{_join([f'they hold {start_of_day[member]}', *actions])}{same_day}"
                )
                for tx in debits:
                    problems.append(RegisterProblem(str(tx.ref), day, asset_code, reason))
            before = total_held
            total_held += issued - redeemed
            if cap is not None and total_held > cap and issued:
                redeemed_text = f" and {redeemed} redeemed" if redeemed else ""
                reason = (
                    f"on {day.isoformat()} the members would hold {total_held} shares of {asset_code}, more "
                    f"than its {cap} total shares: {before} were held before that day, {issued} issued"
                    f"{redeemed_text} that day"
                )
                for tx in rows:
                    if tx.kind == "issue":
                        problems.append(RegisterProblem(str(tx.ref), day, asset_code, reason))

    problems.sort(key=lambda p: (p.date or date.min, p.asset_code or "", p.ref, p.reason))
    return problems
