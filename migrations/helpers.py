"""DDL the models can't express: database-enforced append-only tables.

On both databases a trigger refuses UPDATE and DELETE of any row (and, on PostgreSQL, TRUNCATE), so not even
raw SQL from a console can alter the audit log or a posted ledger entry. Corrections are new rows.
"""

from __future__ import annotations

from alembic import op

PG_FUNCTION = """
CREATE OR REPLACE FUNCTION energy_coop_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused (corrections are new entries)', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'restrict_violation';
END
$$
"""


def make_append_only(table: str) -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: {verb} refused "
                f"(corrections are new entries)'); END"
            )
    else:
        op.execute(PG_FUNCTION)
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION energy_coop_refuse_change()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION energy_coop_refuse_change()"
        )


def drop_append_only(table: str) -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_update")
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete")
    else:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")


# ------------------------------------------------------------------------------ REPLACE and the chains' heads
#
# SQLite's ``INSERT OR REPLACE`` (and ``REPLACE INTO``) deletes a row whose key the new row repeats and inserts
# the new one, without firing the DELETE trigger above unless ``recursive_triggers`` is on for that connection.
# A BEFORE INSERT trigger refusing an existing key holds on every connection (the app's, a console's), so that
# is what guards the append-only tables here (migration 0015). Alembic's batch mode rebuilds a SQLite table and
# loses its triggers: a migration that rebuilds one of these tables re-creates ``make_append_only`` and
# ``refuse_replace`` after it. PostgreSQL has no REPLACE; its ``ON CONFLICT DO UPDATE`` fires the UPDATE trigger.


def _unique_keys(table: str) -> list[list[str]]:
    """The primary key and every unique constraint and unique index of ``table``, as column lists."""
    import sqlalchemy as sa

    inspector = sa.inspect(op.get_bind())
    keys = [inspector.get_pk_constraint(table)["constrained_columns"]]
    keys += [u["column_names"] for u in inspector.get_unique_constraints(table)]
    keys += [i["column_names"] for i in inspector.get_indexes(table) if i.get("unique")]
    seen: list[list[str]] = []
    for key in keys:
        if key and key not in seen:
            seen.append(key)
    return seen


def refuse_replace(table: str) -> None:
    """On SQLite, refuse an INSERT whose primary or unique key is taken already (so ``INSERT OR REPLACE`` cannot
    delete and rewrite a row of an append-only table). Nothing on PostgreSQL."""
    if op.get_bind().dialect.name != "sqlite":
        return
    taken = " OR ".join(
        f"EXISTS (SELECT 1 FROM {table} WHERE " + " AND ".join(f"{c} = NEW.{c}" for c in key) + ")"
        for key in _unique_keys(table))
    op.execute(
        f"CREATE TRIGGER {table}_no_replace BEFORE INSERT ON {table} WHEN {taken} "
        f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: an INSERT repeating a unique key of an existing "
        f"row is refused (so INSERT OR REPLACE cannot rewrite one)'); END"
    )


def allow_replace(table: str) -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_replace")


#: For each chain's head row: the table of entries, its sequence column, and the running totals the head keeps
#: (head column -> entry column summed).
HEADS = {
    "ledger_head": ("ledger_entries", {"total_wh": "wh", "total_cents": "cents"}),
    "audit_head": ("audit_log", {}),
}


def _head_message(head: str, what: str) -> str:
    return (f"{head} moves only onto the last entry of its chain (refused: {what}); "
            f"energy-coop verify checks it against the chain")


def protect_head(head: str) -> None:
    """A chain's single head row may not be deleted, inserted again (or REPLACEd), truncated, or updated except
    onto the chain's actual last entry: ``last_seq`` the largest ``seq``, ``last_hash`` that entry's hash,
    ``entries`` and the totals moved by exactly what was appended after the old ``last_seq``. So a head can be
    lowered or faked only by someone who first drops these triggers (the PostgreSQL superuser's
    ``session_replication_role = replica`` skips them too); ``energy-coop verify`` and an anchor catch that."""
    entries_table, totals = HEADS[head]
    bad_totals = "".join(
        f" OR NEW.{h} - OLD.{h} IS NOT (SELECT coalesce(sum({c}), 0) FROM {entries_table} "
        f"WHERE seq > OLD.last_seq)" for h, c in totals.items())
    inconsistent = (
        f"NEW.id IS NOT OLD.id OR NEW.last_seq < OLD.last_seq "
        f"OR NEW.entries - OLD.entries IS NOT NEW.last_seq - OLD.last_seq "
        f"OR NEW.last_seq IS NOT (SELECT coalesce(max(seq), 0) FROM {entries_table}) "
        f"OR (NEW.last_seq > 0 AND NEW.last_hash IS NOT (SELECT hash FROM {entries_table} "
        f"WHERE seq = NEW.last_seq))" + bad_totals)
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"CREATE TRIGGER {head}_no_delete BEFORE DELETE ON {head} "
                   f"BEGIN SELECT RAISE(ABORT, '{_head_message(head, 'DELETE')}'); END")
        op.execute(f"CREATE TRIGGER {head}_no_insert BEFORE INSERT ON {head} WHEN EXISTS (SELECT 1 FROM {head}) "
                   f"BEGIN SELECT RAISE(ABORT, '{_head_message(head, 'a second head row or a REPLACE')}'); END")
        op.execute(f"CREATE TRIGGER {head}_forward BEFORE UPDATE ON {head} WHEN {inconsistent} "
                   f"BEGIN SELECT RAISE(ABORT, '{_head_message(head, 'an UPDATE that does not match the chain')}'); "
                   f"END")
        return
    pg_inconsistent = inconsistent.replace(" IS NOT ", " IS DISTINCT FROM ")
    op.execute(f"""
CREATE OR REPLACE FUNCTION {head}_forward() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'UPDATE' THEN
        RAISE EXCEPTION '{_head_message(head, "% of the head row")}', TG_OP USING ERRCODE = 'restrict_violation';
    END IF;
    IF {pg_inconsistent} THEN
        RAISE EXCEPTION '{_head_message(head, "an UPDATE that does not match the chain")}'
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END
$$
""")
    op.execute(f"CREATE TRIGGER {head}_forward BEFORE UPDATE OR DELETE ON {head} "
               f"FOR EACH ROW EXECUTE FUNCTION {head}_forward()")
    op.execute(f"CREATE TRIGGER {head}_no_truncate BEFORE TRUNCATE ON {head} "
               f"FOR EACH STATEMENT EXECUTE FUNCTION energy_coop_refuse_change()")


def unprotect_head(head: str) -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in ("no_delete", "no_insert", "forward"):
            op.execute(f"DROP TRIGGER IF EXISTS {head}_{name}")
        return
    op.execute(f"DROP TRIGGER IF EXISTS {head}_forward ON {head}")
    op.execute(f"DROP TRIGGER IF EXISTS {head}_no_truncate ON {head}")
    op.execute(f"DROP FUNCTION IF EXISTS {head}_forward()")
