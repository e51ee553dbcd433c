"""Hostile desired-state files: nesting and size that would exhaust the reader, names that pass
for other names, and names that try to change the CloudSSO filter they are looked up with.

Each is refused with a located one-line problem and exit 1, before any API call."""

from __future__ import annotations

import resource
import subprocess
import sys
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from security_support import (
    DIRECTORY,
    PROD,
    assert_nothing_written,
    example_state,
    permctl,
)

from permctl.config import yamlload
from permctl.emulator import Emulator
from permctl.emulator.faults import FILTER_QUOTES
from permctl.emulator.filters import parse_filter
from permctl.providers.cloudsso import filter_eq

MEMORY_LIMIT = 768 * 1024 * 1024

HOSTILE_FILES = {
    "deep-flow-sequence.yaml": "version: 1\nasm: " + "[" * 100_000 + "]" * 100_000 + "\n",
    "deep-flow-mapping.yaml": "version: 1\nasm: " + "{a: " * 100_000 + "x" + "}" * 100_000,
    "deep-block.yaml": "version: 1\nasm:\n" + "".join(" " * n + "- \n" for n in range(1, 3000)),
    "deep-keys.yaml": "version: 1\n" + "? [" * 20_000 + "]" * 20_000 + "\n: x\n",
    "recursive-anchor.yaml": "version: 1\nasm: &loop {meshes: *loop}\n",
}


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def test_deep_and_recursive_files_are_refused_by_a_process_that_survives(tmp_path: Path) -> None:
    """In its own process with capped memory, so that a crash of a YAML library (libyaml's C
    loader overflows its stack on such input) or a runaway allocation fails the test instead
    of taking pytest down."""
    paths = []
    for name, text in HOSTILE_FILES.items():
        paths.append(tmp_path / name)
        paths[-1].write_text(text, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "permctl", "validate", *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=_limit_memory,
    )
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error ")]
    assert len(errors) == len(HOSTILE_FILES)
    for path, line in zip(sorted(paths), errors, strict=True):
        assert line.startswith(f"error {path}:")
        assert "refused: " in line and "levels deep" in line


