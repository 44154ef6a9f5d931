"""The documentation holds together: every relative link in README.md and docs/*.md reaches a
file of the repository, every `#anchor` a heading of its page (as GitHub makes anchors), every
docs page is listed in the README, and the README stays a front door of at most 300 lines."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
README_MAX_LINES = 300

FENCE = re.compile(r"^\s*(```|~~~)")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
CODE_SPAN = re.compile(r"`+[^`]*?`+")
# [text](target) and ![alt](target); the text may hold `[...]` pairs and wrap across lines.
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


def without_code_blocks(text: str) -> list[str]:
    """The page's lines, with the lines of fenced code blocks (fences included) left empty."""
    lines, inside = [], False
    for line in text.splitlines():
        if FENCE.match(line):
            inside = not inside
            lines.append("")
        else:
            lines.append("" if inside else line)
    return lines


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: its text, lower case, punctuation dropped, spaces as '-'."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link counts by its text
    text = re.sub(r"<[^>]+>", "", text).replace("`", "").replace("*", "")
    text = re.sub(r"[^\w\- ]", "", text.strip().lower())
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    """Every anchor of a Markdown page; a repeated heading gets -1, -2, ... as on GitHub."""
    found: set[str] = set()
    seen: dict[str, int] = {}
    for line in without_code_blocks(page.read_text()):
        match = HEADING.match(line)
        if not match:
            continue
        base = slug(match.group(2))
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def links(page: Path) -> list[str]:
    """The link targets of a page, outside code blocks and code spans."""
    text = "\n".join(without_code_blocks(page.read_text()))
    return LINK.findall(CODE_SPAN.sub("", text))


def relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def broken_links(page: Path) -> list[str]:
    problems = []
    for target in links(page):
        if SCHEME.match(target) or target.startswith("//"):
            continue  # an address on the web: not checked here
        path_part, _, anchor = target.partition("#")
        destination = (page.parent / path_part).resolve() if path_part else page
        if not destination.is_relative_to(ROOT):
            problems.append(f"{target}: outside the repository")
            continue
        if not destination.exists():
            problems.append(f"{target}: no such file")
            continue
        if not anchor:
            continue
        if destination.suffix != ".md" or destination.is_dir():
            problems.append(f"{target}: an anchor into a page that is not Markdown")
        elif anchor not in anchors(destination):
            problems.append(f"{target}: no heading with this anchor in {relative(destination)}")
    return problems


def test_the_pages_are_found():
    assert (ROOT / "README.md") in PAGES
    assert len(PAGES) > 5


@pytest.mark.parametrize("page", PAGES, ids=relative)
def test_every_relative_link_and_anchor_resolves(page):
    assert broken_links(page) == []


def test_the_readme_stays_short():
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) <= README_MAX_LINES, f"README.md has {len(lines)} lines"


def test_every_docs_page_is_listed_in_the_readme():
    linked = {
        (ROOT / target.partition("#")[0]).resolve()
        for target in links(ROOT / "README.md")
        if not SCHEME.match(target)
    }
    assert [relative(page) for page in PAGES[1:] if page not in linked] == []


@pytest.mark.parametrize(
    ("heading", "anchor"),
    [
        ("The WebSocket API for external dashboards", "the-websocket-api-for-external-dashboards"),
        ("Django's database: what is tested", "djangos-database-what-is-tested"),
        ("The files in `deploy/`", "the-files-in-deploy"),
        ("`GET /api/metrics/`", "get-apimetrics"),
        (
            "Load (`load[]` in the JSON, one entry per configuration)",
            "load-load-in-the-json-one-entry-per-configuration",
        ),
        ("Redis: channel layer and cache", "redis-channel-layer-and-cache"),
        ("What `make test` does", "what-make-test-does"),
    ],
)
def test_anchors_are_made_as_github_makes_them(heading, anchor):
    assert slug(heading) == anchor


def test_a_broken_link_and_a_missing_anchor_are_found(tmp_path, monkeypatch):
    monkeypatch.setattr(f"{__name__}.ROOT", tmp_path)
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.md").write_text(
        "# A\n\n## Two words\n\n```sh\n# not a heading\n[in code](missing.md)\n```\n"
        "[ok](#two-words) [`ok`](b.md#b) [wrapped\ntext](b.md) `[span](missing.md)`\n"
        "[gone](missing.md) [no anchor](b.md#nowhere) [code heading](#not-a-heading)\n"
        "[web](https://example.org/x.md#y) [out](../../outside.md)\n"
    )
    (tmp_path / "docs" / "b.md").write_text("# B\n")
    assert broken_links(tmp_path / "docs" / "a.md") == [
        "missing.md: no such file",
        "b.md#nowhere: no heading with this anchor in docs/b.md",
        "#not-a-heading: no heading with this anchor in docs/a.md",
        "../../outside.md: outside the repository",
    ]
