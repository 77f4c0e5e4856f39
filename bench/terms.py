"""Benchmark analysis.terms (term-based meta-analysis and decoding) on a real release.

Prints, for the NeuroQuery release by default (13,459 studies, 7,547 keyword terms):
(a) building the study x voxel activation matrix; (b) the MKDA chi-square maps of every
term selecting at least ``--min-studies`` studies (time, peak memory); (c) one term and
one boolean expression on demand; (d) continuous decoding of a map against every term
map, and against ``--decode-terms`` maps (the term maps repeated, saved to a temporary
file and memory-mapped by a fresh process, as the API does: latency and peak resident
memory); (e) NiMARE's ``MKDAChi2`` (+ FDR) for ``--nimare-terms`` terms on the same data,
in a child process, and the ratio to our time per term.

With ``--text-model`` (``--skip-mkda`` leaves out (a)-(e)), NeuroQuery's text-to-brain
model: (f) the tf-idf of the release's counts, and ``vectorize_texts`` on every title;
(g) ``fit_text_model`` on the release, in a child process (time, tracemalloc peak, peak
resident memory); (h) query latency of ``TextModel.query`` and of the package's
``NeuroQueryModel.__call__`` on the same saved model, over ``--queries`` titles.

Peak memory is tracemalloc's peak during each step (numpy arrays and Python objects,
including what earlier steps still hold), and the child's peak resident memory for NiMARE.

Example::

    .venv/bin/python bench/terms.py --data-dir ../shared/data --min-studies 50
    .venv/bin/python bench/terms.py --data-dir ../shared/data --skip-mkda --text-model
"""

import argparse
import csv
import gzip
import multiprocessing
import resource
import shutil
import sys
import tempfile
import time
import tracemalloc
import warnings
from pathlib import Path

import numpy as np
from scipy import sparse

ROOT = Path(__file__).resolve().parents[1]
# The shared data folder sits next to the repository (as bench/api.py expects it).
DATA = ROOT.parent / "shared" / "data"
RELEASE = "neuroquery/data-neuroquery_version-1"
VOCABULARY = "vocab-neuroquery7547"
# A script run from anywhere: make the repository's packages importable (also in children).
sys.path.insert(0, str(ROOT))

from analysis.meta import CoordinateInputs, Mask  # noqa: E402
from analysis.terms import (  # noqa: E402
    DEFAULT_MAP,
    ActivationMatrix,
    TermMapMatrix,
    TermWeights,
    TextModel,
    fit_text_model,
    selection_maps,
    term_maps,
    tfidf_from_counts,
    vectorize_texts,
)


def read_coordinates(path):
    """Return (ids, x, y, z) of every focus (a quote-aware TSV reader: one table name spans
    two lines)."""
    ids, xyz = [], []
    with gzip.open(path, "rt", newline="") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            ids.append(row["id"])
            xyz.append((float(row["x"]), float(row["y"]), float(row["z"])))
    xyz = np.array(xyz)
    return ids, xyz[:, 0], xyz[:, 1], xyz[:, 2]


def read_weights(metadata, features, vocabulary):
    """Return the release's term weights (rows in metadata order)."""
    with gzip.open(metadata, "rt", newline="") as handle:
        ids = [row["id"] for row in csv.DictReader(handle, delimiter="\t")]
    terms = Path(vocabulary).read_text().splitlines()
    return TermWeights.from_matrix(sparse.load_npz(features), ids, terms)


