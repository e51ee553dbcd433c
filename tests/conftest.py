"""Fixtures shared by every test directory."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from alibabacloud_credentials.utils import auth_util

from permctl.emulator import Emulator


@pytest.fixture
def point_at(monkeypatch: pytest.MonkeyPatch) -> Callable[[Emulator], None]:
    """`point_at(emulator)` makes permctl reach it the way a user points permctl at an endpoint:
    PERMCTL_ENDPOINT and the AccessKey variables of the credentials chain. The credentials
    package reads those variables once, when it is imported; in a shell they are set before
    the process starts, so the snapshot it took is brought up to date as well."""

    def point(emulator: Emulator) -> None:
        monkeypatch.setenv("PERMCTL_ENDPOINT", emulator.url)
        for name, attribute, value in (
            (
                "ALIBABA_CLOUD_ACCESS_KEY_ID",
                "environment_access_key_id",
                emulator.access_key_id,
            ),
            (
                "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
                "environment_access_key_secret",
                emulator.access_key_secret,
            ),
        ):
            monkeypatch.setenv(name, value)
            monkeypatch.setattr(auth_util, attribute, value)

    return point
