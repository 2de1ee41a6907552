"""The safety policy, judged the way a grading judges it: a folder goes through the grader's one
reading (composefiles), Compose's own model of the files the grader wrote (`docker compose config`,
no engine needed) and ``policy.evaluate``; each rule is found once, in its words, at the line of
the student's file that holds it."""
from __future__ import annotations

import ast
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from grader import policy
from grader.docker.compose import ComposeProject, detect_cli
from grader.errors import ComposeLoadError
from grader.grading.loading import load_files, normalised_model
from grader.policy import RULES, evaluate
from grader.results import Location, PolicyViolation
from grader.submission.workspace import workspace
from grader.yaml import LoadedYaml

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "sample_submissions"
MARK = "# <-"


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


@dataclass
class Judged:
    """What a grading decides about a folder before anything boots."""

    violations: list[PolicyViolation]
    config: dict[str, Any] | None = None          # Compose's model of the grader-written files
    error: ComposeLoadError | None = None         # Compose (or the reading) rejected the files
    documents: list[LoadedYaml] = field(default_factory=list)

    def of_rule(self, rule: str) -> list[PolicyViolation]:
        return [v for v in self.violations if v.rule == rule]

    @property
    def rules(self) -> list[str]:
        return [v.rule for v in self.violations]


def judge(folder: Path, allowed: frozenset[str] = frozenset(), **caps: int) -> Judged:
    """The grading's own path from a folder to its policy verdict (as engine._prepare): the
    refusals of the reading plus the rules on Compose's model; a file Compose rejects keeps only
    the refusals."""
    with workspace(folder) as space:
        files = None
        try:
            files = load_files(space)
            project = ComposeProject(detect_cli(), "grader-policytest", space.project_dir, tuple(files.files),
                                     profiles=("*",))
            model = normalised_model(project, files, space)
        except ComposeLoadError as exc:
            refusals = files.refusals if files else []
            return Judged([v for v in refusals if v.rule not in allowed], error=exc,
                          documents=files.documents if files else [])
        found = evaluate(model.config, files.documents, space.source_copy, refusals=files.refusals,
                         allowed=allowed, extends=files.extends, **caps)
        return Judged(found, model.config, None, files.documents)


def judged_clean(folder: Path) -> Judged:
    result = judge(folder)
    assert result.error is None, result.error
    assert result.violations == [], result.violations
    return result


# --------------------------------------------------------------------------- one case per rule

