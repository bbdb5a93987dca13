"""Start the bot service as a process of its own, against a Rasa server and a database.

The benchmark and the integration tests measure and test the service as it runs
in production, `python -m bot` in its own process; this is how both start it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from bot.config import PROJECT_ROOT


def spawn_bot(
    rasa_url: str,
    rasa_token: str,
    database_url: str,
    port: int,
    log_file: Path,
    checkout: Path = PROJECT_ROOT,
    **settings: str,
) -> tuple[subprocess.Popen, str]:
    """`python -m bot` on 127.0.0.1:`port`, its output appended to `log_file`.

    `settings` are more environment variables (config.yml names them). Returns the
    process and its base URL at once; the caller decides how to wait for it.
    `checkout`: another checkout's bot, with its own virtual environment
    (`python -m bench.compare` measures two side by side).
    """
    python = sys.executable if checkout == PROJECT_ROOT else str(checkout / ".venv/bin/python")
    env = dict(
        os.environ,
        RASA_URL=rasa_url,
        RASA_TOKEN=rasa_token,
        BOT_PORT=str(port),
        DATABASE_URL=database_url,
        **settings,
    )
    with open(log_file, "ab") as log:
        process = subprocess.Popen(
            [python, "-m", "bot"], cwd=checkout, env=env, stdout=log, stderr=log
        )
    return process, f"http://127.0.0.1:{port}"
