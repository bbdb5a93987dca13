"""`python -m bot`: load and validate the config, build the app, serve it, print where.

Config and content errors end the process with a clear message and exit code 2,
never a stack trace.
"""

from __future__ import annotations

import argparse
import logging
import sys

from aiohttp import web

from bot.app import create_app
from bot.config import DEFAULT_CONFIG_PATH, ConfigError, load_config
from content.store import ContentError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Kasko participation assistant: bot service")
    parser.add_argument("--config", default=str(DEFAULT_CONFIG_PATH), help="path to config.yml")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # aiohttp's access log would print query strings (tokens); keep it off.
    try:
        config = load_config(args.config)
        app = create_app(config)
    except (ConfigError, ContentError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    url = f"http://{config.server.host}:{config.server.port}/"
    print(f"Participation assistant: open {url} (Direct Line: {url}v3/directline)", flush=True)
    web.run_app(app, host=config.server.host, port=config.server.port, access_log=None, print=None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
