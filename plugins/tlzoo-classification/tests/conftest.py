from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def sample() -> dict[str, str]:
    from tlzoo_classification.sample import paths

    return paths()
