"""Booked months (SPEC 13): which month's statement shows a ledger entry, and in which order months close.

Every ledger entry is *for* a month (``period``, the production month of an allocation, the month an admin
gave a manual entry) and is *booked in* a month (``booked``): the month whose statement shows it. Months are
``YYYY-MM`` strings, which sort as months do.

The rule, as accountants book a late or corrected amount: an issued statement is never edited, so an entry
for a month whose statements are issued is booked in the open month instead, as a prior-period item.

Months close in order. SPEC 13 books such an entry in "the earliest month whose statements are not yet
issued"; :func:`issue_blocker` allows a month to be issued only when every earlier month that has entries
booked in it is issued already, and no later month is, so the issued months always run unbroken up to the
latest one, and the earliest month not yet issued is simply the month after the latest issued one. That
keeps every statement's opening balance equal to the previous statement's closing balance: nothing can
ever be booked into a month before the latest issued one.

These are pure functions of values; ``services.credits.ledger.append`` reads the issued months once, under
the ledger head's lock, and calls :func:`booked_month` for each entry it appends.
"""

from __future__ import annotations

from typing import Collection

from energy_coop.period import Period


def next_month(month: str) -> str:
    """The month after ``month`` ('YYYY-MM')."""
    return str(Period.parse(month).next())


def booked_month(period: str | None, issued: Collection[str], current: str) -> str:
    """The month an entry for ``period`` is booked in, given the ``issued`` months and the ``current`` month.

    - ``period`` after the latest issued month (or nothing issued yet): ``period`` itself;
    - otherwise the month after the latest issued month (the earliest month not issued: months are issued in
      order), which is at the latest ``current`` while ``current`` is not issued;
    - an entry without a period is booked like one for ``current``.

    Never an issued month: should ``current`` itself be issued (a month can end, and be issued, in an asset's
    time zone east of UTC while it is still running in UTC), the entry goes to the month after it.
    """
    latest = max(issued) if issued else None
    wanted = period or current
    if latest is None or wanted > latest:
        return wanted
    return next_month(latest)


def issue_blocker(period: str, issued: Collection[str], booked_months: Collection[str]) -> str | None:
    """Why ``period`` cannot be issued now, in words, or ``None`` when it can.

    ``issued``: the months issued already; ``booked_months``: every month that has ledger entries booked in it.
    Refused: a month issued already; a month before (or equal to) the latest issued month (its entries are on
    later statements); a month with an earlier month that has entries booked in it and is not issued, naming
    the earliest such month.
    """
    if period in issued:
        return f"{period}'s statements are issued already"
    latest = max(issued) if issued else None
    if latest is not None and period < latest:
        return (f"{period} comes before {latest}, whose statements are issued already; months are issued in "
                f"order, and entries for {period} now appear on the statement of the next month to be issued")
    waiting = sorted(m for m in booked_months if m < period and m not in issued and (latest is None or m > latest))
    if waiting:
        return (f"{waiting[0]} has entries and its statements are not issued yet; months are issued in order: "
                f"issue {waiting[0]} first")
    return None
