"""PubMed efetch XML parser, on real NCBI responses and on hand-made broken ones."""

from __future__ import annotations

import io
import tracemalloc

import pytest

from ingest.pubmed.parse import Article, MeshHeading, iter_articles
from ingest.records import ParseError, Skipped
from ingest.safe_xml import UnsafeXMLError
from tests.support.data import DATA

PUBMED = DATA / "pubmed"
HEAD = b'<?xml version="1.0" ?>\n<!DOCTYPE PubmedArticleSet PUBLIC "-//NLM//DTD PubMedArticle, 1st January 2025//EN" "https://dtd.nlm.nih.gov/ncbi/pubmed/out/pubmed_250101.dtd">\n'  # noqa: E501


def _articles(name):
    return {a.pmid: a for a in iter_articles(PUBMED / name)}


def _document(*articles: str) -> io.BytesIO:
    body = "".join(articles)
    return io.BytesIO(HEAD + f"<PubmedArticleSet>{body}</PubmedArticleSet>".encode())


def _article(citation: str, data: str = "") -> str:
    return (
        f"<PubmedArticle><MedlineCitation>{citation}</MedlineCitation>"
        f"<PubmedData><ArticleIdList>{data}</ArticleIdList></PubmedData></PubmedArticle>"
    )


def _minimal(pmid: str = "123", article: str = "<ArticleTitle>A title.</ArticleTitle>") -> str:
    return _article(f"<PMID>{pmid}</PMID><Article>{article}</Article>")


def test_every_recorded_article_is_parsed():
    pmids = [
        a.pmid
        for name in ("efetch_pubmed1.xml", "efetch_pubmed2.xml", "efetch_pubmed4.xml")
        for a in iter_articles(PUBMED / name)
    ]
    assert pmids == ["12091962", "9997", "11748933", "11700088", "27797938"]


def test_a_journal_article_with_its_ids():
    article = _articles("efetch_pubmed1.xml")["9997"]
    assert article.title == (
        "Magnetic studies of Chromatium flavocytochrome C552. "
        "A mechanism for heme-flavin interaction."
    )
    assert article.abstract.startswith(
        "Electron paramagnetic resonance and magnetic susceptibility studies of Chromatium"
    )
    assert article.journal == "Biochimica et biophysica acta"
    assert article.year == 1976
    assert article.authors == "Strekas TC"
    assert article.doi == "10.1016/0005-2795(76)90109-4"
    assert article.pmcid is None
    assert article.languages == ("eng",)
    assert article.keywords == ()


def test_mesh_headings_keep_the_major_topic_flag():
    article = _articles("efetch_pubmed1.xml")["12091962"]
    assert article.abstract is None
    assert article.keywords == ("Health Care and Public Health", "Legal Approach")
    assert len(article.mesh) == 19
    assert article.mesh[0] == MeshHeading("AIDS Serodiagnosis", "D015492", major_topic=False)
    assert article.mesh[1] == MeshHeading(
        "Acquired Immunodeficiency Syndrome", "D000163", major_topic=True
    )
    assert article.year == 1990  # PubDate Year with a Season
    # A heading whose qualifier only is major (Chromatium/enzymology*) is a major topic.
    chromatium = _articles("efetch_pubmed1.xml")["9997"].mesh[1]
    assert chromatium == MeshHeading("Chromatium", "D002844", major_topic=True)


def test_authors_are_joined_last_name_and_initials():
    article = _articles("efetch_pubmed2.xml")["11748933"]
    assert article.authors == (
        "Taddei AR, Barbato F, Abelli L, Canese S, Moretti F, Rana KJ, Fausto AM, Mazzini M"
    )
    assert article.doi == "10.1006/cryo.2001.2328"
    assert article.journal == "Cryobiology"
    assert "(P < 0.001)" in article.abstract  # &lt; decoded


def test_structured_abstract_inline_markup_and_pmcid():
    article = _articles("efetch_pubmed4.xml")["27797938"]
    assert article.title == (
        "Leucocyte telomere length, genetic variants at the TERT gene region"
        " and risk of pancreatic cancer."
    )
    parts = article.abstract.split("\n")
    assert [p.split(":")[0] for p in parts] == ["OBJECTIVE", "DESIGN", "RESULTS", "CONCLUSIONS"]
    assert parts[0].startswith("OBJECTIVE: Telomere shortening occurs as an early event")
    assert "telomerase reverse transcriptase (TERT) gene region" in parts[0]
    assert "95% CI 1.07 to 2.78; ptrend=0.048" in parts[2]
    assert article.pmcid == "PMC5442267"
    assert article.doi == "10.1136/gutjnl-2016-312510"
    assert article.keywords == ("PANCREATIC CANCER",)
    assert article.year == 2017
    assert article.authors.startswith("Bao Y, Prescott J, Yuan C,")
    assert article.authors.endswith("Wolpin BM")
    assert MeshHeading("Pancreatic Neoplasms", "D010190", major_topic=True) in article.mesh
    assert MeshHeading("Telomerase", "D019098", major_topic=True) in article.mesh


