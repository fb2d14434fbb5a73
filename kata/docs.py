"""The kata's pages: the handout's README made from README.md, and their links checked.

README.md is the front page for everyone; the parts meant only for instructors sit between
`<!-- instructor -->` and `<!-- /instructor -->` lines, and a handout's README is README.md
without them (`learner_page`). `broken_links` finds every relative link or anchor in a set
of Markdown pages that does not resolve, as GitHub would resolve it.
"""

import re
from pathlib import Path, PurePosixPath

INSTRUCTOR_START, INSTRUCTOR_END = "<!-- instructor -->", "<!-- /instructor -->"
# [text](target) and ![alt](target), not inside code; a target stops at a space or ")".
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
FENCE = re.compile(r"^\s*(```|~~~)")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")


def learner_page(text: str) -> str:
    """A page without its instructor-only blocks (their marker lines included)."""
    kept, hidden = [], False
    for line in text.splitlines(keepends=True):
        marker = line.strip()
        if marker == INSTRUCTOR_START:
            hidden = True
        elif marker == INSTRUCTOR_END:
            hidden = False
        elif not hidden:
            kept.append(line)
    return re.sub(r"\n{3,}", "\n\n", "".join(kept))


def prose_lines(text: str):
    """The lines of a Markdown page outside fenced code blocks, with their numbers."""
    fenced = False
    for number, line in enumerate(text.splitlines(), 1):
        if FENCE.match(line):
            fenced = not fenced
        elif not fenced:
            yield number, re.sub(r"`[^`]*`", "", line)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*]", "", heading.strip()).lower()  # code and emphasis marks; "_" stays
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(text: str) -> set[str]:
    """Every anchor a page's headings give (a repeated heading gets -1, -2, ... as on GitHub)."""
    seen: dict[str, int] = {}
    found = set()
    for _, line in prose_lines(text):
        match = HEADING.match(line)
        if match:
            base = slug(match.group(2))
            count = seen.get(base, 0)
            seen[base] = count + 1
            found.add(base if count == 0 else f"{base}-{count}")
    return found


def links(text: str) -> list[tuple[int, str]]:
    """(line, target) of every link on a page, outside code."""
    return [(number, match.group(1)) for number, line in prose_lines(text)
            for match in LINK.finditer(line)]


def broken_links(pages: dict[str, str], files: set[str]) -> list[str]:
    """"page:line: target (why)" for each relative link or anchor that does not resolve.

    `pages` maps a page's path (posix, relative to the repository) to its text; `files` is
    every path that exists in the repository, pages included. Links to other sites
    (http:, https:, mailto:) are not followed.
    """
    problems = []
    for page, text in sorted(pages.items()):
        folder = PurePosixPath(page).parent
        for number, target in links(text):
            if re.match(r"^[a-z][a-z0-9+.-]*:", target):
                continue
            path, _, anchor = target.partition("#")
            resolved = normalised(folder / path) if path else page
            if path and resolved not in files and not any(
                    name.startswith(resolved.rstrip("/") + "/") for name in files):
                problems.append(f"{page}:{number}: {target} (no such file)")
            elif anchor and resolved.endswith(".md"):
                text_there = pages.get(resolved)
                if text_there is None:
                    problems.append(f"{page}:{number}: {target} (page not checked)")
                elif anchor not in anchors(text_there):
                    problems.append(f"{page}:{number}: {target} (no heading #{anchor})")
    return problems


def normalised(path: PurePosixPath) -> str:
    """`docs/../README.md` as `README.md`; a path that leaves the repository keeps its `..`."""
    parts: list[str] = []
    for part in path.parts:
        if part == "..":
            if parts and parts[-1] != "..":
                parts.pop()
            else:
                parts.append(part)
        elif part != ".":
            parts.append(part)
    return "/".join(parts)


def page_problems(root: Path, files: set[str]) -> list[str]:
    """Broken links in README.md and docs/*.md of the kata at `root` (`files`: what it holds)."""
    root = Path(root)
    pages = {name: (root / name).read_text() for name in sorted(files)
             if name == "README.md" or (name.startswith("docs/") and name.endswith(".md"))}
    return broken_links(pages, files)
