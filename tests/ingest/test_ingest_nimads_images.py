"""The maps a NIMADS file references: how references resolve, what a NIDM-Results pack
gives, and fetching into the file store from folders and URLs (real pain maps)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from ingest.nimads.images import (
    NOT_DOWNLOADED,
    ImageBase,
    ImageError,
    ImageFetcher,
    UrlIndex,
)
from ingest.nimads.nidm import PackError, contents
from ingest.nimads.parse import parse
from ingest.sources import Environment, SourceError, open_source
from tests.support.statmaps import nidm_pack, pain

REAL_HOST = "https://neurovault.org"


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _studies(*analyses: list[dict]) -> list[dict]:
    """Parsed studies, one per list of images (one analysis each)."""
    document = {"id": "set", "studies": [
        {"id": f"s{n}", "name": f"study {n}", "analyses": [
            {"id": f"a{n}", "name": "task", "images": images, "points": []}]}
        for n, images in enumerate(analyses)]}
    return parse(document).studies


# references ------------------------------------------------------------------------------

def test_references_resolve_against_a_folder(tmp_path):
    base = ImageBase.of(str(tmp_path))
    assert base.resolve("maps/z.nii.gz") == tmp_path / "maps" / "z.nii.gz"
    assert base.resolve("/elsewhere/z.nii.gz") == Path("/elsewhere/z.nii.gz")
    assert base.resolve("file:///elsewhere/my%20z.nii.gz") == Path("/elsewhere/my z.nii.gz")
    url = "https://neurovault.org/media/images/1/z.nii.gz"
    assert base.resolve(url) == url
    with pytest.raises(ImageError, match="unsupported URL scheme 'ftp'"):
        base.resolve("ftp://example.org/z.nii.gz")


def test_references_resolve_against_a_url_and_stay_on_its_host():
    base = ImageBase.of("http://127.0.0.1:8000/data")
    assert base.location == "http://127.0.0.1:8000/data/"
    assert base.resolve("maps/z.nii.gz") == "http://127.0.0.1:8000/data/maps/z.nii.gz"
    assert base.resolve("../z.nii.gz") == "http://127.0.0.1:8000/z.nii.gz"
    with pytest.raises(ImageError, match="off the image base"):
        base.resolve("//example.org/z.nii.gz")


def test_a_base_must_be_a_folder_or_a_web_url(tmp_path):
    with pytest.raises(ImageError, match="does not exist"):
        ImageBase.of(str(tmp_path / "nope"))
    with pytest.raises(ImageError, match="folder or an http"):
        ImageBase.of("s3://bucket/maps")
    assert ImageBase.beside(str(tmp_path / "set.json")).location == str(tmp_path.resolve())
    assert ImageBase.beside("https://x.org/a/set.json").location == "https://x.org/a/"


# NIDM-Results packs ----------------------------------------------------------------------

def test_a_pack_gives_its_statistic_maps_by_name():
    found = contents(["pack/nidm.ttl", "pack/TStatistic_T001.nii.gz", "pack/Contrast_T001.nii.gz",
                      "pack/ContrastStandardError_T001.nii.gz", "pack/ZStatistic.nii.gz",
                      "pack/Mask.nii.gz", "pack/ExcursionSet_T001.nii.gz",
                      "pack/DesignMatrix.png", "pack/Odd.nii.gz"])
    assert found.maps == {"T": "pack/TStatistic_T001.nii.gz", "Z": "pack/ZStatistic.nii.gz",
                          "BETA": "pack/Contrast_T001.nii.gz",
                          "SE": "pack/ContrastStandardError_T001.nii.gz"}
    assert found.unknown == ["pack/Odd.nii.gz"]


@pytest.mark.parametrize(("members", "message"), [
    (["TStatistic.nii.gz"], "no nidm.ttl"),
    (["nidm.ttl", "Mask.nii.gz"], "no statistic map"),
    (["nidm.ttl", "TStatistic_T001.nii.gz", "TStatistic_T002.nii.gz"],
     "several contrasts \\(TStatistic_T001.nii.gz, TStatistic_T002.nii.gz\\)"),
])
def test_packs_that_cannot_be_one_analysis_are_refused(members, message):
    with pytest.raises(PackError, match=message):
        contents(members)


# fetching from a folder ------------------------------------------------------------------

def test_maps_in_a_folder_are_stored_by_sha256_and_read_once(tmp_path, files, http_session):
    seen = []
    fetcher = ImageFetcher(ImageBase.of(str(pain(1, "z").parent)), files, http_session,
                           progress=lambda done, total, name: seen.append((done, total, name)))
    z = {"url": "pain_01_z.nii.gz", "value_type": "Z", "space": "MNI"}
    studies = _studies([z], [z, {"filename": "pain_01_beta.nii.gz", "value_type": "beta"}],
                       [{"value_type": "T", "space": "MNI"}])
    assert fetcher.plan(studies) == 2
    skipped = []
    done = [fetcher.attach(study, skipped) for study in studies]
    assert skipped == []
    first, second = (s["analyses"][0]["images"] for s in done[:2])
    assert first[0]["sha256"] == second[0]["sha256"] == _sha(pain(1, "z"))
    assert second[1]["sha256"] == _sha(pain(1, "beta"))
    assert first[0]["url"] == "pain_01_z.nii.gz"  # the image as the file gives it
    assert "sha256" not in done[2]["analyses"][0]["images"][0]  # no file: kept as it is
    assert files.exists(_sha(pain(1, "z")) + ".nii.gz")
    assert seen == [(1, 2, "pain_01_z.nii.gz"), (2, 2, "pain_01_beta.nii.gz")]


def test_a_missing_or_unreadable_map_leaves_its_study_out(tmp_path, files, http_session):
    (tmp_path / "notes.nii.gz").write_text("not a map")
    fetcher = ImageFetcher(ImageBase.of(str(tmp_path)), files, http_session)
    for image, reason in [
        ({"url": "absent.nii.gz"}, "absent.nii.gz' does not exist"),
        ({"url": "notes.nii.gz"}, "notes.nii.gz: cannot be read as NIfTI"),
        ({"url": "ftp://x.org/z.nii"}, "unsupported URL scheme"),
    ]:
        skipped = []
        assert fetcher.attach(_studies([image])[0], skipped) is None
        assert len(skipped) == 1 and skipped[0].source_id == "s0"
        assert f"analysis 'a0': image {image['url']!r}: " in skipped[0].reason
        assert reason in skipped[0].reason
    assert not any(files.root.rglob("*.nii*"))


def test_a_pack_becomes_one_image_per_statistic(tmp_path, files, http_session):
    maps = {kind: pain(2, kind) for kind in ("t", "z", "beta", "se")}
    nidm_pack(tmp_path / "pain_02.nidm.zip", maps, extra={"Weird.nii.gz": b"?"})
    fetcher = ImageFetcher(ImageBase.of(str(tmp_path)), files, http_session)
    skipped = []
    study = fetcher.attach(_studies([{"url": "pain_02.nidm.zip", "space": "MNI",
                                      "metadata": {"software": "SPM12"}}])[0], skipped)
    images = study["analyses"][0]["images"]
    assert [(i["value_type"], i["filename"], i["sha256"]) for i in images] == [
        ("T", "TStatistic_T001.nii.gz", _sha(maps["t"])),
        ("Z", "ZStatistic_T001.nii.gz", _sha(maps["z"])),
        ("BETA", "Contrast_T001.nii.gz", _sha(maps["beta"])),
        ("SE", "ContrastStandardError_T001.nii.gz", _sha(maps["se"]))]
    assert images[0]["metadata"] == {"software": "SPM12", "nidm_results": {
        "pack": "pain_02.nidm.zip", "file": "TStatistic_T001.nii.gz"}}
    assert {i["space"] for i in images} == {"MNI"}
    assert [s.reason for s in skipped] == [
        "analysis 'a0': image 'pain_02.nidm.zip': Weird.nii.gz is not a NIDM-Results "
        "statistic map (TStatistic, ZStatistic, FStatistic, Contrast, ContrastStandardError,"
        " ContrastVariance); not imported"]


def test_a_broken_pack_is_named(tmp_path, files, http_session):
    (tmp_path / "bad.nidm.zip").write_bytes(b"PK not really")
    nidm_pack(tmp_path / "bad_map.nidm.zip", {"t": pain(1, "t")},
              extra={"ZStatistic.nii.gz": b"not a map"})
    fetcher = ImageFetcher(ImageBase.of(str(tmp_path)), files, http_session)
    for name, reason in [("bad.nidm.zip", "not a readable zip file"),
                         ("bad_map.nidm.zip", "bad_map.nidm.zip:ZStatistic.nii.gz: cannot be "
                                              "read as NIfTI")]:
        skipped = []
        assert fetcher.attach(_studies([{"url": name}])[0], skipped) is None
        assert reason in skipped[0].reason, skipped


# fetching from a web server --------------------------------------------------------------

def _serve(replay, *kinds: str) -> None:
    for kind in kinds:
        replay.add(f"{REAL_HOST}/maps/pain_01_{kind}.nii.gz", pain(1, kind).read_bytes(),
                   headers={"Content-Type": "application/gzip"})


def test_maps_under_a_base_url_are_downloaded_once_ever(tmp_path, files, replay,
                                                        http_session):
    _serve(replay, "z", "beta")
    index = tmp_path / "downloads" / "image-urls.json"
    studies = _studies([{"url": "pain_01_z.nii.gz"}, {"filename": "pain_01_beta.nii.gz"}],
                       [{"url": f"{replay.https_url}/maps/pain_01_z.nii.gz"}])
    for _ in range(2):  # a second import (same store, same index) downloads nothing
        fetcher = ImageFetcher(ImageBase.of(f"{replay.https_url}/maps/"), files, http_session,
                               index=UrlIndex(index))
        skipped = []
        done = [fetcher.attach(study, skipped) for study in studies]
        assert skipped == []
        assert [i["sha256"] for s in done for i in s["analyses"][0]["images"]] == \
            [_sha(pain(1, "z")), _sha(pain(1, "beta")), _sha(pain(1, "z"))]
    assert replay.count(f"{REAL_HOST}/maps/pain_01_z.nii.gz") == 1
    assert replay.count(f"{REAL_HOST}/maps/pain_01_beta.nii.gz") == 1


def test_a_404_is_a_download_failure_naming_the_url(tmp_path, files, replay, http_session):
    fetcher = ImageFetcher(ImageBase.of(f"{replay.https_url}/maps/"), files, http_session)
    skipped = []
    assert fetcher.attach(_studies([{"url": "gone.nii.gz"}])[0], skipped) is None
    (item,) = skipped
    assert item.reason.startswith(f"{NOT_DOWNLOADED}: analysis 'a0': image 'gone.nii.gz': ")
    assert f"{replay.https_url}/maps/gone.nii.gz answered 404" in item.reason


def test_a_pack_is_downloaded_once_and_unpacked(tmp_path, files, replay, http_session):
    pack = nidm_pack(tmp_path / "p.nidm.zip", {"t": pain(3, "t"), "se": pain(3, "se")})
    replay.add(f"{REAL_HOST}/packs/p.nidm.zip", pack.read_bytes())
    index = UrlIndex(tmp_path / "index.json")
    for _ in range(2):
        fetcher = ImageFetcher(ImageBase.of(replay.https_url), files, http_session, index=index)
        study = fetcher.attach(_studies([{"url": "packs/p.nidm.zip"}])[0], [])
        assert [i["sha256"] for i in study["analyses"][0]["images"]] == \
            [_sha(pain(3, "t")), _sha(pain(3, "se"))]
    assert replay.count(f"{REAL_HOST}/packs/p.nidm.zip") == 1


def test_a_run_whose_image_folder_is_gone_is_refused(tmp_path, files):
    # A queued run's parameters are checked again when a worker opens the source.
    (tmp_path / "set.json").write_text('{"studies": []}')
    env = Environment(None, tmp_path, files)
    with pytest.raises(SourceError, match="nimads: image folder .*nope' does not exist"):
        open_source("nimads", {"studyset": str(tmp_path / "set.json"),
                               "images": str(tmp_path / "nope")}, env)
    stream = open_source("nimads", {"studyset": str(tmp_path / "set.json"),
                                    "fetch_images": True}, env)
    assert list(stream.studies) == []