# (rule, compose file with the offending line marked "# <-", words the message must contain)
CASES = [
    pytest.param("privileged", """
        services:
          app:
            image: alpine
            privileged: true  # <-
        """, ["'app'", "privileged: true", "full control of the host"], id="privileged"),
    pytest.param("privileged", """
        services:
          app:
            image: alpine
            privileged: "yes"  # <-
        """, ["'app'", "privileged"], id="privileged-yes-string"),
    pytest.param("privileged", """
        services:
          app:
            image: alpine
            post_start:
              - command: ["id"]
                privileged: true  # <-
        """, ["'app'", "post_start", "privileged: true"], id="privileged-post-start"),
    pytest.param("privileged", """
        services:
          app:
            image: alpine
            pre_stop:
              - command: id
                privileged: true  # <-
        """, ["'app'", "pre_stop"], id="privileged-pre-stop"),
    pytest.param("cap-add", """
        services:
          app:
            image: alpine
            cap_add: [NET_ADMIN, SYS_ADMIN]  # <-
        """, ["'app'", "cap_add", "NET_ADMIN", "SYS_ADMIN"], id="cap-add"),
    pytest.param("cap-add", """
        services:
          app:
            image: alpine
            cap_add:
              - CHOWN
              - ALL  # <-
        """, ["'app'", "ALL"], id="cap-add-all"),
    pytest.param("devices", """
        services:
          app:
            image: alpine
            devices:  # <-
              - "/dev/sda:/dev/sda"
        """, ["'app'", "devices", "/dev/sda"], id="devices"),
    pytest.param("device-cgroup-rules", """
        services:
          app:
            image: alpine
            device_cgroup_rules: ["c 1:3 mr"]  # <-
        """, ["'app'", "device_cgroup_rules"], id="device-cgroup-rules"),
    pytest.param("gpus", """
        services:
          app:
            image: alpine
            gpus: all  # <-
        """, ["'app'", "gpus"], id="gpus"),
    pytest.param("gpus", """
        services:
          app:
            image: alpine
            deploy:
              resources:
                reservations:
                  devices:  # <-
                    - capabilities: [gpu]
        """, ["'app'", "deploy.resources.reservations.devices"], id="gpus-deploy"),
    pytest.param("security-opt", """
        services:
          app:
            image: alpine
            security_opt:
              - no-new-privileges:true
              - seccomp:unconfined  # <-
        """, ["'app'", "security_opt", "seccomp:unconfined", "no-new-privileges:true"], id="security-opt"),
    pytest.param("sysctls", """
        services:
          app:
            image: alpine
            sysctls:  # <-
              net.core.somaxconn: 1024
        """, ["'app'", "sysctls"], id="sysctls"),
    pytest.param("cgroup-parent", """
        services:
          app:
            image: alpine
            cgroup_parent: /system.slice  # <-
        """, ["'app'", "cgroup_parent"], id="cgroup-parent"),
    pytest.param("cgroup", """
        services:
          app:
            image: alpine
            cgroup: host  # <-
        """, ["'app'", "cgroup: host"], id="cgroup"),
    pytest.param("runtime", """
        services:
          app:
            image: alpine
            runtime: sysbox-runc  # <-
        """, ["'app'", "runtime: sysbox-runc"], id="runtime"),
    pytest.param("oom-kill-disable", """
        services:
          app:
            image: alpine
            oom_kill_disable: true  # <-
        """, ["'app'", "oom_kill_disable"], id="oom-kill-disable"),
    pytest.param("oom-score-adj", """
        services:
          app:
            image: alpine
            oom_score_adj: -1000  # <-
        """, ["'app'", "oom_score_adj", "-1000"], id="oom-score-adj"),
    pytest.param("storage-opt", """
        services:
          app:
            image: alpine
            storage_opt:  # <-
              size: 1G
        """, ["'app'", "storage_opt"], id="storage-opt"),
    pytest.param("use-api-socket", """
        services:
          app:
            image: alpine
            use_api_socket: true  # <-
        """, ["'app'", "use_api_socket", "docker api socket"], id="use-api-socket"),
    pytest.param("provider", """
        services:
          db:
            provider:  # <-
              type: awesomecloud
              options:
                type: mysql
        """, ["'db'", "provider", "awesomecloud", "external program"], id="provider"),
    pytest.param("host-namespace", """
        services:
          app:
            image: alpine
            network_mode: host  # <-
        """, ["'app'", "network_mode: host", "network namespace"], id="network-mode-host"),
    pytest.param("host-namespace", """
        services:
          app:
            image: alpine
            pid: host  # <-
        """, ["'app'", "pid: host"], id="pid-host"),
    pytest.param("host-namespace", """
        services:
          app:
            image: alpine
            ipc: host  # <-
        """, ["'app'", "ipc: host"], id="ipc-host"),
    pytest.param("host-namespace", """
        services:
          app:
            image: alpine
            uts: host  # <-
        """, ["'app'", "uts: host"], id="uts-host"),
    pytest.param("host-namespace", """
        services:
          app:
            image: alpine
            userns_mode: host  # <-
        """, ["'app'", "userns_mode: host"], id="userns-host"),
    pytest.param("host-namespace", """
        services:
          app:
            image: alpine
            network_mode: "container:other_stack_redis"  # <-
        """, ["'app'", "container:other_stack_redis", "outside this compose project"], id="network-mode-container"),
    pytest.param("bind-mount-outside", """
        services:
          app:
            image: alpine
            volumes:
              - /etc:/host-etc:ro  # <-
        """, ["'app'", "/etc", "outside the submission"], id="bind-absolute"),
    pytest.param("bind-mount-outside", """
        services:
          app:
            image: alpine
            volumes:
              - ./data:/data
              - ~/.ssh:/keys  # <-
        """, ["'app'", "~/.ssh", "home directory"], id="bind-home"),
    pytest.param("bind-mount-outside", """
        services:
          app:
            image: alpine
            volumes:
              - ../..:/up  # <-
        """, ["'app'", "../..", "outside the submission"], id="bind-dotdot"),
    pytest.param("bind-mount-outside", """
        services:
          app:
            image: alpine
            volumes:
              - /var/run/docker.sock:/var/run/docker.sock  # <-
        """, ["'app'", "docker socket"], id="bind-docker-socket"),
    pytest.param("bind-mount-outside", """
        services:
          app:
            image: alpine
            volumes:
              - type: bind  # <-
                source: ../
                target: /parent
        """, ["'app'", "at /parent", "outside the submission"], id="bind-long-syntax"),
    pytest.param("volumes-from", """
        services:
          app:
            image: alpine
            volumes_from:
              - container:someone_else  # <-
        """, ["'app'", "volumes_from", "container:someone_else"], id="volumes-from"),
    pytest.param("volume-driver", """
        services:
          app:
            image: alpine
            volumes: [data:/data]
        volumes:
          data:
            driver: rexray/ebs  # <-
        """, ["volume 'data'", "rexray/ebs"], id="volume-driver"),
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
        """, ["volume 'data'", "driver_opts", "bind mount in disguise"], id="volume-driver-opts-bind"),
    pytest.param("external-volume", """
        services:
          app:
            image: alpine
            volumes: [data:/data]
        volumes:
          data:
            external: true  # <-
        """, ["volume 'data'", "external: true"], id="external-volume"),
    pytest.param("external-network", """
        services:
          app:
            image: alpine
            networks: [outside]
        networks:
          outside:
            name: host
            external: true  # <-
        """, ["network 'outside'", "external: true"], id="external-network"),
    pytest.param("network-driver", """
        services:
          app:
            image: alpine
            networks: [lan]
        networks:
          lan:
            driver: macvlan  # <-
        """, ["network 'lan'", "macvlan"], id="network-driver"),
    pytest.param("build-context-outside", """
        services:
          app:
            build:
              context: ..  # <-
        """, ["'app'", "context '..'", "outside the submission"], id="build-context-parent"),
    pytest.param("build-context-outside", """
        services:
          app:
            build: https://github.com/example/repo.git#main  # <-
        """, ["'app'", "remote context"], id="build-context-remote"),
    pytest.param("build-context-outside", """
        services:
          app:
            build:
              context: .
              dockerfile: ../Dockerfile  # <-
        """, ["'app'", "dockerfile '../dockerfile'"], id="build-dockerfile-outside"),
    pytest.param("build-context-outside", """
        services:
          app:
            build:
              context: .
              additional_contexts:
                base: docker-image://alpine:3.20  # <-
        """, ["'app'", "'base'", "docker-image://alpine"], id="build-additional-context"),
    pytest.param("build-cache", """
        services:
          app:
            build:
              context: .
              cache_to: ["type=local,dest=/tmp/cache"]  # <-
        """, ["'app'", "cache_to"], id="build-cache"),
    pytest.param("build-ssh", """
        services:
          app:
            build:
              context: .
              ssh: [default]  # <-
        """, ["'app'", "build.ssh", "ssh agent"], id="build-ssh"),
    pytest.param("build-secrets", """
        services:
          app:
            build:
              context: .
              secrets: [token]  # <-
        secrets:
          token:
            file: ./token.txt
        """, ["'app'", "build.secrets"], id="build-secrets"),
    pytest.param("build-entitlements", """
        services:
          app:
            build:
              context: .
              entitlements: [security.insecure]  # <-
        """, ["'app'", "build.entitlements", "security.insecure"], id="build-entitlements"),
    pytest.param("build-network-host", """
        services:
          app:
            build:
              context: .
              network: host  # <-
        """, ["'app'", "build.network: host"], id="build-network-host"),
    pytest.param("build-privileged", """
        services:
          app:
            build:
              context: .
              privileged: true  # <-
        """, ["'app'", "build.privileged"], id="build-privileged"),
    pytest.param("file-outside", """
        services:
          app:
            image: alpine
            env_file:
              - ./app.env
              - /etc/environment  # <-
        """, ["'app'", "env_file '/etc/environment'", "outside the submission"], id="env-file-outside"),
    pytest.param("file-outside", """
        services:
          app:
            image: alpine
            env_file:
              - path: ${ENV_PATH}  # <-
                required: false
        """, ["'app'", "variable", "cannot check"], id="env-file-variable"),
    pytest.param("file-outside", """
        services:
          app:
            image: alpine
            label_file: ../labels  # <-
        """, ["'app'", "label_file '../labels'"], id="label-file-outside"),
    pytest.param("file-outside", """
        services:
          app:
            image: alpine
            secrets: [key]
        secrets:
          key:
            file: /etc/shadow  # <-
        """, ["secret 'key'", "/etc/shadow", "outside the submission"], id="secret-file-outside"),
    pytest.param("file-outside", """
        services:
          app:
            image: alpine
            configs: [conf]
        configs:
          conf:
            file: ../../conf.ini  # <-
        """, ["config 'conf'", "../../conf.ini"], id="config-file-outside"),
    pytest.param("file-outside", """
        services:
          app:
            image: alpine
            extends:
              file: ../base.yml  # <-
              service: base
        """, ["'app'", "extends", "../base.yml"], id="extends-file-outside"),
    pytest.param("file-outside", """
        include:
          - ../other/compose.yaml  # <-
        services:
          app:
            image: alpine
        """, ["include", "../other/compose.yaml", "outside the submission"], id="include-outside"),
    pytest.param("file-outside", """
        include:
          - path: oci://registry.example.com/stack:latest  # <-
        services:
          app:
            image: alpine
        """, ["include", "remote"], id="include-remote"),
    pytest.param("secret-environment", """
        services:
          app:
            image: alpine
            secrets: [token]
        secrets:
          token:
            environment: GITHUB_TOKEN  # <-
        """, ["secret 'token'", "GITHUB_TOKEN", "environment"], id="secret-environment"),
    pytest.param("secret-environment", """
        services:
          app:
            image: alpine
            configs: [conf]
        configs:
          conf:
            environment: HOME  # <-
        """, ["config 'conf'", "HOME"], id="config-environment"),
    pytest.param("network-mode", """
        services:
          app:
            image: alpine
            network_mode: bridge  # <-
        """, ["'app'", "network_mode: bridge", "outside this compose project"], id="network-mode-bridge"),
    pytest.param("network-mode", """
        services:
          app:
            image: alpine
            network_mode: other_stack_default  # <-
        """, ["'app'", "network_mode: other_stack_default", "outside this compose project"], id="network-mode-named"),
    pytest.param("file-outside", """
        services:
          app:
            image: alpine
            env_file: ${HOME}/.env  # <-
        """, ["'app'", "env_file", "variable", "cannot check"], id="env-file-interpolated-short"),
    pytest.param("file-outside", """
        include:
          - ${STACK:-other}/compose.yaml  # <-
        services:
          app:
            image: alpine
        """, ["include", "variable"], id="include-variable"),
    pytest.param("file-outside", """
        services:
          app:
            image: alpine
            extends:
              file: $BASE  # <-
              service: base
        """, ["'app'", "extends", "variable"], id="extends-variable"),
    pytest.param("too-many-services", """
        x-svc: &svc
          image: alpine
        services:  # <-
          s1: *svc
          s2: *svc
          s3: *svc
          s4: *svc
          s5: *svc
          s6: *svc
          s7: *svc
          s8: *svc
          s9: *svc
          s10: *svc
          s11: *svc
        """, ["11 services", "at most 10"], id="too-many-services-aliases"),
    pytest.param("too-many-ports", """
        services:
          app:
            image: alpine
            ports:  # <-
              - "8000-9000:8000-9000"
        """, ["1001 ports", "'app'", "at most 20"], id="too-many-ports-range"),
]


@pytest.mark.parametrize("rule, text, words", CASES)
def test_each_rule(request: pytest.FixtureRequest, tmp_path: Path, rule: str, text: str, words: list[str]) -> None:
    path = write(tmp_path, text)
    for name in ("token.txt", "app.env"):
        (tmp_path / name).write_text("A=1\n")
    result = judge(tmp_path)
    assert result.error is None, result.error
    found = result.of_rule(rule)
    assert len(found) == 1, result.violations
    violation = found[0]
    assert rule in RULES
    for word in words:
        assert word.lower() in violation.message.lower(), (word, violation.message)
    assert violation.location == Location("compose.yaml", marked_line(path)), violation


def test_a_refused_reference_is_never_given_to_compose(tmp_path: Path) -> None:
    """What the reading refuses is stripped: Compose's model holds no trace of it."""
    write(tmp_path, """
        include:
          - ../other/compose.yaml
        services:
          app:
            image: alpine
            env_file: [./app.env, /etc/environment]
            label_file: ../labels
            extends: {file: ../base.yml, service: base}
        """)
    (tmp_path / "app.env").write_text("A=1\n")
    result = judge(tmp_path)
    assert sorted(result.rules) == ["file-outside"] * 4
    app = result.config["services"]["app"]
    assert set(result.config["services"]) == {"app"}
    assert app["environment"] == {"A": "1"}  # ./app.env is still read
    assert "extends" not in app and "label_file" not in app


def test_a_stripped_extends_can_leave_a_service_compose_rejects(tmp_path: Path) -> None:
    """Without the refused extends the service has no image: Compose rejects the rest, the refusal stands."""
    path = write(tmp_path, "services:\n  app:\n    extends:\n      file: ../base.yml  # <-\n      service: base\n")
    result = judge(tmp_path)
    assert result.error is not None and "image" in result.error.message
    assert [(v.rule, v.location) for v in result.violations] == [
        ("file-outside", Location("compose.yaml", marked_line(path)))]


def test_network_mode_of_a_missing_service_is_rejected_by_compose(tmp_path: Path) -> None:
    write(tmp_path, "services:\n  app:\n    image: alpine\n    network_mode: service:ghost\n")
    result = judge(tmp_path)
    assert result.error is not None and "ghost" in result.error.message
    # on a model that still holds it (another Compose version), the rule refuses it
    found = evaluate({"services": {"app": {"network_mode": "service:ghost"}}}, [], tmp_path)
    assert [v.rule for v in found] == ["host-namespace"] and "no service 'ghost'" in found[0].message


def test_develop_watch_is_not_judged_because_it_never_runs(tmp_path: Path) -> None:
    """The grader never runs `docker compose watch` and drops develop: from the boot file, so a
    watch path outside is harmless (it was a file-outside refusal when develop was carried)."""
    write(tmp_path, """
        services:
          app:
            image: alpine
            develop:
              watch:
                - path: /etc
                  action: sync
                  target: /app
        """)
    result = judged_clean(tmp_path)
    assert result.config["services"]["app"]["develop"]["watch"][0]["path"] == "/etc"


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
    result = judge(tmp_path)
    assert result.rules == ["privileged"] and "develop.watch" in result.violations[0].message
    assert result.violations[0].location == Location("compose.yaml", marked_line(path))


# --------------------------------------------------------------------------- the rule list


def _emitted_rule_names() -> set[str]:
    """Every rule name the policy code can emit: KEY_RULES, and each literal passed as a rule to
    Finding(...), refuse(...) or rule=... in grader/policy and grader/submission/files.py."""
    names = {rule.name for rule in policy.KEY_RULES}
    sources = [*(REPO / "grader" / "policy").glob("*.py"), REPO / "grader" / "submission" / "files.py"]
    for source in sources:
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if isinstance(node, ast.arguments):  # a default, e.g. `rule: str = "build-context-outside"`
                params = node.args[len(node.args) - len(node.defaults):] + node.kwonlyargs
                defaults = node.defaults + [d for d in node.kw_defaults if d is not None]
                names |= {d.value for p, d in zip(params, defaults)
                          if p.arg == "rule" and isinstance(d, ast.Constant) and isinstance(d.value, str)}
            if not isinstance(node, ast.Call):
                continue
            callee = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            candidates = [kw.value for kw in node.keywords if kw.arg == "rule"]
            if callee in ("Finding", "refuse", "PolicyViolation") and node.args:
                candidates.append(node.args[0])
            names |= {c.value for c in candidates if isinstance(c, ast.Constant) and isinstance(c.value, str)}
    return names


def test_rules_lists_every_rule_the_policy_can_emit() -> None:
    emitted = _emitted_rule_names()
    assert {"host-namespace", "network-mode", "too-many-services", "too-many-ports", "bind-mount-outside",
            "file-outside", "symlink-outside", "check-failed"} <= emitted  # the scan itself works
    assert emitted - set(RULES) == set(), "rules evaluate can emit but RULES does not list"
    assert set(RULES) - emitted == set(), "rules RULES lists that nothing emits"


def test_every_case_is_a_listed_rule() -> None:
    assert {case.values[0] for case in CASES} <= set(RULES)


def test_every_rule_is_documented() -> None:
    doc = (REPO / "docs" / "policy.md").read_text(encoding="utf-8")
    assert len(RULES) >= 30
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


def safe_tree(root: Path) -> Path:
    path = write(root, SAFE)
    for name in ("redis.env", "token.txt", "Dockerfile"):
        (root / name).write_text("A=1\n" if name.endswith(".env") else "x\n")
    for name in ("conf", "scripts", "src", "data"):
        (root / name).mkdir()
    return path


def test_safe_file_has_no_violations(tmp_path: Path) -> None:
    safe_tree(tmp_path)
    result = judged_clean(tmp_path)
    assert set(result.config["services"]) == {"redis", "web"}  # Compose really read it


@pytest.mark.parametrize("submission", sorted(p.name for p in SAMPLES.iterdir() if p.is_dir() and p.name != "broken_yaml"))
def test_sample_submissions_pass(submission: str) -> None:
    judged_clean(SAMPLES / submission)


@pytest.mark.parametrize("line", [
    "- ./data:/data",
    "- data:/data",
    "- /data",
    "- .:/app",
    "- ./sub/../data:/data",
])
def test_inside_mounts_are_fine(tmp_path: Path, line: str) -> None:
    (tmp_path / "data").mkdir()
    write(tmp_path, f"""
        services:
          app:
            image: alpine
            volumes:
              {line}
        volumes:
          data:
        """)
    judged_clean(tmp_path)


def test_override_file_uses_its_own_lines(tmp_path: Path) -> None:
    write(tmp_path, "services:\n  app:\n    image: alpine\n")
    write(tmp_path, "services:\n  app:\n    pid: host\n", "compose.override.yaml")
    result = judge(tmp_path)
    assert [(v.rule, str(v.location)) for v in result.violations] == [("host-namespace", "compose.override.yaml:3")]


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
    result = judged_clean(tmp_path)
    assert result.config["services"]["web"]["network_mode"] == "service:redis"


def test_network_mode_none_is_fine(tmp_path: Path) -> None:
    write(tmp_path, "services:\n  app:\n    image: alpine\n    network_mode: none\n")
    judged_clean(tmp_path)


@pytest.mark.parametrize("count, ports", [(10, ["6379:6379"]), (1, ["6000-6019:6000-6019"])])
def test_caps_at_their_limit_are_fine(tmp_path: Path, count: int, ports: list[str]) -> None:
    services = "".join(f"  s{i}:\n    image: alpine\n    ports: {ports if i == 0 else []}\n" for i in range(count))
    write(tmp_path, "services:\n" + services)
    result = judged_clean(tmp_path)
    assert len(result.config["services"]) == count


def test_caps_follow_the_rubric(tmp_path: Path) -> None:
    write(tmp_path, "services:\n  a:\n    image: alpine\n    ports: ['1:1', '2:2']\n  b:\n    image: alpine\n")
    assert judge(tmp_path).violations == []
    result = judge(tmp_path, max_services=1, max_ports=1)
    assert sorted(result.rules) == ["too-many-ports", "too-many-services"]
    ports = result.of_rule("too-many-ports")[0]
    assert "2 ports" in ports.message and "'a'" in ports.message and ports.location == Location("compose.yaml", 4)


# --------------------------------------------------------------------------- evaluate


def test_evaluate_merges_and_sorts(tmp_path: Path) -> None:
    write(tmp_path, """
        services:
          b:
            image: alpine
            privileged: true
          a:
            image: alpine
            cap_add: [SYS_ADMIN]
            privileged: true
        """)
    result = judge(tmp_path)
    assert [(v.rule, v.location.line) for v in result.violations] == [("privileged", 4), ("cap-add", 7), ("privileged", 8)]


def test_allowed_drops_a_rule(tmp_path: Path) -> None:
    write(tmp_path, """
        services:
          app:
            image: alpine
            cap_add: [NET_ADMIN]
            privileged: true
            env_file: /etc/environment
        """)
    assert set(judge(tmp_path).rules) == {"cap-add", "privileged", "file-outside"}
    assert judge(tmp_path, allowed=frozenset({"cap-add", "file-outside"})).rules == ["privileged"]


def test_a_crashing_check_fails_closed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, "services:\n  app:\n    image: alpine\n")

    def boom(*args: object) -> None:
        raise RuntimeError("bug")

    monkeypatch.setattr(policy.paths, "bind_mounts", boom)
    result = judge(tmp_path)
    assert [(v.rule, str(v.location)) for v in result.violations] == [("check-failed", "compose.yaml:2")]
    assert "app" in result.violations[0].message and "RuntimeError" in result.violations[0].message


