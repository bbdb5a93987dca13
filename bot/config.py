"""Application configuration: one YAML file, `${ENV}` overrides, validated at start-up.

The loader raises `ConfigError` naming the bad key; `bot.__main__` turns that into
a clear message and a non-zero exit. Nothing here runs at import time.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import yaml

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG_PATH = PROJECT_ROOT / "config.yml"
SUPPORTED_LANGUAGES = ("fi", "sv", "en", "fi-x-selko")

_ENV_PATTERN = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_PHONE_NUMBER = re.compile(r"\+?[0-9][0-9 ()-]{2,20}[0-9]")  # "112", "09 2525 0111", "+358 ..."


class ConfigError(ValueError):
    """The configuration is invalid; the message names the key."""


@dataclass(frozen=True)
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = 3978


@dataclass(frozen=True)
class NluConfig:
    url: str = "http://127.0.0.1:5005"
    token: str = ""
    timeout_seconds: float = 3.0
    confidence_threshold: float = 0.30
    suggestion_min_confidence: float = 0.05
    max_suggestions: int = 3
    max_message_chars: int = 1000
    breaker_failures: int = 3
    breaker_reset_seconds: float = 5.0
    cache_entries: int = 5000


@dataclass(frozen=True)
class LanguageConfig:
    default: str = "fi"
    detector: str = "lingua"
    min_confidence: float = 0.7
    first_message_min_confidence: float = 0.5
    min_letters: int = 8


@dataclass(frozen=True)
class DirectLineConfig:
    token_secret: str = ""
    token_ttl_seconds: int = 1800
    max_activity_bytes: int = 65536
    max_conversations: int = 10000
    conversation_ttl_seconds: int = 86400
    stream_poll_seconds: float = 0.5
    stream_keepalive_seconds: float = 20.0


@dataclass(frozen=True)
class DatabaseConfig:
    url: str = "sqlite:///data/assistant.db"


@dataclass(frozen=True)
class BotFrameworkConfig:
    """Microsoft Bot Framework (Teams) credentials; see bot/botframework/auth.py."""

    app_id: str = ""
    app_password: str = ""
    app_type: str = "SingleTenant"
    tenant_id: str = ""
    certificate_thumbprint: str = ""
    certificate_key_file: str = ""
    allow_unauthenticated: bool = False
    max_body_bytes: int = 262144
    # Empty: the Azure public cloud. Set only for a sovereign cloud or the tests'
    # loopback stand-ins for Entra ID and the Bot Framework's signing keys.
    openid_metadata_url: str = ""
    token_issuer: str = ""
    login_url: str = ""
    validate_authority: bool = True


@dataclass(frozen=True)
class RateLimitConfig:
    """Requests per minute (0 turns one off); see bot/ratelimit.py."""

    store: str = "database"
    per_address_per_minute: int = 600
    new_conversations_per_address_per_minute: int = 30
    per_conversation_per_minute: int = 30
    staff_logins_per_address_per_minute: int = 10
    trust_forwarded_for: bool = False


@dataclass(frozen=True)
class FeedbackConfig:
    dialog_timeout_minutes: int = 30
    max_text_chars: int = 2000
    max_unit_chars: int = 200
    max_comment_chars: int = 500


@dataclass(frozen=True)
class RetentionConfig:
    """Days each kind of record is kept before `python -m bot.manage purge` deletes it."""

    feedback_days: int = 730
    contact_days: int = 180
    rating_days: int = 730
    unanswered_days: int = 365
    bot_state_days: int = 30


@dataclass(frozen=True)
class PrivacyConfig:
    pseudonym_secret: str = ""


@dataclass(frozen=True)
class ContactsConfig:
    """Contact details the city confirms; none is written into the content."""

    crisis_line: str = ""  # a crisis helpline number, added to the distress reply when set


@dataclass(frozen=True)
class ContentConfig:
    dir: str = "content"

    def path(self) -> Path:
        """The content folder, relative paths taken from the project root."""
        candidate = Path(self.dir)
        return candidate if candidate.is_absolute() else PROJECT_ROOT / candidate


@dataclass(frozen=True)
class AppConfig:
    server: ServerConfig = field(default_factory=ServerConfig)
    nlu: NluConfig = field(default_factory=NluConfig)
    language: LanguageConfig = field(default_factory=LanguageConfig)
    directline: DirectLineConfig = field(default_factory=DirectLineConfig)
    content: ContentConfig = field(default_factory=ContentConfig)
    database: DatabaseConfig = field(default_factory=DatabaseConfig)
    bot_framework: BotFrameworkConfig = field(default_factory=BotFrameworkConfig)
    rate_limits: RateLimitConfig = field(default_factory=RateLimitConfig)
    feedback: FeedbackConfig = field(default_factory=FeedbackConfig)
    retention: RetentionConfig = field(default_factory=RetentionConfig)
    privacy: PrivacyConfig = field(default_factory=PrivacyConfig)
    contacts: ContactsConfig = field(default_factory=ContactsConfig)
    links: dict[str, str] = field(default_factory=dict)


def _expand_env(value: Any, environ: dict[str, str]) -> Any:
    """Replace ${NAME} and ${NAME:-default} in every string of a parsed YAML tree."""
    if isinstance(value, str):
        return _ENV_PATTERN.sub(lambda m: environ.get(m.group(1), m.group(2) or ""), value)
    if isinstance(value, dict):
        return {key: _expand_env(item, environ) for key, item in value.items()}
    if isinstance(value, list):
        return [_expand_env(item, environ) for item in value]
    return value


def _coerce(section: str, key: str, raw: Any, expected: type) -> Any:
    """Convert a (possibly env-expanded string) value to the field's type or fail by name."""
    name = f"{section}.{key}"
    try:
        if expected is bool:
            if isinstance(raw, str):
                if raw.lower() in ("1", "true", "yes", "on"):
                    return True
                if raw.lower() in ("0", "false", "no", "off", ""):
                    return False
                raise ValueError(raw)
            return bool(raw)
        if expected is int:
            if isinstance(raw, bool):
                raise ValueError(raw)
            return int(raw)
        if expected is float:
            return float(raw)
        if expected is str:
            if raw is None:
                return ""
            if not isinstance(raw, str | int | float):
                raise ValueError(raw)
            return str(raw)
    except (TypeError, ValueError) as error:
        raise ConfigError(
            f"config key {name!r}: expected {expected.__name__}, got {raw!r}"
        ) from error
    raise ConfigError(f"config key {name!r}: unsupported type")


