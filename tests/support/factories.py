"""Test data builders."""

from __future__ import annotations

import itertools
from typing import Any

from sqlalchemy import insert

from neurostore.db import new_id
from neurostore.models import User
from neurostore.services.actors import Actor

_counter = itertools.count(1)


def make_user(session_factory, role: str = "user", name: str | None = None) -> Actor:
    """Insert a user and return it as an actor."""
    n = next(_counter)
    user_id = new_id()
    with session_factory() as s:
        s.execute(
            insert(User).values(
                id=user_id, external_id=f"test|{user_id}", name=name or f"user {n}", role=role
            )
        )
        s.commit()
    return Actor(id=user_id, role=role)


def study_payload(n_analyses: int = 3, n_points: int = 20, seed: int = 0, **fields: Any) -> dict:
    """A study shaped like a real one: analyses with peaks and a statistic per peak."""
    analyses = []
    for a in range(n_analyses):
        points = [
            {
                "coordinates": [
                    float((seed + a * 7 + p * 3) % 60 - 30),
                    float((p * 11) % 80 - 40),
                    float((a + p) % 50 - 10),
                ],
                "space": "MNI",
                "values": [{"kind": "Z", "value": 3.0 + p / 10}],
            }
            for p in range(n_points)
        ]
        analyses.append(
            {
                "name": f"contrast {a}",
                "conditions": [{"name": "task", "description": None}],
                "weights": [1.0],
                "points": points,
                "images": [],
                "metadata": {"sample_sizes": [20 + a]},
            }
        )
    payload = {
        "name": f"A study {seed}",
        "authors": "Doe J, Roe R",
        "publication": "NeuroImage",
        "year": 2020,
        "metadata": {"sample_size": 20},
        "analyses": analyses,
    }
    payload.update(fields)
    return payload
