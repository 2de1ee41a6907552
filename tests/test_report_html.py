"""Unit tests for the HTML report (no browser): content, escaping, self-containment."""
from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from grader.report import render_html as exported_render_html
from grader.report.html import render_html, write_html
from grader.results import CheckResult, GradeResult, Location, PolicyViolation, Status

XSS = "<script>alert(1)</script>"


def make_result(**overrides) -> GradeResult:
    checks = [
        CheckResult(
            id="compose.file",
            title="A Compose file exists",
            status=Status.PASSED,
            max_points=1,
            message="Found docker-compose.yml.",
        ),
        CheckResult(
            id="compose.redis_image",
            title="Redis uses the redis:alpine image",
            status=Status.FAILED,
            max_points=2,
            message="The redis service uses a different image.",
            hint="Set `image: redis:alpine` on the redis service.",
            location=Location("docker-compose.yml", 4),
            expected="redis:alpine",
            found="redis:latest",
        ),
        CheckResult(
            id="live.boot",
            title="The stack starts",
            status=Status.ERROR,
            max_points=3,
            message="docker compose up failed.",
            hint="Run `docker compose up --build` locally and read the first error.",
            location=Location("web/Dockerfile", 7),
            expected="all services running",
            found="web exited with code 1",
            details="Step 7/9 : RUN pip install -r requirements.txt\nERROR: No matching distribution found for flask==99\n",
            duration_s=12.4,
        ),
        CheckResult(
            id="live.persistence",
            title="Data survives a restart",
            status=Status.SKIPPED,
            max_points=2,
            message="Skipped: the stack did not start.",
        ),
        CheckResult(
            id="live.web_counter",
            title="Flask counter increments (bonus)",
            status=Status.PASSED,
            max_points=2,
            bonus=True,
            message="Counter went 1 -> 2.",
        ),
    ]
    fields = dict(
        submission="alice-chapter3",
        checks=checks,
        started_at="2024-05-01T10:00:00+00:00",
        duration_s=42.5,
        grader_version="0.1.0",
        mode="full",
        notice=None,
        compose_file="docker-compose.yml",
        services={"redis": "redis", "web": "web"},
        policy=[],
    )
    fields.update(overrides)
    return GradeResult(**fields)


