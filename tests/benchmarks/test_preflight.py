from pathlib import Path

import pytest
from bench.tools import preflight


@pytest.fixture
def bin_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A PATH holding only what the test puts there, and an empty sbin."""
    folder, sbin = tmp_path / "bin", tmp_path / "sbin"
    folder.mkdir()
    sbin.mkdir()
    monkeypatch.setenv("PATH", str(folder))
    monkeypatch.setattr(preflight, "SBIN", str(sbin))
    return folder


def install(folder: Path, name: str) -> None:
    command = folder / name
    command.write_text("#!/bin/sh\n")
    command.chmod(0o755)


def test_present_commands_pass(bin_folder: Path) -> None:
    install(bin_folder, "wrk")
    install(bin_folder, "taskset")
    preflight.require_commands("wrk", "taskset")


def test_a_missing_command_is_named_with_its_install_line(bin_folder: Path) -> None:
    install(bin_folder, "taskset")
    with pytest.raises(SystemExit) as stopped:
        preflight.require_commands("wrk", "taskset")
    assert str(stopped.value) == (
        "this benchmark needs wrk, not found on PATH (install: apt-get install -y wrk)"
    )


def test_each_missing_command_is_named_once_with_its_package(bin_folder: Path) -> None:
    with pytest.raises(SystemExit) as stopped:
        preflight.require_commands("wrk", "taskset", "redis-server")
    assert str(stopped.value) == (
        "this benchmark needs wrk, taskset, redis-server, not found on PATH"
        " (install: apt-get install -y wrk util-linux redis-server)"
    )


def test_a_command_in_sbin_counts(bin_folder: Path) -> None:
    install(Path(preflight.SBIN), "pgbouncer")
    preflight.require_commands("pgbouncer")


def test_a_file_that_is_not_executable_does_not_count(bin_folder: Path) -> None:
    (bin_folder / "wrk").write_text("")
    assert preflight.missing_commands("wrk") == ["wrk"]
