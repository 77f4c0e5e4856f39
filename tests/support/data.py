"""Where the tests' data lives, and the ingest parameters that load the bundled samples.

``tests/data`` holds the test-only files (licences in DATA_NOTICE.md); the real samples
the demo ingests are read from where the package ships them (``ingest/data``), so they are
stored once.
"""

from __future__ import annotations

from pathlib import Path

import ingest
from ingest.demo import SAMPLE
from tests.support.examples import EXAMPLES

#: The real samples shipped with the package (what the demo ingests).
SAMPLE_DIR = Path(ingest.__file__).resolve().parent / "data"

#: Test-only data: NeuroVault's recorded API, statistical maps, implausible and subset rows.
DATA = Path(__file__).resolve().parents[1] / "data"
#: The pain study's maps (``pain_0{1,2,3}_{beta,se,t,varcope,z}.nii.gz``) and their mask.
PAIN = DATA / "pain"
#: The recorded NeuroVault API.
NEUROVAULT = DATA / "neurovault"


def _bundled(params: dict) -> dict:
    return {k: [str(SAMPLE_DIR / p) for p in v] if isinstance(v, list) else str(SAMPLE_DIR / v)
            for k, v in params.items()}


#: Ingest parameters of the bundled real samples.
NQ_PARAMS = _bundled(SAMPLE["neuroquery"])
NS_PARAMS = _bundled(SAMPLE["neurosynth"])
SLEUTH_PARAMS = {"paths": [str(SAMPLE_DIR / SAMPLE["sleuth"]["paths"][0]),
                           str(DATA / "sleuth" / "test_sleuth_file2.txt")]}
NIMADS_PARAMS = {"studyset": str(EXAMPLES / "nimads_studyset.json"),
                 "annotation": str(EXAMPLES / "nimads_annotation.json")}
