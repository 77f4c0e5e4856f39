"""Parse NCBI E-utilities ``efetch`` XML (``db=pubmed&retmode=xml``) into article records.

The document is a ``PubmedArticleSet`` of ``PubmedArticle`` (and, for books and
chapters on the Bookshelf, ``PubmedBookArticle``) elements::

    PubmedArticle
      MedlineCitation   PMID, Article (Journal/Title, Journal/JournalIssue/PubDate,
                        ArticleTitle, Abstract/AbstractText[@Label], AuthorList,
                        Language, ELocationID[@EIdType]), MeshHeadingList, KeywordList
      PubmedData        ArticleIdList/ArticleId[@IdType] (pubmed, doi, pmc, pii, ...)
    PubmedBookArticle
      BookDocument      PMID, ArticleTitle or Book/BookTitle, Book/PubDate, Abstract,
                        AuthorList, Language, KeywordList
      PubmedBookData    ArticleIdList

Each article gives one :class:`Article`, or a :class:`~ingest.records.Skipped` saying
why not (``line`` is None: expat's positions are not exposed per element). The
document is streamed and each article cleared once read, so memory holds one
article at a time. Text is taken with its inline markup (``<i>``, ``<sup>``, ...)
flattened and its white space collapsed. The DTD named by the DOCTYPE is never
loaded, and a document declaring its own entities is refused (:mod:`ingest.safe_xml`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from typing import BinaryIO
from xml.etree.ElementTree import Element
from xml.etree.ElementTree import ParseError as XMLSyntaxError
from xml.parsers.expat import ErrorString

from ingest.records import ParseError, Skipped
from ingest.safe_xml import safe_iterparse

SOURCE = "pubmed"
ARTICLE_SET = "PubmedArticleSet"
ARTICLE_TAGS = ("PubmedArticle", "PubmedBookArticle")
_YEAR = re.compile(r"\d{4}")


@dataclass(frozen=True)
class MeshHeading:
    """One MeSH heading of an article.

    Attributes
    ----------
    descriptor : str
        The descriptor's name, e.g. ``"Pancreatic Neoplasms"``.
    ui : str or None
        The descriptor's MeSH unique id, e.g. ``"D010190"``.
    major_topic : bool
        True if the descriptor or one of its qualifiers is marked a major topic: the
        heading PubMed shows with a ``*`` and finds with ``[majr]``.
    """

    descriptor: str
    ui: str | None
    major_topic: bool


@dataclass(frozen=True)
class Article:
    """The bibliographic record of one PubMed article.

    Attributes
    ----------
    pmid : str
        PubMed id, digits only.
    title : str
        ``ArticleTitle`` (``VernacularTitle`` if it is empty; ``BookTitle`` for a book).
    abstract : str or None
        The ``AbstractText`` parts, one per line, each structured part as
        ``"LABEL: text"``.
    keywords : tuple of str
        Every ``Keyword`` of every ``KeywordList``, in document order.
    mesh : tuple of MeshHeading
        MeSH headings in document order.
    journal : str or None
        The journal's full title (None for a book).
    year : int or None
        Publication year, from ``PubDate/Year`` or the first four digits of
        ``PubDate/MedlineDate`` (``"1998 Dec-1999 Jan"``).
    authors : str or None
        ``"Last Initials"`` joined with ``", "`` (``"Doe J, Roe RK"``); a group
        author by its name.
    doi : str or None
        From ``ArticleIdList``, else from a valid ``ELocationID``.
    pmcid : str or None
        PubMed Central id, ``"PMC..."``.
    languages : tuple of str
        ``Language`` codes, e.g. ``("eng",)``.
    """

    pmid: str
    title: str
    abstract: str | None
    keywords: tuple[str, ...]
    mesh: tuple[MeshHeading, ...]
    journal: str | None
    year: int | None
    authors: str | None
    doi: str | None
    pmcid: str | None
    languages: tuple[str, ...]


def iter_articles(source: str | os.PathLike[str] | BinaryIO) -> Iterator[Article | Skipped]:
    """Stream the articles of an efetch document.

    Parameters
    ----------
    source : str, path-like or binary file object
        The document; a file object is read from its current position and not closed.

    Yields
    ------
    Article or Skipped
        One per ``PubmedArticle`` / ``PubmedBookArticle``, in document order.

    Raises
    ------
    ParseError
        While iterating, where the document is not well-formed XML (a truncated
        response, say), naming the line and column, or if its root is not
        ``PubmedArticleSet``.
    UnsafeXMLError
        While iterating, before the first record, if the document declares entities
        or is not UTF-8.
    """
    with ExitStack() as stack:
        stream = source if hasattr(source, "read") else stack.enter_context(open(source, "rb"))
        yield from _articles(safe_iterparse(stream, events=("start", "end")))


def _articles(events: Iterator[tuple[str, Element]]) -> Iterator[Article | Skipped]:
    root: Element | None = None
    depth = 0
    try:
        for event, element in events:
            if event == "start":
                root = element if root is None else root
                depth += 1
                continue
            depth -= 1
            if depth == 1 and root is not None:
                if root.tag != ARTICLE_SET:
                    raise _not_pubmed(root, element)
                if element.tag in ARTICLE_TAGS:
                    yield _article(element)
                # Drop what was read so far (including DeleteCitation and other siblings).
                root.clear()
    except XMLSyntaxError as error:
        line, column = error.position
        reason = ErrorString(error.code)
        raise ParseError(
            f"PubMed XML is not well-formed at column {column} ({reason})", line
        ) from error
    if root is not None and root.tag != ARTICLE_SET:
        raise _not_pubmed(root, root)


def _not_pubmed(root: Element, element: Element) -> ParseError:
    # NCBI answers some bad requests with 200 and <eFetchResult><ERROR>...</ERROR>.
    detail = (_text(element) or "")[:200]
    return ParseError(f"not a PubMed efetch document: root <{root.tag}>, {detail!r}")


def _article(element: Element) -> Article | Skipped:
    book = element.tag == "PubmedBookArticle"
    part = "BookDocument" if book else "MedlineCitation"
    citation = element.find(part)
    if citation is None:
        return Skipped(None, None, f"{element.tag} without {part}")
    pmid = _text(citation.find("PMID"))
    if pmid is None:
        return Skipped(None, None, f"{element.tag} without a PMID")
    if not pmid.isdigit():
        return Skipped(pmid, None, f"PMID {pmid!r} is not a number")
    # What PubMed says about the work: the book document itself, a journal article's Article.
    work = citation if book else citation.find("Article")
    if work is None:
        return Skipped(pmid, None, "MedlineCitation without an Article")
    title = _title(work)
    if title is None:
        return Skipped(pmid, None, "no title")
    ids = _article_ids(element.find(f"{'PubmedBookData' if book else 'PubmedData'}/ArticleIdList"))
    return Article(
        pmid=pmid,
        title=title,
        abstract=_abstract(work.find("Abstract")),
        keywords=_texts(citation.iterfind("KeywordList/Keyword")),
        mesh=_mesh(citation),
        journal=_text(work.find("Journal/Title")),
        year=_year(work.find("Book/PubDate" if book else "Journal/JournalIssue/PubDate")),
        authors=_authors(work),
        doi=ids.get("doi") or _elocation_doi(work),
        pmcid=ids.get("pmc"),
        languages=_texts(work.iterfind("Language")),
    )


def _title(work: Element) -> str | None:
    for path in ("ArticleTitle", "VernacularTitle", "Book/BookTitle"):
        title = _text(work.find(path))
        if title:
            return title
    return None


def _abstract(abstract: Element | None) -> str | None:
    if abstract is None:
        return None
    parts = []
    for part in abstract.iterfind("AbstractText"):
        text = _text(part)
        if text:
            label = part.get("Label")
            parts.append(f"{label}: {text}" if label else text)
    return "\n".join(parts) or None


def _mesh(citation: Element) -> tuple[MeshHeading, ...]:
    headings = []
    for heading in citation.iterfind("MeshHeadingList/MeshHeading"):
        descriptor = heading.find("DescriptorName")
        name = _text(descriptor)
        if descriptor is None or name is None:
            continue
        flags = [descriptor.get("MajorTopicYN")]
        flags += [q.get("MajorTopicYN") for q in heading.iterfind("QualifierName")]
        headings.append(MeshHeading(name, descriptor.get("UI"), major_topic="Y" in flags))
    return tuple(headings)


def _year(date: Element | None) -> int | None:
    if date is None:
        return None
    found = _YEAR.search(_text(date.find("Year")) or _text(date.find("MedlineDate")) or "")
    return int(found.group()) if found else None


def _authors(work: Element) -> str | None:
    # A book chapter lists its own authors; a whole book only the Book's.
    authors = work.find("AuthorList")
    if authors is None:
        authors = work.find("Book/AuthorList")
    if authors is None:
        return None
    names = []
    for author in authors.iterfind("Author"):
        if author.get("ValidYN") == "N":  # an erroneous name PubMed keeps for the record
            continue
        last = _text(author.find("LastName"))
        if last:
            initials = _text(author.find("Initials"))
            names.append(f"{last} {initials}" if initials else last)
        elif group := _text(author.find("CollectiveName")):
            names.append(group)
    return ", ".join(names) or None


def _article_ids(id_list: Element | None) -> dict[str, str]:
    ids: dict[str, str] = {}
    for article_id in id_list.iterfind("ArticleId") if id_list is not None else ():
        text = _text(article_id)
        if text:
            ids.setdefault(article_id.get("IdType", ""), text)
    return ids


def _elocation_doi(work: Element) -> str | None:
    for location in work.iterfind("ELocationID"):
        if location.get("EIdType") == "doi" and location.get("ValidYN", "Y") == "Y":
            return _text(location)
    return None


def _texts(elements: Iterator[Element]) -> tuple[str, ...]:
    return tuple(text for element in elements if (text := _text(element)))


def _text(element: Element | None) -> str | None:
    if element is None:
        return None
    return " ".join("".join(element.itertext()).split()) or None
