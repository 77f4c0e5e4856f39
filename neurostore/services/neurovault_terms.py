"""Term maps as NeuroVault publications: which term of which build, and what is sent.

A term map is public, so any signed-in user may publish it, to their own NeuroVault account:
each user's publication of a term of a term-maps build is its own row (its source id is
``<build id>/<user id>/<term>``), so publishing it again updates that user's collection, and
two users never write to each other's. The maps are computed from the build by the terms
service when the bundle is written or the upload job runs, exactly as the term API serves
them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from neurostore.services.actors import Actor
from neurostore.services.errors import Invalid, NotFound
from neurostore.services.neurovault_bundle import TERM_UPLOAD
from neurostore.services.neurovault_metadata import Plan, Target, term_plan
from neurostore.services.permissions import require_user
from neurostore.services.terms import TermService
from neurostore.vocabulary import PublicationKind

#: The longest source id a publication row holds.
SOURCE_LENGTH = 300


class TermMapSource:
    """Finds the term maps to publish and describes them.

    Parameters
    ----------
    terms : TermService
        Where terms, their builds and their maps are read.
    """

    def __init__(self, terms: TermService) -> None:
        self.terms = terms

    def _described(self, term: str, **where: Any) -> dict[str, Any]:
        """The term as the terms service describes it; an unknown term or a bad expression
        is a missing term map here (there is nothing to publish)."""
        try:
            return self.terms.term(term, top=0, **where)
        except Invalid as exc:
            why = "; ".join(" ".join(v) if isinstance(v, list) else str(v)
                            for v in exc.field_errors.values())
            raise NotFound(f"no term map of {term!r}: {why}") from exc

    def target(self, actor: Actor, term: str, feature_set: str | None) -> Target:
        """The actor's publication of a term's maps (of the newest term maps, or a feature
        set's).

        Raises
        ------
        Unauthenticated
            An anonymous caller.
        NotFound
            An unknown term, feature set, or no term maps built.
        Invalid
            A term too long to be recorded.
        """
        require_user(actor, "publish term maps to NeuroVault")
        found = self._described(term, feature_set=feature_set)
        name, build = found["term"], found["build"]
        source = f"{build}/{actor.id or 'system'}/{name}"
        if len(source) > SOURCE_LENGTH:
            raise Invalid({"term": f"too long to publish (at most {SOURCE_LENGTH - 40} "
                                   "characters)"})
        slug = "".join(c if c.isascii() and c.isalnum() else "-" for c in name)
        slug = slug.strip("-")[:60] or "term"
        return Target(PublicationKind.TERM_MAP, source, f"term map of {name!r}",
                      f"neurovault-term-{slug}-{build}.zip",
                      f"The maps of the term {name!r} (term-maps build {build}, feature set "
                      f"{found['feature_set']})", TERM_UPLOAD)

    def plan(self, source: str, options: Mapping[str, Any]) -> Plan:
        """What a term map's publication sends (the maps computed from its build).

        Parameters
        ----------
        source : str
            The publication's source id (``<build id>/<user id>/<term>``).
        options : mapping
            As :func:`neurostore.services.neurovault_metadata.term_plan` takes them.
        """
        build_id, _, term = source.split("/", 2)
        found = self._described(term, build=build_id)
        build = self.terms.get_build(Actor.system(), build_id)
        feature_set = self.terms.feature_set(build["feature_set"])
        maps = {name: self.terms.term_map(term, name, build=build_id) for name in found["maps"]}
        return term_plan(found, build, feature_set, maps, options)
