"""The variations, by dimension: each edits a correct ``Spec`` in one way and says how.

A variation does not say what the grade should be: the oracle works that out from what
Compose makes of the folder. ``combine=False`` keeps a variation out of the random
combinations, because it conflicts with other dimensions or only makes Compose refuse the file.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from tests.differential.spec import Service, Spec

HEX64 = "6b2b9e2fcf1d55ae6e0f1aa1f4d7e5c1b8a9d3e2f4c5b6a7980e1d2c3b4a5f60"
WEB = Service("web", ["image: python:3.11-slim", "ports:", '  - "5000:5000"'])
REDIS_LATEST = ["image: redis:latest"]


@dataclass(frozen=True)
class Variant:
    dimension: str
    id: str
    description: str
    apply: Callable[[Spec], None]
    combine: bool = True


def _set(**fields: object) -> Callable[[Spec], None]:
    def apply(spec: Spec) -> None:
        for name, value in fields.items():
            setattr(spec, name, list(value) if isinstance(value, list) else value)
    return apply


def _with_env(apply: Callable[[Spec], None], env: list[str] | None, newline: str = "\n") -> Callable[[Spec], None]:
    def both(spec: Spec) -> None:
        apply(spec)
        if env is not None:
            spec.add_env(*env)
            spec.env_newline = newline
    return both


def _image(vid: str, text: str, description: str, env: list[str] | None = None, combine: bool = True,
           newline: str = "\n") -> Variant:
    return Variant("image", vid, description, _with_env(_set(image=text), env, newline), combine)


def _port(vid: str, lines: list[str] | None, description: str, env: list[str] | None = None,
          combine: bool = True, extra: list[str] | None = None) -> Variant:
    set_ports = _set(ports=lines)

    def apply(spec: Spec) -> None:
        set_ports(spec)
        spec.redis_extra = spec.redis_extra + list(extra or [])
    return Variant("port", vid, description, _with_env(apply, env), combine)


def _volume(vid: str, lines: list[str] | None, top: list[str] | None, description: str,
            combine: bool = True, env: list[str] | None = None) -> Variant:
    return Variant("volume", vid, description, _with_env(_set(volumes=lines, top_volumes=top), env), combine)


_DEFAULTED = " ${REDIS_IMAGE:-redis:alpine}"
_REQUIRED = " ${REDIS_IMAGE:?set REDIS_IMAGE in .env}"

IMAGES = [
    _image("alpine", " redis:alpine", "image: redis:alpine"),
    _image("hub-full", " docker.io/library/redis:alpine", "fully qualified Docker Hub reference"),
    _image("hub-short", " docker.io/redis:alpine", "docker.io without library/"),
    _image("hub-index", " index.docker.io/library/redis:alpine", "the legacy index.docker.io domain"),
    _image("library", " library/redis:alpine", "library/ namespace without a domain"),
    _image("7-alpine", " redis:7-alpine", "version-pinned alpine tag 7-alpine"),
    _image("7.2-alpine3.19", " redis:7.2-alpine3.19", "pinned redis and alpine versions"),
    _image("7.2.4-alpine", " redis:7.2.4-alpine", "patch-pinned alpine tag"),
    _image("alpine3.19", " redis:alpine3.19", "alpine tag pinned to an Alpine release"),
    _image("latest", " redis:latest", "redis:latest (Debian based)"),
    _image("untagged", " redis", "no tag at all (latest)"),
    _image("7", " redis:7", "redis:7 (Debian based)"),
    _image("bookworm", " redis:7.2-bookworm", "a Debian tag"),
    _image("upper-all", " REDIS:ALPINE", "REDIS:ALPINE, uppercase repository and tag"),
    _image("upper-repo", " Redis:alpine", "Redis:alpine, uppercase repository"),
    _image("upper-tag", " redis:Alpine", "redis:Alpine, a tag that differs in case"),
    _image("upper-domain", " Docker.io/library/redis:alpine", "Docker.io, a registry domain in another case"),
    _image("double-quoted", ' "redis:alpine"', "double-quoted image"),
    _image("single-quoted", " 'redis:alpine'", "single-quoted image"),
    _image("trailing-space", ' "redis:alpine "', "a trailing space inside quotes"),
    _image("leading-space", ' " redis:alpine"', "a leading space inside quotes"),
    _image("block-literal", " |\n      redis:alpine", "`image: |` block scalar (keeps the newline)"),
    _image("block-strip", " |-\n      redis:alpine", "`image: |-` block scalar (strips the newline)"),
    _image("block-folded", " >\n      redis:alpine", "`image: >` folded scalar (keeps the newline)"),
    _image("digest-short", " redis:alpine@sha256:abc", "malformed digest redis:alpine@sha256:abc"),
    _image("digest-valid", f" redis:alpine@sha256:{HEX64}", "alpine tag pinned by a well-formed sha256 digest"),
    _image("digest-only", f" redis@sha256:{HEX64}", "a digest and no tag"),
    _image("digest-upper-hex", f" redis:alpine@sha256:{HEX64.upper()}", "sha256 digest in uppercase hex"),
    _image("digest-md5", " redis:alpine@md5:0123456789abcdef0123456789abcdef", "an unsupported digest algorithm"),
    _image("empty-tag", ' "redis:"', "a colon and no tag"),
    _image("long-tag", " redis:alpine" + "-x" * 70, "a tag longer than 128 characters"),
    _image("dollar-escape", " redis:alpine$$", "`$$` escape leaves a `$` in the tag"),
    _image("registry-port", " localhost:5000/redis:alpine", "a private registry with a port"),
    _image("registry-host", " registry.example.com:5000/library/redis:alpine", "another registry's library/redis"),
    _image("bitnami", " bitnami/redis:latest", "a non-official Redis image"),
    _image("valkey", " valkey/valkey:alpine", "a different server (valkey)"),
    _image("empty", ' ""', "an empty image", combine=False),
    _image("env-default", _DEFAULTED, "${REDIS_IMAGE:-redis:alpine}, no .env"),
    _image("env-override-bad", _DEFAULTED, ".env sets REDIS_IMAGE=redis:latest over the default",
           ["REDIS_IMAGE=redis:latest"]),
    _image("env-override-good", _DEFAULTED, ".env sets REDIS_IMAGE=redis:7-alpine", ["REDIS_IMAGE=redis:7-alpine"]),
    _image("env-colon-empty", _DEFAULTED, ".env sets REDIS_IMAGE= (empty) with `:-`", ["REDIS_IMAGE="]),
    _image("env-dash-empty", " ${REDIS_IMAGE-redis:alpine}", ".env sets REDIS_IMAGE= (empty) with `-`",
           ["REDIS_IMAGE="], combine=False),
    _image("env-dash-unset", " ${REDIS_IMAGE-redis:alpine}", "${REDIS_IMAGE-redis:alpine}, no .env"),
    _image("env-required-missing", _REQUIRED, "`:?` required variable, no .env", combine=False),
    _image("env-required-set", _REQUIRED, "`:?` required variable set in .env", ["REDIS_IMAGE=redis:alpine"]),
    _image("env-braceless", " $REDIS_IMAGE", "$REDIS_IMAGE without braces, set in .env", ["REDIS_IMAGE=redis:alpine"]),
    _image("env-quoted-value", _DEFAULTED, ".env value in double quotes", ['REDIS_IMAGE="redis:7-alpine"']),
    _image("env-export", _DEFAULTED, ".env line with `export`", ["export REDIS_IMAGE=redis:latest"]),
    _image("env-comments", _DEFAULTED, ".env with a comment line and an inline comment",
           ["# which Redis", "REDIS_IMAGE=redis:7-alpine # pinned"]),
    _image("env-unterminated", _DEFAULTED, ".env with an unterminated quote", ['REDIS_IMAGE="redis:alpine'],
           combine=False),
    _image("env-bad-key", _DEFAULTED, ".env whose line 2 has a space in its key",
           ["# which Redis", "REDIS IMAGE=redis:alpine"], combine=False),
    _image("env-crlf", _DEFAULTED, ".env with CRLF line ends, REDIS_IMAGE=redis:7-alpine",
           ["REDIS_IMAGE=redis:7-alpine"], newline="\r\n"),
    _image("env-trailing-space", _DEFAULTED, ".env value redis:7-alpine with a trailing space",
           ["REDIS_IMAGE=redis:7-alpine "]),
    _image("env-tag-only", " redis:${REDIS_TAG:-alpine}", "only the tag interpolated, .env pins 7-alpine",
           ["REDIS_TAG=7-alpine"]),
]

_LONG = ["- target: 6379"]
PORTS = [
    _port("short-quoted", ['- "6379:6379"'], 'short syntax "6379:6379"'),
    _port("short-unquoted", ["- 6379:6379"], "short syntax, unquoted"),
    _port("host-ip", ['- "127.0.0.1:6379:6379"'], "with host IP 127.0.0.1"),
    _port("host-ip-any", ['- "0.0.0.0:6379:6379"'], "with host IP 0.0.0.0"),
    _port("host-ipv6", ['- "[::1]:6379:6379"'], "with host IP [::1]"),
    _port("leading-zero", ['- "06379:6379"'], 'short syntax "06379:6379"'),
    _port("container-only", ['- "6379"'], "container port only (random host port)"),
    _port("swapped", ['- "6379:6380"'], "host 6379 to container 6380"),
    _port("other-host", ['- "6380:6379"'], "host 6380 to container 6379"),
    _port("range-both", ['- "6379-6380:6379-6380"'], "ranges on both sides"),
    _port("range-host", ['- "6379-6381:6379"'], "a host range for one container port"),
    _port("udp", ['- "6379:6379/udp"'], "6379:6379/udp"),
    _port("tcp", ['- "6379:6379/tcp"'], "6379:6379/tcp"),
    _port("udp-and-tcp", ['- "6379:6379/udp"', '- "6379:6379/tcp"'], "a udp and a tcp mapping"),
    _port("two-mappings", ['- "6380:6379"', '- "6379:6379"'], "6380:6379 then 6379:6379"),
    _port("long-int", _LONG + ["  published: 6379"], "long syntax, published as int"),
    _port("long-str", _LONG + ['  published: "6379"'], 'long syntax, published "6379"'),
    _port("long-zero", _LONG + ['  published: "06379"'], 'long syntax, published "06379"'),
    _port("long-host-ip", _LONG + ["  published: 6379", "  host_ip: 127.0.0.1"], "long syntax with host_ip"),
    _port("long-udp", _LONG + ["  published: 6379", "  protocol: udp"], "long syntax, protocol udp"),
    _port("long-no-published", list(_LONG), "long syntax without published"),
    _port("long-mode-host", _LONG + ["  published: 6379", "  mode: host"], "long syntax, mode host"),
    _port("long-range", _LONG + ['  published: "6379-6380"'], "long syntax, a published range"),
    _port("env-default", ['- "${REDIS_PORT:-6379}:6379"'], "host port ${REDIS_PORT:-6379}, no .env"),
    _port("env-override", ['- "${REDIS_PORT:-6379}:6379"'], ".env sets REDIS_PORT=6380", ["REDIS_PORT=6380"]),
    _port("env-set", ['- "${REDIS_PORT}:6379"'], "host port from .env REDIS_PORT=6379", ["REDIS_PORT=6379"]),
    _port("env-dash-empty", ['- "${REDIS_PORT-6379}:6379"'], ".env sets REDIS_PORT= (empty) with `-`",
          ["REDIS_PORT="]),
    _port("env-required-missing", ['- "${REDIS_PORT:?}:6379"'], "`:?` host port, no .env", combine=False),
    _port("key-typo", None, "`port:` instead of `ports:`", combine=False, extra=["port:", '  - "6379:6379"']),
    _port("none", None, "no ports"),
    _port("expose-only", None, "expose: 6379 and no ports", extra=["expose:", '  - "6379"']),
    _port("empty-list", [], "`ports:` with no entries", combine=False),
]

_NAMED_LONG = ["- type: volume", "  source: redis_data", "  target: /data"]
_DECLARED = ["redis_data:"]
VOLUMES = [
    _volume("short-named", ["- redis_data:/data"], _DECLARED, "named volume, short syntax"),
    _volume("long-named", _NAMED_LONG, _DECLARED, "named volume, long syntax"),
    _volume("undeclared", ["- redis_data:/data"], None, "named volume not declared at the top level", False),
    _volume("long-undeclared", _NAMED_LONG, None, "long syntax, not declared at the top level", False),
    _volume("declared-other", ["- redis_data:/data"], ["other_data:"], "a different volume declared", False),
    _volume("bind", ["- ./data:/data"], None, "bind mount ./data"),
    _volume("bind-long", ["- type: bind", "  source: ./data", "  target: /data"], None, "bind mount, long syntax"),
    _volume("bind-home", ["- ~/redis:/data"], None, "bind mount of ~/redis"),
    _volume("anonymous", ["- /data"], None, "anonymous volume at /data"),
    _volume("anonymous-long", ["- type: volume", "  target: /data"], None, "anonymous volume, long syntax"),
    _volume("read-only", ["- redis_data:/data:ro"], _DECLARED, "named volume mounted read-only"),
    _volume("trailing-slash", ["- redis_data:/data/"], _DECLARED, "target /data/ with a slash"),
    _volume("wrong-path", ["- redis_data:/var/lib/redis"], _DECLARED, "named volume at /var/lib/redis"),
    _volume("named-and-bind", ["- redis_data:/data", "- ./conf:/usr/local/etc/redis"], _DECLARED,
            "named volume plus a bind mount elsewhere"),
    _volume("tmpfs", ["- type: tmpfs", "  target: /data"], None, "tmpfs at /data"),
    _volume("external", ["- redis_data:/data"], ["redis_data:", "  external: true"], "declared external"),
    _volume("named-name", ["- redis_data:/data"], ["redis_data:", "  name: my-redis-data"], "declared with name:"),
    _volume("declared-empty-map", ["- redis_data:/data"], ["redis_data: {}"], "declared as {}"),
    _volume("drive-letter", ["- d:/data"], ["d:"], "a one-letter volume name (reads as a Windows drive)"),
    Variant("volume", "top-level-typo", "top-level `volume:` instead of `volumes:`",
            _set(top_volumes_key="volume"), combine=False),
    _volume("none", None, None, "no volumes"),
    _volume("env-target", ["- redis_data:${DATA_DIR:-/data}"], _DECLARED, "target from ${DATA_DIR:-/data}"),
]


def _arrangement(vid: str, description: str, combine: bool = True, env: list[str] | None = None,
                 **fields: object) -> Variant:
    return Variant("service", vid, description, _with_env(_set(**fields), env), combine)


def _profiled(spec: Spec) -> None:
    spec.redis_extra = spec.redis_extra + ["profiles: [db]"]


def _then(*steps: Callable[[Spec], None]) -> Callable[[Spec], None]:
    def apply(spec: Spec) -> None:
        for step in steps:
            step(spec)
    return apply


SERVICES = [
    _arrangement("named-redis", "the Redis service is named redis"),
    _arrangement("other-name", "the Redis service is named cache", redis_name="cache"),
    _arrangement("web-before", "a web service written before Redis", before=[WEB]),
    _arrangement("web-after", "a web service written after Redis", after=[WEB]),
    _arrangement("two-redis-named-second", "`cache` (redis:latest) first, then `redis`",
                 before=[Service("cache", REDIS_LATEST)]),
    _arrangement("two-redis-good-first", "none named redis: `zcache` (graded one) first, `amemo` (redis:latest) after",
                 redis_name="zcache", after=[Service("amemo", REDIS_LATEST)]),
    _arrangement("two-redis-bad-first", "none named redis: `zstore` (redis:latest) first, `acache` after",
                 redis_name="acache", before=[Service("zstore", REDIS_LATEST)]),
    Variant("service", "profile", "the Redis service is under profile db, web has none",
            _then(_profiled, _set(after=[WEB]))),
    Variant("service", "profile-env-active", "Redis under profile db, .env sets COMPOSE_PROFILES=db",
            _with_env(_profiled, ["COMPOSE_PROFILES=db"])),
    Variant("service", "profile-other-redis", "`redis` under a profile, an active `cache` from redis:alpine",
            _then(_profiled, _set(after=[Service("cache", ["image: redis:alpine"])]))),
    _arrangement("no-redis", "no Redis service: one service `app` from python:3.11-slim", combine=False,
                 redis_name="app", image=" python:3.11-slim"),
]


def _override(name: str, text: str) -> Callable[[Spec], None]:
    return _set(override=(name, text))


_OVERRIDE_LATEST = "services:\n  {redis}:\n    image: redis:latest\n"
_OVERRIDE_PORTS = 'services:\n  {redis}:\n    ports:\n      - "{port}:6379"\n'
_OVERRIDE_VOLUME = "services:\n  {redis}:\n    volumes:\n      - redis_data:/data\nvolumes:\n  redis_data:\n"
_OTHER_COMPOSE = b"services:\n  redis:\n    image: redis:latest\n"
_APP = {"app.py": b"print('hello')\n", "requirements.txt": b"flask\nredis\n",
        "Dockerfile": b"FROM python:3.11-slim\nCOPY . /app\nCMD [\"python\", \"/app/app.py\"]\n"}

FILES = [
    Variant("file", "compose.yaml", "main file compose.yaml", _set(main_name="compose.yaml")),
    Variant("file", "compose.yml", "main file compose.yml", _set(main_name="compose.yml")),
    Variant("file", "docker-compose.yml", "main file docker-compose.yml", _set(main_name="docker-compose.yml")),
    Variant("file", "docker-compose.yaml", "main file docker-compose.yaml", _set(main_name="docker-compose.yaml")),
    Variant("file", "two-names", "compose.yaml plus a docker-compose.yml using redis:latest",
            _set(extra_files={"docker-compose.yml": _OTHER_COMPOSE}), combine=False),
    Variant("file", "two-names-yml", "compose.yml plus a docker-compose.yaml using redis:latest",
            _set(main_name="compose.yml", extra_files={"docker-compose.yaml": _OTHER_COMPOSE}), combine=False),
    Variant("file", "misnamed", "the only Compose file is docker_compose.yml", _set(main_name="docker_compose.yml"),
            combine=False),
    Variant("file", "override-image", "compose.override.yaml sets image: redis:latest",
            _override("compose.override.yaml", _OVERRIDE_LATEST)),
    Variant("file", "override-ports", "ports only in compose.override.yaml",
            _then(_set(ports=None), _override("compose.override.yaml", _OVERRIDE_PORTS.replace("{port}", "6379")))),
    Variant("file", "override-adds-port", "compose.override.yaml adds 6380:6379 to the ports",
            _override("compose.override.yaml", _OVERRIDE_PORTS.replace("{port}", "6380"))),
    Variant("file", "override-volume", "the volume only in compose.override.yml",
            _then(_set(volumes=None, top_volumes=None), _override("compose.override.yml", _OVERRIDE_VOLUME))),
    Variant("file", "override-dc", "docker-compose.yml with docker-compose.override.yml setting redis:latest",
            _then(_set(main_name="docker-compose.yml"), _override("docker-compose.override.yml", _OVERRIDE_LATEST))),
    Variant("file", "override-mixed-names", "compose.yaml with docker-compose.override.yaml setting redis:latest",
            _override("docker-compose.override.yaml", _OVERRIDE_LATEST)),
    Variant("file", "override-yaml-error", "compose.override.yaml with a mis-indented line 4",
            _override("compose.override.yaml", "services:\n  {redis}:\n    image: redis:alpine\n   ports: []\n"),
            combine=False),
    Variant("file", "override-schema-error", "compose.override.yaml sets ports to a string at line 4",
            _override("compose.override.yaml", 'services:\n  {redis}:\n    image: redis:alpine\n    ports: "6379:6379"\n'),
            combine=False),
    Variant("file", "include", "the Redis service lives in redis.yaml, included", _set(include_file="redis.yaml")),
    Variant("file", "include-subdir", "the Redis service lives in compose/redis.yml, included",
            _set(include_file="compose/redis.yml")),
    Variant("file", "include-schema-error", "included redis.yaml sets ports to a string",
            _set(include_file="redis.yaml", ports=None, redis_extra=['ports: "6379:6379"']), combine=False),
    Variant("file", "extends", "the Redis service extends redis-base from base.yaml", _set(extends_file="base.yaml")),
    Variant("file", "venv-symlink", "a committed virtualenv: venv/bin/python -> /usr/bin/python3",
            _set(symlinks={"venv/bin/python": "/usr/bin/python3"}, extra_files=dict(_APP))),
    Variant("file", "app-files", "a web app built from a Dockerfile next to the Compose file",
            _set(extra_files=dict(_APP), after=[Service("web", ["build: .", "ports:", '  - "5000:5000"'])])),
]

ENCODINGS = [
    Variant("bytes", "utf-8", "UTF-8, LF", _set(encoding="utf-8")),
    Variant("bytes", "utf-8-bom", "UTF-8 with a byte order mark", _set(encoding="utf-8-sig")),
    Variant("bytes", "utf-16-le-bom", "UTF-16 LE with BOM (PowerShell 5)", _set(encoding="utf-16-le-bom")),
    Variant("bytes", "utf-16-be-bom", "UTF-16 BE with BOM", _set(encoding="utf-16-be-bom")),
    Variant("bytes", "utf-16-le-no-bom", "UTF-16 LE without a BOM", _set(encoding="utf-16-le"), combine=False),
    Variant("bytes", "crlf", "CRLF line ends", _set(newline="\r\n")),
    Variant("bytes", "crlf-bom", "UTF-8 BOM and CRLF", _set(newline="\r\n", encoding="utf-8-sig")),
    Variant("bytes", "utf-16-crlf", "UTF-16 LE with BOM and CRLF", _set(newline="\r\n", encoding="utf-16-le-bom")),
    Variant("bytes", "tab-after-image", "a tab after `image:`", _set(tab_after_image=True)),
    Variant("bytes", "tab-before-comment", "a tab before a comment on the service line",
            _set(redis_key_suffix="\t# the Redis service")),
    Variant("bytes", "comment-non-ascii", "a UTF-8 comment with non-ASCII text",
            _set(redis_key_suffix="  # café ☕")),
    Variant("bytes", "latin-1", "a Latin-1 comment (not UTF-8)", _set(redis_key_suffix="  # café", encoding="latin-1"),
            combine=False),
    Variant("bytes", "two-documents", "top-level volumes in a second YAML document", _set(documents="split")),
    Variant("bytes", "empty-last-document", "a trailing `---` opening an empty document",
            _set(documents="empty-tail"), combine=False),
]

DIMENSIONS = {"service": SERVICES, "file": FILES, "volume": VOLUMES, "port": PORTS, "image": IMAGES,
              "bytes": ENCODINGS}
