"""docker-compose.yml: valid, refuses to start without a secret key, and wires every hub
service to the PostgreSQL service. Validated with docker-compose v1 (`config` needs no
engine); CI installs it from Debian."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from cryptography.fernet import Fernet

yaml = pytest.importorskip("yaml")

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
COMPOSE = shutil.which("docker-compose")
needs_compose = pytest.mark.skipif(
    COMPOSE is None, reason="docker-compose not installed (CI installs it from Debian)"
)
FERNET_KEY = Fernet.generate_key().decode()


PASSWORD = "a-real-password"


def _compose(
    *args: str, secret_key: str | None, password: str | None = PASSWORD
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HUB_", "POSTGRES_", "COMPOSE_"))}
    if secret_key is not None:
        env["HUB_SECRET_KEY"] = secret_key
    if password is not None:
        env["POSTGRES_PASSWORD"] = password
    assert COMPOSE is not None
    return subprocess.run(
        [COMPOSE, "-f", str(COMPOSE_FILE), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _hub_services(services: dict[str, Any]) -> dict[str, Any]:
    """The services that run the hub image (everything but the database)."""
    return {name: svc for name, svc in services.items() if name != "postgres"}


def _env(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return env


def _assert_topology(services: dict[str, Any]) -> None:
    assert {"postgres", "api", "worker"} <= set(services)
    assert services["api"]["command"][:2] == ["hub", "serve"]
    # The API container serves with several processes (PostgreSQL).
    assert "--workers" in services["api"]["command"]
    hub_services = _hub_services(services)
    assert {"api", "worker"} <= set(hub_services)
    for name, service in hub_services.items():
        assert service["command"][0] == "hub", name
        # The file as written has ${VAR:?message} in it; the resolved config has values.
        url = urlsplit(re.sub(r"\$\{[^}]*\}", "value", _env(service)["HUB_DATABASE_URL"]))
        assert url.scheme.startswith("postgres") and url.hostname == "postgres", (name, url)
        assert "HUB_SECRET_KEY" in _env(service), name


@needs_compose
def test_compose_file_is_valid_with_a_secret_key() -> None:
    result = _compose("config", "-q", secret_key=FERNET_KEY)
    assert result.returncode == 0, result.stderr


@needs_compose
def test_compose_file_refuses_to_run_without_a_secret_key() -> None:
    result = _compose("config", "-q", secret_key=None)
    assert result.returncode != 0
    assert "HUB_SECRET_KEY" in result.stderr


@needs_compose
def test_compose_file_refuses_to_run_without_a_database_password() -> None:
    result = _compose("config", "-q", secret_key=FERNET_KEY, password=None)
    assert result.returncode != 0
    assert "POSTGRES_PASSWORD" in result.stderr


def test_compose_file_has_no_default_password_or_key() -> None:
    """Every secret is required (`${VAR:?message}`), never defaulted (`${VAR:-value}`)."""
    text = COMPOSE_FILE.read_text()
    for name in ("POSTGRES_PASSWORD", "HUB_SECRET_KEY"):
        assert f"${{{name}:-" not in text and f"${{{name}-" not in text, name
        assert f"${{{name}:?" in text, name


def test_the_image_keeps_its_key_file_outside_the_data_volume() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    data_dir = re.search(r"HUB_DATA_DIR=(\S+)", dockerfile)
    key_file = re.search(r"HUB_SECRET_KEY_FILE=(\S+)", dockerfile)
    assert data_dir and key_file, "the image must set both HUB_DATA_DIR and HUB_SECRET_KEY_FILE"
    assert not key_file.group(1).startswith(data_dir.group(1).rstrip("/") + "/")


@needs_compose
def test_resolved_compose_config_wires_hub_services_to_postgres() -> None:
    result = _compose("config", secret_key=FERNET_KEY)
    assert result.returncode == 0, result.stderr
    services = yaml.safe_load(result.stdout)["services"]
    _assert_topology(services)
    for service in _hub_services(services).values():
        assert _env(service)["HUB_SECRET_KEY"] == FERNET_KEY


def test_compose_file_declares_postgres_api_and_worker() -> None:
    # The same checks on the file as written (no docker-compose needed).
    services = yaml.safe_load(COMPOSE_FILE.read_text())["services"]
    _assert_topology(services)
