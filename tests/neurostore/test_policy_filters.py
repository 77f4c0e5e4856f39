"""The SQL read filter a policy builds selects exactly the rows its per-object check allows,
for every kind of actor and every policy the services declare."""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy import Boolean, String, column, select, values

from neurostore.services.actors import Actor
from neurostore.services.conditions import POLICY as CONDITION_POLICY
from neurostore.services.permissions import DEFAULT_POLICY, Subject
from neurostore.services.users import USER_POLICY

ACTORS = [Actor(None), Actor.system(), Actor("u1", "user"), Actor("u2", "user"),
          Actor("c1", "curator"), Actor("a1", "admin")]
ROWS = [(f"r{i}", owner, public) for i, (owner, public) in
        enumerate(itertools.product([None, "u1", "c1", "a1"], [True, False]))]


@pytest.mark.parametrize("policy", [DEFAULT_POLICY, CONDITION_POLICY, USER_POLICY],
                         ids=["default", "conditions", "users"])
@pytest.mark.parametrize("actor", ACTORS, ids=lambda a: f"{a.role}-{a.id}")
def test_sql_filter_matches_the_check(engine, policy, actor):
    rows = values(column("id", String), column("owner_id", String), column("public", Boolean),
                  name="rows").data(ROWS)
    where = policy.readable(actor, rows.c.public, rows.c.owner_id)
    with engine.connect() as conn:
        selected = set(conn.execute(select(rows.c.id).where(where)).scalars())
    expected = {i for i, owner, public in ROWS
                if policy.may_read(actor, Subject("row", i, owner, public))}
    assert selected == expected
    assert selected, "every actor reads the public rows"
