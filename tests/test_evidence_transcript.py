"""The redis-cli transcript: terminal-style HTML, escaped and cleaned whatever the content."""
from __future__ import annotations

import json
from html.parser import HTMLParser

from grader.evidence.transcript import MAX_LINE_CHARS, MAX_LINES, Exchange, Transcript, render_html


class Structure(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attributes: set[str] = set()
        self.text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attributes |= {name for name, _ in attrs}

    def handle_data(self, data: str) -> None:
        self.text += data


def parsed(transcript: Transcript) -> Structure:
    structure = Structure()
    structure.feed(str(render_html(transcript)))
    return structure


EXCHANGE = Transcript(
    exchanges=(Exchange("PING", ("PONG",)), Exchange("GET student_name", ('"Maria Garcia"',)),
               Exchange("GET nothing", ("(nil)",)), Exchange("INCR page_hits", ("(integer) 4",)),
               Exchange("FOO", ("(error) ERR unknown command 'FOO'",))),
    title="docker compose exec redis redis-cli")


def test_the_assignments_exchange_reads_like_a_terminal() -> None:
    html = str(render_html(EXCHANGE))
    structure = parsed(EXCHANGE)
    assert structure.text.splitlines()[:5] == [
        "$ docker compose exec redis redis-cli", "127.0.0.1:6379> PING", "PONG",
        "127.0.0.1:6379> GET student_name", '"Maria Garcia"']
    for css_class in ("t-command", "t-string", "t-nil", "t-integer", "t-error", "t-prompt"):
        assert f'class="{css_class}"' in html
    assert set(structure.tags) == {"pre", "span"}


def test_hostile_content_is_escaped_and_cleaned() -> None:
    hostile = Transcript(
        exchanges=(Exchange("GET <script>alert(1)</script>", ('"\x1b[31mred\x1b[0m\x07 & <img src=x onerror=y>"',
                                                             "x" * 1000)),),
        prompt='127.0.0.1:6379"><b', note="<iframe src=//evil>", title="\x1b]0;title\x07sh")
    html = str(render_html(hostile))
    structure = parsed(hostile)
    assert set(structure.tags) == {"pre", "span", "p"} and structure.attributes == {"class"}
    for tag in ("<script", "<img", "<iframe", "<b"):
        assert tag not in html
    assert "\x1b" not in html and "\x07" not in html
    assert '"red & <img src=x onerror=y>"' in structure.text
    assert "x" * (MAX_LINE_CHARS - 1) + "…" in structure.text and "x" * MAX_LINE_CHARS not in structure.text


def test_long_transcripts_are_capped() -> None:
    many = Transcript(exchanges=tuple(Exchange(f"INCR n{i}", ("(integer) 1",)) for i in range(100)))
    lines = many.lines()
    assert len(lines) == MAX_LINES
    assert lines[-1] == ("title", f"… {200 - MAX_LINES + 1} more lines not shown")


def test_no_redis_cli_note_is_shown() -> None:
    transcript = Transcript(note="the redis image has no redis-cli: asked the server over the network instead")
    assert "no redis-cli" in parsed(transcript).text


def test_transcript_round_trips_through_its_dict() -> None:
    assert Transcript.from_dict(json.loads(json.dumps(EXCHANGE.to_dict()))) == EXCHANGE