def read_titles(metadata):
    """Return (ids, titles) of the release's studies, in metadata order."""
    with gzip.open(metadata, "rt", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    return [row["id"] for row in rows], [row["title"] for row in rows]


def measured(step):
    """Run ``step()``; return its result, wall seconds and tracemalloc peak in MB."""
    tracemalloc.reset_peak()
    start = time.perf_counter()
    result = step()
    seconds = time.perf_counter() - start
    return result, seconds, tracemalloc.get_traced_memory()[1] / 1e6


def nimare_chi2(coordinates, selected_ids, queue):
    """Child process: NiMARE's MKDAChi2 + FDRCorrector for each selection; report times."""
    warnings.filterwarnings("ignore")
    from nimare.correct import FDRCorrector
    from nimare.dataset import Dataset
    from nimare.meta.cbma import MKDAChi2

    ids, x, y, z = coordinates
    source = {}
    for study, *xyz in zip(ids, x, y, z, strict=True):
        coords = source.setdefault(study, {"contrasts": {"1": {"coords": {"space": "MNI"}}}})
        coords = coords["contrasts"]["1"]["coords"]
        for axis, value in zip("xyz", xyz, strict=True):
            coords.setdefault(axis, []).append(float(value))
    start = time.perf_counter()
    dataset = Dataset(source)
    built = time.perf_counter() - start
    times = []
    for selected in selected_ids:
        chosen = sorted(f"{i}-1" for i in selected)
        others = sorted(set(dataset.ids) - set(chosen))
        start = time.perf_counter()
        result = MKDAChi2().fit(dataset.slice(chosen), dataset.slice(others))
        FDRCorrector(method="indep", alpha=0.01).transform(result)
        times.append(time.perf_counter() - start)
    queue.put((built, times, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3))


def fit_child(tfidf, terms, coordinates, ids, voxel_size, directory, queue):
    """Child process: fit the text model, save it; report time, tracemalloc and RSS peaks."""
    tracemalloc.start()
    model, seconds, peak = measured(lambda: fit_text_model(
        tfidf, terms, coordinates, study_ids=ids, voxel_size=voxel_size))
    stages = {reason: len(dropped) for reason, dropped in model.dropped.items()}
    model.save(directory)
    queue.put((seconds, peak, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3,
               len(model.study_ids), stages))


def peak_resident():
    """This process's peak resident memory in MB (VmHWM: unlike ru_maxrss it starts afresh
    at exec, so a spawned child does not report its parent's peak)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1e3
    return float("nan")


def decode_child(directory, values, queue):
    """Child process: decode with a saved term-map matrix as the API does (mapped from
    disk); report the times of warm decodings and the peak resident memory."""
    before = peak_resident()
    matrix = TermMapMatrix.load(directory)
    matrix.correlate(values)
    times = []
    for _ in range(10):
        start = time.perf_counter()
        matrix.correlate(values)
        times.append(time.perf_counter() - start)
    queue.put((times, before, peak_resident()))


def latencies(ask, queries, warm_up=5):
    """Return the p50 and p95 of ``ask(query)`` in ms, after ``warm_up`` queries."""
    for query in queries[:warm_up]:
        ask(query)
    times = []
    for query in queries:
        start = time.perf_counter()
        ask(query)
        times.append(time.perf_counter() - start)
    return np.percentile(np.array(times) * 1e3, [50, 95])


def text_model(args, metadata, features, vocabulary, coordinates):
    """(f)-(h): NeuroQuery's features, fit and queries on the release."""
    warnings.filterwarnings("ignore")
    from neuroquery.encoding import NeuroQueryModel

    tracemalloc.start()

    ids, titles = read_titles(metadata)
    counts = sparse.load_npz(features)
    terms = Path(vocabulary).read_text().splitlines()
    tfidf, seconds, peak = measured(lambda: tfidf_from_counts(counts))
    print(f"(f) tf-idf of the {counts.shape[0]:,} x {counts.shape[1]:,} counts: "
          f"{1e3 * seconds:.0f} ms, peak {peak:.0f} MB")
    texts, seconds, peak = measured(lambda: vectorize_texts(titles, vocabulary))
    print(f"    vectorize_texts on {len(titles):,} titles ({VOCABULARY}): {seconds:.2f} s, "
          f"{texts.counts.sum():,} term occurrences, peak {peak:.0f} MB")

    row = {study: index for index, study in enumerate(ids)}
    study_index = np.array([row[study] for study in coordinates[0]])
    xyz = np.column_stack(coordinates[1:])
    directory = Path(tempfile.mkdtemp(prefix="textmodel-"))
    try:
        queue = multiprocessing.get_context("fork").Queue()
        child = multiprocessing.get_context("fork").Process(target=fit_child, args=(
            tfidf, terms, (study_index, xyz), ids, args.voxel_size, directory / "model", queue))
        child.start()
        seconds, peak, rss, n_fitted, dropped = queue.get()
        child.join()
        print(f"(g) fit_text_model at {args.voxel_size:g} mm: {seconds / 60:.1f} min, "
              f"{n_fitted:,} studies (dropped: {dropped}), tracemalloc peak {peak:.0f} MB, "
              f"peak RSS {rss:.0f} MB")
        ours = TextModel.load(directory / "model")
        theirs = NeuroQueryModel.from_data_dir(directory / "model")
        step = max(len(titles) // args.queries, 1)
        queries = [t for t in titles[::step] if _known(ours, t)][: args.queries]
        p_ours = latencies(ours.query, queries)
        p_theirs = latencies(theirs, queries)
        print(f"(h) query latency over {len(queries)} titles, p50 / p95: TextModel.query "
              f"{p_ours[0]:.1f} / {p_ours[1]:.1f} ms; NeuroQueryModel.__call__ "
              f"{p_theirs[0]:.1f} / {p_theirs[1]:.1f} ms")
    finally:
        shutil.rmtree(directory)


def _known(model, text):
    """Whether a text holds a term of the model (else ``query`` refuses it)."""
    return model.encoder.vectorizer.transform([text]).nnz > 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=DATA,
                        help="shared data folder (default: ../shared/data next to the repository)")
    parser.add_argument("--coordinates", type=Path,
                        help=f"default: DATA_DIR/{RELEASE}_coordinates.tsv.gz")
    parser.add_argument("--metadata", type=Path,
                        help=f"default: DATA_DIR/{RELEASE}_metadata.tsv.gz")
    parser.add_argument("--features", type=Path, help="studies x terms weights (scipy npz); "
                        f"default: the release's {VOCABULARY} keyword counts")
    parser.add_argument("--vocabulary", type=Path, help="one term a line; default: the release's")
    parser.add_argument("--threshold", type=float, default=0.001)
    parser.add_argument("--min-studies", type=int, default=50)
    parser.add_argument("--term", default="pain")
    parser.add_argument("--expression", default="pain AND NOT (heat OR somatosensory)")
    parser.add_argument("--decode-terms", type=int, default=3000)
    parser.add_argument("--nimare-terms", type=int, default=1,
                        help="terms NiMARE analyses (about a minute each); 0 skips NiMARE")
    parser.add_argument("--skip-mkda", action="store_true", help="leave out steps (a)-(e)")
    parser.add_argument("--text-model", action="store_true",
                        help="(f)-(h): NeuroQuery's features, model fit and queries")
    parser.add_argument("--voxel-size", type=float, default=4.0,
                        help="voxel size of the text model's maps, in mm")
    parser.add_argument("--queries", type=int, default=50, help="titles asked in (h)")
    args = parser.parse_args()
    base = args.data_dir / RELEASE
    coordinates_path = args.coordinates or Path(f"{base}_coordinates.tsv.gz")
    metadata = args.metadata or Path(f"{base}_metadata.tsv.gz")
    features = args.features or Path(
        f"{base}_{VOCABULARY}_source-keywords_type-count_features.npz")
    vocabulary = args.vocabulary or Path(f"{base}_{VOCABULARY}_vocabulary.txt")

    coordinates = read_coordinates(coordinates_path)
    if not args.skip_mkda:
        mkda(args, coordinates, metadata, features, vocabulary)
    if args.text_model:
        text_model(args, metadata, features, vocabulary, coordinates)


def mkda(args, coordinates, metadata, features, vocabulary):
    """(a)-(e): the activation matrix, every term's map, decoding, and NiMARE."""
    inputs = CoordinateInputs.from_table(*coordinates)
    mask = Mask.default()
    print(f"{inputs.n_experiments:,} studies, {inputs.n_foci:,} foci, {mask.n_voxels:,} voxels")
    tracemalloc.start()

    activation, seconds, peak = measured(lambda: ActivationMatrix.build(inputs, mask))
    print(f"(a) activation matrix: {seconds:.1f} s, {activation.indices.size:,} active "
          f"(study, voxel) pairs, {activation.nbytes / 1e6:.0f} MB held, peak {peak:.0f} MB")

    weights = read_weights(metadata, features, vocabulary).reindex(activation.study_ids)
    indicator = weights.indicator(args.threshold)
    n_selected = np.diff(indicator.indptr)
    todo = np.flatnonzero((n_selected >= args.min_studies) & (n_selected < inputs.n_experiments))
    names = [weights.terms[i] for i in todo]

    def all_terms():
        maps = (r.maps[DEFAULT_MAP] for r in term_maps(
            activation, indicator, weights.terms, min_studies=args.min_studies))
        return TermMapMatrix.from_maps(names, maps, mask.n_voxels)

    matrix, all_seconds, peak = measured(all_terms)
    per_term = all_seconds / max(len(names), 1)
    print(f"(b) all term maps: {len(names):,} terms with >= {args.min_studies} studies "
          f"({int(n_selected[todo].sum()):,} selections), {all_seconds:.1f} s "
          f"({1e3 * per_term:.0f} ms a term), peak {peak:.0f} MB "
          f"(activation matrix and the {DEFAULT_MAP} maps kept for decoding included)")

    for label, text in (("term", f'"{args.term}"'), ("expression", args.expression)):
        selected = weights.select(text, args.threshold)
        _, seconds, _ = measured(lambda selected=selected: selection_maps(activation, selected))
        print(f"(c) on-demand {label} {text}: {int(selected.sum())} studies, {seconds:.2f} s")

    values = next(term_maps(activation, indicator, weights.terms,
                            min_studies=args.min_studies)).maps["z_desc-uniformity"]
    matrix.correlate(values)
    _, seconds, peak = measured(lambda: matrix.correlate(values))
    print(f"(d) continuous decoding over {len(names):,} term maps: {1e3 * seconds:.0f} ms, "
          f"peak {peak:.0f} MB (everything held so far included)")
    with tempfile.TemporaryDirectory() as tmp:
        rows = np.resize(np.arange(len(names)), args.decode_terms)
        TermMapMatrix(tuple(names[i] for i in rows), matrix.standardised[rows]).save(tmp)
        size = Path(tmp, "standardised.npy").stat().st_size
        context = multiprocessing.get_context("spawn")
        queue = context.Queue()
        child = context.Process(target=decode_child, args=(tmp, values, queue))
        child.start()
        times, rss_before, rss = queue.get()
        child.join()
        print(f"    over {args.decode_terms:,} maps ({size / 1e9:.2f} GB file, memory-mapped, "
              f"read warm, in a fresh process): p50 {1e3 * np.median(times):.0f} ms, "
              f"max {1e3 * max(times):.0f} ms; peak RSS {rss:.0f} MB "
              f"({rss_before:.0f} MB before loading)")

    if args.nimare_terms:
        chosen = todo[: args.nimare_terms]
        selected_ids = [[activation.study_ids[s] for s in
                         indicator.indices[indicator.indptr[t]:indicator.indptr[t + 1]]]
                        for t in chosen]
        ours = []
        for t in chosen:
            selected = np.zeros(activation.n_studies, dtype=bool)
            selected[indicator.indices[indicator.indptr[t]:indicator.indptr[t + 1]]] = True
            ours.append(measured(lambda s=selected: selection_maps(activation, s))[1])
        queue = multiprocessing.get_context("fork").Queue()
        child = multiprocessing.get_context("fork").Process(
            target=nimare_chi2, args=(coordinates, selected_ids, queue))
        child.start()
        built, times, rss = queue.get()
        child.join()
        for t, mine, theirs in zip(chosen, ours, times, strict=True):
            print(f"(e) NiMARE MKDAChi2 + FDR, term {weights.terms[t]!r} "
                  f"({n_selected[t]} studies): {theirs:.1f} s against our {mine:.2f} s on "
                  f"demand: {theirs / mine:.0f}x; against our all-terms rate "
                  f"({1e3 * per_term:.0f} ms a term): {theirs / per_term:.0f}x")
        print(f"    NiMARE dataset set-up {built:.1f} s (not timed above), peak RSS {rss:.0f} MB")


if __name__ == "__main__":
    main()
