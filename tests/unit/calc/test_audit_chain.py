"""The audit log's hash chain as its docstring states it, from literals (an auditor's re-implementation)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib

from energy_coop.calc.audit.chain import GENESIS, AuditLink, audit_content, audit_hash, canonical_json, verify_links

AT = dt.datetime(2026, 12, 3, 4, 40, tzinfo=dt.timezone.utc)


def test_the_content_is_the_documented_text():
    content = audit_content(7, AT, "admin@example.org", "update", "member", "1001",
                            {"name": "Ada | Bo", "shares": 3}, {"shares": 4, "name": "Ada \\ Bo", "é": None}, None)
    assert content == ('7|2026-12-03T04:40:00.000000+00:00|admin@example.org|update|member|1001|'
                       '{"name":"Ada \\| Bo","shares":3}|{"name":"Ada \\\\\\\\ Bo","shares":4,"\\\\u00e9":null}|')
    assert audit_hash(GENESIS, content) == hashlib.sha256(("0" * 64 + "\n" + content).encode()).hexdigest()


def test_absent_values_are_empty_and_a_note_is_escaped():
    assert audit_content(1, "2026-12-03T04:40:00.000000+00:00", "a", "b", "c", None, None, None, "x|y") == \
        "1|2026-12-03T04:40:00.000000+00:00|a|b|c||||x\\|y"
    assert canonical_json(None) == "" and canonical_json({"b": [1, True], "a": "ü"}) == '{"a":"\\u00fc","b":[1,true]}'


def _chain(n: int) -> list[AuditLink]:
    links, prev = [], GENESIS
    for seq in range(1, n + 1):
        link = AuditLink(seq, seq + 10, AT + dt.timedelta(minutes=seq), "admin@example.org", "update", "member",
                         str(1000 + seq), {"shares": seq}, {"shares": seq + 1}, None, prev, "")
        digest = audit_hash(prev, audit_content(seq, link.at, link.actor, link.action, link.entity,
                                                link.entity_key, link.before, link.after, link.note))
        links.append(dataclasses.replace(link, hash=digest))
        prev = digest
    return links


def test_an_intact_chain_has_no_problem_and_ends_at_its_last_entry():
    links = _chain(5)
    assert verify_links(links) == ([], 5, links[-1].hash, 5)


def test_a_changed_entry_is_named_with_its_seq_id_and_what_it_recorded():
    links = _chain(5)
    links[2] = dataclasses.replace(links[2], after={"shares": 400})
    problems, *_ = verify_links(links)
    assert problems == ["audit log entry 3 (id 13, 2026-12-03T04:43:00Z, admin@example.org: update member 1003): "
                        "its content does not match its hash (changed after it was written)"]


def test_a_removed_entry_is_named_as_missing():
    links = _chain(5)
    del links[1:3]
    problems, *_ = verify_links(links)
    assert problems[0] == "audit log entries 2..3 are missing (entry 4 follows entry 1)"
    assert "its previous-hash does not match entry 1's hash" in problems[1]
