"""The one settings model: every bad value named by its variable, secrets never echoed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from scimtenancy_common.settings import Settings, load_settings


def test_defaults_serve_both_processes() -> None:
    settings = Settings()
    assert (settings.grpc_port, settings.http_port, settings.url_strategy) == (50051, 8080, "path")


def test_environment_and_flags_set_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCIMTENANCY_GRPC_PORT", "6000")
    monkeypatch.setenv("SCIMTENANCY_HTTP_PORT", "7000")
    settings = load_settings(["--http-port", "7001", "--url-strategy", "header"])
    assert (settings.grpc_port, settings.http_port, settings.url_strategy) == (6000, 7001, "header")


def test_each_bad_value_is_named_and_the_process_exits_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SCIMTENANCY_GRPC_PORT", "70000")
    monkeypatch.setenv("SCIMTENANCY_STORAGE", "postgres")
    monkeypatch.setenv("SCIMTENANCY_JWT_ISSUERS", '[{"secret": "hunter2-secret-value"}]')
    with pytest.raises(SystemExit) as exit_info:
        load_settings([])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "SCIMTENANCY_GRPC_PORT: Input should be less than or equal to 65535 (got '70000')" in err
    assert "SCIMTENANCY_STORAGE: Input should be 'memory' or 'mongodb' (got 'postgres')" in err
    assert "SCIMTENANCY_JWT_ISSUERS (0.issuer): Field required" in err
    assert "hunter2-secret-value" not in err


def test_a_process_with_a_bad_value_stops_with_the_message() -> None:
    result = subprocess.run(
        [str(Path(sys.executable).parent / "scimtenancy-transcoder")],
        env={"SCIMTENANCY_RPC_TIMEOUT": "-1", "PATH": ""},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "SCIMTENANCY_RPC_TIMEOUT: Input should be greater than 0" in result.stderr
    assert "Traceback" not in result.stderr


def test_every_setting_is_listed_in_the_readme_with_its_default() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    rows = {
        line.split("|")[1].strip(" `"): line.split("|")[2].strip()
        for line in readme.splitlines()
        if line.startswith("| `")
    }
    for name, field in Settings.model_fields.items():
        assert name.upper() in rows, f"README lists no SCIMTENANCY_{name.upper()}"
        default = field.default
        shown = rows[name.upper()]
        if isinstance(default, bool):
            assert str(default).lower() in shown, (name, shown)
        elif isinstance(default, int | float):
            number = str(int(default)) if float(default).is_integer() else str(default)
            assert f"`{number}`" in shown.replace(",", ""), (name, shown)
