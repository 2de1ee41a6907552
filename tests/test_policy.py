"""The safety policy: each rule on a small Compose file, raw YAML and (when Compose is installed) the model."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest

from grader import policy
from grader.policy import RULES, check_documents, check_model, check_symlinks, evaluate
from grader.results import Location, PolicyViolation
from grader.yamlload import load_yaml

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "sample_submissions"
MARK = "# <-"


def _compose_available() -> bool:
    if shutil.which("docker") is None:
        return False
    try:
        done = subprocess.run(["docker", "compose", "version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


COMPOSE = _compose_available()
needs_compose = pytest.mark.skipif(not COMPOSE, reason="docker compose is not installed")


def write(root: Path, text: str, name: str = "compose.yaml") -> Path:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def marked_line(path: Path) -> int | None:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if MARK in line:
            return number
    return None


def raw(root: Path, name: str = "compose.yaml") -> list[PolicyViolation]:
    return check_documents([load_yaml(root / name, name)], root)


def compose_model(root: Path, name: str = "compose.yaml") -> dict:
    env = {key: value for key, value in os.environ.items() if not key.startswith("COMPOSE_")}
    done = subprocess.run(
        ["docker", "compose", "-f", name, "config", "--format", "json"],
        cwd=root, capture_output=True, text=True, timeout=60, env=env,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def of_rule(violations: list[PolicyViolation], rule: str) -> list[PolicyViolation]:
    return [v for v in violations if v.rule == rule]


# --------------------------------------------------------------------------- one case per rule

# (rule, compose file with the offending line marked "# <-", words the message must contain, also via the model)
CASES = [
    pytest.param("privileged", """
        services:
          app:
            image: alpine
            privileged: true  # <-
        """, ["'app'", "privileged: true", "full control of the host"], True, id="privileged"),
    pytest.param("privileged", """
        services:
          app:
            image: alpine
            privileged: "yes"  # <-
        """, ["'app'", "privileged"], True, id="privileged-yes-string"),
    pytest.param("privileged", """
        services:
          app:
            image: alpine
            post_start:
              - command: ["id"]
                privileged: true  # <-
        """, ["'app'", "post_start", "privileged: true"], True, id="privileged-post-start"),
    pytest.param("privileged", """
        services:
          app:
            image: alpine
            pre_stop:
              - command: id
                privileged: true  # <-
        """, ["'app'", "pre_stop"], True, id="privileged-pre-stop"),
    pytest.param("cap-add", """
        services:
          app:
            image: alpine
            cap_add: [NET_ADMIN, SYS_ADMIN]  # <-
        """, ["'app'", "cap_add", "NET_ADMIN", "SYS_ADMIN"], True, id="cap-add"),
    pytest.param("cap-add", """
        services:
          app:
            image: alpine
            cap_add:
              - CHOWN
              - ALL  # <-
        """, ["'app'", "ALL"], True, id="cap-add-all"),
    pytest.param("devices", """
        services:
          app:
            image: alpine
            devices:  # <-
              - "/dev/sda:/dev/sda"
        """, ["'app'", "devices", "/dev/sda"], True, id="devices"),
    pytest.param("device-cgroup-rules", """
        services:
          app:
            image: alpine
            device_cgroup_rules: ["c 1:3 mr"]  # <-
        """, ["'app'", "device_cgroup_rules"], True, id="device-cgroup-rules"),
    pytest.param("gpus", """
        services:
          app:
            image: alpine
            gpus: all  # <-
        """, ["'app'", "gpus"], True, id="gpus"),
    pytest.param("gpus", """
        services:
          app:
            image: alpine
            deploy:
              resources:
                reservations:
                  devices:  # <-
                    - capabilities: [gpu]
        """, ["'app'", "deploy.resources.reservations.devices"], True, id="gpus-deploy"),
    pytest.param("security-opt", """
        services:
          app:
            image: alpine
            security_opt:
              - no-new-privileges:true
              - seccomp:unconfined  # <-
        """, ["'app'", "security_opt", "seccomp:unconfined", "no-new-privileges:true"], True, id="security-opt"),
    pytest.param("sysctls", """
        services:
          app:
            image: alpine
            sysctls:  # <-
              net.core.somaxconn: 1024
        """, ["'app'", "sysctls"], True, id="sysctls"),
    pytest.param("cgroup-parent", """
        services:
          app:
            image: alpine
            cgroup_parent: /system.slice  # <-
        """, ["'app'", "cgroup_parent"], True, id="cgroup-parent"),
    pytest.param("cgroup", """
        services:
          app:
            image: alpine
            cgroup: host  # <-
        """, ["'app'", "cgroup: host"], True, id="cgroup"),
    pytest.param("runtime", """
        services:
          app:
            image: alpine
            runtime: sysbox-runc  # <-
        """, ["'app'", "runtime: sysbox-runc"], True, id="runtime"),
    pytest.param("oom-kill-disable", """
        services:
          app:
            image: alpine
            oom_kill_disable: true  # <-
        """, ["'app'", "oom_kill_disable"], True, id="oom-kill-disable"),
    pytest.param("oom-score-adj", """
        services:
          app:
            image: alpine
            oom_score_adj: -1000  # <-
        """, ["'app'", "oom_score_adj", "-1000"], True, id="oom-score-adj"),
    pytest.param("storage-opt", """
        services:
          app:
            image: alpine
            storage_opt:  # <-
              size: 1G
        """, ["'app'", "storage_opt"], True, id="storage-opt"),
    pytest.param("use-api-socket", """
        services:
          app:
            image: alpine
            use_api_socket: true  # <-
        """, ["'app'", "use_api_socket", "docker api socket"], True, id="use-api-socket"),
    pytest.param("provider", """
        services:
          db:
            provider:  # <-
              type: awesomecloud
              options:
                type: mysql
        """, ["'db'", "provider", "awesomecloud", "external program"], True, id="provider"),
    pytest.param("host-namespace", """
        services:
          app:
            image: alpine
            network_mode: host  # <-
        """, ["'app'", "network_mode: host", "network namespace"], True, id="network-mode-host"),
    pytest.param("host-namespace", """
        services:
          app:
            image: alpine
            pid: host  # <-
        """, ["'app'", "pid: host"], True, id="pid-host"),
    pytest.param("host-namespace", """
        services:
          app:
            image: alpine
            ipc: host  # <-
        """, ["'app'", "ipc: host"], True, id="ipc-host"),
    pytest.param("host-namespace", """
        services:
          app:
            image: alpine
            uts: host  # <-
        """, ["'app'", "uts: host"], True, id="uts-host"),
    pytest.param("host-namespace", """
        services:
          app:
            image: alpine
            userns_mode: host  # <-
        """, ["'app'", "userns_mode: host"], True, id="userns-host"),
    pytest.param("host-namespace", """
        services:
          app:
            image: alpine
            network_mode: "container:other_stack_redis"  # <-
        """, ["'app'", "container:other_stack_redis", "outside this compose project"], True, id="network-mode-container"),
    pytest.param("host-namespace", """
        services:
          app:
            image: alpine
            network_mode: "service:ghost"  # <-
        """, ["'app'", "service:ghost", "no service 'ghost'"], False, id="network-mode-missing-service"),
    pytest.param("bind-mount-outside", """
        services:
          app:
            image: alpine
            volumes:
              - /etc:/host-etc:ro  # <-
        """, ["'app'", "/etc", "outside the submission"], True, id="bind-absolute"),
    pytest.param("bind-mount-outside", """
        services:
          app:
            image: alpine
            volumes:
              - ./data:/data
              - ~/.ssh:/keys  # <-
        """, ["'app'", "~/.ssh", "home directory"], True, id="bind-home"),
    pytest.param("bind-mount-outside", """
        services:
          app:
            image: alpine
            volumes:
              - ../..:/up  # <-
        """, ["'app'", "../..", "outside the submission"], True, id="bind-dotdot"),
    pytest.param("bind-mount-outside", """
        services:
          app:
            image: alpine
            volumes:
              - /var/run/docker.sock:/var/run/docker.sock  # <-
        """, ["'app'", "docker socket"], True, id="bind-docker-socket"),
    pytest.param("bind-mount-outside", """
        services:
          app:
            image: alpine
            volumes:
              - type: bind  # <-
                source: ../
                target: /parent
        """, ["'app'", "at /parent", "outside the submission"], True, id="bind-long-syntax"),
    pytest.param("volumes-from", """
        services:
          app:
            image: alpine
            volumes_from:
              - container:someone_else  # <-
        """, ["'app'", "volumes_from", "container:someone_else"], True, id="volumes-from"),
    pytest.param("volume-driver", """
        services:
          app:
            image: alpine
            volumes: [data:/data]
        volumes:
          data:
            driver: rexray/ebs  # <-
        """, ["volume 'data'", "rexray/ebs"], True, id="volume-driver"),
    pytest.param("volume-driver", """
        services:
          app:
            image: alpine
            volumes: [data:/data]
        volumes:
          data:
            driver_opts:  # <-
              type: none
              o: bind
              device: /etc
        """, ["volume 'data'", "driver_opts", "bind mount in disguise"], True, id="volume-driver-opts-bind"),
    pytest.param("external-volume", """
        services:
          app:
            image: alpine
            volumes: [data:/data]
        volumes:
          data:
            external: true  # <-
        """, ["volume 'data'", "external: true"], True, id="external-volume"),
    pytest.param("external-network", """
        services:
          app:
            image: alpine
            networks: [outside]
        networks:
          outside:
            name: host
            external: true  # <-
        """, ["network 'outside'", "external: true"], True, id="external-network"),
    pytest.param("network-driver", """
        services:
          app:
            image: alpine
            networks: [lan]
        networks:
          lan:
            driver: macvlan  # <-
        """, ["network 'lan'", "macvlan"], True, id="network-driver"),
    pytest.param("build-context-outside", """
        services:
          app:
            build:
              context: ..  # <-
        """, ["'app'", "context '..'", "outside the submission"], True, id="build-context-parent"),
    pytest.param("build-context-outside", """
        services:
          app:
            build: https://github.com/example/repo.git#main  # <-
        """, ["'app'", "remote context"], True, id="build-context-remote"),
    pytest.param("build-context-outside", """
        services:
          app:
            build:
              context: .
              dockerfile: ../Dockerfile  # <-
        """, ["'app'", "dockerfile '../dockerfile'"], True, id="build-dockerfile-outside"),
    pytest.param("build-context-outside", """
        services:
          app:
            build:
              context: .
              additional_contexts:
                base: docker-image://alpine:3.20  # <-
        """, ["'app'", "'base'", "docker-image://alpine"], True, id="build-additional-context"),
    pytest.param("build-cache", """
        services:
          app:
            build:
              context: .
              cache_to: ["type=local,dest=/tmp/cache"]  # <-
        """, ["'app'", "cache_to"], True, id="build-cache"),
    pytest.param("build-ssh", """
        services:
          app:
            build:
              context: .
              ssh: [default]  # <-
        """, ["'app'", "build.ssh", "ssh agent"], True, id="build-ssh"),
    pytest.param("build-secrets", """
        services:
          app:
            build:
              context: .
              secrets: [token]  # <-
        secrets:
          token:
            file: ./token.txt
        """, ["'app'", "build.secrets"], True, id="build-secrets"),
    pytest.param("build-entitlements", """
        services:
          app:
            build:
              context: .
              entitlements: [security.insecure]  # <-
        """, ["'app'", "build.entitlements", "security.insecure"], True, id="build-entitlements"),
    pytest.param("build-network-host", """
        services:
          app:
            build:
              context: .
              network: host  # <-
        """, ["'app'", "build.network: host"], True, id="build-network-host"),
    pytest.param("build-privileged", """
        services:
          app:
            build:
              context: .
              privileged: true  # <-
        """, ["'app'", "build.privileged"], True, id="build-privileged"),
    pytest.param("file-outside", """
        services:
          app:
            image: alpine
            env_file:
              - ./app.env
              - /etc/environment  # <-
        """, ["'app'", "env_file '/etc/environment'", "outside the submission"], False, id="env-file-outside"),
    pytest.param("file-outside", """
        services:
          app:
            image: alpine
            env_file:
              - path: ${ENV_PATH}  # <-
                required: false
        """, ["'app'", "variable", "cannot check"], False, id="env-file-variable"),
    pytest.param("file-outside", """
        services:
          app:
            image: alpine
            label_file: ../labels  # <-
        """, ["'app'", "label_file '../labels'"], False, id="label-file-outside"),
    pytest.param("file-outside", """
        services:
          app:
            image: alpine
            secrets: [key]
        secrets:
          key:
            file: /etc/shadow  # <-
        """, ["secret 'key'", "/etc/shadow", "outside the submission"], True, id="secret-file-outside"),
    pytest.param("file-outside", """
        services:
          app:
            image: alpine
            configs: [conf]
        configs:
          conf:
            file: ../../conf.ini  # <-
        """, ["config 'conf'", "../../conf.ini"], True, id="config-file-outside"),
    pytest.param("file-outside", """
        services:
          app:
            extends:
              file: ../base.yml  # <-
              service: base
        """, ["'app'", "extends", "../base.yml"], False, id="extends-file-outside"),
    pytest.param("file-outside", """
        include:
          - ../other/compose.yaml  # <-
        services:
          app:
            image: alpine
        """, ["include", "../other/compose.yaml", "outside the submission"], False, id="include-outside"),
    pytest.param("file-outside", """
        include:
          - path: oci://registry.example.com/stack:latest  # <-
        services:
          app:
            image: alpine
        """, ["include", "remote"], False, id="include-remote"),
    pytest.param("file-outside", """
        services:
          app:
            image: alpine
            develop:
              watch:
                - path: /etc  # <-
                  action: sync
                  target: /app
        """, ["'app'", "develop.watch"], True, id="develop-watch-outside"),
    pytest.param("secret-environment", """
        services:
          app:
            image: alpine
            secrets: [token]
        secrets:
          token:
            environment: GITHUB_TOKEN  # <-
        """, ["secret 'token'", "GITHUB_TOKEN", "environment"], True, id="secret-environment"),
    pytest.param("secret-environment", """
        services:
          app:
            image: alpine
            configs: [conf]
        configs:
          conf:
            environment: HOME  # <-
        """, ["config 'conf'", "HOME"], True, id="config-environment"),
]


@pytest.mark.parametrize("rule, text, words, via_model", CASES)
def test_each_rule_raw(tmp_path: Path, rule: str, text: str, words: list[str], via_model: bool) -> None:
    path = write(tmp_path, text)
    found = of_rule(raw(tmp_path), rule)
    assert len(found) == 1, found
    violation = found[0]
    assert rule in RULES
    for word in words:
        assert word.lower() in violation.message.lower(), (word, violation.message)
    assert violation.location == Location("compose.yaml", marked_line(path))


@needs_compose
@pytest.mark.parametrize("rule, text, words, via_model", [case for case in CASES if case.values[3]])
def test_each_rule_model(tmp_path: Path, rule: str, text: str, words: list[str], via_model: bool) -> None:
    path = write(tmp_path, text)
    (tmp_path / "token.txt").write_text("x")
    model = compose_model(tmp_path)
    found = of_rule(check_model(model, tmp_path), rule)
    assert found, f"the model pass misses {rule}: {json.dumps(model)[:400]}"
    assert all(v.location is None for v in found)
    # evaluate merges raw and model: one report, at the raw line
    merged = of_rule(evaluate([load_yaml(path, "compose.yaml")], model, tmp_path), rule)
    assert [v.location for v in merged] == [Location("compose.yaml", marked_line(path))]


def test_every_rule_is_documented() -> None:
    doc = (REPO / "docs" / "policy.md").read_text(encoding="utf-8")
    for rule, description in RULES.items():
        assert f"`{rule}`" in doc, rule
        assert description and "\n" not in description


# --------------------------------------------------------------------------- safe files


SAFE = """
services:
  redis:
    image: redis:alpine
    ports:
      - "6379:6379"
    volumes:
      - redis_data:/data
      - ./conf:/usr/local/etc/redis:ro
      - type: bind
        source: ./scripts
        target: /scripts
    security_opt: [no-new-privileges:true]
    cap_drop: [ALL]
    cap_add: [CHOWN, SETUID, CAP_SETGID]
    env_file: [redis.env]
  web:
    build:
      context: .
      dockerfile: Dockerfile
    network_mode: service:redis
    volumes_from: [redis:ro]
    tmpfs: [/tmp]
    security_opt: ["no-new-privileges=true", "no-new-privileges"]
    secrets: [token]
    develop:
      watch:
        - path: ./src
          action: sync
          target: /app
