"""Fixtures for the kata's own tests: `fake_kata`, a throw-away kata in pytester's folder."""

import pytest
from fakes import FakeKata


@pytest.fixture
def fake_kata(pytester) -> FakeKata:
    pytester.syspathinsert()
    return FakeKata(pytester)
