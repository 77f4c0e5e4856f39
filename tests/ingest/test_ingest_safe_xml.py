"""The prolog check in front of iterparse: what it lets through and what it refuses."""

from __future__ import annotations

import io

import pytest

from ingest.safe_xml import CHUNK, UnsafeXMLError, safe_iterparse


def _tags(document: bytes) -> list[str]:
    return [element.tag for _, element in safe_iterparse(io.BytesIO(document))]


def test_a_prolog_longer_than_a_read_is_checked_whole():
    comment = b"<!-- " + b"x" * (2 * CHUNK) + b" -->"
    document = b'\xef\xbb\xbf<?xml version="1.0" encoding="utf-8"?>\n' + comment
    assert _tags(document + b'<!DOCTYPE a SYSTEM "a.dtd"><a><b/></a>') == ["b", "a"]
    with pytest.raises(UnsafeXMLError, match="before the root element"):
        _tags(document + b'<!DOCTYPE a [<!ENTITY e "x">]><a>&e;</a>')


def test_a_root_element_split_across_reads_is_found():
    document = b" " * (CHUNK - 1) + b"<a>text</a>"
    assert _tags(document) == ["a"]


def test_an_external_entity_is_never_resolved(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("secret")
    document = f'<!DOCTYPE a [<!ENTITY s SYSTEM "{secret.as_uri()}">]><a>&s;</a>'.encode()
    with pytest.raises(UnsafeXMLError):
        _tags(document)