def test_submission_root_spelled_through_a_symlink(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "alias").symlink_to(real)
    (real / "data").mkdir()
    model = {"services": {"app": {"volumes": [
        {"type": "bind", "source": str(tmp_path / "alias" / "data"), "target": "/data"},
        {"type": "bind", "source": str(real / "data"), "target": "/data2"},
    ]}}}
    assert evaluate(model, [], tmp_path / "alias") == []
    # spelled with the real root, a path through a link outside it is not followed: refused
    found = evaluate(model, [], real)
    assert [v.rule for v in found] == ["bind-mount-outside"] and " at /data:" in found[0].message


@pytest.mark.parametrize("text", [
    "services: [a, b]\n",
    "services:\n  a: [1, 2]\n",
    "services:\n  a:\n    volumes: 12\n    privileged: 1\n    cap_add: SYS_ADMIN\n",
    "services:\n  a:\n    build: [1]\n    volumes: [{type: bind}, {source: /etc}, 3, null]\n",
    "services:\n  a:\n    env_file: [{path: 3}, null]\n    extends: {file: [x]}\n",
    "include: {a: 1}\nvolumes: [x]\nnetworks: 3\nsecrets: {s: [1]}\n",
    "include: [3, null, {path: 4}]\nservices:\n  1:\n    network_mode: 5\n",
])
def test_odd_shapes_are_a_load_error_not_a_crash(tmp_path: Path, text: str) -> None:
    write(tmp_path, text)
    result = judge(tmp_path)
    assert result.error is not None, result.config  # Compose rejects every one of them
    assert result.violations == []


@pytest.mark.parametrize("model", [
    {}, {"services": None}, {"services": []}, {"services": {"a": None}},
    {"services": {"a": {"volumes": [None, {"type": "bind", "source": None}]}}},
    {"services": {"a": {"build": None, "ports": None, "deploy": 3}}, "volumes": None, "networks": []},
    [], None, 3, {"services": {}, "secrets": 3}, {"services": {}, "volumes": ["x"]},
])
def test_odd_model_shapes(tmp_path: Path, model: Any) -> None:
    found = evaluate(model, [], tmp_path)
    assert all(v.rule == "check-failed" for v in found), found
