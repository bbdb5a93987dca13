"""`python -m bot.launcher`: the run command's second half: Rasa and the bot together.

Starts the Rasa NLU server on loopback with a fresh auth token (so nothing else
on the machine can use it), waits until its model is loaded, then serves the bot
in this process. Stopping the bot (Ctrl+C) stops Rasa too.
"""

from __future__ import annotations

import argparse
import os
import sys
from urllib.parse import urlparse

from bot.__main__ import serve
from bot.config import DEFAULT_CONFIG_PATH, PROJECT_ROOT, ConfigError, load_config
from bot.observability import configure_logging
from bot.storage.database import SchemaNotReady
from content.store import ContentError
from nlu import service


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=str(DEFAULT_CONFIG_PATH))
    args = parser.parse_args(argv)
    configure_logging(os.environ.get("LOG_FORMAT", "text"))
    try:
        base = load_config(args.config)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    nlu_port = urlparse(base.nlu.url).port or 5005
    model = service.ensure_model()
    log_file = PROJECT_ROOT / "nlu" / "models" / "rasa-server.log"
    print(f"Starting Rasa NLU on 127.0.0.1:{nlu_port} (log: {log_file})...", flush=True)
    rasa = service.start_server(model, nlu_port, token=base.nlu.token or None, log_file=log_file)
    try:
        service.wait_ready(rasa)
        print("Rasa NLU is ready.", flush=True)
        env = dict(os.environ, RASA_URL=rasa.url, RASA_TOKEN=rasa.token)
        serve(load_config(args.config, environ=env))
    except (ConfigError, ContentError, SchemaNotReady, RuntimeError, OSError) as error:
        print(f"error: {error} (Rasa's log: {log_file})", file=sys.stderr)
        return 2
    finally:
        rasa.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
