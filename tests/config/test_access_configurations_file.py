"""`permctl validate` on cloudsso.access_configurations: every mistake named with its file,
line and field, offline."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from permctl.cli import app

runner = CliRunner()

HEAD = """version: 1
cloudsso:
  directory: d-00fc2p61abcd
  access_configurations:
"""


def validate(tmp_path: Path, entries: str) -> tuple[int, list[str]]:
    path = tmp_path / "p.yaml"
    path.write_text(HEAD + entries)
    result = runner.invoke(app, ["validate", str(path)])
    errors = [line.replace(str(path), "p.yaml") for line in result.stderr.splitlines()]
    return result.exit_code, errors


def test_a_full_entry_with_a_yaml_policy_and_one_with_a_json_string_are_valid(
    tmp_path: Path,
) -> None:
    policy = json.dumps(
        {"Version": "1", "Statement": [{"Effect": "Deny", "Action": "ram:*", "Resource": "*"}]}
    )
    code, errors = validate(
        tmp_path,
        f"""    - name: ECS-Admin
      description: ECS administrators
      session_duration: 43200
      relay_state: https://ecs.console.aliyun.com/
      system_policies: [AliyunECSFullAccess]
      inline_policy:
        Version: "1"
        Statement:
          - Effect: Allow
            Action: ["ecs:Describe*"]
            Resource: "*"
            Condition: {{IpAddress: {{acs:SourceIp: 10.0.0.0/8}}}}
    - name: NoRam
      inline_policy: '{policy}'
""",
    )
    assert (code, errors) == (0, [])


def test_session_duration_out_of_range_and_a_bad_name_point_at_their_lines(tmp_path: Path) -> None:
    code, errors = validate(
        tmp_path,
        """    - name: ECS Admin
      session_duration: 600
""",
    )
    assert code == 1
    assert errors[0].startswith("error p.yaml:5:13 cloudsso.access_configurations[0].name:")
    assert "1 to 32 letters, digits or hyphens" in errors[0]
    assert errors[1].startswith(
        "error p.yaml:6:25 cloudsso.access_configurations[0].session_duration:"
    )
    assert "900" in errors[1]


def test_policy_shape_problems_name_the_statement_field(tmp_path: Path) -> None:
    code, errors = validate(
        tmp_path,
        """    - name: ECS-Admin
      inline_policy:
        Version: "1"
        Statement:
          - Effect: Permit
            Action: [ecs:Describe*, 3]
            Resource: "*"
            Condition: [IpAddress]
""",
    )
    assert code == 1
    assert errors[:3] == [
        "error p.yaml:9:21 cloudsso.access_configurations[0].inline_policy.Statement[0].Effect: "
        "Effect is required: Allow or Deny",
        "error p.yaml:10:21 cloudsso.access_configurations[0].inline_policy.Statement[0].Action: "
        "Action is a string or a non-empty list of strings",
        "error p.yaml:12:24 cloudsso.access_configurations[0].inline_policy.Statement[0]"
        ".Condition: Condition is a mapping of operator -> {key: value(s)}",
    ]


def test_an_inline_policy_over_the_api_limit_is_refused(tmp_path: Path) -> None:
    actions = ", ".join(f"ecs:Action{i:04d}" for i in range(300))
    statement = f'{{Effect: Allow, Action: [{actions}], Resource: "*"}}'
    code, errors = validate(
        tmp_path,
        f"""    - name: ECS-Admin
      inline_policy: {{Version: "1", Statement: [{statement}]}}
""",
    )
    assert code == 1
    (error, _) = errors
    assert error.startswith("error p.yaml:6:22 cloudsso.access_configurations[0].inline_policy:")
    assert "more than the 4096 the API accepts" in error


def test_a_name_declared_twice_points_at_the_first(tmp_path: Path) -> None:
    code, errors = validate(tmp_path, "    - name: ECS-Admin\n    - name: ecs-admin\n")
    assert code == 1
    assert errors[0] == (
        "error p.yaml:6:13 cloudsso.access_configurations[1].name: access configuration "
        "'ecs-admin' is already declared at p.yaml:5:7"
    )
