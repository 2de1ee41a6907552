"""The pure parts of the grader's own evidence (issue 14): pairing redis-cli's replies, telling a
missing redis-cli, a page's text, the image budget, and the report's escaping of all of it."""
from __future__ import annotations

import re

from grader.evidence.browser import PageShot
from grader.evidence_record import CliExchange, Evidence, PageEvidence, PictureData, RedisCliEvidence, ServicesEvidence
from grader.grading.evidence_capture import Visit, page_text, pages_within
from grader.grading.page_shots import html_of
from grader.grading.stack_evidence import _not_started, _paired
from grader.report.evidence_view import safe_image_uri
from grader.report.html import render_html
from grader.results import GradeResult

PNG_URI = "data:image/png;base64,iVBORw0KGgo="
COMMANDS = ("PING", "GET student_name")


def test_each_command_gets_its_reply_line() -> None:
    assert _paired(COMMANDS, 'PONG\n"Maria Garcia"\n', "") == (
        CliExchange("PING", ("PONG",)), CliExchange("GET student_name", ('"Maria Garcia"',)))
    assert _paired(COMMANDS, "PONG\n(nil)\n", "")[1].reply == ("(nil)",)


def test_output_that_does_not_pair_is_shown_under_the_first_command() -> None:
    refused = "Could not connect to Redis at 127.0.0.1:6379: Connection refused"
    exchanges = _paired(COMMANDS, "", refused + "\n")
    assert exchanges == (CliExchange("PING", (refused,)), CliExchange("GET student_name"))


def test_terminal_escapes_in_replies_are_dropped() -> None:
    exchanges = _paired(COMMANDS, "PONG\n\x1b[31m\"red\"\x1b[0m\n", "")
    assert exchanges[1].reply == ('"red"',)


def test_a_missing_redis_cli_is_told_from_other_failures() -> None:
    missing = ('OCI runtime exec failed: exec failed: unable to start container process: exec: "redis-cli": '
               "executable file not found in $PATH: unknown")
    assert "has no redis-cli" in (_not_started(126, missing, "cache") or "")
    assert "`cache`" in (_not_started(126, missing, "cache") or "")
    assert "is not running" in (_not_started(1, 'service "cache" is not running', "cache") or "")
    assert _not_started(1, "Could not connect to Redis at 127.0.0.1:6379: Connection refused", "cache") is None
    assert _not_started(0, "PONG", "cache") is None


def test_a_page_text_is_its_words_without_markup() -> None:
    body = "<html><head><style>h1{color:red}</style><script>var x = 1;</script></head>" \
           "<body><h1>Visited &amp; counted</h1>\n<p>7   times</p></body></html>"
    assert page_text(body).split() == ["Visited", "&", "counted", "7", "times"]
    assert "color" not in page_text(body) and "var x" not in page_text(body)


def test_plain_text_answers_are_rendered_as_text() -> None:
    assert html_of("<b>hi</b>", "text/html; charset=utf-8") == "<b>hi</b>"
    assert html_of("<b>hi</b>", "") == "<b>hi</b>"
    shown = html_of("<b>hi</b>", "text/plain")
    assert "<b>" not in shown and "&lt;b&gt;hi&lt;/b&gt;" in shown


def test_screenshots_past_the_budget_keep_only_their_text() -> None:
    visits = [Visit(f"visit {n}", "http://web/", 200, f"visited {n} times") for n in range(1, 5)]
    png = b"\x89PNG" + b"x" * 3000
    shots = {index: PageShot("about:blank", png, 480, 300, f"rendered {index}") for index in range(4)}
    size = len(shots[0].data_uri or "")
    pages, over = pages_within(visits, shots, budget=2 * size + 10)
    assert over == 2
    assert [page.image is not None for page in pages] == [True, True, False, False]
    assert [page.text for page in pages] == ["rendered 0", "rendered 1", "rendered 2", "rendered 3"]
    pages, over = pages_within(visits, {}, budget=10**9)
    assert over == 0 and [page.text for page in pages] == [visit.text for visit in visits]


