"""What a publication should say, worked out from the user's own files (not the store)."""

from __future__ import annotations

from tests.support.examples import example, with_sample_sizes


def subjects_in_example() -> int:
    """The subjects behind the bundled example's included analyses with peaks: each study
    once, with its largest sample size."""
    notes = {n["analysis"]: n["note"]
             for n in with_sample_sizes(example("nimads_annotation.json"))["notes"]}
    total = 0
    for study in example("nimads_studyset.json")["studies"]:
        sizes = [notes[a["id"]]["sample_size"] for a in study["analyses"]
                 if notes.get(a["id"], {}).get("include")
                 and any(p.get("coordinates") and None not in p["coordinates"]
                         for p in a["points"])]
        total += max(sizes, default=0)
    return total


def map_type(name: str) -> str:
    """NeuroVault's code for a map, as its documentation lists them."""
    first = name.split("_")[0]
    return {"z": "Z", "t": "T", "p": "P", "chi2": "X2"}.get(first, "Other")
