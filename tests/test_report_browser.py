"""Render reports and look at them in headless Chromium (marked ``browser``).

Checks that the page loads with no console errors and no network requests, that
every check card is visible with its status, that the score reads right, and that
nothing overflows horizontally on a 375px phone. Screenshots (phone + desktop) go
to ``reports/screenshots/`` in the repo root (git-ignored) for a human to look at.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from grader.report.html import write_html
from grader.results import CheckResult, GradeResult, Location, PolicyViolation, Status

pytestmark = pytest.mark.browser

REPO_ROOT = Path(__file__).resolve().parent.parent
SCREENSHOT_DIR = REPO_ROOT / "reports" / "screenshots"
PHONE = {"width": 375, "height": 812}
DESKTOP = {"width": 1280, "height": 900}

BUILD_LOG = "\n".join(
    [
        "#0 building with \"default\" instance using docker driver",
        "#5 [web 2/5] COPY requirements.txt /app/requirements.txt",
        "#6 [web 3/5] RUN pip install --no-cache-dir -r requirements.txt",
        "#6 1.234 ERROR: Could not find a version that satisfies the requirement flask==99.0 "
        "(from versions: 0.1, 0.2, 0.3, 0.3.1, 0.4, 0.5, 0.5.1, 0.5.2, 0.6, 0.6.1, 0.7, 0.7.1, 0.7.2, 0.8)",
        "#6 1.240 ERROR: No matching distribution found for flask==99.0",
        "failed to solve: process \"/bin/sh -c pip install --no-cache-dir -r requirements.txt\" "
        "did not complete successfully: exit code: 1",
    ]
)


def full_result() -> GradeResult:
    checks = [
        CheckResult("compose.file", "A Compose file exists", Status.PASSED, 1,
                    message="Found docker-compose.yml.", duration_s=0.004),
        CheckResult("compose.redis_service", "A Redis service is defined", Status.PASSED, 2,
                    message="Service `redis` runs a Redis image."),
        CheckResult(
            "compose.redis_image", "Redis uses the redis:alpine image", Status.FAILED, 1,
            message="The Redis service uses `redis:latest`, not the lightweight Alpine variant.",
            hint="Change the image line of the redis service to `image: redis:alpine`.",
            location=Location("docker-compose.yml", 4),
            expected="redis:alpine", found="redis:latest",
        ),
        CheckResult(
            "compose.redis_volume", "Redis data is kept in a named volume mounted at /data",
            Status.FAILED, 2,
            message="No volume is mounted at /data, so the data is lost when the container is recreated.",
            hint="Add `volumes: [redis_data:/data]` to the redis service and declare "
                 "`redis_data:` under the top-level `volumes:` key.",
            location=Location("docker-compose.yml", 3),
            expected="a named volume mounted at /data (e.g. redis_data:/data)",
            found="volumes: none; a bind mount ./data_directory_for_my_redis_instance_v2_final:/var/lib/redis",
        ),
        CheckResult(
            "live.boot", "The stack builds and starts", Status.ERROR, 3,
            message="`docker compose up --build` failed while building the web image.",
            hint="Run `docker compose up --build` yourself and fix the first error in the build log "
                 "(here: a Flask version that does not exist in requirements.txt).",
            location=Location("web/requirements.txt", 1),
            expected="every service running", found="web: build failed (exit code 1)",
            details=BUILD_LOG, duration_s=14.72,
        ),
        CheckResult("live.redis_ping", "Redis answers PING", Status.SKIPPED, 2,
                    message="Skipped because the stack did not start."),
        CheckResult("live.persistence", "Counter survives a restart", Status.SKIPPED, 2,
                    message="Skipped because the stack did not start."),
        CheckResult("live.web_counter", "Flask page counter increments", Status.PASSED, 2, bonus=True,
                    message="GET / returned 1, then 2.", duration_s=0.38),
        CheckResult("compose.healthcheck", "Redis has a healthcheck", Status.FAILED, 1, bonus=True,
                    message="No healthcheck on the redis service.",
                    hint="Add a `healthcheck:` that runs `redis-cli ping`."),
    ]
    return GradeResult(
        submission="alice-nguyen <chapter3>",
        checks=checks,
        started_at="2024-05-01T10:00:00+00:00",
        duration_s=37.25,
        grader_version="0.1.0",
        mode="full",
        compose_file="docker-compose.yml",
        services={"redis": "redis", "web": "web"},
    )


def refused_result() -> GradeResult:
    checks = [
        CheckResult("compose.file", "A Compose file exists", Status.PASSED, 1, message="Found compose.yaml."),
        CheckResult("compose.redis_service", "A Redis service is defined", Status.PASSED, 2,
                    message="Service `cache` runs a Redis image."),
        CheckResult("live.boot", "The stack builds and starts", Status.SKIPPED, 3,
                    message="Not started: the submission was refused by the safety policy."),
    ]
    return GradeResult(
        submission="bob-with-a-rather-long-submission-directory-name-2024-spring-section-b",
        checks=checks,
        started_at="2024-05-01T10:05:00+00:00",
        duration_s=0.4,
        grader_version="0.1.0",
        mode="static",
        notice="No Docker engine found: only static checks ran. Live checks were skipped; "
               "your instructor may re-run the grader with Docker.",
        compose_file="compose.yaml",
        services={"redis": "cache", "web": None},
        policy=[
            PolicyViolation("privileged", "Containers may not run with `privileged: true`.",
                            Location("compose.yaml", 8)),
            PolicyViolation("host-mount", "Bind-mounting /var/run/docker.sock is not allowed.",
                            Location("compose.yaml", 12)),
        ],
    )




@pytest.fixture
def open_report(browser, tmp_path):
    """Write a report, open it via file:// at a viewport; collect problems as we go."""
    contexts = []

    def _open(result: GradeResult, viewport: dict, name: str):
        path = write_html(result.to_dict(), tmp_path / f"{name}.html")
        context = browser.new_context(viewport=viewport, java_script_enabled=True)
        contexts.append(context)
        page = context.new_page()
        problems = {"console": [], "page_errors": [], "network": []}
        page.on("console", lambda msg: problems["console"].append((msg.type, msg.text)))
        page.on("pageerror", lambda exc: problems["page_errors"].append(str(exc)))

        def _route(route):
            url = route.request.url
            if url.startswith("file://"):
                route.continue_()
            else:
                problems["network"].append(url)
                route.abort()

        page.route("**/*", _route)
        page.on("request", lambda req: None if req.url.startswith(("file://", "data:", "about:"))
                else problems["network"].append(req.url))
        page.goto(path.as_uri(), wait_until="load")
        return page, problems

    yield _open
    for context in contexts:
        context.close()