def test_only_base64_image_data_uris_reach_src() -> None:
    assert safe_image_uri(PictureData(PNG_URI, 1, 1)) == PNG_URI
    for uri in ('data:image/png;base64,AAAA" onerror="alert(1)', "data:image/svg+xml;base64,PHN2Zz4=",
                "data:image/png,<svg>", "javascript:alert(1)"):
        assert safe_image_uri(PictureData(uri, 1, 1)) is None, uri


def hostile_evidence() -> Evidence:
    script = "<script>alert(1)</script>"
    return Evidence(
        redis_cli=RedisCliEvidence("redis", "docker compose exec redis redis-cli",
                                   (CliExchange("GET student_name", (f'"{script}"',)),)),
        pages=[PageEvidence(f"visit {script}", f"http://web/{script}", 200, f"text {script}",
                            PictureData('data:image/png;base64,AAAA" onerror="alert(1)', 10, 10)),
               PageEvidence("visit 2", "http://web/", 200, "counted", PictureData(PNG_URI, 480, 300))],
        services=ServicesEvidence((f"SERVICE {script}",), {f"web{script}": (f"log {script}",)}),
        skipped=[f"skipped: {script}"])


def result_with(evidence: Evidence) -> GradeResult:
    return GradeResult("s", [], "2026-12-01T12:00:00+00:00", 1.0, "test", evidence=evidence)


def test_the_evidence_section_escapes_everything_the_stack_wrote() -> None:
    html = render_html(result_with(hostile_evidence()))
    section = html[html.index('id="evidence-live"'):]
    assert "<script" not in section and "onerror" not in section
    assert section.count("&lt;script&gt;") >= 7
    assert re.findall(r'<img src="([^"]*)"', section) == [PNG_URI]  # the forged URI is shown as text, not loaded
    assert 'text &lt;script&gt;' in section  # the page without a safe image shows its text


def test_the_evidence_section_survives_a_round_trip_through_json() -> None:
    result = result_with(hostile_evidence())
    assert render_html(result.to_dict()) == render_html(result)


def test_no_evidence_no_section() -> None:
    assert 'id="evidence-live"' not in render_html(result_with(Evidence()))


def test_a_page_text_of_hostile_markup() -> None:
    shown = page_text("<script" * 20000)  # no tag ever closes: it is text, as a browser shows it
    assert shown.startswith("<script<script") and len(shown) <= 300
    assert page_text("<script>" * 20000) == ""
    assert page_text("<p>a<b") == "a<b"
    assert page_text("<style>p{}</style >shown<SCRIPT src=x>hidden</script>") == "shown"


def test_no_evidence_reaches_the_gradings_of_check_and_batch(tmp_path, monkeypatch) -> None:
    """The flag turns the rubric's limits.evidence off: the field that travels to every grading."""
    from click.testing import CliRunner

    import grader.batch.run
    import grader.cli.batch
    import grader.grading.engine
    from grader.cli.main import main

    seen: list[bool] = []

    def fake_grade(path, **kwargs):  # records what the grading was asked, grades nothing
        seen.append(kwargs["rubric"].limits.evidence)
        raise KeyboardInterrupt

    def fake_batch(folder, out, **kwargs):
        seen.append(kwargs["rubric"].limits.evidence)
        raise KeyboardInterrupt

    monkeypatch.setattr(grader.grading.engine, "grade", fake_grade)
    monkeypatch.setattr(grader.cli.batch, "grade_batch", fake_batch)
    runner = CliRunner()
    for command in (["check", str(tmp_path)], ["batch", str(tmp_path)]):
        runner.invoke(main, [*command, "--no-evidence"])
        runner.invoke(main, command)
    assert seen == [False, True, False, True]
