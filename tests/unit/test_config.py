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
