from grader.checking import Outcome, check, fail
from grader.model import ComposeModel, image_matches, parse_image


@check("redis-image", points=2, title="Redis runs from the redis:alpine image")
def test_redis_image(compose: ComposeModel, redis_service: str | None, expect, outcome: Outcome) -> None:
    if redis_service is None:
        names = ", ".join(compose.services) or "none"
        fail("No Redis service found: no service is named `redis` and none uses a Redis image.",
             expected=f"a service named `redis` with `image: {expect.image}`", found=f"services: {names}",
             location=compose.locate_top_level("services"),
             hint=f"Add a service:\n  redis:\n    image: {expect.image}")
    image = compose.service(redis_service).get("image")
    location = compose.locate(redis_service, "image")
    if not image:
        fail(f"The service `{redis_service}` has no `image:`.", expected=f"image: {expect.image}",
             found="no image (built from a Dockerfile)" if compose.service(redis_service).get("build") else "no image",
             location=location, hint=f"Use the official image: `image: {expect.image}`.")
    if not image_matches(image, expect.image):
        parsed = parse_image(image)
        why = ""
        if parsed and parsed.repository == "library/redis" and "alpine" not in parsed.tag:
            why = f" `{image}` is the larger Debian-based variant." if parsed.tag in ("latest", "") else ""
        fail(f"The service `{redis_service}` uses `{image}`, not `{expect.image}`.{why}",
             expected=expect.image, found=str(image), location=location,
             hint=f"Change the line to `image: {expect.image}`.")
    outcome.message = f"`{redis_service}` uses {image}"
