"""A do-nothing HTTP relay to Rasa: the floor under any bot's turn latency.

`python -m bench.relay RASA_URL TOKEN PORT` serves `POST /` by passing the body
to Rasa's `/model/parse` and its answer back, with the same aiohttp server and
the same parse client (nlu/http.py) the bot uses, in a process of its own. The
benchmark measures it beside bare parse: what the extra HTTP hop alone costs,
before any of the bot's work (state, dialogs, transcripts) is added.
"""

from __future__ import annotations

import json
import sys

from aiohttp import web

from nlu.http import JsonPoster


def relay_app(rasa_url: str, token: str) -> web.Application:
    poster = JsonPoster(f"{rasa_url}/model/parse", {"token": token} if token else None)

    async def relay(request: web.Request) -> web.Response:
        answer = await poster.post(json.loads(await request.read()))
        return web.Response(body=answer.body, status=answer.status)

    async def stop(_app: web.Application) -> None:
        poster.close()

    app = web.Application()
    app.on_cleanup.append(stop)
    app.router.add_post("/", relay)
    return app


if __name__ == "__main__":
    rasa_url, token, port = sys.argv[1:4]
    web.run_app(relay_app(rasa_url, token), host="127.0.0.1", port=int(port), print=None)
