"""The handout page for the terminal path: the README's three-terminal section as HTML.

One source of truth: the page is rendered from the README section that
``tests/test_doc_commands.py`` runs, so the handout shows exactly the commands that are
tested. ``python tools/terminal_handout.py OUT.html`` writes it alone; ``tools/handouts.py``
writes it as ``terminals.html`` beside ``index.html``.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from nbconvert.filters import markdown2html

README = Path(__file__).resolve().parent.parent / "README.md"
SECTION = "## In three terminals"

PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>fiblab · the original experiment in three terminals</title>
<style>
body {{ font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1f2328;
  max-width: 900px; margin: 24px auto; padding: 0 16px; }}
h1 {{ font-size: 24px; }}
pre {{ background: #f6f8fa; padding: 10px 12px; border-radius: 6px; overflow-x: auto;
  font-size: 13px; }}
code {{ background: #f6f8fa; padding: 0 3px; border-radius: 3px; font-size: 90%; }}
pre code {{ padding: 0; background: none; }}
.links {{ font-size: 13px; }}
</style>
</head>
<body>
<p class="links"><a href="index.html">All handouts</a></p>
{body}
</body>
</html>
"""


def readme_section(text: str, heading: str = SECTION) -> str:
    """The README section that starts with ``heading``, up to the next ``## `` heading,
    without the ``doc-test`` comments meant for the tests."""
    start = text.index(heading)
    end = text.find("\n## ", start + len(heading))
    section = text[start : end if end != -1 else len(text)]
    section = re.sub(r"<!-- doc-test:[^\n]*-->\n", "", section)
    return "#" + section[2:]  # the page's own title: "# In three terminals…"


def terminal_page(readme: Path = README) -> str:
    return PAGE.format(body=markdown2html(readme_section(readme.read_text())))


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python tools/terminal_handout.py OUT.html", file=sys.stderr)
        return 2
    Path(argv[0]).write_text(terminal_page(), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
