"""The documentation can be followed: every `permctl` command in a shell block of docs/*.md
parses with the options it shows, and every relative link in README.md and docs/*.md leads to
a file that exists, and to a heading of it when the link names one; the error messages the
guides quote are the ones permctl prints."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from urllib.parse import unquote

import pytest
from permctl_commands import parse, permctl_args
from typer.testing import CliRunner

from permctl.cli import app

REPO = Path(__file__).parents[2]
DOCS = sorted((REPO / "docs").glob("*.md"))
GUIDES = ("concepts.md", "recipes.md", "troubleshooting.md")

FENCED = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)
INLINE_CODE = re.compile(r"`[^`\n]*`")
LINK = re.compile(r"\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
EXTERNAL = re.compile(r"^[a-z][a-z0-9+.-]*:", re.IGNORECASE)


def shell_blocks(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    return [body for language, body in FENCED.findall(text) if language in ("sh", "bash")]


HEADING = re.compile(r"^#+\s+(.+?)\s*$", re.MULTILINE)


def prose(path: Path) -> str:
    return INLINE_CODE.sub("", FENCED.sub("", path.read_text(encoding="utf-8")))


def relative_links(path: Path) -> list[str]:
    """Link targets outside code that are not URLs; `#heading` alone links within the page."""
    return [unquote(t) for t in LINK.findall(prose(path)) if not EXTERNAL.match(t)]


def anchors(path: Path) -> set[str]:
    """The #fragments GitHub gives the page's headings."""
    return {
        re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        for heading in HEADING.findall(FENCED.sub("", path.read_text(encoding="utf-8")))
    }


COMMANDS = [
    (doc.name, args) for doc in DOCS for block in shell_blocks(doc) for args in permctl_args(block)
]
LINKS = [(page, target) for page in [REPO / "README.md", *DOCS] for target in relative_links(page)]


@pytest.mark.parametrize(
    ("doc", "args"), COMMANDS, ids=[f"{d}: permctl {' '.join(a)}" for d, a in COMMANDS]
)
def test_each_documented_command_parses(doc: str, args: list[str]) -> None:
    parse(args)


@pytest.mark.parametrize("guide", GUIDES)
def test_each_guide_exists_and_shows_commands(guide: str) -> None:
    assert any(doc == guide for doc, _ in COMMANDS), f"docs/{guide} shows no permctl command"


@pytest.mark.parametrize(("page", "target"), LINKS, ids=[f"{p.name} -> {t}" for p, t in LINKS])
def test_each_relative_link_leads_to_a_file(page: Path, target: str) -> None:
    file, _, fragment = target.partition("#")
    linked = page.parent / file if file else page
    assert linked.is_file(), f"{page.name} links to {target}, which does not exist"
    if fragment and linked.suffix == ".md":
        assert fragment in anchors(linked), f"{page.name} links to {target}: no such heading"


def test_the_readme_links_its_documentation() -> None:
    linked = {target.partition("#")[0] for page, target in LINKS if page.name == "README.md"}
    assert {f"docs/{guide}" for guide in GUIDES} <= linked


# --- the messages the guides quote are the ones permctl prints ------------------------------

GUIDE_OUTPUT = "\n".join(
    body
    for guide in GUIDES
    for language, body in FENCED.findall((REPO / "docs" / guide).read_text(encoding="utf-8"))
    if language in ("", "text")
)
STATE = "examples/live-state.yaml"
runner = CliRunner()


@pytest.fixture
def checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A directory holding what the guides' commands read, as the guides name it."""
    (tmp_path / "examples").mkdir()
    shutil.copy(REPO / STATE, tmp_path / STATE)
    shutil.copy(REPO / "permissions.yaml.example", tmp_path / "permissions.yaml")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PERMCTL_PLAN_KEY", raising=False)
    return tmp_path


def errors(*args: str) -> list[str]:
    """The error lines `permctl ARGS` prints, after checking it failed."""
    result = runner.invoke(app, list(args))
    assert result.exit_code == 1, result.stdout + result.stderr
    return [line for line in result.stderr.splitlines() if line.startswith("error")]


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


def saved(*args: str) -> None:
    """`permctl plan ARGS --out plan.json`, which must succeed."""
    result = runner.invoke(app, ["plan", "-q", *args, "--out", "plan.json"])
    assert result.exit_code == 0, result.stdout + result.stderr


def assert_quoted(lines: list[str]) -> None:
    assert lines
    for line in lines:
        assert line in GUIDE_OUTPUT, f"the guides do not quote what permctl prints: {line}"


def test_unknown_names_unsafe_plans_and_unconfirmed_applies_are_quoted_as_printed(
    checkout: Path,
) -> None:
    permissions = checkout / "permissions.yaml"
    edit(permissions, "ram_user: bob", "ram_user: bbo")
    edit(permissions, "users: [bob, carol]", "users: [bob, carl]")
    assert_quoted(errors("plan", "--emulator", STATE))
    shutil.copy(REPO / "permissions.yaml.example", permissions)
    edit(permissions, "  prune_unlisted: false", "  prune_unlisted: true")
    assert_quoted(errors("plan", "--emulator", STATE))
    shutil.copy(REPO / "permissions.yaml.example", permissions)
    assert_quoted(errors("apply", "--emulator", STATE))


def test_refused_saved_plans_are_quoted_as_printed(checkout: Path) -> None:
    saved("--emulator", STATE)
    edit(checkout / "plan.json", "istio-ops", "istio-readonly")
    assert_quoted(errors("apply", "--plan", "plan.json", "--emulator", STATE))
    saved("--emulator", STATE)
    edit(checkout / "permissions.yaml", "max_delete_percent: 30", "max_delete_percent: 40")
    assert_quoted(errors("apply", "--plan", "plan.json", "--emulator", STATE))
    shutil.copy(REPO / "permissions.yaml.example", checkout / "permissions.yaml")
    shutil.copy(checkout / STATE, checkout / "live.yaml")
    saved("--emulator", "live.yaml")
    edit(
        checkout / "live.yaml",
        "      name: bob\n      display_name: Bob Li\n      grants:\n",
        "      name: bob\n      display_name: Bob Li\n      grants:\n"
        "        - {mesh: c57b848115458460583a4260cb713abc, role: istio-admin}\n",
    )
    assert_quoted(errors("apply", "--plan", "plan.json", "--emulator", "live.yaml"))


def test_a_lockout_and_its_saved_plan_are_quoted_as_printed(checkout: Path) -> None:
    """lockout.yaml is the file concepts.md shows."""
    concepts = (REPO / "docs" / "concepts.md").read_text(encoding="utf-8")
    lockout = next(b for lang, b in FENCED.findall(concepts) if b.startswith("version: 1\n"))
    (checkout / "lockout.yaml").write_text(lockout, encoding="utf-8")
    assert_quoted(errors("plan", "lockout.yaml", "--emulator", STATE))
    saved("lockout.yaml", "--emulator", STATE, "--allow-lockout")
    assert_quoted(errors("apply", "lockout.yaml", "--plan", "plan.json", "--emulator", STATE))
