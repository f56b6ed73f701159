"""The HTML edition of the report: one self-contained file beside ``report.md``.

``report.md`` is converted with Python-Markdown (``tables`` and ``toc`` extensions: every
heading gets an ``id``); every figure it links is embedded as a base64 ``data:`` URI, so
``report.html`` can be mailed or opened from anywhere; tables sort by a column when its
header is clicked (a few lines of inline JavaScript, no network access).
"""

from __future__ import annotations

import base64
import html
import os
import re
from pathlib import Path

import markdown

from sim.outputs import files as io

__all__ = ["write_html"]

_MIME = {".png": "image/png", ".svg": "image/svg+xml", ".jpg": "image/jpeg", ".pdf": None}

_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1200px; margin: 2em auto;
       padding: 0 1em; line-height: 1.45; color: #222; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.85em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.5em; text-align: left; }
th { background: #f0f0f0; cursor: pointer; user-select: none; }
th.sorted-asc::after { content: " ▲"; } th.sorted-desc::after { content: " ▼"; }
tr:nth-child(even) td { background: #fafafa; }
img { max-width: 100%; height: auto; }
code { background: #f4f4f4; padding: 0 0.2em; }
nav.toc { background: #f8f8f8; border: 1px solid #ddd; padding: 0.5em 1em; }
"""

_SCRIPT = """
function cellValue(row, i) {
  const text = row.cells[i] ? row.cells[i].innerText.trim() : "";
  const num = parseFloat(text.replace(/,/g, "").replace(/[^0-9eE+\\-.]/g, " ").trim());
  return isNaN(num) ? text.toLowerCase() : num;
}
document.querySelectorAll("table").forEach(table => {
  table.querySelectorAll("th").forEach((th, i) => {
    th.addEventListener("click", () => {
      const body = table.tBodies[0];
      const asc = !th.classList.contains("sorted-asc");
      table.querySelectorAll("th").forEach(h => h.classList.remove("sorted-asc", "sorted-desc"));
      th.classList.add(asc ? "sorted-asc" : "sorted-desc");
      const rows = Array.from(body.rows);
      rows.sort((a, b) => {
        const x = cellValue(a, i), y = cellValue(b, i);
        const c = (typeof x === typeof y) ? (x < y ? -1 : x > y ? 1 : 0)
                                          : (typeof x === "number" ? -1 : 1);
        return asc ? c : -c;
      });
      rows.forEach(r => body.appendChild(r));
    });
  });
});
"""


def _embed(match: re.Match[str], base: Path) -> str:
    src = html.unescape(match.group(2))
    path = base / src
    mime = _MIME.get(path.suffix.lower())
    if mime is None or not path.is_file():
        return match.group(0)
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f"{match.group(1)}data:{mime};base64,{data}{match.group(3)}"


def write_html(markdown_path: str | os.PathLike[str], html_path: str | os.PathLike[str]) -> Path:
    """Convert a report's Markdown to one self-contained HTML file, atomically.

    Args:
        markdown_path: ``report.md``; image links are resolved relative to its folder.
        html_path: target ``.html`` file.

    Returns:
        The target path.

    Raises:
        FileNotFoundError: if ``markdown_path`` does not exist.
    """
    source = Path(markdown_path)
    text = source.read_text(encoding="utf-8")
    converter = markdown.Markdown(extensions=["tables", "toc"], output_format="html")
    body = converter.convert(text)
    body = re.sub(r'(<img[^>]*\ssrc=")([^"]+)("[^>]*>)', lambda m: _embed(m, source.parent), body)
    title_match = re.search(r"<h1[^>]*>(.*?)</h1>", body)
    title = re.sub(r"<[^>]+>", "", title_match.group(1)) if title_match else "Report"
    toc = f'<nav class="toc">{converter.toc}</nav>' if getattr(converter, "toc", "") else ""
    body = body.replace("</h1>", "</h1>\n" + toc, 1) if "</h1>" in body else toc + body
    page = (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{title}</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n"
        f"{body}\n<script>{_SCRIPT}</script>\n</body>\n</html>\n"
    )
    return io.write_text_atomic(page, html_path)
