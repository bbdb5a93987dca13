"""Pseudonymous conversation ids for stored records.

Feedback, ratings and unanswered questions from one conversation share an id,
so staff can see they belong together, but the id is an HMAC of the channel's
conversation id: it cannot be turned back into that id or used to find the
conversation in a channel. The key comes from config (privacy.pseudonym_secret);
without one a random key per process is used.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets


class Pseudonymiser:
    def __init__(self, secret: str) -> None:
        self._key = (secret or secrets.token_hex(32)).encode()

    def __call__(self, conversation_id: str | None) -> str:
        if not conversation_id:
            return ""
        digest = hmac.new(self._key, conversation_id.encode(), hashlib.sha256).hexdigest()
        return digest[:24]
