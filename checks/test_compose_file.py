from grader.checking import Outcome, check, fail
from grader.context import GradingContext


@check("compose-file", points=1, title="A valid Compose file")
def test_compose_file(grading: GradingContext, outcome: Outcome) -> None:
    error = grading.load_error
    if error is not None:
        fail(error.message, expected="a Compose file that `docker compose config` accepts",
             found=error.message, location=error.location, hint=error.hint, details=getattr(error, "details", None))
    outcome.message = f"{grading.compose_file} is valid Compose"