def test_medline_date_collective_authors_and_elocation_doi():
    (article,) = iter_articles(
        _document(
            _article(
                "<PMID>42</PMID><Article><Journal><Title>J</Title><JournalIssue><PubDate>"
                "<MedlineDate>1998 Dec-1999 Jan</MedlineDate></PubDate></JournalIssue></Journal>"
                "<ArticleTitle></ArticleTitle><VernacularTitle>Titre.</VernacularTitle>"
                '<ELocationID EIdType="doi" ValidYN="Y">10.1/x</ELocationID>'
                "<AuthorList><Author><LastName>Doe</LastName><Initials>J</Initials></Author>"
                '<Author ValidYN="N"><LastName>Wrong</LastName></Author>'
                "<Author><CollectiveName>The <i>Brain</i> Group</CollectiveName></Author>"
                "</AuthorList>"
                "<Language>fre</Language><Language>eng</Language></Article>",
                '<ArticleId IdType="pmc">PMC9</ArticleId>',
            )
        )
    )
    assert article == Article(
        pmid="42",
        title="Titre.",
        abstract=None,
        keywords=(),
        mesh=(),
        journal="J",
        year=1998,
        authors="Doe J, The Brain Group",
        doi="10.1/x",
        pmcid="PMC9",
        languages=("fre", "eng"),
    )


def test_a_book_article():
    book = (
        "<PubmedBookArticle><BookDocument><PMID>20301295</PMID>"
        "<Book><BookTitle>GeneReviews</BookTitle><PubDate><Year>1993</Year></PubDate>"
        "<AuthorList><Author><LastName>Adam</LastName><Initials>MP</Initials></Author>"
        "</AuthorList></Book><ArticleTitle>Huntington Disease</ArticleTitle>"
        '<Abstract><AbstractText Label="SUMMARY">A <b>disorder</b>.</AbstractText></Abstract>'
        "</BookDocument><PubmedBookData><ArticleIdList>"
        '<ArticleId IdType="bookaccession">NBK1305</ArticleId></ArticleIdList></PubmedBookData>'
        "</PubmedBookArticle>"
    )
    (article,) = iter_articles(_document(book))
    assert (article.pmid, article.title, article.abstract) == (
        "20301295",
        "Huntington Disease",
        "SUMMARY: A disorder.",
    )
    assert (article.journal, article.year, article.authors, article.doi) == (
        None,
        1993,
        "Adam MP",
        None,
    )


@pytest.mark.parametrize(
    ("article", "skipped"),
    [
        (
            _article("<Article><ArticleTitle>T</ArticleTitle></Article>"),
            Skipped(None, None, "PubmedArticle without a PMID"),
        ),
        (_minimal(pmid="PMC12"), Skipped("PMC12", None, "PMID 'PMC12' is not a number")),
        (_minimal(article="<Journal><Title>J</Title></Journal>"), Skipped("123", None, "no title")),
        (_article("<PMID>7</PMID>"), Skipped("7", None, "MedlineCitation without an Article")),
        (
            "<PubmedArticle><PubmedData/></PubmedArticle>",
            Skipped(None, None, "PubmedArticle without MedlineCitation"),
        ),
    ],
)
def test_incomplete_articles_are_skipped_and_the_rest_kept(article, skipped):
    records = list(iter_articles(_document(_minimal("1"), article, _minimal("2"))))
    assert records[1] == skipped
    assert [r.pmid for r in (records[0], records[2])] == ["1", "2"]


def test_other_elements_of_the_set_are_ignored():
    records = list(
        iter_articles(_document("<DeleteCitation><PMID>5</PMID></DeleteCitation>", _minimal("6")))
    )
    assert [r.pmid for r in records] == ["6"]


def test_a_truncated_document_names_the_line_where_it_broke():
    data = (PUBMED / "efetch_pubmed4.xml").read_bytes()
    cut = data[: data.index(b"<KeywordList")]
    with pytest.raises(ParseError, match=r"^line 782: PubMed XML is not well-formed") as caught:
        list(iter_articles(io.BytesIO(cut)))
    assert caught.value.line == 782


def test_the_articles_before_a_break_are_yielded_first():
    whole = _document(_minimal("1"), _minimal("2")).getvalue()
    records = iter_articles(io.BytesIO(whole[: whole.rindex(b"<PMID>2")]))
    assert next(records).pmid == "1"
    with pytest.raises(ParseError, match="not well-formed"):
        next(records)


def test_an_error_document_is_a_clear_error():
    answer = b"<eFetchResult><ERROR>Empty id list - nothing todo</ERROR></eFetchResult>"
    with pytest.raises(ParseError, match="eFetchResult.*Empty id list"):
        list(iter_articles(io.BytesIO(answer)))


@pytest.mark.parametrize(
    "document",
    [
        b'<?xml version="1.0"?><!DOCTYPE PubmedArticleSet [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><PubmedArticleSet>&b;</PubmedArticleSet>',
        b'<!-- <x --><!DOCTYPE PubmedArticleSet [<!ENTITY a "x">]><PubmedArticleSet/>',
        '<?xml version="1.0" encoding="UTF-16"?><PubmedArticleSet/>'.encode("utf-16"),
        b'<?xml version="1.0" encoding="cp037"?><PubmedArticleSet/>',
    ],
)
def test_entity_declarations_and_unchecked_encodings_are_refused(document):
    with pytest.raises(UnsafeXMLError, match="refused XML"):
        list(iter_articles(io.BytesIO(document)))


def test_ten_thousand_articles_stream_in_little_memory():
    count = 10_000
    one = _minimal("1", "<ArticleTitle>" + "word " * 40 + "</ArticleTitle>").encode()
    stream = _Generated(HEAD + b"<PubmedArticleSet>", one, count, b"</PubmedArticleSet>")
    tracemalloc.start()
    try:
        seen = sum(1 for _ in iter_articles(stream))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert seen == count
    assert peak < len(one) * count / 4  # the document (3 MB) never sits in memory


class _Generated:
    """A document made on demand: head, ``count`` copies of ``item``, tail."""

    def __init__(self, head: bytes, item: bytes, count: int, tail: bytes) -> None:
        self._parts = iter([head, *([item] * count), tail])

    def read(self, size: int = -1) -> bytes:
        return next(self._parts, b"")