class _Collector(HTMLParser):
    """Collects tags/attributes so tests can reason about real markup, not substrings."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def parse(html: str) -> _Collector:
    collector = _Collector()
    collector.feed(html)
    collector.close()
    return collector


def card(html: str, check_id: str) -> str:
    """The markup of one check card."""
    match = re.search(
        r'<article[^>]*data-check-id="%s"[^>]*>(.*?)</article>' % re.escape(check_id), html, re.S
    )
    assert match, f"no card for {check_id}"
    return match.group(0)


def test_package_exports_render_html():
    assert exported_render_html is render_html


def test_basic_structure_and_every_check_present():
    result = make_result()
    html = render_html(result.to_dict())
    assert html.lstrip().lower().startswith("<!doctype html>")
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    assert "<title>alice-chapter3" in html
    parsed = parse(html)
    cards = [attrs for tag, attrs in parsed.tags if "data-check-id" in attrs]
    assert [c["data-check-id"] for c in cards] == [c.id for c in result.checks]
    assert [c["data-status"] for c in cards] == [c.status.value for c in result.checks]
    for check in result.checks:
        assert check.title in html


def test_score_and_bonus_note():
    result = make_result()
    data = result.to_dict()
    assert data["score"] == 3 and data["max_score"] == 8
    html = render_html(data)
    match = re.search(r'<p[^>]*id="score"[^>]*>(.*?)</p>', html, re.S)
    assert match
    assert re.sub(r"<[^>]+>", "", match.group(1)).strip() == "3 / 8"
    assert "Includes 2 bonus points" in html
    assert 'id="verdict"' in html and "Not passed" in html


def test_no_bonus_note_without_bonus_points():
    result = make_result()
    result.checks[-1].status = Status.FAILED
    html = render_html(result.to_dict())
    assert 'id="bonus-note"' not in html


def test_fractional_points_are_formatted():
    result = make_result(
        checks=[CheckResult(id="a", title="A", status=Status.PASSED, max_points=1.5)]
    )
    html = render_html(result.to_dict())
    assert re.search(r'id="score"[^>]*>1\.5<span class="max"> / 1\.5<', html)


def test_passed_banner():
    checks = [
        CheckResult(id="a", title="A", status=Status.PASSED, max_points=1),
        CheckResult(id="b", title="B bonus", status=Status.FAILED, max_points=1, bonus=True),
    ]
    html = render_html(make_result(checks=checks).to_dict())
    assert 'data-passed="true"' in html
    assert "Every required check passed." in html
    # A failed bonus check still gets its badge and is marked as bonus.
    b = card(html, "b")
    assert "Failed" in b and "Bonus" in b and "bonus pt" in b


def test_failure_rows_expected_found_where_hint():
    html = render_html(make_result().to_dict())
    failed = card(html, "compose.redis_image")
    assert "Expected" in failed and "redis:alpine" in failed
    assert "Found" in failed and "redis:latest" in failed
    assert "Where" in failed and "docker-compose.yml:4" in failed
    assert "How to fix" in failed
    assert "Set <code>image: redis:alpine</code> on the redis service." in failed
    errored = card(html, "live.boot")
    assert "web/Dockerfile:7" in errored and "How to fix" in errored
    assert "<details>" in errored and "No matching distribution found for flask==99" in errored
    passed = card(html, "compose.file")
    assert "Expected" not in passed and "How to fix" not in passed


def test_status_badges_have_text_not_only_colour():
    html = render_html(make_result().to_dict())
    for check_id, label in [
        ("compose.file", "Passed"),
        ("compose.redis_image", "Failed"),
        ("live.boot", "Error"),
        ("live.persistence", "Skipped"),
    ]:
        assert re.search(r'class="badge [a-z]+" data-role="status">.*?%s</span>' % label, card(html, check_id))


def test_mode_notice_and_services():
    notice = "No Docker engine found: only static checks ran. Live checks were skipped."
    html = render_html(
        make_result(mode="static", notice=notice, services={"redis": "cache", "web": None}).to_dict()
    )
    assert 'data-mode="static"' in html
    assert notice in html
    assert re.search(r'id="service-redis"><code>cache</code>', html)
    assert re.search(r'id="service-web">.*none identified', html)


def test_policy_section():
    policy = [
        PolicyViolation("privileged", "Containers may not run privileged.", Location("docker-compose.yml", 9)),
        PolicyViolation("host-network", "network_mode: host is not allowed."),
    ]
    html = render_html(make_result(policy=policy).to_dict())
    assert "Refused by safety policy" in html
    assert "privileged" in html and "Containers may not run privileged." in html
    assert "docker-compose.yml:9" in html
    assert "network_mode: host is not allowed." in html
    assert "refused by the safety policy" in html
    assert "Refused by safety policy" not in render_html(make_result().to_dict())


def test_student_strings_are_escaped():
    checks = [
        CheckResult(
            id=f"x.{XSS}",
            title=f"title {XSS}",
            status=Status.FAILED,
            max_points=1,
            message=f"message {XSS}",
            hint=f"hint {XSS}",
            location=Location(f"evil{XSS}.yml", 3),
            expected=f'expected "quoted" {XSS}',
            found=f"found {XSS}",
            details=f"details {XSS}",
        )
    ]
    policy = [PolicyViolation(f"rule{XSS}", f"msg {XSS}", Location(f"p{XSS}", 1))]
    result = make_result(
        submission=f"sub {XSS}",
        checks=checks,
        notice=f"notice {XSS}",
        compose_file=f"c{XSS}.yml",
        services={"redis": f"r{XSS}", "web": 'w" onmouseover="alert(1)'},
        policy=policy,
        grader_version=f"v{XSS}",
        started_at=f"t{XSS}",
    )
    html = render_html(result.to_dict())
    assert "<script" not in html.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    parsed = parse(html)
    assert not [tag for tag, _ in parsed.tags if tag == "script"]
    for _, attrs in parsed.tags:
        assert not any(name.startswith("on") for name in attrs), attrs
    # The escaped text still reads correctly once decoded.
    assert f"message {XSS}" in "".join(parsed.text)
    # Attribute values stay intact and quoted.
    ids = [attrs["data-check-id"] for tag, attrs in parsed.tags if "data-check-id" in attrs]
    assert ids == [f"x.{XSS}"]


def test_backticks_become_code_but_stay_escaped():
    checks = [
        CheckResult(
            id="a",
            title="A",
            status=Status.FAILED,
            max_points=1,
            message=f"Use `{XSS}` and `ports:` please",
            hint="Unbalanced ` backtick & <b>",
        )
    ]
    html = render_html(make_result(checks=checks).to_dict())
    assert "<code>&lt;script&gt;alert(1)&lt;/script&gt;</code> and <code>ports:</code> please" in html
    assert "Unbalanced ` backtick &amp; &lt;b&gt;" in html
    assert "<script" not in html.lower()


def test_autoescape_is_on_for_j2_templates():
    from grader.report.html import TEMPLATE_NAME, _view
    from grader.report.page import environment as _environment

    env = _environment()
    assert env.autoescape is True or env.autoescape(TEMPLATE_NAME)
    assert env.from_string("{{ x }}").render(x="<b>") == "&lt;b&gt;"
    rendered = env.get_template(TEMPLATE_NAME).render(**_view({"submission": "<b>bold</b>"}))
    assert "&lt;b&gt;bold&lt;/b&gt;" in rendered and "<b>bold" not in rendered


def test_self_contained_no_network_references():
    html = render_html(make_result().to_dict())
    parsed = parse(html)
    for tag, attrs in parsed.tags:
        for name in ("src", "href", "srcset", "action", "data", "poster"):
            value = (attrs.get(name) or "").strip().lower()
            assert not value.startswith(("http:", "https:", "//")), (tag, name, value)
        assert tag not in {"script", "link", "img", "iframe", "object", "embed"}, tag
    lowered = html.lower()
    assert "http://" not in lowered and "https://" not in lowered
    assert "@import" not in lowered and "url(" not in lowered
    assert "<style>" in html  # CSS is inline


def test_handles_minimal_dict_and_empty_checks():
    html = render_html(
        {
            "submission": "bob",
            "score": 0,
            "max_score": 0,
            "passed": True,
            "checks": [],
            "grader_version": "0.1.0",
            "started_at": "2024-05-01T10:00:00+00:00",
            "duration_s": 0.2,
        }
    )
    assert "No checks ran." in html
    assert "bob" in html


def test_write_html(tmp_path: Path):
    result = make_result().to_dict()
    target = tmp_path / "nested" / "alice.html"
    returned = write_html(result, target)
    assert returned == target
    assert target.read_text(encoding="utf-8") == render_html(result)


@pytest.mark.parametrize("mode", ["full", "static", "live"])
def test_modes_render(mode):
    html = render_html(make_result(mode=mode).to_dict())
    assert f'data-mode="{mode}"' in html


def test_ignored_keys_and_policy_fixes_are_shown() -> None:
    from grader.report.html import render_html
    result = {"submission": "s", "score": 0, "max_score": 14, "checks": [],
              "policy": [{"rule": "privileged", "message": "service 'redis' sets privileged: true",
                          "location": {"file": "compose.yaml", "line": 4}, "hint": "Remove `privileged: true`."}],
              "ignored": [{"key": "ulimits", "subject": "service 'redis'", "reason": "the grader runs every container "
                           "under its own limits", "location": {"file": "compose.yaml", "line": 9}}]}
    page = render_html(result)
    assert "Ignored by the grader" in page and "<code>ulimits</code>" in page and "compose.yaml:9" in page
    assert "Fix: Remove <code>privileged: true</code>" in page or "Fix: Remove `privileged: true`" in page
