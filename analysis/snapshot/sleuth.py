"""Sleuth (BrainMap, GingerALE) text: one file per space.

A file starts with ``// Reference=MNI`` or ``// Reference=Talairach``; each experiment is a
``// Authors, Year (study id): Analysis (analysis id)`` line, a ``// Subjects=N`` line, one
``x<TAB>y<TAB>z`` line per point, and a blank line. The ids keep experiments of different
studies apart when NiMARE reads the file back (it names studies by the text before the first
colon after the year). Coordinates stay in their own space: write one file per space.

``N`` is the mean of the analysis' sample sizes rounded to a whole number, the figure NiMARE's
ALE kernel uses. An experiment without a sample size, without coordinates, whose points are in
several spaces, or whose space is unknown (and ``unknown_space`` not given) cannot be written
and is listed in the summary's ``skipped``, as are its unusable points.
"""

import re
from collections.abc import Mapping
from typing import BinaryIO

from neurostore.snapshot.experiments import UNKNOWN, Experiment, check_space, read_studies
from neurostore.snapshot.output import ExportSummary, HashingSink, Skip, format_number
from neurostore.snapshot.selection import Selection

#: Reference line names by space.
REFERENCES = {"MNI": "MNI", "TAL": "Talairach"}
_WHITESPACE = re.compile(r"\s+")


def _clean(text: str, separators: str) -> str:
    """One line of text without the characters NiMARE's reader splits the header on."""
    for separator in separators:
        text = text.replace(separator, ",")
    return _WHITESPACE.sub(" ", text).strip()


def _named(name: object, identifier: str) -> str:
    if isinstance(name, str) and name.strip() and name.strip() != identifier:
        return f"{name} ({identifier})"
    return identifier


def study_label(study: Mapping, study_id: str) -> str:
    """``First author et al., Year (study id)``, from what the study has.

    Falls back to the study name when it has no authors; leaves out a missing year.
    """
    authors = study.get("authors")
    label = ""
    if isinstance(authors, str) and authors.strip():
        names = [n.strip() for n in re.split(r"[,;]", authors) if n.strip()]
        label = names[0] + (" et al." if len(names) > 1 else "")
    elif isinstance(study.get("name"), str):
        label = study["name"]
    year = study.get("year")
    if year not in (None, ""):
        label = f"{label}, {year}" if label else str(year)
    return _clean(_named(label, study_id), ":;")


def experiment_header(experiment: Experiment) -> str:
    """The ``// Authors, Year (id): Analysis (id)`` line, without its line ending."""
    left = study_label(experiment.study, experiment.study_id)
    right = _clean(_named(experiment.analysis.get("name"), experiment.analysis_id), ";")
    return f"// {left}: {right}"


def _subjects(experiment: Experiment) -> int | str:
    """Return the whole number of subjects, or why there is none."""
    if experiment.sample_size is None:
        return "no sample size"
    subjects = round(experiment.sample_size)
    if subjects < 1:
        return f"sample size {experiment.sample_size} rounds to {subjects}"
    return subjects


def _placement(experiment: Experiment, space: str, unknown_space: str | None) -> str | None:
    """Return ``"here"``, ``"elsewhere"`` (the other space's file), or why it fits nowhere."""
    if not experiment.points:
        return "no coordinates"
    found, problem = experiment.space(unknown_space)
    if problem is not None:
        return problem
    if found == UNKNOWN:
        return "points name no space (pass unknown_space='MNI' or 'TAL' to place them)"
    return "here" if found == space else "elsewhere"


def write_sleuth(
    studyset: Mapping,
    out: BinaryIO,
    annotation: Mapping | None = None,
    *,
    space: str,
    include: str | None = None,
    unknown_space: str | None = None,
) -> ExportSummary:
    """Stream the experiments in ``space`` as a Sleuth text file to ``out``.

    Parameters
    ----------
    studyset : dict
        A nested NIMADS studyset.
    out : binary file object
        Receives UTF-8 text with ``\\n`` line endings.
    annotation : dict, optional
        A NIMADS annotation (needed by ``include``; notes can carry a sample size).
    space : {"MNI", "TAL"}
        The space of this file.
    include : str, optional
        A boolean note key selecting the analyses to export.
    unknown_space : {"MNI", "TAL"}, optional
        Space assumed for analyses whose points name none.

    Returns
    -------
    ExportSummary
        ``skipped`` lists what is in no Sleuth file (whatever the space), and the unusable
        points of experiments of this space. Experiments of the other space are not counted.

    Raises
    ------
    SnapshotError
        For a ``space`` or ``unknown_space`` other than MNI and TAL, and a bad ``include``.
    """
    selection = Selection(annotation, include)
    space = check_space(space, "space")
    unknown_space = check_space(unknown_space, "unknown_space")
    skipped: list[Skip] = []
    sink = HashingSink(out)
    sink.write_text(f"// Reference={REFERENCES[space]}\n")
    n_studies = n_analyses = n_points = n_excluded = 0
    for record in read_studies(studyset, selection, skipped):
        n_excluded += record.n_excluded
        written = 0
        for experiment in record.experiments:
            placement = _placement(experiment, space, unknown_space)
            if placement == "elsewhere":
                continue
            skipped.extend(experiment.skipped)
            subjects = _subjects(experiment)
            problem = placement if placement != "here" else None
            if problem is None and isinstance(subjects, str):
                problem = subjects
            if problem is not None:
                skipped.append(Skip(experiment.study_id, experiment.analysis_id, None, problem))
                continue
            lines = [experiment_header(experiment), f"// Subjects={subjects}"]
            lines.extend(
                f"{format_number(p.x)}\t{format_number(p.y)}\t{format_number(p.z)}"
                for p in experiment.points
            )
            sink.write_text("\n".join(lines) + "\n\n")
            written += 1
            n_points += len(experiment.points)
        n_analyses += written
        n_studies += bool(written)
    sha256 = sink.finish()
    return ExportSummary("sleuth", sha256, sink.n_bytes, n_studies, n_analyses, n_points,
                         n_excluded, tuple(skipped))