volumes:
  redis_data:
  scratch:
    driver: local
    driver_opts: {type: tmpfs, device: tmpfs, o: "size=100m"}
networks:
  backend:
    driver: bridge
secrets:
  token:
    file: ./token.txt
"""


def _safe_tree(root: Path) -> Path:
    path = write(root, SAFE)
    for name in ("redis.env", "token.txt", "Dockerfile"):
        (root / name).write_text("A=1\n" if name.endswith(".env") else "x\n")
    for name in ("conf", "scripts", "src", "data"):
        (root / name).mkdir()
    return path


def test_safe_file_has_no_violations(tmp_path: Path) -> None:
    path = _safe_tree(tmp_path)
    assert evaluate([load_yaml(path, "compose.yaml")], None, tmp_path) == []


@needs_compose
def test_safe_file_model_has_no_violations(tmp_path: Path) -> None:
    path = _safe_tree(tmp_path)
    model = compose_model(tmp_path)
    assert check_model(model, tmp_path) == []
    assert evaluate([load_yaml(path, "compose.yaml")], model, tmp_path) == []


@pytest.mark.parametrize("submission", sorted(p.name for p in SAMPLES.iterdir() if p.name != "broken_yaml"))
def test_sample_submissions_pass(submission: str) -> None:
    folder = SAMPLES / submission
    for path in sorted(folder.rglob("*.y*ml")):
        if "compose" in path.name:
            doc = load_yaml(path, path.relative_to(folder).as_posix())
            assert evaluate([doc], None, folder) == []


@needs_compose
def test_perfect_submission_model_passes() -> None:
    folder = SAMPLES / "perfect"
    model = compose_model(folder, "docker-compose.yml")
    assert check_model(model, folder) == []


@pytest.mark.parametrize("line", [
    "- ./data:/data",
    "- data:/data",
    "- /data",
    "- .:/app",
    "- ./sub/../data:/data",
])
def test_inside_mounts_are_fine(tmp_path: Path, line: str) -> None:
    write(tmp_path, f"""
        services:
          app:
            image: alpine
            volumes:
              {line}
        volumes:
          data:
        """)
    assert raw(tmp_path) == []


# --------------------------------------------------------------------------- include, extends, override


def test_include_is_followed_and_located(tmp_path: Path) -> None:
    write(tmp_path, """
        include:
          - stack/db.yml
        services:
          app:
            image: alpine
        """)
    write(tmp_path, """
        services:
          db:
            image: redis
            volumes:
              - ../..:/escape
        """, "stack/db.yml")
    found = raw(tmp_path)
    assert [(v.rule, v.location) for v in found] == [("bind-mount-outside", Location("stack/db.yml", 5))]
    assert "'db'" in found[0].message


def test_include_long_syntax_and_project_directory(tmp_path: Path) -> None:
    write(tmp_path, """
        include:
          - path: [parts/a.yml]
            project_directory: ..
            env_file: ../secrets.env
        services:
          app:
            image: alpine
        """)
    write(tmp_path, "services:\n  a:\n    image: x\n    privileged: true\n", "parts/a.yml")
    rules = sorted((v.rule, v.location.line) for v in raw(tmp_path))
    assert rules == [("file-outside", 3), ("file-outside", 4), ("privileged", 4)]


def test_extends_file_is_followed(tmp_path: Path) -> None:
    write(tmp_path, """
        services:
          app:
            extends:
              file: common.yml
              service: base
        """)
    write(tmp_path, """
        services:
          base:
            image: alpine
            cap_add: [SYS_ADMIN]
        """, "common.yml")
    found = raw(tmp_path)
    assert [(v.rule, str(v.location)) for v in found] == [("cap-add", "common.yml:4")]


def test_include_cycle_and_cap(tmp_path: Path) -> None:
    write(tmp_path, "include: [b.yml]\nservices:\n  a:\n    image: x\n")
    write(tmp_path, "include: [compose.yaml]\nservices:\n  b:\n    image: x\n", "b.yml")
    assert raw(tmp_path) == []
    # a chain deeper than the cap is refused, not followed for ever
    for i in range(policy.MAX_INCLUDE_DEPTH + 2):
        write(tmp_path, f"include: [c{i + 1}.yml]\nservices:\n  c{i}:\n    image: x\n", f"c{i}.yml")
    write(tmp_path, "include: [c0.yml]\nservices:\n  a:\n    image: x\n")
    found = raw(tmp_path)
    assert [v.rule for v in found] == ["file-unchecked"]


def test_include_alias_bomb_is_not_parsed(tmp_path: Path) -> None:
    write(tmp_path, "include:\n  - bomb.yml  # <-\nservices:\n  a:\n    image: x\n")
    lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(7):
        prev = "a" if i == 0 else f"b{i - 1}"
        lines.append(f"b{i}: &b{i} [" + ", ".join([f"*{prev}"] * 10) + "]")
    (tmp_path / "bomb.yml").write_text("\n".join(lines) + "\n")
    found = raw(tmp_path)
    assert [(v.rule, v.location) for v in found] == [("file-unchecked", Location("compose.yaml", 2))]
    assert "alias" in found[0].message


def test_files_outside_are_never_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    submission = tmp_path / "sub"
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "evil.yml").write_text("services:\n  x:\n    image: x\n    privileged: true\n")
    write(submission, """
        include:
          - ../outside/evil.yml
          - link/evil.yml
        services:
          app:
            extends: {file: ../outside/evil.yml, service: x}
        """)
    (submission / "link").symlink_to(outside)
    read: list[str] = []
    real = policy.load_yaml

    def spy(path: Path, display: str, *args: object) -> object:
        read.append(str(path))
        return real(path, display, *args)

    monkeypatch.setattr(policy, "load_yaml", spy)
    found = raw(submission)
    assert read == []
    assert [v.rule for v in found] == ["file-outside"] * 3
    assert "symbolic link" in found[1].message


def test_override_file_uses_its_own_lines(tmp_path: Path) -> None:
    main = write(tmp_path, "services:\n  app:\n    image: alpine\n")
    override = write(tmp_path, "services:\n  app:\n    pid: host\n", "compose.override.yaml")
    docs = [load_yaml(main, "compose.yaml"), load_yaml(override, "compose.override.yaml")]
    found = evaluate(docs, None, tmp_path)
    assert [(v.rule, str(v.location)) for v in found] == [("host-namespace", "compose.override.yaml:3")]


def test_network_mode_service_in_stack_is_fine(tmp_path: Path) -> None:
    write(tmp_path, """
        include: [redis.yml]
        services:
          web:
            image: alpine
            network_mode: service:redis
            ipc: service:redis
            pid: "service:redis"
        """)
    write(tmp_path, "services:\n  redis:\n    image: redis\n", "redis.yml")
    assert raw(tmp_path) == []


# --------------------------------------------------------------------------- model pass: interpolation, include


@needs_compose
def test_interpolated_mount_is_caught_by_the_model(tmp_path: Path) -> None:
    path = write(tmp_path, """
        services:
          app:
            image: alpine
            volumes:  # <-
              - ${SRC}:/src
        """)
    (tmp_path / ".env").write_text("SRC=/etc\n")
    assert raw(tmp_path) == []
    model = compose_model(tmp_path)
    found = of_rule(check_model(model, tmp_path), "bind-mount-outside")
    assert len(found) == 1 and "/etc" in found[0].message and found[0].location is None
    merged = evaluate([load_yaml(path, "compose.yaml")], model, tmp_path)
    assert [(v.rule, v.location) for v in merged] == [("bind-mount-outside", Location("compose.yaml", marked_line(path)))]


@needs_compose
def test_interpolated_privileged_is_caught_by_the_model(tmp_path: Path) -> None:
    path = write(tmp_path, """
        services:
          app:
            image: alpine
            privileged: ${PRIV:-true}  # <-
        """)
    model = compose_model(tmp_path)
    merged = evaluate([load_yaml(path, "compose.yaml")], model, tmp_path)
    assert [(v.rule, v.location) for v in merged] == [("privileged", Location("compose.yaml", marked_line(path)))]


@needs_compose
def test_included_and_extended_services_in_the_model(tmp_path: Path) -> None:
    path = write(tmp_path, """
        include: [db.yml]
        services:
          web:
            extends: {file: common.yml, service: base}
        """)
    write(tmp_path, "services:\n  db:\n    image: redis\n    cap_add: [SYS_PTRACE]\n", "db.yml")
    write(tmp_path, "services:\n  base:\n    image: alpine\n    network_mode: host\n", "common.yml")
    model = compose_model(tmp_path)
    in_model = {(v.rule, v.message.split("'")[1]) for v in check_model(model, tmp_path)}
    assert in_model == {("cap-add", "db"), ("host-namespace", "web")}
    merged = evaluate([load_yaml(path, "compose.yaml")], model, tmp_path)
    assert sorted((v.rule, str(v.location)) for v in merged) == [
        ("cap-add", "db.yml:4"),
        ("host-namespace", "common.yml:4"),
        ("host-namespace", "compose.yaml:3"),
    ]


# --------------------------------------------------------------------------- evaluate


def test_evaluate_merges_and_sorts(tmp_path: Path) -> None:
    path = write(tmp_path, """
        services:
          b:
            image: alpine
            privileged: true
          a:
            image: alpine
            cap_add: [SYS_ADMIN]
            privileged: true
        """)
    model = {"services": {
        "a": {"privileged": True, "cap_add": ["SYS_ADMIN"]},
        "b": {"privileged": True},
    }}
    found = evaluate([load_yaml(path, "compose.yaml")], model, tmp_path)
    assert [(v.rule, v.location.line) for v in found] == [("privileged", 4), ("cap-add", 7), ("privileged", 8)]


def test_allowed_drops_a_rule(tmp_path: Path) -> None:
    path = write(tmp_path, """
        services:
          app:
            image: alpine
            cap_add: [NET_ADMIN]
            privileged: true
        """)
    docs = [load_yaml(path, "compose.yaml")]
    assert {v.rule for v in evaluate(docs, None, tmp_path)} == {"cap-add", "privileged"}
    assert [v.rule for v in evaluate(docs, None, tmp_path, allowed=frozenset({"cap-add"}))] == ["privileged"]


def test_a_crashing_check_fails_closed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, "services:\n  app:\n    image: alpine\n")

    def boom(*args: object) -> None:
        raise RuntimeError("bug")

    monkeypatch.setattr(policy._Checker, "volumes", boom)
    found = evaluate([load_yaml(path, "compose.yaml")], None, tmp_path)
    assert [(v.rule, str(v.location)) for v in found] == [("check-failed", "compose.yaml:2")]
    assert "'app'" in found[0].message


# --------------------------------------------------------------------------- symlinks


def test_symlink_to_etc_is_caught(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "hosts").symlink_to("/etc/hosts")
    (tmp_path / "etc").symlink_to("/etc")
    (tmp_path / "up").symlink_to("..")
    found = check_symlinks(tmp_path)
    assert sorted(v.message.split("'")[1] for v in found) == ["data/hosts", "etc", "up"]
    assert {v.rule for v in found} == {"symlink-outside"}


def test_symlinks_within_are_fine(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "file").write_text("x")
    (tmp_path / "alias").symlink_to("data")
    (tmp_path / "data" / "again").symlink_to("../data/file")
    (tmp_path / "dangling").symlink_to("missing")
    assert check_symlinks(tmp_path) == []


def test_symlink_loop_is_caught(tmp_path: Path) -> None:
    (tmp_path / "a").symlink_to("b")
    (tmp_path / "b").symlink_to("a")
    assert {v.rule for v in check_symlinks(tmp_path)} == {"symlink-outside"}


def test_bind_mount_through_symlink_is_caught(tmp_path: Path) -> None:
    (tmp_path / "data").symlink_to("/etc")
    write(tmp_path, """
        services:
          app:
            image: alpine
            volumes:
              - ./data:/data  # <-
        """)
    found = evaluate([load_yaml(tmp_path / "compose.yaml", "compose.yaml")], None, tmp_path)
    assert sorted(v.rule for v in found) == ["bind-mount-outside", "symlink-outside"]
    assert "symbolic link" in of_rule(found, "bind-mount-outside")[0].message


def test_submission_root_spelled_through_a_symlink(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "alias").symlink_to(real)
    (real / "data").mkdir()
    model = {"services": {"app": {"volumes": [
        {"type": "bind", "source": str(tmp_path / "alias" / "data"), "target": "/data"},
        {"type": "bind", "source": str(real / "data"), "target": "/data2"},
    ]}}}
    assert check_model(model, tmp_path / "alias") == []
    # spelled with the real root, a path through a link outside it is not followed: refused
    assert [v.message.split("' at ")[1].split(":")[0] for v in check_model(model, real)] == ["/data"]


# --------------------------------------------------------------------------- odd shapes


@pytest.mark.parametrize("text", [
    "services: [a, b]\n",
    "services:\n  a: [1, 2]\n",
    "services:\n  a:\n    volumes: 12\n    privileged: 1\n    cap_add: SYS_ADMIN\n",
    "services:\n  a:\n    build: [1]\n    volumes: [{type: bind}, {source: /etc}, 3, null]\n",
    "services:\n  a:\n    env_file: [{path: 3}, null]\n    extends: {file: [x]}\n",
    "include: {a: 1}\nvolumes: [x]\nnetworks: 3\nsecrets: {s: [1]}\n",
    "include: [3, null, {path: 4}]\nservices:\n  1:\n    network_mode: 5\n",
])
def test_odd_shapes_are_not_violations(tmp_path: Path, text: str) -> None:
    write(tmp_path, text)
    assert raw(tmp_path) == []


def test_odd_model_shapes(tmp_path: Path) -> None:
    for model in ({}, {"services": None}, {"services": []}, {"services": {"a": None}}, [], None, 3,
                  {"services": {"a": {"volumes": [None, {"type": "bind", "source": None}]}}}):
        assert check_model(model, tmp_path) == []  # type: ignore[arg-type]
    assert evaluate([], None, tmp_path) == []


def test_privileged_watch_exec(tmp_path: Path) -> None:
    path = write(tmp_path, """
        services:
          app:
            image: alpine
            develop:
              watch:
                - path: ./src
                  action: sync+exec
                  target: /app
                  exec:
                    command: id
                    privileged: true  # <-
        """)
    (tmp_path / "src").mkdir()
    found = raw(tmp_path)
    assert [(v.rule, v.location) for v in found] == [("privileged", Location("compose.yaml", marked_line(path)))]
    assert "develop.watch" in found[0].message
