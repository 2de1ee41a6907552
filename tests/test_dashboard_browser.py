"""The class dashboard (index.html) in headless Chromium (marked ``browser``).

The batch's results are made from sample_submissions/expected.yml (each sample graded to
its expected statuses), plus a refused zip, a grading that errored, a hostile name and
roster students with no submission. Checks: the table, the histogram and the pass-rate
chart are there; refused and errored submissions come first; clicking a header sorts;
no console errors; any request that is not file:// fails the test. The screenshot goes to
reports/screenshots/dashboard.png (git-ignored).
"""
from __future__ import annotations

from pathlib import Path

import pytest
from ruamel.yaml import YAML

from grader.report import gradebook
from grader.batch.discovery import Submission
from grader.batch.source import not_graded
from grader.rubric import DEFAULT_ORDER
from grader.results import CheckResult, GradeResult, Status
from grader.rubric import Rubric
from tests.conftest import SAMPLES

pytestmark = pytest.mark.browser

REPO_ROOT = Path(__file__).resolve().parent.parent
SCREENSHOT_DIR = REPO_ROOT / "reports" / "screenshots"
POINTS = {"compose-file": 1, "redis-image": 2, "redis-port": 2, "named-volume": 2, "stack-up": 2,
          "redis-ping": 1, "student-name": 2, "persistence": 2, "flask-counter": 3}
NAMES = ["Maria Garcia", "Jonas Becker", "Aiko Tanaka", "Tomás Oliveira", "Liam O'Brien", "Fatima Zahra",
         "Chen Wei", "Priya Nair", "Lucas Silva", "Emma Dubois", "Noah Müller", "Sofia Rossi", "Olusegun Ade",
         "Hannah Schmidt", "Mateo López", "Zoe Kim", "Ivan Petrov", "Amara Okafor", "Yusuf Demir"]
HOSTILE = '<img src=x onerror="window.__owned=1">'


def entries() -> list[dict]:
    expected = YAML(typ="safe").load((SAMPLES / "expected.yml").read_text())
    result = []
    for index, (sample, spec) in enumerate(sorted(expected.items())):
        checks = [CheckResult(check_id, check_id.replace("-", " ").capitalize(), Status(spec["checks"][check_id]),
                              POINTS[check_id], bonus=check_id == "flask-counter",
                              message=f"{check_id}: {spec['checks'][check_id]}", duration_s=0.2)
                  for check_id in DEFAULT_ORDER]
        entry = GradeResult(sample, checks, "2025-01-01T10:00:00+00:00", 11.0 + index % 5, "0.1.0").to_dict()
        name = NAMES[index % len(NAMES)]
        entry["student"] = {"identifier": f"s{index + 1:02d}", "github_username": sample.replace("_", "-"),
                            "github_id": str(1000 + index), "name": name}
        entry["error"] = None
        entry["batch"] = {"source": sample, "content_hash": "0" * 64, "grading_key": "k"}
        result.append(entry)
    result[4]["student"]["name"] = HOSTILE
    refused = not_graded(Submission("lab3-zipslip", Path("lab3-zipslip.zip"), "zip"), Rubric(), template=result[0],
                         refused="The archive holds a path that leaves its folder (../../etc/cron.d/x).")
    refused.update(student=None, batch={"source": "lab3-zipslip.zip"})
    errored = not_graded(Submission("lab3-dpatel", Path("lab3-dpatel"), "folder"), Rubric(), template=result[0],
                         error="the Docker engine stopped answering (docker info timed out)")
    errored.update(student={"identifier": "s40", "github_username": "dpatel", "github_id": "1040",
                            "name": "Dev Patel"}, batch={"source": "lab3-dpatel"})
    missing = [{"submission": None, "missing": True, "student": student, "score": None, "max_score": None,
                "passed": False, "checks": [], "policy": []}
               for student in ({"identifier": "s41", "github_username": "rgreen", "github_id": "", "name": "Rosa Green"},
                               {"identifier": "s42", "github_username": "", "github_id": "", "name": ""})]
    return result + [refused, errored] + missing


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict]]:
    out = tmp_path_factory.mktemp("dashboard")
    data = entries()
    gradebook.render_outputs(data, out, notes={"title": "Lab 3: Redis with Compose", "roster": "classroom_roster.csv"})
    return out, data




@pytest.fixture
def open_page(browser, dashboard):
    contexts = []

    def _open(viewport: dict):
        context = browser.new_context(viewport=viewport)
        contexts.append(context)
        page = context.new_page()
        problems = {"console": [], "page_errors": [], "network": []}
        page.on("console", lambda msg: problems["console"].append((msg.type, msg.text)))
        page.on("pageerror", lambda exc: problems["page_errors"].append(str(exc)))

        def _route(route):
            if route.request.url.startswith("file://"):
                route.continue_()
            else:
                problems["network"].append(route.request.url)
                route.abort()

        page.route("**/*", _route)
        page.goto((dashboard[0] / "index.html").as_uri(), wait_until="load")
        return page, problems

    yield _open
    for context in contexts:
        context.close()


