"""The built chapters, read as a reader sees them in a browser: tables render, outputs fit the text
column, figures have alt text, and each chapter opens with its "In this chapter" box.

Run after building the book (``make test`` does both); ``GANCOURSE_BOOK_HTML`` is the book's HTML
folder (default ``_build/html``).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.browser

By = pytest.importorskip("selenium.webdriver.common.by").By

ROOT = Path(__file__).resolve().parents[2]


def _chapters() -> list[str]:
    """Every notebook page in the table of contents, in order (e.g. ``book/05_training``)."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    files = [toc["root"]]
    for part in toc["parts"]:
        for chapter in part["chapters"]:
            files.append(chapter["file"])
    return [f for f in files if (ROOT / f"{f}.ipynb").is_file()]


CHAPTERS = _chapters()


# A laptop screen 1400 pixels wide: the theme's text column then holds about 89 characters of
# output text (14 px monospace), and the chapters keep their output lines to 80.
WINDOW = (1400, 1400)


@pytest.fixture(scope="module")
def site(serve, driver):
    html = Path(os.environ.get("GANCOURSE_BOOK_HTML", ROOT / "_build" / "html"))
    if not (html / "book" / "index.html").is_file():
        pytest.skip(f"the book is not built in {html}: run `make test-build` or set GANCOURSE_BOOK_HTML")
    before = driver.get_window_size()
    driver.set_window_size(*WINDOW)
    yield serve(html)
    driver.set_window_size(before["width"], before["height"])


def _open(driver, site, page):
    driver.get(f"{site}/{page}.html")
    return driver.find_element(By.TAG_NAME, "main")


# A pipe table that was not parsed shows its delimiter row as text: "|---|:--:|".
RAW_TABLE = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)+\|?\s*$", re.MULTILINE)


def test_raw_table_finder():
    assert RAW_TABLE.search("| a | b |\n|---|---|\n| 1 | 2 |")
    assert RAW_TABLE.search("| :--- | ---: |")
    assert not RAW_TABLE.search("a - b --- c")


@pytest.mark.parametrize("page", CHAPTERS)
def test_no_table_shows_as_raw_pipe_text(driver, site, page):
    text = _open(driver, site, page).text
    raw = RAW_TABLE.findall(text)
    assert not raw, f"{page}: a Markdown table is shown as raw text (its delimiter row is visible)"


# Elements of cell outputs whose content is wider than the box they sit in: the reader would have
# to scroll sideways. Quizzes and animations manage their own width and are left out.
_WIDE = """
const out = [];
for (const el of document.querySelectorAll("main .cell_output pre, main .cell_output table")) {
  if (el.closest(".gcq")) { continue; }
  const box = el.tagName === "TABLE" ? el.parentElement : el;
  if (box.scrollWidth > box.clientWidth + 2) {
    out.push(el.tagName + ": " + (el.innerText || "").split("\\n").sort((a, b) => b.length - a.length)[0]
             .slice(0, 120));
  }
}
return out;
"""


@pytest.mark.parametrize("page", CHAPTERS)
def test_no_output_scrolls_sideways(driver, site, page):
    _open(driver, site, page)
    wide = driver.execute_script(_WIDE)
    assert not wide, f"{page}: {len(wide)} output(s) wider than the text column, e.g. {wide[:3]}"


_IMAGES = """
return Array.from(document.querySelectorAll("main img"), img => ({
  src: img.getAttribute("src") || "", alt: (img.getAttribute("alt") || "").trim()}));
"""


@pytest.mark.parametrize("page", CHAPTERS)
def test_every_figure_has_alt_text(driver, site, page):
    _open(driver, site, page)
    images = driver.execute_script(_IMAGES)
    missing = [img["src"][:80] for img in images
               if not img["alt"] or img["alt"].lower().endswith((".png", ".jpg", ".svg"))
               or img["alt"] in img["src"]]
    assert not missing, f"{page}: {len(missing)} figure(s) without alt text: {missing[:3]}"


@pytest.mark.parametrize("page", CHAPTERS)
def test_chapter_opens_with_its_box_and_run_time(driver, site, page):
    _open(driver, site, page)
    boxes = driver.find_elements(By.CSS_SELECTOR, "main .gc-chapter-box")
    assert len(boxes) == 1, f"{page}: expected one 'In this chapter' box, found {len(boxes)}"
    box = boxes[0]
    assert box.find_elements(By.CSS_SELECTOR, "li"), f"{page}: the box lists no key ideas"
    assert "Running every cell at full size takes" in box.text, f"{page}: the box has no measured run time"
    heading = driver.find_element(By.CSS_SELECTOR, "main h1")
    above = driver.execute_script(
        "return arguments[0].compareDocumentPosition(arguments[1]) & Node.DOCUMENT_POSITION_FOLLOWING;",
        heading, box)
    assert above, f"{page}: the box must come after the chapter's title"
