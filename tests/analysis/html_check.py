"""Parse a report's HTML edition and check it against its Markdown (shared by tests)."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path


class _Collector(HTMLParser):
    """Headings (level, text), image sources, table and script counts of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.headings: list[tuple[int, str]] = []
        self.images: list[str] = []
        self.tables = 0
        self.scripts = 0
        self._heading: int | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag, attrs):
        if re.fullmatch(r"h[1-6]", tag):
            self._heading, self._text = int(tag[1]), []
        elif tag == "img":
            self.images.append(dict(attrs).get("src", ""))
        elif tag == "table":
            self.tables += 1
        elif tag == "script":
            self.scripts += 1

    def handle_data(self, data):
        if self._heading is not None:
            self._text.append(data)

    def handle_endtag(self, tag):
        if self._heading is not None and tag == f"h{self._heading}":
            self.headings.append((self._heading, "".join(self._text).strip()))
            self._heading = None


def parse_report(report_dir: Path) -> tuple[_Collector, list[tuple[int, str]]]:
    """Parse ``report.html``; assert it is self-contained and holds every heading of report.md.

    Returns:
        The parser and the (level, text) of the headings up to level 3.
    """
    markdown = (report_dir / "report.md").read_text(encoding="utf-8")
    page = (report_dir / "report.html").read_text(encoding="utf-8")
    parser = _Collector()
    parser.feed(page)
    parser.close()
    got = [(level, text) for level, text in parser.headings if level <= 3]
    for m in re.finditer(r"^(#{1,3}) (.+)$", markdown, flags=re.MULTILINE):
        plain = m.group(2).strip().replace("`", "")
        assert (len(m.group(1)), plain) in got, plain
    # self-contained: every figure embedded, nothing fetched from elsewhere
    assert parser.images and all(s.startswith("data:image/") for s in parser.images)
    assert 'src="figures/' not in page and "http://" not in page and "https://" not in page
    assert parser.scripts == 1 and "sorted-asc" in page and parser.tables >= 1
    return parser, got
