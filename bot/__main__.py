"""`python -m bot`: load and validate the config, build the app, serve it, print where.

Config and content errors end the process with a clear message and exit code 2,
never a stack trace.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys

from aiohttp import web

from bot.app import create_app
from bot.botframework.auth import auth_required
from bot.config import DEFAULT_CONFIG_PATH, AppConfig, ConfigError, load_config
from bot.observability import configure_logging
from bot.storage.database import SchemaNotReady
from content.store import ContentError


def serve(config: AppConfig) -> None:
    """Build the app, print where it listens, serve until stopped.

    aiohttp's access log stays off: it would print query strings and client addresses.
    """
    app = create_app(config)
    # What start-up built (content, models, the language detector: some 130,000
    # objects) lives as long as the process: out of the collector's way, a full
    # collection takes well under a millisecond instead of about 40 ms in the
    # middle of some user's turn.
    gc.collect()
    gc.freeze()
    url = f"http://{config.server.host}:{config.server.port}/"
    print(f"Participation assistant ready: open {url}", flush=True)
    print(f"Direct Line endpoint: {url}v3/directline", flush=True)
    if auth_required(config.bot_framework):
        print(f"Teams (Bot Framework) endpoint: {url}api/messages", flush=True)
    else:
        print(
            f"Teams (Bot Framework) endpoint: {url}api/messages - authentication OFF "
            "(development setting; loopback only)",
            flush=True,
        )
    print("Ctrl+C stops.", flush=True)
    web.run_app(app, host=config.server.host, port=config.server.port, access_log=None, print=None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Kasko participation assistant: bot service")
    parser.add_argument("--config", default=str(DEFAULT_CONFIG_PATH), help="path to config.yml")
    args = parser.parse_args(argv)
    configure_logging(os.environ.get("LOG_FORMAT", "text"))
    try:
        serve(load_config(args.config))
    except (ConfigError, ContentError, SchemaNotReady, OSError) as error:  # OSError: port taken
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
