"""The simulator's settings as ``jzgr sim serve`` hands them to a serving process (``JZGR_SIM_*``),
and as code gives them (the environment plays no part)."""

from __future__ import annotations

import pytest

from simulator.asgi import settings_from_env
from simulator.config import KeyMatch, Settings
from standard.profile import LENIENT, STRICT

SERVED = {
    "JZGR_SIM_DB": "sqlite:///elsewhere.db",  # the server's, not a setting
    "JZGR_SIM_PROFILE": "lenient",
    "JZGR_SIM_ASYNC_DELAY": "0.25",
    "JZGR_SIM_TIMESTAMP_WINDOW": "off",
    "JZGR_SIM_NONCE_WINDOW": "300",
    "JZGR_SIM_DIAGNOSTICS": "off",
    "JZGR_SIM_DEFECTS": "accept-aes128,worker-list-6",
    "JZGR_SIM_KEY_MATCH": "case-insensitive",
}


def test_a_serving_process_reads_what_sim_serve_wrote(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in SERVED.items():
        monkeypatch.setenv(name, value)
    settings = settings_from_env()
    assert settings.profile is LENIENT
    assert settings.async_delay == 0.25
    assert settings.timestamp_window is None and settings.nonce_window == 300.0
    assert settings.diagnostics is False
    assert settings.defects == {"accept-aes128", "worker-list-6"}
    assert settings.key_match is KeyMatch.CASE_INSENSITIVE
    assert settings.parse_profile().case_insensitive_keys


def test_empty_variables_mean_the_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("JZGR_SIM_DEFECTS", "JZGR_SIM_KEY_MATCH"):
        monkeypatch.setenv(name, "")
    monkeypatch.setenv("JZGR_SIM_DIAGNOSTICS", "on")
    settings = settings_from_env()
    assert settings.defects == frozenset() and settings.key_match is None and settings.diagnostics
    assert settings.profile is STRICT and settings.timestamp_window == 600.0


def test_settings_in_code_ignore_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in SERVED.items():
        monkeypatch.setenv(name, value)
    settings = Settings(async_delay=0.0)
    assert settings == Settings(async_delay=0.0, profile=STRICT, diagnostics=True, defects=frozenset())
    assert settings.nonce_window == 600.0 and settings.key_match is None
