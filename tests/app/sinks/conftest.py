"""A lake bucket of its own on an AWS emulator (moto) shared by the module's tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from infra.emulator.aws import AwsEmulator
from tests.conftest import unique_name


@pytest.fixture(scope="module")
def emulator() -> Iterator[AwsEmulator]:
    with AwsEmulator() as aws:
        yield aws


@pytest.fixture
def lake(emulator):
    s3, bucket = emulator.client("s3"), unique_name("lake").replace("_", "-")
    s3.create_bucket(Bucket=bucket)
    return s3, bucket
