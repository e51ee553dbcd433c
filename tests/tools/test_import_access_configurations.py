"""`permctl import` writes what each access configuration the imported assignments use grants,
policies as YAML, and plan on the file it writes shows no change, whatever the policy."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from permctl.cli import app

runner = CliRunner()

REPO = Path(__file__).parents[2]
DIRECTORY = "d-policies0001"
ACCOUNT = "1000000000000011"

ACTIONS = st.sampled_from(["ecs:*", "ecs:Describe*", "vpc:CreateVpc", "oss:GetObject", "ram:*"])
RESOURCES = st.sampled_from(["*", "acs:oss:*:*:logs/*", "acs:ecs:*:*:instance/i-1"])
TEXT = st.sampled_from(["", "ECS admins", 'it\'s "quoted"', "a: b", "#1", "true", "123"])


def one_or_many(values: st.SearchStrategy[str]) -> st.SearchStrategy[Any]:
    """A single value written as a string, or a list (with repeats) of them."""
    return values | st.lists(values, min_size=1, max_size=3)


CONDITIONS = st.dictionaries(
    st.sampled_from(["IpAddress", "StringEquals", "Bool"]),
    st.dictionaries(
        st.sampled_from(["acs:SourceIp", "acs:MFAPresent", "ecs:tag/env"]),
        one_or_many(st.sampled_from(["10.0.0.0/8", "true", "prod", "192.168.0.0/16"])),
        min_size=1,
        max_size=2,
    ),
    max_size=2,
)


@st.composite
def statements(draw: st.DrawFn) -> dict[str, Any]:
    statement = {
        "Effect": draw(st.sampled_from(["Allow", "Deny"])),
        "Action": draw(one_or_many(ACTIONS)),
        "Resource": draw(one_or_many(RESOURCES)),
    }
    if condition := draw(CONDITIONS):
        statement["Condition"] = condition
    return statement


@st.composite
def access_configurations(draw: st.DrawFn) -> dict[str, Any]:
    configuration: dict[str, Any] = {
        "id": "ac-generated001",
        "name": "Generated-1",
        "description": draw(TEXT) or None,
        "session_duration": draw(st.sampled_from([900, 3600, 43200])),
        "relay_state": draw(st.sampled_from(["", "https://ecs.console.aliyun.com/"])) or None,
        "system_policies": draw(
            st.lists(st.sampled_from(["AliyunECSFullAccess", "ReadOnlyAccess"]), unique=True)
        ),
    }
    if draw(st.booleans()):
        configuration["inline_policy"] = {
            "Version": "1",
            "Statement": draw(st.lists(statements(), min_size=1, max_size=3)),
        }
    return configuration


def state(configuration: dict[str, Any]) -> dict[str, Any]:
    return {
        "resource_directory": {
            "id": "rd-pol",
            "root_folder_id": "r-pol",
            "accounts": [{"id": ACCOUNT, "name": "prod"}],
        },
        "cloudsso": {
            "directories": [
                {
                    "id": DIRECTORY,
                    "name": "policies",
                    "users": [{"id": "u-alice0000001", "name": "alice"}],
                    "access_configurations": [
                        {k: v for k, v in configuration.items() if v is not None},
                        {"id": "ac-unassigned01", "name": "Unassigned"},
                    ],
                    "assignments": [
                        {
                            "access_configuration": configuration["id"],
                            "account": ACCOUNT,
                            "principal_type": "User",
                            "principal": "u-alice0000001",
                        }
                    ],
                }
            ]
        },
    }


def permctl(*args: str | Path) -> Any:
    return runner.invoke(app, [*map(str, args)])


def import_into(directory: Path, configuration: dict[str, Any]) -> tuple[Path, Path]:
    state_file, out = directory / "state.yaml", directory / "permissions.yaml"
    state_file.write_text(yaml.safe_dump(state(configuration)))
    result = permctl(
        "import", "-q", "--emulator", state_file, "--directory", DIRECTORY, "--out", out
    )
    assert result.exit_code == 0, result.output
    return state_file, out


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(access_configurations())
def test_any_imported_access_configuration_plans_no_change(configuration: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory() as directory:
        state_file, out = import_into(Path(directory), configuration)
        plan = permctl("plan", "-q", "--detailed-exitcode", "--emulator", state_file, out)
        assert plan.exit_code == 0, plan.output + out.read_text()


def test_only_the_access_configurations_the_assignments_use_are_written(tmp_path: Path) -> None:
    policy = {
        "Version": "1",
        "Statement": [
            {"Effect": "Allow", "Action": "ecs:Describe*", "Resource": "*"},
            {"Effect": "Deny", "Action": ["ram:*"], "Resource": "*"},
        ],
    }
    _, out = import_into(
        tmp_path, {"id": "ac-generated001", "name": "Generated-1", "inline_policy": policy}
    )
    written = yaml.safe_load(out.read_text())["cloudsso"]["access_configurations"]
    assert written == [
        {
            "name": "Generated-1",
            "description": "",
            "session_duration": 3600,
            "relay_state": "",
            "system_policies": [],
            "inline_policy": {
                "Version": "1",
                "Statement": [
                    {"Effect": "Allow", "Action": ["ecs:Describe*"], "Resource": ["*"]},
                    {"Effect": "Deny", "Action": ["ram:*"], "Resource": ["*"]},
                ],
            },
        }
    ]
