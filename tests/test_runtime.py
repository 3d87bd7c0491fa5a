"""The composition root: each runtime carries its own settings, registry, clock and
connections, so two of them in one process do not see each other (nothing is global)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from hub.app import create_app
from hub.db import runtime_of
from hub.runtime import HubRuntime, run_in_unit
from hub.sdk.registry import Registry
from hub.settings import Settings
from tests.conftest import TEST_KEY


def _settings(tmp_path: Path, name: str) -> Settings:
    return Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / name}.db",
        data_dir=tmp_path / name,
        secret_key=SecretStr(TEST_KEY),
    )


async def test_two_runtimes_in_one_process_keep_their_own_clock_registry_and_settings(tmp_path: Path) -> None:
    frozen = datetime(2030, 1, 2, 3, 4, tzinfo=UTC)
    async with (
        HubRuntime.open(_settings(tmp_path, "a"), clock=lambda: frozen, adapters=Registry({}, {})) as a,
        HubRuntime.open(_settings(tmp_path, "b")) as b,
    ):
        a.use_settings(notify={"smtp_port": 2525})
        assert a.now() == frozen and b.now() != frozen
        assert a.adapters.specs == {} and "pax8" in b.adapters.specs
        assert (a.settings.notify.smtp_port, b.settings.notify.smtp_port) == (2525, 25)
        async with a.sessionmaker() as session:
            assert runtime_of(session) is a
        async with b.unit_of_work(write=False) as session:
            assert runtime_of(session) is b


async def test_changing_a_settings_group_is_validated(runtime: HubRuntime) -> None:
    with pytest.raises(ValidationError, match="smtp_port"):
        runtime.use_settings(notify={"smtp_port": 0})
    assert runtime.settings.notify.smtp_port == 25


def test_create_app_refuses_settings_in_place_of_a_runtime(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="pass settings as settings="):
        create_app(_settings(tmp_path, "c"))  # type: ignore[arg-type]


def test_a_command_gets_a_runtime_and_a_committed_unit_of_work(tmp_path: Path) -> None:
    from hub import migrate

    settings = _settings(tmp_path, "d")
    migrate.upgrade(settings.resolved_database_url)

    async def work(session: object) -> bool:
        return runtime_of(session).settings.core.database_url == settings.database_url  # type: ignore[arg-type]

    assert run_in_unit(work, settings) is True


async def test_an_extra_adapter_joins_the_registry_and_a_broken_one_is_reported(tmp_path: Path) -> None:
    settings = _settings(tmp_path, "e")
    runtime = HubRuntime(settings)
    runtime.use_settings(adapters={"extra": "tests.sync.testvendor:spec, no_such_module:spec"})
    rebuilt = HubRuntime(runtime.settings)
    try:
        assert "testvendor" in rebuilt.adapters.specs and "pax8" in rebuilt.adapters.specs
        assert rebuilt.adapters.broken["no_such_module:spec"].startswith("cannot be imported")
    finally:
        await rebuilt.aclose()
        await runtime.aclose()


def test_a_worker_refuses_to_start_with_settings_that_could_send_an_order_twice(tmp_path: Path) -> None:
    """An in-flight grace shorter than the adapters' HTTP timeout: a lookup could believe
    an order absent while it is still on its way, and send it again."""
    import os
    import subprocess
    import sys

    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("HUB_")},
        "HUB_DATA_DIR": str(tmp_path),
        "HUB_SECRET_KEY": TEST_KEY,
        "HUB_RENEWAL_IN_FLIGHT_GRACE_SECONDS": "10",
        "HUB_ADAPTER_HTTP_TIMEOUT_SECONDS": "15",
    }
    done = subprocess.run(
        [str(Path(sys.executable).parent / "hub"), "worker"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert (
        "HUB_RENEWAL_IN_FLIGHT_GRACE_SECONDS (10) must exceed HUB_ADAPTER_HTTP_TIMEOUT_SECONDS (15)"
        in done.stderr
    )
    assert "Traceback" not in done.stderr