def _build_section(section: str, cls: type, raw: Any) -> Any:
    if raw is None:
        return cls()
    if not isinstance(raw, dict):
        raise ConfigError(f"config key {section!r}: expected a mapping")
    fields = cls.__dataclass_fields__
    unknown = sorted(set(raw) - set(fields))
    if unknown:
        raise ConfigError(f"config key {section}.{unknown[0]!r} is not a known setting")
    values = {}
    for key, spec in fields.items():
        if key in raw:
            expected = {"int": int, "float": float, "str": str, "bool": bool}[str(spec.type)]
            values[key] = _coerce(section, key, raw[key], expected)
    return cls(**values)


def _validate(config: AppConfig) -> None:
    """Checks across keys, each failure naming the key to fix."""
    if not 1 <= config.server.port <= 65535:
        raise ConfigError("config key 'server.port': must be 1-65535")
    parsed = urlparse(config.nlu.url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ConfigError(f"config key 'nlu.url': not an http(s) URL: {config.nlu.url!r}")
    for section, key in (
        ("nlu", "confidence_threshold"),
        ("nlu", "suggestion_min_confidence"),
        ("language", "min_confidence"),
        ("language", "first_message_min_confidence"),
    ):
        if not 0.0 <= getattr(getattr(config, section), key) <= 1.0:
            raise ConfigError(f"config key '{section}.{key}': must be between 0 and 1")
    if config.nlu.timeout_seconds <= 0:
        raise ConfigError("config key 'nlu.timeout_seconds': must be positive")
    if config.nlu.max_message_chars < 10:
        raise ConfigError("config key 'nlu.max_message_chars': must be at least 10")
    if config.language.default not in SUPPORTED_LANGUAGES:
        raise ConfigError(f"config key 'language.default': one of {', '.join(SUPPORTED_LANGUAGES)}")
    if config.language.detector not in ("lingua", "lingua_low", "langdetect"):
        raise ConfigError("config key 'language.detector': 'lingua', 'lingua_low' or 'langdetect'")
    if config.directline.token_ttl_seconds < 60:
        raise ConfigError("config key 'directline.token_ttl_seconds': at least 60")
    crisis_line = config.contacts.crisis_line
    if crisis_line and not _PHONE_NUMBER.fullmatch(crisis_line):
        raise ConfigError(
            "config key 'contacts.crisis_line': expected a phone number such as 09 1234 5678"
        )
    for name, url in config.links.items():
        parsed = urlparse(url)
        if parsed.scheme != "https" or not parsed.netloc:
            raise ConfigError(f"config key 'links.{name}': must be an https URL")
    if not config.database.url.startswith(("sqlite:", "postgresql:", "postgresql+psycopg:")):
        raise ConfigError("config key 'database.url': a sqlite:/// or postgresql:// URL")
    bot_framework = config.bot_framework
    if bot_framework.app_type not in ("SingleTenant", "MultiTenant", "UserAssignedMSI"):
        raise ConfigError(
            "config key 'bot_framework.app_type': SingleTenant, MultiTenant or UserAssignedMSI"
        )
    if bot_framework.app_id and bot_framework.app_type != "MultiTenant":
        if not bot_framework.tenant_id:
            raise ConfigError(
                "config key 'bot_framework.tenant_id': needed for a "
                f"{bot_framework.app_type} bot (MICROSOFT_APP_TENANT_ID)"
            )
    if config.rate_limits.store not in ("database", "memory"):
        raise ConfigError("config key 'rate_limits.store': 'database' or 'memory'")
    for key in RateLimitConfig.__dataclass_fields__:
        value = getattr(config.rate_limits, key)
        if isinstance(value, int) and not isinstance(value, bool) and value < 0:
            raise ConfigError(f"config key 'rate_limits.{key}': 0 (off) or more")
    for section in ("feedback", "retention"):
        values = getattr(config, section)
        for key in values.__dataclass_fields__:
            if getattr(values, key) < 1:
                raise ConfigError(f"config key '{section}.{key}': must be at least 1")
    if not config.content.path().is_dir():
        raise ConfigError(f"config key 'content.dir': no such folder {config.content.path()}")


def load_config(
    path: Path | str = DEFAULT_CONFIG_PATH,
    environ: dict[str, str] | None = None,
    overrides: dict[str, dict[str, Any]] | None = None,
) -> AppConfig:
    """Read, expand and validate the config file; `overrides` let tests change single keys."""
    environ = dict(os.environ if environ is None else environ)
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except OSError as error:
        raise ConfigError(f"cannot read config file {path}: {error.strerror}") from error
    except yaml.YAMLError as error:
        raise ConfigError(f"config file {path} is not valid YAML: {error}") from error
    if not isinstance(raw, dict):
        raise ConfigError(f"config file {path}: top level must be a mapping")
    raw = _expand_env(raw, environ)
    for section, values in (overrides or {}).items():
        raw.setdefault(section, {})
        raw[section] = {**(raw[section] or {}), **values}
    sections = {
        "server": ServerConfig,
        "nlu": NluConfig,
        "language": LanguageConfig,
        "directline": DirectLineConfig,
        "content": ContentConfig,
        "database": DatabaseConfig,
        "bot_framework": BotFrameworkConfig,
        "rate_limits": RateLimitConfig,
        "feedback": FeedbackConfig,
        "retention": RetentionConfig,
        "privacy": PrivacyConfig,
        "contacts": ContactsConfig,
    }
    unknown = sorted(set(raw) - set(sections) - {"links"})
    if unknown:
        raise ConfigError(f"config key {unknown[0]!r} is not a known section")
    links = raw.get("links") or {}
    if not isinstance(links, dict) or not all(isinstance(v, str) for v in links.values()):
        raise ConfigError("config key 'links': expected a mapping of names to URLs")
    config = AppConfig(
        **{name: _build_section(name, cls, raw.get(name)) for name, cls in sections.items()},
        links=dict(links),
    )
    _validate(config)
    return config
