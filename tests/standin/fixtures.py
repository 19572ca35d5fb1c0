"""Pytest fixtures for suites that use the stand-in; import them into a conftest.py:

    from tests.standin.fixtures import standin, standin_process  # noqa: F401

`standin`: a fresh in-process stand-in per test (worker tests running in the test process).
`standin_process`: one `python -m tests.standin` per session, reset before each test that asks for it;
a StandinClient, for when the app and the worker run as separate processes (browser tests, benchmarks).
Both have the same control methods, and `.url` and `.env()` to point the app's settings at them.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .client import StandinClient, StandinProcess
from .server import StandinServer


@pytest.fixture
def standin() -> Iterator[StandinServer]:
    with StandinServer() as server:
        yield server


@pytest.fixture(scope="session")
def _standin_process_session() -> Iterator[StandinClient]:
    with StandinProcess() as client:
        yield client


@pytest.fixture
def standin_process(_standin_process_session: StandinClient) -> StandinClient:
    _standin_process_session.reset()
    return _standin_process_session
