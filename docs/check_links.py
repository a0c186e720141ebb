#!/usr/bin/env python3
"""Check the relative links of README.md and docs/*.md.

Every `](path)` and `](path#anchor)` outside code must name an existing
file or directory, and an anchor into a Markdown file must match one of
its headings under GitHub's slug rules. Run from anywhere:

    python3 docs/check_links.py

Prints each broken link and exits 1 if there is one.
"""
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FENCE = re.compile(r"^```.*?^```", re.M | re.S)


def slugs(path):
    """GitHub's heading anchors: link syntax reduced to its text, lower
    case, everything but letters, digits, `_`, `-` and spaces dropped,
    spaces to hyphens, a -1, -2 … suffix for repeats."""
    seen, out = {}, set()
    for line in FENCE.sub("", path.read_text()).splitlines():
        m = re.match(r"#{1,6}\s+(.*?)\s*#*\s*$", line)
        if m:
            text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", m.group(1))
            slug = re.sub(r"[^\w\- ]", "", text.lower()).replace(" ", "-")
            n = seen.get(slug, 0)
            seen[slug] = n + 1
            out.add(slug if n == 0 else f"{slug}-{n}")
    return out


def main():
    pages = [ROOT / "README.md"] + sorted((ROOT / "docs").glob("*.md"))
    bad = links = 0
    for page in pages:
        prose = re.sub(r"`[^`\n]*`", "", FENCE.sub("", page.read_text()))
        for target in re.findall(r"\]\(([^)\s]+)\)", prose):
            if re.match(r"[a-z]+:", target):
                continue  # http:, https:, mailto:
            links += 1
            path, _, anchor = target.partition("#")
            dest = (page.parent / path) if path else page
            if not dest.exists():
                print(f"{page.relative_to(ROOT)}: no such file: {target}")
                bad += 1
            elif anchor and dest.suffix == ".md" and anchor not in slugs(dest):
                print(f"{page.relative_to(ROOT)}: no such heading: {target}")
                bad += 1
    print(f"{len(pages)} pages, {links} relative links, {bad} broken")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
