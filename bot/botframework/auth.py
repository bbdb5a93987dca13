"""Bot Framework authentication from config: never silently off.

With an app id, every request to /api/messages must carry a Bot Framework JWT
(signed by a key the channel endorses, for our app id as audience, with the
activity's serviceUrl as a claim). Without an app id the service refuses to
start, unless the explicit development setting `bot_framework.allow_unauthenticated`
is on; then it must listen on loopback. An empty app id with a public address
would let anyone choose where the bot posts its replies.
"""

from __future__ import annotations

import ipaddress
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from botbuilder.integration.aiohttp import ConfigurationBotFrameworkAuthentication
from botframework.connector import ConnectorClient
from botframework.connector.auth import (
    AuthenticateRequestResult,
    AuthenticationConstants,
    BotFrameworkAuthentication,
    CertificateServiceClientCredentialsFactory,
    ClaimsIdentity,
    ConnectorFactory,
    JwtTokenValidation,
    UserTokenClient,
)

from bot.config import AppConfig, BotFrameworkConfig, ConfigError


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_startup(config: AppConfig) -> None:
    """Refuse to start with authentication off, except in development on loopback."""
    settings = config.bot_framework
    if settings.app_id:
        return
    if not settings.allow_unauthenticated:
        raise ConfigError(
            "config key 'bot_framework.app_id' is empty, so Teams requests could not be "
            "authenticated: set MICROSOFT_APP_ID, MICROSOFT_APP_PASSWORD (or a certificate) "
            "and MICROSOFT_APP_TENANT_ID, or for local development only "
            "BOT_ALLOW_UNAUTHENTICATED=true"
        )
    if not is_loopback(config.server.host):
        raise ConfigError(
            "config key 'bot_framework.allow_unauthenticated' is a development setting: "
            f"the service then listens on loopback only, not on {config.server.host!r}"
        )


def auth_required(settings: BotFrameworkConfig) -> bool:
    return bool(settings.app_id)


def create_authentication(settings: BotFrameworkConfig) -> BotFrameworkAuthentication:
    """botbuilder's ConfigurationBotFrameworkAuthentication from our config section."""
    values = {
        "APP_ID": settings.app_id or None,
        "APP_PASSWORD": settings.app_password or None,
        "APP_TYPE": settings.app_type if settings.app_id else "MultiTenant",
        "APP_TENANTID": settings.tenant_id or None,
        "VALIDATE_AUTHORITY": settings.validate_authority,
    }
    if settings.openid_metadata_url or settings.token_issuer or settings.login_url:
        # botbuilder takes either none of these or all of them: fill in the public cloud's.
        tenant = settings.tenant_id or "botframework.com"
        values.update(
            TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL=settings.openid_metadata_url
            or AuthenticationConstants.TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL,
            TO_BOT_FROM_EMULATOR_OPENID_METADATA_URL=settings.openid_metadata_url
            or AuthenticationConstants.TO_BOT_FROM_EMULATOR_OPENID_METADATA_URL,
            TO_BOT_FROM_CHANNEL_TOKEN_ISSUER=settings.token_issuer
            or AuthenticationConstants.TO_BOT_FROM_CHANNEL_TOKEN_ISSUER,
            TO_CHANNEL_FROM_BOT_LOGIN_URL=settings.login_url
            or AuthenticationConstants.TO_CHANNEL_FROM_BOT_LOGIN_URL_PREFIX + tenant,
            TO_CHANNEL_FROM_BOT_OAUTH_SCOPE=AuthenticationConstants.TO_CHANNEL_FROM_BOT_OAUTH_SCOPE,
            OAUTH_URL=AuthenticationConstants.OAUTH_URL,
        )
    credentials = None
    if settings.app_id and settings.certificate_thumbprint:
        key = _read_key(settings.certificate_key_file)
        credentials = CertificateServiceClientCredentialsFactory(
            settings.certificate_thumbprint, key, settings.app_id, settings.tenant_id or None
        )
    return ReusingBotFrameworkAuthentication(
        SimpleNamespace(**values), credentials_factory=credentials
    )


class _Clients:
    """A small LRU of outbound clients, built on first use."""

    def __init__(self, limit: int = 64) -> None:
        self._clients: OrderedDict[Hashable, Any] = OrderedDict()
        self._limit = limit

    async def get(self, key: Hashable, build: Callable[[], Awaitable[Any]]) -> Any:
        client = self._clients.get(key)
        if client is None:
            client = self._clients[key] = await build()
            if len(self._clients) > self._limit:
                self._clients.popitem(last=False)
        self._clients.move_to_end(key)
        return client


class _ReusingConnectorFactory(ConnectorFactory):
    def __init__(self, inner: ConnectorFactory, clients: _Clients, app_id: str | None) -> None:
        self._inner, self._clients, self._app_id = inner, clients, app_id

    async def create(self, service_url: str, audience: str) -> ConnectorClient:
        return await self._clients.get(
            (self._app_id, service_url, audience),
            lambda: self._inner.create(service_url, audience),
        )


class ReusingBotFrameworkAuthentication(ConfigurationBotFrameworkAuthentication):
    """botbuilder's authentication, with the outbound clients reused between turns.

    CloudAdapter asks for a new ConnectorClient and a new UserTokenClient in every
    turn; building their msrest configuration (retry policies) took a third of an
    /api/messages turn in the benchmark, about 7 ms. Neither holds anything of a
    turn (the credentials cache their own tokens), so one per app id, service URL
    and audience serves every turn, as botbuilder's older BotFrameworkAdapter did.
    Authentication itself is untouched: every request's token is still checked.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._connectors = _Clients()
        self._token_clients = _Clients()

    async def authenticate_request(self, activity, auth_header: str) -> AuthenticateRequestResult:
        result = await super().authenticate_request(activity, auth_header)
        if result.connector_factory is not None:
            result.connector_factory = _ReusingConnectorFactory(
                result.connector_factory, self._connectors, _app_id(result.claims_identity)
            )
        return result

    def create_connector_factory(self, claims_identity: ClaimsIdentity) -> ConnectorFactory:
        return _ReusingConnectorFactory(
            super().create_connector_factory(claims_identity),
            self._connectors,
            _app_id(claims_identity),
        )

    async def create_user_token_client(self, claims_identity: ClaimsIdentity) -> UserTokenClient:
        return await self._token_clients.get(
            _app_id(claims_identity),
            lambda: super(ReusingBotFrameworkAuthentication, self).create_user_token_client(
                claims_identity
            ),
        )


def _app_id(claims_identity: ClaimsIdentity | None) -> str | None:
    claims = claims_identity.claims if claims_identity is not None else None
    return JwtTokenValidation.get_app_id_from_claims(claims) if claims else None


def _read_key(path: str) -> str:
    try:
        return Path(path).read_text(encoding="ascii")
    except (OSError, ValueError) as error:
        raise ConfigError(
            f"config key 'bot_framework.certificate_key_file': cannot read {path!r} ({error})"
        ) from error
