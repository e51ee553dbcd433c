"""Values that cannot be right are caught before they cost a grant: a protected name one letter
off, ids and regions of the wrong shape, days that do not exist, entries long expired."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from permctl.cli import app
from permctl.emulator import Emulator

REPO = Path(__file__).parents[2]
EXAMPLE = (REPO / "permissions.yaml.example").read_text(encoding="utf-8")
STATE = REPO / "examples" / "live-state.yaml"
BREAK_GLASS = "278525736094800001"

runner = CliRunner()


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "permissions.yaml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def break_glass_grants(emulator: Emulator) -> list[object]:
    users = emulator.dump()["ram"]["users"]
    return next(u["grants"] for u in users if u["id"] == BREAK_GLASS)


PRUNING_WITH_A_TYPO = EXAMPLE.replace("[break-glass]", "[break-glas]").replace(
    "  prune_unlisted: false", "  prune_unlisted: true", 1
)


def test_a_protected_name_one_letter_off_stops_plan_and_apply_with_the_closest_name(
    tmp_path: Path, example_emu: Emulator
) -> None:
    path = write(tmp_path, PRUNING_WITH_A_TYPO)
    where = f"{path}:{line_of(PRUNING_WITH_A_TYPO, 'break-glas]')}:28"
    expected = (
        f"error {where} settings.safety.protected_principals[0]: protected principal "
        "'break-glas' matches no principal in the file or live state; did you mean "
        "'break-glass'?\n1 error; nothing was changed.\n"
    )
    before = break_glass_grants(example_emu)
    assert before

    assert run("plan", "-q", path) == (1, "", expected)
    code, _, stderr = run("apply", "-q", path, "--auto-approve", "--force")
    assert (code, stderr) == (1, expected)
    assert break_glass_grants(example_emu) == before
    assert example_emu.writes == ()


def test_validate_warns_offline_about_a_protected_name_that_pruning_would_not_spare(
    tmp_path: Path,
) -> None:
    path = write(tmp_path, PRUNING_WITH_A_TYPO)
    code, stdout, stderr = run("validate", path)
    assert code == 0
    assert stdout.endswith(": valid (5 principals, 2 meshes, 3 assignment entries)\n")
    assert stderr == (
        f"warning {path}:{line_of(PRUNING_WITH_A_TYPO, 'break-glas]')}:28 "
        "settings.safety.protected_principals[0]: protected principal 'break-glas' matches no "
        "principal in the file; plan checks that live state has it\n"
    )


def test_protecting_an_unlisted_principal_without_pruning_is_quiet_offline(tmp_path: Path) -> None:
    assert run("validate", write(tmp_path, EXAMPLE))[2] == ""


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "directory: d-00fc2p61abcd",
            "directory: d-00fc2p61",
            "cloudsso.directory: 'd-00fc2p61' is not a CloudSSO directory id, written "
            "d-00fc2p61abcd",
        ),
        (
            "prod: c57b848115458460583a4260cb713abc",
            "prod: c57b848115458460583a4260cb713",
            "asm.meshes.prod.id: 'c57b848115458460583a4260cb713' is not a Service Mesh instance "
            "id: 32 lowercase letters and digits, such as c57b848115458460583a4260cb713abc",
        ),
        (
            "region: cn-shanghai",
            "region: cn-shangai",
            "settings.region: unknown region 'cn-shangai'; did you mean 'cn-shanghai'?",
        ),
        (
            "region: cn-shanghai",
            "region: cn-hangzhou",
            "settings.region: CloudSSO is served only in cn-shanghai and us-west-1, not in "
            "cn-hangzhou: set settings.region to the region of your directory",
        ),
        (
            "expires: 2027-01-31",
            "expires: 2027-02-30",
            "asm.principals[0].expires: '2027-02-30' is not a real day: February 2027 has 28 days",
        ),
    ],
    ids=["directory", "mesh", "region", "cloudsso-region", "day"],
)
def test_validate_refuses_values_that_cannot_be_right_at_their_line(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    assert old in EXAMPLE
    text = EXAMPLE.replace(old, new, 1)
    path = write(tmp_path, text)
    code, stdout, stderr = run("validate", path)
    assert code == 1
    assert stdout == ""
    first = stderr.splitlines()[0]
    assert first.startswith(f"error {path}:{line_of(text, new)}:")
    assert first.endswith(message)


def test_a_role_arn_account_id_must_have_16_digits(tmp_path: Path) -> None:
    text = EXAMPLE.replace(
        "  meshes:", "  account: {assume_role: 'acs:ram::12345:role/x'}\n  meshes:", 1
    )
    code, _, stderr = run("validate", write(tmp_path, text))
    assert code == 1
    assert "asm.account.assume_role: 'acs:ram::12345:role/x' is not a RAM role ARN" in stderr
    assert "(an account id has 16 digits)" in stderr


def test_a_directory_that_does_not_exist_fails_plan_at_its_line(tmp_path: Path) -> None:
    text = EXAMPLE.replace("directory: d-00fc2p61abcd", "directory: d-00fc2p61zzzz")
    path = write(tmp_path, text)
    code, stdout, stderr = run("plan", "-q", path, "--emulator", str(STATE))
    assert (code, stdout) == (1, "")
    assert stderr == (
        f"error {path}:{line_of(text, 'd-00fc2p61zzzz')}:14 cloudsso.directory: no CloudSSO "
        "directory 'd-00fc2p61zzzz' in cn-shanghai for this account (`aliyun cloudsso "
        "ListDirectories` lists yours)\n1 error; nothing was changed.\n"
    )


EXPIRED = EXAMPLE.replace("expires: 2027-01-31", "expires: 2020-01-31", 1)


def test_plan_notes_expired_entries_still_in_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, EXPIRED)
    code, stdout, stderr = run("plan", "-q", path, "--emulator", str(STATE))
    assert code == 0
    assert "Plan: " in stdout
    assert stderr == (
        f"note {path}:{line_of(EXPIRED, '2020-01-31')}:16 asm.principals[0].expires: "
        "alice expired on 2020-01-31; remove the entry\n"
    )


def test_validate_warns_about_dates_already_past(tmp_path: Path) -> None:
    path = write(tmp_path, EXPIRED)
    code, stdout, _ = run("validate", path, "--format", "json")
    assert code == 0
    report = json.loads(stdout)
    assert report["valid"] is True
    assert [(w["path"], w["message"]) for w in report["warnings"]] == [
        ("asm.principals[0].expires", "alice expired on 2020-01-31; remove the entry")
    ]