def assert_clean(page, problems) -> None:
    errors = [text for kind, text in problems["console"] if kind in ("error", "warning")]
    assert not errors, f"console errors: {errors}"
    assert not problems["page_errors"], problems["page_errors"]
    assert not problems["network"], f"non-file requests: {problems['network']}"
    assert page.evaluate("window.__owned") is None, "markup from a student's name ran"


def column_values(page, column: int, attribute: str = "data-value") -> list[str]:
    return page.eval_on_selector_all(
        "#students tbody tr", f"rows => rows.map(r => r.cells[{column}].getAttribute('{attribute}'))")


def test_dashboard_table_charts_and_sorting(open_page, dashboard) -> None:
    out, data = dashboard
    page, problems = open_page({"width": 1366, "height": 900})
    submissions = [entry for entry in data if not entry.get("missing")]
    assert page.title().startswith("Lab 3: Redis with Compose")

    # The table: one row per submission, refused and errored first, one cell per check.
    rows = page.locator("#students tbody tr")
    assert rows.count() == len(submissions)
    states = page.eval_on_selector_all("#students tbody tr", "rows => rows.map(r => r.dataset.state)")
    assert states[:2] == ["refused", "error"] and not {"refused", "error"} & set(states[2:])
    assert page.locator("#students thead th.check-col").count() == len(DEFAULT_ORDER)
    assert page.locator("#students tbody tr").first.locator("td.cell").count() == len(DEFAULT_ORDER)
    perfect = page.locator('#students tr[data-submission="perfect"]')
    assert perfect.locator("td.score").inner_text().split() [:3] == ["17", "/", "14"]
    assert perfect.locator('td.cell[data-status="passed"]').count() == len(DEFAULT_ORDER)
    broken = page.locator('#students tr[data-submission="broken_yaml"] td.cell')
    assert broken.first.get_attribute("data-status") == "failed"
    assert broken.nth(1).get_attribute("data-status") == "skipped"
    assert page.get_by_text(HOSTILE).first.is_visible(), "a hostile name shows as text"
    assert page.locator("img").count() == 0

    # Each name links to that student's report, which exists.
    for href in page.eval_on_selector_all("#students tbody td.student a", "links => links.map(a => a.getAttribute('href'))"):
        assert (out / href).is_file(), href

    # The attention list and the missing students.
    assert page.locator("#attention li").count() == 2
    assert "leaves its folder" in page.locator("#attention").inner_text()
    assert page.locator("#missing li").count() == 2
    assert "Rosa Green" in page.locator("#missing").inner_text()
    assert page.locator('[data-stat="submissions"]').inner_text() == str(len(submissions))

    # The histogram: a bar per score, counts adding up to the class.
    histogram = page.locator("#histogram svg")
    assert histogram.is_visible()
    counts = page.eval_on_selector_all("#histogram g.bin", "bins => bins.map(b => +b.dataset.count)")
    assert sum(counts) == len(submissions)
    assert page.locator("#histogram rect.bar").count() == sum(1 for count in counts if count)
    # The pass-rate chart: a bar per check, with the right rate.
    rates = page.locator("#pass-rates g.rate-row")
    assert rates.count() == len(DEFAULT_ORDER) and page.locator("#pass-rates svg").is_visible()
    passed_image = sum(1 for entry in submissions for check in entry["checks"]
                       if check["id"] == "redis-image" and check["status"] == "passed")
    assert page.locator('#pass-rates g[data-check-id="redis-image"]').get_attribute("data-rate") == \
        str(round(100 * passed_image / len(submissions)))

    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    shot = SCREENSHOT_DIR / "dashboard.png"
    page.screenshot(path=str(shot), full_page=True)   # in its first order: refused and errored on top
    assert shot.stat().st_size > 10_000

    # Sorting: score ascending, then descending; by name; by a check column.
    score_header = page.locator('#students th[data-column="score"] button')
    score_header.click()
    scores = [float(value) for value in column_values(page, 2)]
    assert scores == sorted(scores)
    assert page.locator('#students th[data-column="score"]').get_attribute("aria-sort") == "ascending"
    score_header.click()
    scores = [float(value) for value in column_values(page, 2)]
    assert scores == sorted(scores, reverse=True) and scores[0] == 17
    page.locator('#students th[data-column="student"] button').click()
    assert page.eval_on_selector_all("#students tbody tr", """rows => rows.map(r => r.cells[0].dataset.value)
        .every((value, i, all) => i === 0 || all[i - 1].localeCompare(value) <= 0)""")
    page.locator('#students thead th[data-check-id="persistence"] button').click()
    ranks = [int(value) for value in column_values(page, 3 + DEFAULT_ORDER.index("persistence"))]
    assert ranks == sorted(ranks)

    assert_clean(page, problems)


def test_dashboard_on_a_phone(open_page) -> None:
    page, problems = open_page({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth") <= 391, "the page scrolls sideways"
    assert page.locator("#histogram svg").bounding_box()["width"] <= 390
    assert page.locator("#students").is_visible()
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT_DIR / "dashboard-phone.png"), full_page=True)
    assert_clean(page, problems)