def assert_clean(problems):
    errors = [text for kind, text in problems["console"] if kind == "error"]
    assert not errors, f"console errors: {errors}"
    assert not problems["page_errors"], f"page errors: {problems['page_errors']}"
    assert not problems["network"], f"non-file requests: {problems['network']}"


def assert_cards(page, result: GradeResult):
    cards = page.locator("[data-check-id]")
    assert cards.count() == len(result.checks)
    for index, check in enumerate(result.checks):
        card = cards.nth(index)
        assert card.get_attribute("data-check-id") == check.id
        assert card.get_attribute("data-status") == check.status.value
        card.scroll_into_view_if_needed()
        assert card.is_visible()
        badge = card.locator("[data-role=status]")
        assert badge.is_visible()
        assert check.status.value in badge.inner_text().lower()
        assert card.get_by_text(check.title, exact=True).is_visible()


def assert_no_horizontal_overflow(page, width: int):
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width + 1, f"page is {scroll_width}px wide at a {width}px viewport"
    # Every element that is not itself a scroll container must fit the viewport.
    offenders = page.evaluate(
        """(width) => [...document.querySelectorAll('body *')]
            .filter(el => el.getBoundingClientRect().right > width + 1
                    && !el.closest('pre'))
            .map(el => el.tagName + '.' + el.className)""",
        width,
    )
    assert not offenders, offenders


