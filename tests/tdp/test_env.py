"""tdp.env: strict readers for environment settings."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from tdp.env import env_bool, env_int, env_list, env_str


def test_env_bool_accepts_only_clear_words(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("X_FLAG", "true")
    assert env_bool("X_FLAG") is True
    monkeypatch.setenv("X_FLAG", "0")
    assert env_bool("X_FLAG", True) is False
    monkeypatch.setenv("X_FLAG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="X_FLAG"):
        env_bool("X_FLAG")


def test_env_bool_uses_the_default_when_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("X_FLAG", raising=False)
    assert env_bool("X_FLAG", True) is True


def test_env_int_rejects_words(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("X_NUM", "12")
    assert env_int("X_NUM", 3) == 12
    monkeypatch.setenv("X_NUM", "twelve")
    with pytest.raises(ImproperlyConfigured, match="X_NUM"):
        env_int("X_NUM", 3)


def test_env_str_reads_a_file_when_name_file_is_set(
    monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    secret = tmp_path / "secret"
    secret.write_text("s3cret\n")
    monkeypatch.setenv("X_SECRET_FILE", str(secret))
    assert env_str("X_SECRET") == "s3cret"


def test_env_list_splits_on_commas(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("X_HOSTS", "a.example, b.example,,")
    assert env_list("X_HOSTS", []) == ["a.example", "b.example"]


def test_settings_refuse_to_start_without_a_secret_key_when_debug_is_off() -> None:
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-c", "import tdp.settings"],
        env={"DEBUG": "0", "SECRET_KEY": "", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_check_deploy_with_production_settings_reports_only_the_justified_warning() -> None:
    import os
    import subprocess
    import sys

    env = {
        **os.environ,
        "DEBUG": "0",
        "SECRET_KEY": "a-long-random-production-secret-key-" + "x" * 40,
        "ALLOWED_HOSTS": "tdp.example.com",
        "TDP_SITE_URL": "https://tdp.example.com",
        "DJANGO_SETTINGS_MODULE": "tdp.settings",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    output = result.stdout + result.stderr
    assert "security.W021" in output  # HSTS preload: off on purpose, see README
    warnings = [line for line in output.splitlines() if line.startswith("?: (")]
    assert [w.split(")")[0] for w in warnings] == ["?: (security.W021"]
