from grader.checking import Outcome, check, fail
from grader.submission.model import ComposeModel, image_problem


@check("redis-image", points=2, title="Redis runs from the redis:alpine image")
def test_redis_image(compose: ComposeModel, redis_service: str | None, expect, outcome: Outcome) -> None:
    if redis_service is None:
        _no_redis_service(compose, expect)
    service = compose.service(redis_service)
    image = service.get("image")
    location = compose.locate(redis_service, "image")
    if service.get("build"):
        context = compose.shown_path(service["build"].get("context", ".")) if isinstance(service["build"], dict) else "."
        fail(f"The service `{redis_service}` builds its own image from {context} instead of running the official "
             "Redis image, so the grader cannot tell it is Redis.",
             expected=f"image: {expect.image} (no build:)", found=f"build: {context}",
             location=compose.locate(redis_service, "build"),
             hint=f"Use `image: {expect.image}` without `build:` for the Redis service.")
    if not image:
        fail(f"The service `{redis_service}` has no `image:`.", expected=f"image: {expect.image}", found="no image",
             location=location, hint=f"Use the official image: `image: {expect.image}`.")
    problem = image_problem(image, expect.image)
    if problem:
        fail(f"The service `{redis_service}` uses `{image}`, not `{expect.image}`: {problem}.",
             expected=expect.image, found=str(image), location=location, hint=_hint(compose, redis_service, expect))
    outcome.message = f"`{redis_service}` uses {image}"


def _no_redis_service(compose: ComposeModel, expect) -> None:
    inactive = compose.inactive_redis_service()
    if inactive:
        profiles = ", ".join(compose.service(inactive).get("profiles") or [])
        fail(f"The Redis service `{inactive}` is under the profile {profiles}, so `docker compose up` does not start it.",
             expected="a service `redis` that `docker compose up` starts", found=f"`{inactive}` with profiles: [{profiles}]",
             location=compose.locate(inactive, "profiles"),
             hint=f"Remove `profiles:` from `{inactive}` (or start it with `--profile {profiles.split(',')[0]}`, "
                  "which the assignment does not ask for).")
    names = ", ".join(compose.services) or "none"
    fail("No Redis service found: no service is named `redis` and none uses a Redis image.",
         expected=f"a service named `redis` with `image: {expect.image}`", found=f"services: {names}",
         location=compose.locate_top_level("services"), hint=f"Add a service:\n  redis:\n    image: {expect.image}")


def _hint(compose: ComposeModel, service: str, expect) -> str:
    """Change the line, or, when the image comes from a variable that `.env` sets, that `.env` line."""
    variable = compose.variable_behind(service, "image")
    if variable:
        name, where = variable
        return (f"The image comes from the variable `{name}`, which {where} sets: change it there to "
                f"`{name}={expect.image}` (or remove it to use the default in the Compose file).")
    return f"Change the line to `image: {expect.image}`."
