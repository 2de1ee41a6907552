from grader.checking import GradingContext, Outcome, check, fail


@check("compose-file", points=1, title="A valid Compose file")
def test_compose_file(grading: GradingContext, outcome: Outcome) -> None:
    if grading.environment_error is not None:
        raise grading.environment_error  # the machine's fault: reported as error, with what to install
    error = grading.load_error
    if error is not None:
        fail(error.message, expected="a Compose file that `docker compose config` accepts",
             found=error.message, location=error.location, hint=error.hint, details=getattr(error, "details", None))
    outcome.message = f"{grading.compose_file} is valid Compose"
    skipped = grading.workspace.skipped_files if grading.workspace else []
    if skipped:
        shown = "\n".join(f"- {entry}" for entry in skipped[:20]) + ("\n- …" if len(skipped) > 20 else "")
        outcome.details = f"Not copied for grading (the grader reads only regular files it can open):\n{shown}"
