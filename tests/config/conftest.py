from pathlib import Path

import pytest

HERE = Path(__file__).parent


@pytest.fixture(autouse=True)
def _run_beside_the_fixture_files(monkeypatch: pytest.MonkeyPatch) -> None:
    """Messages then name files as a user typing `permctl validate broken/x.yaml` sees them."""
    monkeypatch.chdir(HERE)
