"""``manage.py ingest nimads`` as a user meets it: unrelated files never merge, ``--into``
updates the studyset an import made, a file is imported whole or not at all, and the
command says what it made."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select

from neurostore.models import Annotation, Study, Studyset
from tests.support.data import NIMADS_PARAMS

ROOT = Path(__file__).resolve().parents[2]


def _ingest(database_url: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": database_url,
           "NEUROSTORE_DATA_DIR": str(tmp_path / "var"), "COLUMNS": "200"}
    return subprocess.run([sys.executable, "manage.py", "ingest", "nimads", *args], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=300)


def _counts(session_factory) -> tuple[int, int, int]:
    with session_factory() as s:
        return tuple(s.execute(select(func.count()).select_from(m)).scalar_one()
                     for m in (Study, Studyset, Annotation))


def _file(tmp_path: Path, file_name: str, **changes) -> str:
    document = json.loads(Path(NIMADS_PARAMS["studyset"]).read_text())
    document.update(changes)
    path = tmp_path / file_name
    path.write_text(json.dumps(document))
    return str(path)


def _made(output: str, kind: str) -> str:
    found = re.search(rf"^{kind} (\w+)$", output, re.MULTILINE)
    assert found, output
    return found.group(1)


def test_two_files_with_the_same_ids_never_merge(database_url, session_factory, tmp_path):
    # As every file NiMARE converts from a Dataset, both carry the same studyset id.
    first = _ingest(database_url, tmp_path, _file(tmp_path, "a.json", id="nimads_from_dataset"))
    assert first.returncode == 0, first.stdout + first.stderr
    studies, studysets, _ = _counts(session_factory)
    second = _ingest(database_url, tmp_path,
                     _file(tmp_path, "b.json", id="nimads_from_dataset", name="another file"))
    assert second.returncode == 0, second.stdout + second.stderr
    assert _made(first.stdout, "studyset") != _made(second.stdout, "studyset")
    assert _counts(session_factory)[:2] == (2 * studies, 2 * studysets)


def test_into_updates_the_studyset_and_a_reimport_changes_nothing(
        database_url, session_factory, tmp_path):
    first = _ingest(database_url, tmp_path, NIMADS_PARAMS["studyset"], "--annotation",
                    NIMADS_PARAMS["annotation"])
    assert first.returncode == 0, first.stdout + first.stderr
    studyset, annotation = _made(first.stdout, "studyset"), _made(first.stdout, "annotation")
    before = _counts(session_factory)
    again = _ingest(database_url, tmp_path, NIMADS_PARAMS["studyset"], "--annotation",
                    NIMADS_PARAMS["annotation"], "--into", studyset)
    assert again.returncode == 0, again.stdout + again.stderr
    assert (_made(again.stdout, "studyset"), _made(again.stdout, "annotation")) == \
        (studyset, annotation)
    assert _counts(session_factory) == before
    missing = _ingest(database_url, tmp_path, NIMADS_PARAMS["studyset"], "--into", "nosuchset000")
    assert missing.returncode != 0 and "nosuchset000" in missing.stdout + missing.stderr
    assert _counts(session_factory) == before


def test_an_import_that_fails_writes_nothing_and_names_file_record_and_field(
        database_url, session_factory, tmp_path):
    bad = _file(tmp_path, "bad-doi.json", doi="not a doi")
    refused = _ingest(database_url, tmp_path, bad)
    output = refused.stdout + refused.stderr
    assert refused.returncode != 0 and "Traceback" not in output
    assert "bad-doi.json" in output and "doi" in output
    assert _counts(session_factory) == (0, 0, 0)
    # A blank name (NiMARE names the studysets it converts "") is no name, not an error.
    done = _ingest(database_url, tmp_path, _file(tmp_path, "blank.json", name="   "))
    assert done.returncode == 0, done.stdout + done.stderr


def test_image_value_types_come_back_as_the_file_spells_them(
        database_url, services, tmp_path):
    source = Path(NIMADS_PARAMS["studyset"]).parent / "nidm_pain_studyset.json"
    nidm = tmp_path / "nidm.json"
    nidm.write_text(json.dumps({**json.loads(source.read_text()), "name": "NIDM pain"}))
    done = _ingest(database_url, tmp_path, str(nidm))
    assert done.returncode == 0, done.stdout + done.stderr
    studyset = _made(done.stdout, "studyset")
    curator = services.ingest.system_actor()
    snapshot, _ = services.snapshots.create(curator, studyset)
    with services.snapshots.files.open(snapshot["file"]) as exported:
        document = json.loads(exported.read())
    given = json.loads(nidm.read_text())

    def spellings(doc):
        return sorted(i["value_type"] for s in doc["studies"] for a in s["analyses"]
                      for i in a["images"])

    assert spellings(document) == spellings(given) and "t" in spellings(document)
    assert not any("nimads_value_type" in (i.get("metadata") or {})
                   for s in document["studies"] for a in s["analyses"] for i in a["images"])
    # The store keeps its own codes, which filters and estimators use.
    study = services.studies.get(curator, document["studies"][0]["id"]).state
    assert {i["value_type"] for a in study["analyses"] for i in a["images"]} <= {
        "T", "Z", "BETA", "SE"}


def test_manage_lists_the_studysets_and_studies_an_import_made(
        database_url, session_factory, tmp_path):
    done = _ingest(database_url, tmp_path, NIMADS_PARAMS["studyset"])
    studyset = _made(done.stdout, "studyset")
    env = {**os.environ, "DATABASE_URL": database_url,
           "NEUROSTORE_DATA_DIR": str(tmp_path / "var")}
    listed = subprocess.run([sys.executable, "manage.py", "studysets", "list"], cwd=ROOT,
                            env=env, capture_output=True, text=True, timeout=120)
    assert listed.returncode == 0 and listed.stdout.startswith(studyset), listed.stderr
    studies = subprocess.run([sys.executable, "manage.py", "studies", "list", "--source",
                              "nimads", "--limit", "1000"], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=120)
    assert studies.returncode == 0, studies.stderr
    lines = studies.stdout.strip().splitlines()
    assert len(lines) == _counts(session_factory)[0]
    assert all(f"nimads:{studyset}:" in line for line in lines)


def test_import_snapshot_export_gives_back_what_the_file_says(
        database_url, session_factory, tmp_path):
    document = json.loads(Path(NIMADS_PARAMS["studyset"]).read_text())
    study = next(s for s in document["studies"] if s.get("analyses"))
    study["authors"] = "  Doe J,  Roe R "
    study["doi"] = "10.1016/J.NeuroImage.2021.117000"
    study["description"] = ""
    first, second = study["analyses"][0], json.loads(json.dumps(study["analyses"][0]))
    first["name"], second["name"] = "Strict", "Strict "
    second["id"] = f"{first['id']}-copy"
    first["texts"] = {"abstract": "words"}
    first["annotations"] = {"included": True}
    study["analyses"].insert(1, second)
    path = tmp_path / "lossless.json"
    path.write_text(json.dumps(document))
    done = _ingest(database_url, tmp_path, str(path))
    assert done.returncode == 0, done.stdout + done.stderr
    studyset = _made(done.stdout, "studyset")
    env = {**os.environ, "DATABASE_URL": database_url,
           "NEUROSTORE_DATA_DIR": str(tmp_path / "var")}
    user = subprocess.run([sys.executable, "manage.py", "users", "create", "--name", "Ann"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    ann = re.search(r"created user (\w+)", user.stdout).group(1)
    frozen = subprocess.run([sys.executable, "manage.py", "export", "snapshot", studyset,
                             "--as", ann], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=120)
    assert frozen.returncode == 0, frozen.stderr
    snapshot = re.search(r"snapshot (\w+):", frozen.stdout).group(1)
    out = tmp_path / "export.json"
    wrote = subprocess.run([sys.executable, "manage.py", "export", "write", snapshot,
                            "--format", "nimads", "--out", str(out)], cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=120)
    assert wrote.returncode == 0, wrote.stderr
    exported = json.loads(out.read_text())
    back = next(s for s in exported["studies"] if s["name"] == study["name"])
    assert back["authors"] == "  Doe J,  Roe R " and back["description"] == ""
    assert back["doi"] == "10.1016/J.NeuroImage.2021.117000"
    names = [a["name"] for a in back["analyses"]]
    assert names[:2] == ["Strict", "Strict "]
    assert back["analyses"][0]["metadata"]["nimads_extras"] == {
        "texts": {"abstract": "words"}, "annotations": {"included": True}}


def test_a_record_that_cannot_be_read_refuses_the_file_unless_skip_bad(
        database_url, session_factory, tmp_path):
    document = json.loads(Path(NIMADS_PARAMS["studyset"]).read_text())
    study = next(s for s in document["studies"] if s.get("analyses"))
    study["analyses"][0]["points"][0]["coordinates"] = [1.0, None, 2.0]
    path = tmp_path / "one-bad-peak.json"
    path.write_text(json.dumps(document))
    refused = _ingest(database_url, tmp_path, str(path))
    output = refused.stdout + refused.stderr
    assert refused.returncode != 0 and "Traceback" not in output
    assert study["id"] in output and "--skip-bad" in output
    assert _counts(session_factory) == (0, 0, 0)
    done = _ingest(database_url, tmp_path, str(path), "--skip-bad")
    assert done.returncode == 0, done.stdout + done.stderr
    assert study["id"] in done.stdout and _counts(session_factory)[0] > 0
