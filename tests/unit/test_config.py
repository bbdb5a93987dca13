"""Config loading: env overrides, validation errors that name the key."""

from __future__ import annotations

import pytest

from bot.config import DEFAULT_CONFIG_PATH, ConfigError, load_config


def test_defaults_and_env_override():
    config = load_config(DEFAULT_CONFIG_PATH, environ={"BOT_PORT": "4000", "RASA_TOKEN": "t"})
    assert config.server.port == 4000
    assert config.server.host == "127.0.0.1"
    assert config.nlu.token == "t"
    assert load_config(DEFAULT_CONFIG_PATH, environ={}).server.port == 3978
    assert load_config(DEFAULT_CONFIG_PATH, environ={}).contacts.crisis_line == ""
    number = load_config(DEFAULT_CONFIG_PATH, environ={"CRISIS_LINE": "09 1234 5678"})
    assert number.contacts.crisis_line == "09 1234 5678"


@pytest.mark.parametrize(
    "overrides, key",
    [
        ({"server": {"port": "abc"}}, "server.port"),
        ({"server": {"port": 70000}}, "server.port"),
        ({"nlu": {"url": "ftp://x"}}, "nlu.url"),
        ({"nlu": {"confidence_threshold": 2}}, "nlu.confidence_threshold"),
        ({"nlu": {"unknown_key": 1}}, "nlu.'unknown_key'"),
        ({"language": {"default": "de"}}, "language.default"),
        ({"language": {"detector": "magic"}}, "language.detector"),
        ({"content": {"dir": "/no/such/folder"}}, "content.dir"),
        ({"bot_framework": {"app_type": "Anything"}}, "bot_framework.app_type"),
        ({"bot_framework": {"app_id": "a", "tenant_id": ""}}, "bot_framework.tenant_id"),
        ({"bot_framework": {"allow_unauthenticated": "maybe"}}, "bot_framework.allow_unauth"),
        ({"feedback": {"max_text_chars": 0}}, "feedback.max_text_chars"),
        ({"retention": {"feedback_days": -1}}, "retention.feedback_days"),
        ({"contacts": {"crisis_line": "call us"}}, "contacts.crisis_line"),
    ],
)
def test_bad_values_name_the_key(overrides, key):
    with pytest.raises(ConfigError) as caught:
        load_config(DEFAULT_CONFIG_PATH, environ={}, overrides=overrides)
    assert key in str(caught.value)


def test_bad_file(tmp_path):
    path = tmp_path / "config.yml"
    path.write_text("server: [1, 2", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(path)
    path.write_text("links:\n  x: http://insecure.example\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="links.x"):
        load_config(path)
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "missing.yml")


def test_main_exits_cleanly_on_bad_config(tmp_path, capsys):
    from bot.__main__ import main

    path = tmp_path / "config.yml"
    path.write_text("server:\n  port: nope\n", encoding="utf-8")
    assert main(["--config", str(path)]) == 2
    assert "server.port" in capsys.readouterr().err


def test_authentication_is_never_silently_off():
    """No app id: refuse to start, unless the development setting, and then loopback only."""
    from bot.botframework.auth import check_startup

    with pytest.raises(ConfigError, match="bot_framework.app_id"):
        check_startup(load_config(DEFAULT_CONFIG_PATH, environ={}))
    development = {"BOT_ALLOW_UNAUTHENTICATED": "true"}
    check_startup(load_config(DEFAULT_CONFIG_PATH, environ=development))
    public = {**development, "BOT_HOST": "0.0.0.0"}
    with pytest.raises(ConfigError, match="loopback"):
        check_startup(load_config(DEFAULT_CONFIG_PATH, environ=public))
    production = {"BOT_HOST": "0.0.0.0", "MICROSOFT_APP_ID": "a", "MICROSOFT_APP_TENANT_ID": "t"}
    check_startup(load_config(DEFAULT_CONFIG_PATH, environ=production))


def test_the_service_says_why_it_will_not_start(tmp_path, capsys):
    from bot.__main__ import main

    config_file = tmp_path / "config.yml"
    config_file.write_text("server:\n  port: 3999\n", encoding="utf-8")
    assert main(["--config", str(config_file)]) == 2
    assert "MICROSOFT_APP_ID" in capsys.readouterr().err
