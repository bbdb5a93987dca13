"""A question's parse sent as its request arrives, before the turn has read its state.

The NLU call is most of a turn's time, and the bot's own work before it
(counting the rate limits, building the activity, reading the conversation's
state, the language cues) used to run before the question left. `start` sends
the question at once; the turn's own `parse` of the same text then takes the
parse already under way instead of asking again. The turn still decides
everything from its state: a parse it does not ask for is dropped at the end of
the request (`release`), never used.

Who may start one, and for which text, is the bot's decision
(bot/assistant_bot.py): only for conversations whose last turn here left them
reading questions, so that what is typed into the feedback dialog never goes
to the NLU.
"""

from __future__ import annotations

import asyncio
import contextlib

from nlu.client import NluClient, Parse
from nlu.resilience import cache_key

# Loop steps until the request is written: the parse task's first step writes it
# on a kept-alive connection (nlu/http.py; a new connection takes longer, and the
# turn's work then simply runs first).
WRITE_STEPS = 1


class EarlyParses:
    def __init__(self, inner: NluClient) -> None:
        self._inner = inner
        self._started: dict[str, asyncio.Future[Parse]] = {}

    async def start(self, text: str) -> bool:
        """Send `text` to the NLU now; returns once the request is on its way.

        False, and nothing sent, when the same text is already under way (another
        conversation asked it a moment ago): the first request shares its parse,
        and only the request that started a parse releases it.
        """
        key = cache_key(text)
        if key in self._started:
            return False
        parse = asyncio.ensure_future(self._inner.parse(text))
        parse.add_done_callback(_retrieved)
        self._started[key] = parse
        for _ in range(WRITE_STEPS):  # the work after this must not run before the request
            await asyncio.sleep(0)
        return True

    def release(self, text: str) -> None:
        """The request that started `text` is over: a parse not taken is dropped."""
        self._started.pop(cache_key(text), None)

    async def parse(self, text: str) -> Parse:
        started = self._started.pop(cache_key(text), None)
        if started is not None:
            return await started
        return await self._inner.parse(text)


def _retrieved(parse: asyncio.Future[Parse]) -> None:
    """A parse no turn took may have failed: that is no error to report (the turn
    that needed it asked again, or did not need it)."""
    with contextlib.suppress(asyncio.CancelledError):
        parse.exception()
