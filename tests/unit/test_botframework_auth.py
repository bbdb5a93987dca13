"""Outbound Bot Framework clients are reused between turns, per service URL.

botbuilder's real authentication in its development mode (no app id: requests
carry no token); nothing is sent anywhere, the clients are only built.
"""

from __future__ import annotations

from botbuilder.schema import Activity, ChannelAccount, ConversationAccount

from bot.botframework.auth import create_authentication
from bot.config import BotFrameworkConfig


def teams_activity(service_url: str) -> Activity:
    return Activity(
        type="message",
        text="hei",
        channel_id="msteams",
        service_url=service_url,
        conversation=ConversationAccount(id="a:1"),
        from_property=ChannelAccount(id="29:user"),
        recipient=ChannelAccount(id="28:bot"),
    )


async def test_connector_and_token_clients_are_built_once_per_service_url():
    authentication = create_authentication(BotFrameworkConfig(allow_unauthenticated=True))

    async def clients(service_url: str):
        result = await authentication.authenticate_request(teams_activity(service_url), "")
        connector = await result.connector_factory.create(service_url, result.audience)
        tokens = await authentication.create_user_token_client(result.claims_identity)
        return connector, tokens

    europe = "https://smba.trafficmanager.net/emea/"
    first, again = await clients(europe), await clients(europe)
    assert first[0] is again[0] and first[1] is again[1]
    other, _ = await clients("https://smba.trafficmanager.net/amer/")
    assert other is not first[0]
    assert other.config.base_url.startswith("https://smba.trafficmanager.net/amer")
