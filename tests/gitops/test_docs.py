"""The documentation can be followed: every `permctl` command in a shell block of docs/*.md
parses with the options it shows, and every relative link in README.md and docs/*.md leads to
a file that exists, and to a heading of it when the link names one."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

import pytest
from permctl_commands import parse, permctl_args

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
