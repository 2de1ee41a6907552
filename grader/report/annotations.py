"""The student's Compose file with the grader's findings beside their lines, like a code review.

Findings are the failed checks with a location, the safety-policy refusals and the keys the grader
ignored. A finding is placed on a line only when the result holds the text of the file it names
(``GradeResult.sources``) and the line exists in it; any other (a ``.env`` file, a file the grading
did not keep, a line past the end) is listed under its own file's name, never put on a wrong line.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from grader.results import GradeResult, Location, SourceFile, Status


@dataclass(frozen=True)
class Finding:
    kind: str                 # "check", "policy" or "ignored"
    label: str                # the check id, the rule, the ignored key
    status: str               # "failed", "error", "refused" or "ignored": the mark's colour
    message: str
    hint: str | None = None
    location: Location | None = None


@dataclass
class AnnotatedLine:
    number: int
    text: str
    findings: list[Finding] = field(default_factory=list)


@dataclass
class AnnotatedFile:
    name: str
    lines: list[AnnotatedLine]
    truncated: bool = False
    unplaced: list[Finding] = field(default_factory=list)   # this file's findings with no line in it

    @property
    def finding_count(self) -> int:
        return sum(len(line.findings) for line in self.lines) + len(self.unplaced)


@dataclass
class Annotated:
    files: list[AnnotatedFile]
    elsewhere: dict[str, list[Finding]]   # file name -> findings in files whose text is not shown


def findings_of(result: GradeResult) -> list[Finding]:
    findings = [Finding("check", check.id, check.status.value, check.message, check.hint, check.location)
                for check in result.checks
                if check.location and check.status in (Status.FAILED, Status.ERROR)]
    findings += [Finding("policy", violation.rule, "refused", violation.message, violation.hint, violation.location)
                 for violation in result.policy if violation.location]
    findings += [Finding("ignored", item.key, "ignored", f"{item.subject}: {item.reason}", None, item.location)
                 for item in result.ignored if item.location]
    return findings


def annotate(result: GradeResult) -> Annotated:
    files = [_file(source) for source in result.sources]
    by_name = {annotated.name: annotated for annotated in files}
    elsewhere: dict[str, list[Finding]] = {}
    for finding in findings_of(result):
        location = finding.location
        assert location is not None  # findings_of keeps only findings with a place
        target = by_name.get(location.file)
        if target is None:
            elsewhere.setdefault(location.file, []).append(finding)
        elif location.line is not None and 1 <= location.line <= len(target.lines):
            target.lines[location.line - 1].findings.append(finding)
        else:
            target.unplaced.append(finding)
    return Annotated(files, elsewhere)


def _file(source: SourceFile) -> AnnotatedFile:
    return AnnotatedFile(source.name, [AnnotatedLine(number, text) for number, text in enumerate(source.lines, 1)],
                         source.truncated)