def screenshot(page, name: str) -> Path:
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOT_DIR / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 0
    return path


@pytest.mark.parametrize("viewport_name,viewport", [("phone", PHONE), ("desktop", DESKTOP)])
def test_full_report(open_report, viewport_name, viewport):
    result = full_result()
    page, problems = open_report(result, viewport, f"full-{viewport_name}")
    assert page.title().startswith("alice-nguyen <chapter3>")
    assert page.locator("h1").inner_text() == "alice-nguyen <chapter3>"
    data = result.to_dict()
    assert data["score"] == 5 and data["max_score"] == 13
    assert page.locator("#score").inner_text().strip() == "5 / 13"
    assert page.locator("#bonus-note").inner_text() == "Includes 2 bonus points"
    assert "Not passed" in page.locator("#verdict").inner_text()
    assert_cards(page, result)

    # Failure rows are shown for failed/error checks.
    image = page.locator('[data-check-id="compose.redis_image"]')
    for text in ("Expected", "Found", "Where", "How to fix", "docker-compose.yml:4", "redis:latest"):
        assert image.get_by_text(text, exact=False).first.is_visible(), text

    # Build logs are collapsed until asked for.
    boot = page.locator('[data-check-id="live.boot"]')
    log = boot.locator("details pre")
    assert not log.is_visible()
    boot.locator("summary").click()
    assert log.is_visible()
    assert "No matching distribution found" in log.inner_text()

    if viewport_name == "phone":
        assert_no_horizontal_overflow(page, PHONE["width"])
    screenshot(page, f"report-full-{viewport_name}")
    assert_clean(problems)


@pytest.mark.parametrize("viewport_name,viewport", [("phone", PHONE), ("desktop", DESKTOP)])
def test_refused_static_report(open_report, viewport_name, viewport):
    result = refused_result()
    page, problems = open_report(result, viewport, f"refused-{viewport_name}")
    assert page.locator("#score").inner_text().strip() == "3 / 6"
    assert page.locator("#bonus-note").count() == 0
    policy = page.locator("#policy")
    assert policy.is_visible()
    assert "Refused by safety policy" in policy.inner_text()
    assert "compose.yaml:8" in policy.inner_text() and "privileged" in policy.inner_text()
    assert "No Docker engine found" in page.locator("#notice").inner_text()
    assert page.locator("#service-redis").inner_text() == "cache"
    assert_cards(page, result)
    if viewport_name == "phone":
        assert_no_horizontal_overflow(page, PHONE["width"])
    screenshot(page, f"report-refused-{viewport_name}")
    assert_clean(problems)


def test_badges_are_distinct_colours(open_report):
    result = full_result()
    page, problems = open_report(result, DESKTOP, "colours")
    colours = {}
    for status in ("passed", "failed", "skipped", "error"):
        badge = page.locator(f'[data-status="{status}"] [data-role=status]').first
        colours[status] = badge.evaluate("el => getComputedStyle(el).backgroundColor")
    assert len(set(colours.values())) == 4, colours
    assert_clean(problems)


@pytest.mark.docker
@pytest.mark.parametrize("sample", ["wrong_port", "broken_yaml"])
def test_generated_report_reads_well(open_report, docker_engine, sample):
    """A report the grader really wrote, for a real grading: every check, the score, no errors."""
    import grader

    result = grader.grade(REPO_ROOT / "sample_submissions" / sample)
    assert result.mode == "full"
    page, problems = open_report(result, PHONE, f"generated-{sample}")
    assert_clean(problems)
    assert_cards(page, result)
    assert page.locator("#score").inner_text().replace(" ", "").startswith(f"{result.score:g}/{result.max_score:g}")
    failed = [check for check in result.checks if check.status is Status.FAILED]
    for check in failed:
        card = page.locator(f"[data-check-id='{check.id}']")
        fragment = check.hint.splitlines()[0].split("`")[0].strip()  # `code` renders as <code>
        assert card.get_by_text(fragment, exact=False).first.is_visible()
    assert_no_horizontal_overflow(page, PHONE["width"])
    screenshot(page, f"generated-{sample}-phone")
