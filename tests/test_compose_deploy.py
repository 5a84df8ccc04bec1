"""docker-compose.yml's own environment passes `check --deploy`: the variables are read
from the compose file (its defaults as written), never set by hand here. Only the values
compose itself insists the operator supplies (`${VAR:?...}`) are filled in."""

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
_VAR = re.compile(r"\$\{(\w+)(?::([-?])([^}]*))?\}")


def compose_environment(required: dict[str, str]) -> dict[str, str]:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    environment = compose["services"]["web"]["environment"]  # the x-app anchor, merged

    def substitute(match: re.Match) -> str:
        name, kind, default = match.groups()
        if kind == "-":
            return default
        assert kind == "?", f"${{{name}}} has no default in docker-compose.yml"
        return required[name]

    return {k: _VAR.sub(substitute, str(v)) for k, v in environment.items()}


def test_the_compose_environment_is_the_secure_shape():
    env = compose_environment({"DJANGO_SECRET_KEY": "k" * 50, "POSTGRES_PASSWORD": "p"})
    assert env["DJANGO_DEBUG"] == "false" and env["DJANGO_SECURE"] == "true"
    assert env["TRUSTED_PROXY_COUNT"] == "1"


def test_check_deploy_passes_with_the_compose_environment():
    env = compose_environment({"DJANGO_SECRET_KEY": secrets.token_urlsafe(50), "POSTGRES_PASSWORD": "p"})
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR")}
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env={**keep, **env}, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_without_a_secret_key_the_app_refuses_to_start(tmp_path):
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR")}
    env = {**keep, "DJANGO_DEBUG": "false", "VAR_DIR": str(tmp_path)}  # no var/secret_key either
    for key in (None, "django-insecure-local-dev-only-change-me", "short"):
        result = subprocess.run(
            [sys.executable, "manage.py", "check"], cwd=ROOT, capture_output=True, text=True, timeout=120,
            env=env if key is None else {**env, "DJANGO_SECRET_KEY": key},
        )
        assert result.returncode != 0 and "DJANGO_SECRET_KEY is missing or too short" in result.stderr
    debug = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, capture_output=True, text=True,
                           timeout=120, env={**env, "DJANGO_DEBUG": "true"})
    assert debug.returncode == 0, debug.stderr  # DEBUG may use the dev key
