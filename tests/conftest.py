"""The environment every test starts from, and fixtures shared by every test directory.

The suite must pass whatever shell it is run from: a user who has just followed the README's
quick start still has PERMCTL_ENDPOINT and the ALIBABA_CLOUD_* AccessKey exported (pointing at
an emulator that is gone), and may have an `aliyun` CLI profile in ~/.aliyun/config.json. The
credentials package reads its variables and HOME once, when it is imported, so they are cleared
here, when pytest loads this file: before any test module imports permctl or an SDK. A test that
wants them sets them itself (`point_at`, monkeypatch, a subprocess's env)."""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from permctl.emulator import Emulator

# The suite's own settings (how long to fuzz, rewriting golden files), not permctl's.
SUITE_SETTINGS = frozenset(
    {
        "PERMCTL_FUZZ_EXAMPLES",
        "PERMCTL_RELIABILITY_SEEDS",
        "PERMCTL_APPLY_KILL_SEEDS",
        "PERMCTL_UPDATE_GOLDEN",
    }
)
CALLER_SETTINGS = ("PERMCTL_", "ALIBABA_CLOUD_", "ALICLOUD_")
CREDENTIALS_SNAPSHOT = "alibabacloud_credentials.utils.auth_util"


def start_from_a_clean_environment() -> None:
    if CREDENTIALS_SNAPSHOT in sys.modules:
        raise pytest.UsageError(
            "the Alibaba Cloud credentials package was imported before tests/conftest.py could "
            "clear the caller's credentials: a plugin loaded ahead of it imports permctl"
        )
    for name in list(os.environ):
        if name.startswith(CALLER_SETTINGS) and name not in SUITE_SETTINGS:
            del os.environ[name]
    home = tempfile.mkdtemp(prefix="permctl-tests-home-")
    atexit.register(shutil.rmtree, home, ignore_errors=True)
    os.environ["HOME"] = home  # no ~/.aliyun/config.json, no ~/.alibabacloud/credentials
    # The last link of the credentials chain asks the ECS metadata address (100.100.100.200).
    os.environ["ALIBABA_CLOUD_ECS_METADATA_DISABLED"] = "true"
    # Hypothesis keeps its examples out of the checkout; locally they survive between runs.
    os.environ.setdefault(
        "HYPOTHESIS_STORAGE_DIRECTORY", str(Path(tempfile.gettempdir()) / "permctl-hypothesis")
    )
    # Run in the background by a shell without job control (`cmd &` in a script), the suite
    # starts with SIGINT ignored, and so would every process it starts: the Ctrl-C tests
    # need it to be Ctrl-C, here and (reset to the default on exec) in their subprocesses.
    signal.signal(signal.SIGINT, signal.default_int_handler)


start_from_a_clean_environment()

from hypothesis import settings  # noqa: E402  (reads HYPOTHESIS_STORAGE_DIRECTORY lazily)

# Speed is for bench/, never an assertion: no per-example deadline. In CI (CI=true) every run
# explores the same examples and keeps none.
settings.register_profile("local", deadline=None)
settings.register_profile("ci", deadline=None, derandomize=True, database=None)
settings.load_profile("ci" if os.environ.get("CI", "").lower() in ("1", "true") else "local")


@pytest.fixture
def use_access_key(monkeypatch: pytest.MonkeyPatch) -> Callable[[str, str], None]:
    """`use_access_key(key_id, secret)` sets the AccessKey variables of the credentials chain.
    The credentials package reads those variables once, when it is imported; in a shell they are
    set before the process starts, so the snapshot it took is brought up to date as well."""
    from alibabacloud_credentials.utils import auth_util

    def use(key_id: str, secret: str) -> None:
        for name, attribute, value in (
            ("ALIBABA_CLOUD_ACCESS_KEY_ID", "environment_access_key_id", key_id),
            ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "environment_access_key_secret", secret),
        ):
            monkeypatch.setenv(name, value)
            monkeypatch.setattr(auth_util, attribute, value)

    return use


@pytest.fixture
def point_at(
    monkeypatch: pytest.MonkeyPatch, use_access_key: Callable[[str, str], None]
) -> Callable[[Emulator], None]:
    """`point_at(emulator)` makes permctl reach it the way a user points permctl at an endpoint:
    PERMCTL_ENDPOINT and the AccessKey variables of the credentials chain."""

    def point(emulator: Emulator) -> None:
        monkeypatch.setenv("PERMCTL_ENDPOINT", emulator.url)
        use_access_key(emulator.access_key_id, emulator.access_key_secret)

    return point


@pytest.fixture
def example_emu(point_at: Callable[[Emulator], None]) -> Iterator[Emulator]:
    """The example organisation served over HTTP, permctl pointed at it."""
    from permctl.emulator import Emulator

    with Emulator(Path(__file__).parents[1] / "examples" / "live-state.yaml") as emulator:
        point_at(emulator)
        yield emulator
