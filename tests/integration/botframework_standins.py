"""Loopback stand-ins for the Bot Framework's cloud side, for the /api/messages tests.

- The channel's signing keys: an RSA key made here, published as OpenID metadata and
  a JWKS (with the "msteams" endorsement) over HTTP on 127.0.0.1; `token()` signs
  Bot Framework JWTs with it, or with a wrong key, audience or expiry.
- The connector at `serviceUrl`: records every reply the bot posts, with headers.
- Entra ID's managed-identity endpoint (Azure App Service style): issues the bot's
  outbound token, so replies carry a token the connector can check.

They run in a thread with their own event loop, so they answer while a test's
own loop waits for the bot.
"""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
import threading
import time
from dataclasses import dataclass, field

import jwt
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import rsa

ISSUER = "https://api.botframework.com"


def _b64(number: int) -> str:
    raw = number.to_bytes((number.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@dataclass
class Received:
    path: str
    authorization: str
    body: dict


@dataclass
class StandIns:
    app_id: str = "00000000-aaaa-bbbb-cccc-000000000001"
    tenant_id: str = "11111111-2222-3333-4444-555555555555"
    identity_header: str = field(default_factory=lambda: secrets.token_hex(8))
    outbound_token: str = field(default_factory=lambda: "outbound-" + secrets.token_hex(8))
    received: list[Received] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = "test-key-1"
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self.port = 0

    # -- addresses handed to the bot -----------------------------------------------------

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def service_url(self) -> str:
        return f"{self.base}/connector/"

    def bot_environment(self) -> dict[str, str]:
        """Environment for a bot that authenticates against these stand-ins."""
        return {
            "MICROSOFT_APP_ID": self.app_id,
            "MICROSOFT_APP_TYPE": "UserAssignedMSI",
            "MICROSOFT_APP_TENANT_ID": self.tenant_id,
            "BOT_OPENID_METADATA_URL": f"{self.base}/openid/.well-known/openidconfiguration",
            "BOT_TOKEN_ISSUER": ISSUER,
            "IDENTITY_ENDPOINT": f"{self.base}/msi/token",
            "IDENTITY_HEADER": self.identity_header,
        }

    # -- tokens ------------------------------------------------------------------------

    def token(
        self,
        *,
        audience: str | None = None,
        expires_in: int = 3600,
        service_url: str | None = None,
        key: rsa.RSAPrivateKey | None = None,
    ) -> str:
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "aud": audience or self.app_id,
            "iat": now - 10,
            "nbf": now - 10,
            "exp": now + expires_in,
            "serviceurl": service_url or self.service_url,
        }
        return jwt.encode(claims, key or self.key, algorithm="RS256", headers={"kid": self.kid})

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> None:
        ready = threading.Event()
        thread = threading.Thread(target=self._run, args=(ready,), daemon=True)
        thread.start()
        if not ready.wait(10):
            raise RuntimeError("stand-ins did not start")

    def stop(self) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)

    def replies_to(self, conversation_id: str) -> list[Received]:
        return [r for r in self.received if conversation_id in r.path]

    def _run(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._serve())
        ready.set()
        self._loop.run_forever()

    async def _serve(self) -> None:
        app = web.Application()
        app.router.add_get("/openid/.well-known/openidconfiguration", self._metadata)
        app.router.add_get("/openid/keys", self._keys)
        app.router.add_get("/msi/token", self._msi_token)
        app.router.add_post("/connector/{tail:.*}", self._connector)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # noqa: SLF001

    # -- handlers ------------------------------------------------------------------------

    async def _metadata(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "issuer": ISSUER,
                "jwks_uri": f"{self.base}/openid/keys",
                "id_token_signing_alg_values_supported": ["RS256"],
            }
        )

    async def _keys(self, request: web.Request) -> web.Response:
        public = self.key.public_key().public_numbers()
        key = {
            "kty": "RSA",
            "use": "sig",
            "kid": self.kid,
            "n": _b64(public.n),
            "e": _b64(public.e),
            "endorsements": ["msteams"],
        }
        return web.json_response({"keys": [key]})

    async def _msi_token(self, request: web.Request) -> web.Response:
        if request.headers.get("X-IDENTITY-HEADER") != self.identity_header:
            return web.json_response({"statusCode": 401, "message": "bad header"}, status=401)
        if request.query.get("client_id") != self.app_id:
            return web.json_response({"statusCode": 400, "message": "unknown id"}, status=400)
        return web.json_response(
            {
                "access_token": self.outbound_token,
                "expires_on": str(int(time.time()) + 3600),
                "resource": request.query.get("resource", ""),
                "token_type": "Bearer",
            }
        )

    async def _connector(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.received.append(Received(request.path, request.headers.get("Authorization", ""), body))
        return web.json_response({"id": f"reply-{len(self.received)}"})


def load_payload(name: str, stand_ins: StandIns, conversation_suffix: str = "") -> dict:
    """A Teams payload from tests/data/teams with this run's serviceUrl and app id."""
    from tests.integration.conftest import ROOT

    text = (ROOT / "tests" / "data" / "teams" / name).read_text(encoding="utf-8")
    text = text.replace("{serviceUrl}", stand_ins.service_url).replace("{appId}", stand_ins.app_id)
    payload = json.loads(text)
    payload["conversation"]["id"] += conversation_suffix
    return payload
