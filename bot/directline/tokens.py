"""Conversation tokens: HMAC-signed, bound to one conversation, with an expiry.

Stateless, so any bot process with the same secret accepts them. The token
carries no personal data: a conversation id and an expiry time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass

# Tokens this process issued or found signed, remembered with their claims: a
# conversation sends its token with every request, and checking it (base64, HMAC,
# JSON) was a tenth of what a turn did before its question left for the NLU. The
# expiry is checked on every use; the least recently used are forgotten first.
VERIFIED_KEPT = 4096


class TokenError(Exception):
    """The token is malformed, forged or for another conversation."""


class TokenExpired(TokenError):
    """The token was valid but its time is up."""


@dataclass(frozen=True)
class TokenClaims:
    conversation_id: str
    expires_at: int


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TokenIssuer:
    def __init__(self, secret: str, ttl_seconds: int) -> None:
        self._key = (secret or secrets.token_urlsafe(32)).encode("utf-8")
        self.ttl_seconds = ttl_seconds
        self._verified: OrderedDict[str, TokenClaims] = OrderedDict()

    def issue(self, conversation_id: str, now: float | None = None) -> str:
        expires = int((now if now is not None else time.time()) + self.ttl_seconds)
        body = _b64(
            json.dumps({"c": conversation_id, "e": expires}, separators=(",", ":")).encode()
        )
        token = f"{body}.{self._sign(body)}"
        self._remember(token, TokenClaims(conversation_id, expires))
        return token

    def _sign(self, body: str) -> str:
        return _b64(hmac.new(self._key, body.encode("ascii"), hashlib.sha256).digest())

    def verify(self, token: str, now: float | None = None) -> TokenClaims:
        """Check signature and expiry; raise TokenError or TokenExpired."""
        result = self._verified.get(token)
        if result is None:
            result = self._read_signed(token)
        self._remember(token, result)
        if result.expires_at <= (now if now is not None else time.time()):
            raise TokenExpired("token expired")
        return result

    def _remember(self, token: str, claims: TokenClaims) -> None:
        self._verified[token] = claims
        self._verified.move_to_end(token)
        if len(self._verified) > VERIFIED_KEPT:
            self._verified.popitem(last=False)

    def _read_signed(self, token: str) -> TokenClaims:
        """The claims of a token signed with this issuer's key; TokenError for any other
        (a refused token is not remembered: it is checked again each time)."""
        try:
            body, signature = token.split(".")
        except ValueError as error:
            raise TokenError("malformed token") from error
        if not hmac.compare_digest(signature, self._sign(body)):
            raise TokenError("invalid token")
        try:
            claims = json.loads(_unb64(body))
            return TokenClaims(str(claims["c"]), int(claims["e"]))
        except (ValueError, KeyError, TypeError) as error:
            raise TokenError("malformed token") from error