def test_a_file_of_countless_small_values_is_refused_before_it_is_built(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """5 MiB of `1,` is 2.6 million values: composed in full, that took 1.7 GB and three
    minutes. The cap is lowered here so that the test is quick; what is measured is that
    reading stops at the cap, whatever follows it."""
    monkeypatch.setattr(yamlload, "MAX_NODES", 1_000)
    path = tmp_path / "wide.yaml"
    path.write_text("version: 1\nx: [" + "1, " * 300_000 + "1]\n", encoding="utf-8")
    tracemalloc.start()
    try:
        code, _, err = permctl("validate", str(path))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert code == 1
    assert err.splitlines()[0].startswith(f"error {path}:2:")
    assert "refused: the file is more than 1000 values long" in err
    assert peak < 40 * 1024 * 1024


def _refusals(tmp_path: Path, ram_user: str, alias: str = "prod") -> list[str]:
    """The problems `permctl validate` prints for a file naming `ram_user` and `alias`."""
    principal = {"name": "alice", "ram_user": ram_user, "roles": {alias: "istio-admin"}}
    document = {"version": 1, "asm": {"meshes": {alias: PROD}, "principals": [principal]}}
    path = tmp_path / "permissions.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    code, _, err = permctl("validate", str(path))
    assert code == 1
    *problems, summary = err.splitlines()
    assert all(problem.startswith(f"error {path}:") for problem in problems)
    assert summary.startswith(f"{len(problems)} error")
    return problems


LOOKALIKE_NAMES = {
    "\u0430lice": "mixes Latin letters with U+0430 CYRILLIC SMALL LETTER A, which looks like "
    "the Latin 'a'; write the name in one script",
    "\u0430\u04cf\u0456\u0441\u0435": "is written in Cyrillic letters that look like the Latin "
    "'alice'; write it in Latin letters",
    "ali\u200bce": "contains the invisible character U+200B ZERO WIDTH SPACE; remove it",
    "alice\ufe0f": "contains the invisible character U+FE0F VARIATION SELECTOR-16; remove it",
    "ecila\u202e": "contains the invisible character U+202E RIGHT-TO-LEFT OVERRIDE; remove it",
    "\u212aevin": "contains U+212A KELVIN SIGN, a variant of 'K'; write 'K'",
    "\uff41lice": "contains U+FF41 FULLWIDTH LATIN SMALL LETTER A, a variant of 'a'; write 'a'",
    "jose\u0301": "contains U+0301 COMBINING ACUTE ACCENT, which merges with the letter before "
    "it into 'é'; write 'é' as one character",
}


@pytest.mark.parametrize(("name", "message"), LOOKALIKE_NAMES.items())
def test_a_name_that_passes_for_another_is_refused_where_it_is_written(
    tmp_path: Path, name: str, message: str
) -> None:
    # Refused where it is written, and not again as an unknown RAM user.
    [problem] = _refusals(tmp_path, name)
    assert problem.endswith(f"asm.principals[0].ram_user: {message}")


def test_a_mesh_alias_that_passes_for_another_is_refused(tmp_path: Path) -> None:
    declared, used = _refusals(tmp_path, "alice", alias="pr\u043ed")
    message = "mixes Latin letters with U+043E CYRILLIC SMALL LETTER O"
    assert f"asm.meshes: {message}" in declared
    assert f"asm.principals[0].roles: {message}" in used


def test_names_in_one_script_other_than_latin_are_accepted(tmp_path: Path) -> None:
    path = tmp_path / "permissions.yaml"
    document = {
        "version": 1,
        "asm": {
            "meshes": {"生产": PROD},
            "principals": [
                {"name": "Алиса", "ram_user": "alice", "roles": {"生产": "istio-admin"}},
                {"name": "José Müller", "ram_user": "jose"},
                {"name": "Δημήτρης", "ram_user": "dimitris"},
            ],
        },
    }
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    code, out, err = permctl("validate", str(path))
    assert code == 0, err
    assert "valid (3 principals" in out


@pytest.fixture
def emu(point_at: Callable[[Emulator], None]) -> Iterator[Emulator]:
    """The example organisation with 300 more CloudSSO users, so that a name is looked up with
    a filtered ListUsers instead of within the first page of the full listing."""
    state = example_state()
    directory = state["cloudsso"]["directories"][0]
    directory["users"] += [
        {"id": f"u-filler{i:06d}", "name": f"filler-{i:03d}"} for i in range(300)
    ]
    directory["users"] += [
        {"id": "u-kate000000001", "name": "kate"},
        {"id": "u-obrien0000001", "name": 'o"brien'},
    ]
    with Emulator(state) as emulator:
        point_at(emulator)
        yield emulator


def _assignment_file(tmp_path: Path, user: str) -> Path:
    document = {
        "version": 1,
        "cloudsso": {
            "directory": DIRECTORY,
            "assignments": [
                {"access_configuration": "ReadOnly", "accounts": ["dev-test"], "users": [user]}
            ],
        },
    }
    path = tmp_path / "permissions.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    return path


def _user_filters(emu: Emulator) -> list[str]:
    return [
        c.params["Filter"] for c in emu.calls if c.action == "ListUsers" and "Filter" in c.params
    ]


def test_a_kelvin_sign_never_reaches_the_case_blind_name_lookup(
    emu: Emulator, tmp_path: Path
) -> None:
    """CloudSSO compares names without regard to case, and K (U+212A) lower-cases to k: left
    through, it would assign to kate."""
    code, _, err = permctl(
        "apply", "--auto-approve", "-q", str(_assignment_file(tmp_path, "\u212aate"))
    )
    assert code == 1
    assert "KELVIN SIGN" in err
    assert emu.calls == ()


@pytest.mark.parametrize(
    "name",
    [
        'nobody" or UserName sw "',
        "nobody\\",
        'k" sw "',
        "kate sw",
        '"',
    ],
)
def test_a_name_that_could_widen_a_filter_is_never_put_in_one(
    emu: Emulator, tmp_path: Path, name: str
) -> None:
    code, _, err = permctl("apply", "--auto-approve", "-q", str(_assignment_file(tmp_path, name)))
    assert code == 1
    assert f"no CloudSSO user named {name!r}" in err
    assert _user_filters(emu) == []  # looked for in the full listing instead
    assert_nothing_written(emu)


def test_a_name_with_a_quote_is_found_exactly(emu: Emulator, tmp_path: Path) -> None:
    code, out, err = permctl(
        "plan", "-q", "--format", "json", str(_assignment_file(tmp_path, 'o"brien'))
    )
    assert code == 0, err
    assert _user_filters(emu) == []
    assert "u-obrien0000001" in out


@settings(max_examples=200, derandomize=True, database=None, deadline=None)
@given(name=st.text(min_size=1))
def test_a_name_goes_into_a_filter_only_where_every_reading_of_it_is_the_name(name: str) -> None:
    text = filter_eq("UserName", name)
    if text is None:  # looked up in the full listing instead
        return
    for quotes in FILTER_QUOTES:
        parsed = parse_filter(text, ("UserName",), quotes)
        assert (parsed.operator, parsed.value) == ("eq", name)
