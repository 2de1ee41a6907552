"""What a student would have screenshotted of a running stack, asked of the stack itself (issue 14).

- ``redis_cli_exchange``: the redis-cli session the assignment asks for, run as it says
  (``docker compose exec redis redis-cli``, asked as ``docker exec`` of the service's container)
  with PING and ``GET student_name`` typed at it;
- ``services_snapshot``: ``docker compose ps`` and the last lines of each service's log.

Every command goes through the command builders and the runner, bounded in time and in
output; everything read is cleaned (no terminal escapes, no control characters, lines capped)
before it is kept, since it comes from the student's containers.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from grader.docker import commands as docker
from grader.errors import CommandError, DockerUnavailable
from grader.evidence.transcript import clean
from grader.evidence_record import CliExchange, RedisCliEvidence, ServicesEvidence

if TYPE_CHECKING:
    from grader.docker.stack import Stack

REDIS_CLI_TIMEOUT_S = 10
REDIS_CLI_MAX_OUTPUT = 256 * 1024   # a GET of a huge value is cut here, not read whole
MAX_REPLY_LINES = 10
LOG_LINES = 20
MAX_PS_LINES = 30
_NO_EXECUTABLE = ("executable file not found", "no such file or directory")


def shown_command(service: str) -> str:
    """How the transcript names the session: as the assignment has the student start it."""
    return f"docker compose exec {service} redis-cli"


def redis_cli_exchange(stack: Stack, service: str, key: str) -> RedisCliEvidence:
    """Type PING and GET ``key`` at redis-cli in ``service``'s container (one session, as a student
    would at its prompt; ``--no-raw`` prints replies as a terminal shows them)."""
    commands = ("PING", f"GET {key}")
    container = stack.container_of(service)
    if container is None:
        return RedisCliEvidence(service, shown_command(service), unavailable=(
            f"redis-cli could not be started: `{service}` is not running (it has no container)"))
    try:  # `docker exec` is what `docker compose exec -T` does, without loading the project first
        result = docker.exec_in(container, ["redis-cli", "--no-raw"],
                                input_text="".join(f"{command}\n" for command in commands),
                                timeout=REDIS_CLI_TIMEOUT_S, max_output_bytes=REDIS_CLI_MAX_OUTPUT)
    except DockerUnavailable:
        raise
    except CommandError as exc:  # a timeout: redis-cli hung (a server that never answers)
        return RedisCliEvidence(service, shown_command(service), unavailable=f"redis-cli did not answer: {exc}")
    if result.killed_for_output:
        return RedisCliEvidence(service, shown_command(service), unavailable=(
            f"redis-cli answered more than {REDIS_CLI_MAX_OUTPUT // 1024} KiB; it is not shown"))
    unavailable = _not_started(result.returncode, f"{result.stdout}\n{result.stderr}", service)
    if unavailable:
        return RedisCliEvidence(service, shown_command(service), unavailable=unavailable)
    return RedisCliEvidence(service, shown_command(service), _paired(commands, result.stdout, result.stderr))


def _not_started(returncode: int, output: str, service: str) -> str | None:
    """Why redis-cli did not run at all (no such program in the image, no running container); the
    Docker CLI says so on stdout or stderr, depending on the version and on ``-T``."""
    last = _last_line(output)
    if returncode in (126, 127) and any(marker in output.lower() for marker in _NO_EXECUTABLE):
        return (f"the image of `{service}` has no redis-cli (`{shown_command(service)}` answered: {last}); "
                "redis:alpine has it")
    if returncode != 0 and ("is not running" in output or "no container" in output.lower()):
        return f"redis-cli could not be started: `{service}` is not running ({last})"
    return None


def _paired(commands: tuple[str, ...], stdout: str, stderr: str) -> tuple[CliExchange, ...]:
    """Each command with its reply line; redis-cli answers one line for each of these commands, so
    anything else (a connection error) is shown under the first command as it printed it."""
    lines = [clean(line) for line in stdout.splitlines() if line.strip()]
    if len(lines) == len(commands):
        return tuple(CliExchange(command, (line,)) for command, line in zip(commands, lines))
    printed = (lines + [clean(line) for line in stderr.splitlines() if line.strip()])[:MAX_REPLY_LINES]
    return (CliExchange(commands[0], tuple(printed)), *(CliExchange(command) for command in commands[1:]))


def services_snapshot(stack: Stack) -> ServicesEvidence:
    """What ``docker compose ps -a`` shows, and each service's last LOG_LINES log lines, asked at once."""
    names = list(stack.services)
    with ThreadPoolExecutor(1 + len(names)) as pool:
        ps = pool.submit(_ps_lines, stack)
        logs = {name: pool.submit(_log_lines, stack, name) for name in names}
        return ServicesEvidence(ps.result(), {name: future.result() for name, future in logs.items()})


def _ps_lines(stack: Stack) -> tuple[str, ...]:
    built = {image: name for name, image in stack.plan.built_images.items()}
    rows = [(service, "(built)" if image in built else image, status, ports)
            for service, image, status, ports in docker.project_ps(stack.project.name or "")][:MAX_PS_LINES]
    table = [docker.PS_COLUMNS, *rows]
    widths = [max(len(row[column]) for row in table) for column in range(len(docker.PS_COLUMNS))]
    return tuple(clean("   ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip()) for row in table)


def _log_lines(stack: Stack, service: str) -> tuple[str, ...]:
    container = stack.container_of(service)
    return tuple(clean(line) for line in docker.container_logs(container, LOG_LINES)) if container else ()


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return clean(lines[-1])[:200] if lines else "no output"
