"""Thousands of mangled files: load_files either returns a Config or raises ConfigError.

Nothing else may escape (no pydantic error, no YAML error, no RecursionError, no KeyError from
the error translator), and every problem must be printable as the CLI prints it.

Each load takes a few milliseconds (the pure-Python YAML reader is slow, and chosen for safety),
so each test runs 500 examples by default: about ten seconds for both. For a deeper search set
PERMCTL_FUZZ_EXAMPLES, e.g. `PERMCTL_FUZZ_EXAMPLES=20000 pytest tests/config/test_config_fuzz.py`.
"""

from __future__ import annotations

import copy
import os
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from document_edits import at, children, edits
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from permctl.config import load_files
from permctl.errors import ConfigError

EXAMPLE = Path(__file__).parents[2] / "permissions.yaml.example"


def _base_document() -> dict[str, Any]:
    """The example file with one principal and one assignment and without its comments: every
    kind of field is still there, and the pure-Python YAML reader (which permctl uses on purpose)
    gets through it several times faster, so more mutations fit in a few seconds."""
    data = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    del data["asm"]["principals"][1:], data["cloudsso"]["assignments"][1:]
    return data


BASE = _base_document()
BASE_BYTES = yaml.dump(BASE, Dumper=yaml.CSafeDumper, sort_keys=False).encode("utf-8")

# Deterministic for CI: the same examples every run, nothing remembered between runs.
FUZZ = settings(
    max_examples=int(os.environ.get("PERMCTL_FUZZ_EXAMPLES", "500")),
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# Words the file uses, so mutations often land on almost-valid input.
WORDS = st.sampled_from(
    [
        "istio-admin",
        "istio-root",
        "prod",
        "prd",
        "mesh-admins",
        "alice",
        "ram_user",
        "ram_role",
        "roles",
        "teams",
        "2027-02-30",
        "directory",
        "[/bold]",
        ":ram:",
        "<<",
        "",
        # Look-alikes of the names above: Cyrillic a, Kelvin sign, zero-width space.
        "\u0430lice",
        "\u212aevin",
        "pr\u200bod",
    ]
)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()
    | st.text(max_size=12)
    | st.dates(min_value=date(1, 1, 1))
    | WORDS
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(max_size=8) | WORDS, inner, max_size=3)
    ),
    max_leaves=5,
)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


def _load_survives(path: Path) -> None:
    try:
        config = load_files([path])
    except ConfigError as error:
        assert error.problems
        for problem in error.problems:
            assert problem.message and problem.file == str(path)
            assert problem.line >= 0 and problem.column >= 0
        str(error).encode("utf-8")
    else:
        assert len(config.digest()) == 64


@FUZZ
@given(document=edits(BASE, VALUES, st.text(max_size=8) | WORDS))
def test_mutated_documents_raise_only_config_errors(workdir: Path, document: Any) -> None:
    path = workdir / "mutated.yaml"
    # The C dumper only writes the test's input; permctl itself never uses the C loader.
    text = yaml.dump(document, Dumper=yaml.CSafeDumper, allow_unicode=True, sort_keys=False)
    path.write_text(text, encoding="utf-8")
    _load_survives(path)


@st.composite
def mangled_texts(draw: st.DrawFn) -> bytes:
    raw = BASE_BYTES
    lines = raw.splitlines(keepends=True)
    actions = ["repeat line", "drop line", "insert", "truncate", "nest", "alias"]
    action = draw(st.sampled_from(actions))
    if action == "repeat line":
        i = draw(st.integers(0, len(lines) - 1))
        lines.insert(i, lines[i])
        return b"".join(lines)
    if action == "drop line":
        del lines[draw(st.integers(0, len(lines) - 1))]
        return b"".join(lines)
    at = draw(st.integers(0, len(raw)))
    if action == "truncate":
        return raw[:at]
    if action == "nest":
        depth = draw(st.integers(1, 200))
        opener, closer = draw(st.sampled_from([(b"[", b"]"), (b"{a: ", b"}"), (b"- ", b"")]))
        return raw[:at] + opener * depth + b"x" + closer * depth + raw[at:]
    if action == "alias":
        # Anchors and aliases where they may expand, loop or merge.
        token = draw(st.sampled_from([b"&a ", b"*a", b"&a [*a, *a]", b"<<: *a\n", b"&a {b: *a}"]))
        return raw[:at] + token + raw[at:]
    noise = draw(st.binary(max_size=12) | st.text(max_size=12).map(str.encode))
    return raw[:at] + noise + raw[at:]


@FUZZ
@given(content=mangled_texts())
def test_mangled_bytes_raise_only_config_errors(workdir: Path, content: bytes) -> None:
    path = workdir / "mangled.yaml"
    path.write_bytes(content)
    _load_survives(path)


LOOKALIKES = {"a": "\u0430", "e": "\u0435", "o": "\u043e", "p": "\u0440", "K": "\u212a"}


def _texts(data: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Paths of every text in the document that has a letter with a look-alike."""
    if isinstance(data, str):
        return [path] if any(c in LOOKALIKES for c in data) else []
    return [found for key, value in children(data) for found in _texts(value, (*path, key))]


@settings(FUZZ, max_examples=int(os.environ.get("PERMCTL_FUZZ_EXAMPLES", "100")))
@given(data=st.data())
def test_a_letter_swapped_for_a_look_alike_is_never_accepted(workdir: Path, data: Any) -> None:
    """Whatever text of a valid file has one letter swapped for a look-alike from another
    script (or the Kelvin sign), the file is refused and the message names the character:
    the name can never be matched to a different principal, mesh or team."""
    document = copy.deepcopy(BASE)
    where = data.draw(st.sampled_from(_texts(document)))
    text = at(document, where)
    index = data.draw(st.sampled_from([i for i, c in enumerate(text) if c in LOOKALIKES]))
    lookalike = LOOKALIKES[text[index]]
    at(document, where[:-1])[where[-1]] = text[:index] + lookalike + text[index + 1 :]
    path = workdir / "lookalike.yaml"
    path.write_text(yaml.dump(document, allow_unicode=True, sort_keys=False), encoding="utf-8")
    with pytest.raises(ConfigError) as refused:
        load_files([path])
    assert any(f"U+{ord(lookalike):04X}" in p.message for p in refused.value.problems)
