"""A do-nothing HTTP relay to Rasa: the floor under any bot's turn latency.

`python -m bench.relay RASA_URL TOKEN PORT` serves `POST /` by passing the body
to Rasa's `/model/parse` and its answer back, with the same aiohttp server and
client the bot uses, in a process of its own. The benchmark measures it beside
bare parse: what the extra HTTP hop alone costs, before any of the bot's work
(state, dialogs, transcripts) is added.
"""

from __future__ import annotations

import sys

import aiohttp
from aiohttp import web


def relay_app(rasa_url: str, token: str) -> web.Application:
    app = web.Application()

    async def start(app: web.Application) -> None:
        app["session"] = aiohttp.ClientSession()

    async def stop(app: web.Application) -> None:
        await app["session"].close()

    async def relay(request: web.Request) -> web.Response:
        async with request.app["session"].post(
            f"{rasa_url}/model/parse", params={"token": token}, data=await request.read()
        ) as answer:
            return web.Response(body=await answer.read(), status=answer.status)

    app.on_startup.append(start)
    app.on_cleanup.append(stop)
    app.router.add_post("/", relay)
    return app


if __name__ == "__main__":
    rasa_url, token, port = sys.argv[1:4]
    web.run_app(relay_app(rasa_url, token), host="127.0.0.1", port=int(port), print=None)
