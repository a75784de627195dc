"""The report page in a real headless browser: Debian's chromium driven by playwright.

It loads from file:// with every request outside file: and data: refused and recorded, and must
show no console error and no failed request; every chart and thumbnail must decode and not be
blank (drawn on a canvas, its pixels are not all one colour); the per-video table must sort on
a click. Without chromium the test is skipped, except in CI (``CI`` set), where it fails.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import vpskit
from reportpage import make_split

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]

# Every <img>: decoded size and how many distinct RGBA values its pixels hold (up to 3).
IMAGES_JS = """async () => {
  const out = [];
  for (const img of Array.from(document.images)) {
    let error = null;
    try { await img.decode(); } catch (e) { error = String(e); }
    const item = {id: img.id, cls: img.className, w: img.naturalWidth, h: img.naturalHeight, error: error,
                  colours: 0};
    if (img.naturalWidth > 0 && img.naturalHeight > 0) {
      const c = document.createElement("canvas");
      c.width = img.naturalWidth; c.height = img.naturalHeight;
      const ctx = c.getContext("2d");
      ctx.fillStyle = "#ffffff"; ctx.fillRect(0, 0, c.width, c.height);
      ctx.drawImage(img, 0, 0);
      const d = ctx.getImageData(0, 0, c.width, c.height).data;
      const seen = new Set();
      for (let i = 0; i < d.length && seen.size < 3; i += 4) {
        seen.add(((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]) + "," + d[i + 3]);
      }
      item.colours = seen.size;
    }
    out.push(item);
  }
  return out;
}"""


def _chromium():
    """playwright's sync API, or skip (fail in CI) where it or Debian's chromium is missing."""
    why = None
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        why = "playwright is not installed"
    if why is None and not CHROMIUM.is_file():
        why = f"{CHROMIUM} is missing (apt-get install chromium)"
    if why is not None:
        if os.environ.get("CI"):
            pytest.fail(f"the report's browser test must run in CI: {why}")
        pytest.skip(why)
    return sync_playwright


@pytest.fixture(scope="module")
def page_file(tmp_path_factory) -> tuple[Path, dict]:
    """A page on two predictions of 5 videos, with thumbnails of the 2 worst; the first's results."""
    base = tmp_path_factory.mktemp("browser")
    root, noisy, better = make_split(base, val=5, size=(128, 64))
    out = vpskit.report([noisy, better], root=root, out=base / "report.html", worst=2, reps=100, jobs=1,
                        progress=False)
    return out, vpskit.evaluate(noisy, root=root, jobs=1)


def test_the_page_in_chromium(page_file):
    path, results = page_file
    sync_playwright = _chromium()
    console, failed, outside = [], [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900})

            def guard(route):
                url = route.request.url
                if url.startswith(("file:", "data:")):
                    route.continue_()
                else:
                    outside.append(url)
                    route.abort()

            context.route("**/*", guard)
            page = context.new_page()
            page.on("console", lambda m: console.append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None)
            page.on("pageerror", lambda e: console.append(f"pageerror: {e}"))
            page.on("requestfailed", lambda r: failed.append(f"{r.url[:80]}: {r.failure}"))
            requests = []
            page.on("request", lambda r: requests.append(r.url))
            page.goto(path.as_uri(), wait_until="load")

            images = page.evaluate(IMAGES_JS)
            charts = [i for i in images if i["cls"] == "chart"]
            thumbs = [i for i in images if i["cls"] == "thumb"]
            assert len(charts) == 1 and len(thumbs) == 2 * 2 * 6  # 2 predictions x 2 videos x 6 frames
            assert len(images) == len(charts) + len(thumbs)
            for img in images:
                assert img["error"] is None and img["w"] > 0 and img["h"] > 0, img
                assert img["colours"] >= 3, img  # not blank
            for img in thumbs:
                assert (img["w"], img["h"]) == (3 * 128, 64)

            # the per-video table sorts on a click, rows kept whole, and back
            table = page.locator("#videos-0")
            headers = table.locator("thead tr").last.locator("th")
            names = headers.all_inner_texts()
            vpq_col, video_col = names.index("VPQ"), names.index("video")

            def column(i: int) -> list[str]:
                return table.locator(f"tbody tr td:nth-child({i + 1})").evaluate_all(
                    "cells => cells.map(c => c.getAttribute('data-v'))")

            before = column(video_col)  # a video cell sorts by the video's number
            assert before == [str(int(v)) for v in sorted(results["vpq"]["per_video"])] and len(before) == 5
            want = {str(int(v)): r["final"]["all"] for v, r in results["vpq"]["per_video"].items()}
            headers.nth(vpq_col).click()
            up = [float(v) for v in column(vpq_col)]
            assert up == sorted(want.values()) and up != [want[v] for v in before]  # the order changed
            assert [want[v] for v in column(video_col)] == up  # each row moved whole
            assert headers.nth(vpq_col).get_attribute("aria-sort") == "ascending"
            headers.nth(vpq_col).click()
            assert [float(v) for v in column(vpq_col)] == sorted(want.values(), reverse=True)
            headers.nth(video_col).click()
            assert column(video_col) == before

            # a text column sorts alphabetically
            classes = page.locator("#classes-0")
            name_col = classes.locator("thead tr").last.locator("th").all_inner_texts().index("category")
            classes.locator("thead tr").last.locator("th").nth(name_col).click()
            shown = classes.locator(f"tbody tr td:nth-child({name_col + 1})").all_inner_texts()
            assert shown == sorted(shown) and len(shown) == 19

            page.screenshot(path=str(path.with_suffix(".png")), full_page=True)
        finally:
            browser.close()
    assert console == [] and failed == [] and outside == []
    assert all(u.startswith(("file:", "data:")) for u in requests) and requests[0] == path.as_uri()
