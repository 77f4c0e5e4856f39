"""A real S3 API server on localhost for the tests (moto in server mode; no cloud).

``s3_server`` starts one per test session on a free port; ``s3_bucket`` makes a new empty
bucket for a test, and ``s3_env`` is the environment a command needs to use it
(``NEUROSTORE_FILES_URL`` and boto3's ``AWS_*`` variables).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

_BUCKETS = itertools.count(1)


@dataclass(frozen=True)
class S3Server:
    """Where the test S3 server listens, and the credentials it takes."""

    endpoint: str

    @property
    def env(self) -> dict[str, str]:
        """boto3's variables for this server."""
        return {"AWS_ENDPOINT_URL": self.endpoint, "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}

    def client(self) -> Any:
        """A boto3 S3 client of this server."""
        return boto3.session.Session().client(
            "s3", endpoint_url=self.endpoint, aws_access_key_id="testing",
            aws_secret_access_key="testing", region_name="us-east-1")

    def new_bucket(self) -> str:
        """Create an empty bucket; return its name."""
        name = f"neurostore-test-{next(_BUCKETS)}"
        self.client().create_bucket(Bucket=name)
        return name

    def keys(self, bucket: str) -> list[str]:
        """Every key in ``bucket``."""
        pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=bucket)
        return sorted(o["Key"] for page in pages for o in page.get("Contents", []))


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """An S3 API server on a free localhost port for the whole session."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield S3Server(f"http://{host}:{port}")
    server.stop()


@pytest.fixture
def s3_bucket(s3_server: S3Server) -> str:
    """A new, empty bucket on the test server."""
    return s3_server.new_bucket()


@pytest.fixture
def s3_env(s3_server: S3Server, s3_bucket: str) -> dict[str, str]:
    """The variables that point a process's file store at ``s3_bucket`` (prefix
    ``files``)."""
    return {**s3_server.env, "NEUROSTORE_FILES_URL": f"s3://{s3_bucket}/files"}
