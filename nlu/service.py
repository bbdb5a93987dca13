"""Training and running the Rasa NLU server from the bot's environment.

Rasa lives in `.venv-nlu` (Python 3.10); this module only starts its command
line. The model is retrained only when its inputs change: the fingerprint is a
hash of nlu/config.yml, nlu/domain.yml, every file under nlu/data and the pinned
requirements, and it names the model file.

    python -m nlu.service train        # train if the data changed
    python -m nlu.service fingerprint  # print the current fingerprint
    python -m nlu.service serve        # run Rasa in the foreground (the NLU container)
"""

from __future__ import annotations

import argparse
import hashlib
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

NLU_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = NLU_DIR.parent
MODELS_DIR = NLU_DIR / "models"
RASA_VENV = PROJECT_ROOT / ".venv-nlu"


def rasa_executable() -> Path:
    """`.venv-nlu`'s rasa; in the NLU container image, the image's own (RASA_EXECUTABLE)."""
    return Path(os.environ.get("RASA_EXECUTABLE") or RASA_VENV / "bin" / "rasa")


def rasa_environment() -> dict[str, str]:
    """Rasa's environment: telemetry off, quiet TensorFlow, no hub downloads, fixed hash seed."""
    env = dict(os.environ)
    env.update(
        {
            "RASA_TELEMETRY_ENABLED": "false",
            "TF_CPP_MIN_LOG_LEVEL": "2",
            "HF_HUB_OFFLINE": "1",
            "PYTHONHASHSEED": "0",
            "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
        }
    )
    return env


def training_inputs() -> list[Path]:
    files = [NLU_DIR / "config.yml", NLU_DIR / "domain.yml", NLU_DIR / "requirements.txt"]
    files += sorted((NLU_DIR / "data").rglob("*.yml"))
    return files


def fingerprint() -> str:
    """A short hash of everything the trained model depends on."""
    digest = hashlib.sha256()
    for path in training_inputs():
        digest.update(str(path.relative_to(NLU_DIR)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def model_path() -> Path:
    return MODELS_DIR / f"nlu-{fingerprint()}.tar.gz"


def ensure_model(log=print) -> Path:
    """Train the NLU model unless one for the current data exists; return its path."""
    target = model_path()
    if target.exists():
        log(f"NLU model is up to date ({target.name}).")
        return target
    if not rasa_executable().exists():
        raise SystemExit("error: .venv-nlu is missing; run scripts/setup.sh first")
    MODELS_DIR.mkdir(parents=True, exist_ok=True)
    log("Training the NLU model (data changed or first run; takes a few minutes)...")
    started = time.monotonic()
    command = [
        str(rasa_executable()),
        "train",
        "nlu",
        "--config",
        str(NLU_DIR / "config.yml"),
        "--nlu",
        str(NLU_DIR / "data"),
        "--domain",
        str(NLU_DIR / "domain.yml"),
        "--out",
        str(MODELS_DIR),
        "--fixed-model-name",
        target.name.removesuffix(".tar.gz"),
    ]
    result = subprocess.run(command, cwd=PROJECT_ROOT, env=rasa_environment())
    if result.returncode != 0 or not target.exists():
        raise SystemExit(f"error: NLU training failed (exit {result.returncode})")
    log(f"NLU model trained in {time.monotonic() - started:.0f} s: {target.name}")
    for old in MODELS_DIR.glob("nlu-*.tar.gz"):
        if old != target:
            old.unlink()
    return target


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class RasaServer:
    """A running `rasa run --enable-api` on loopback, protected by a token."""

    process: subprocess.Popen
    url: str
    token: str

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def rasa_command(model: Path, host: str, port: int, token: str) -> list[str]:
    """The one way Rasa is started: by the run command, the tests and the NLU container."""
    return [
        str(rasa_executable()),
        "run",
        "--enable-api",
        "--model",
        str(model),
        "--interface",
        host,
        "--port",
        str(port),
        f"--auth-token={token}",  # one argument: a token may start with "-"
    ]


def start_server(
    model: Path, port: int, token: str | None = None, log_file: Path | None = None
) -> RasaServer:
    """Start Rasa on 127.0.0.1:port with an auth token (generated when not given)."""
    token = token or secrets.token_urlsafe(24)
    command = rasa_command(model, "127.0.0.1", port, token)
    output = open(log_file, "ab") if log_file else subprocess.DEVNULL  # noqa: SIM115
    process = subprocess.Popen(
        command, cwd=PROJECT_ROOT, env=rasa_environment(), stdout=output, stderr=output
    )
    return RasaServer(process=process, url=f"http://127.0.0.1:{port}", token=token)


def wait_ready(server: RasaServer, timeout_seconds: float = 180, log=print) -> None:
    """Wait until the model is loaded (`/status` answers with the token); raise on failure."""
    deadline = time.monotonic() + timeout_seconds
    status_url = f"{server.url}/status?token={server.token}"
    shown = 0
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"Rasa exited with code {server.process.returncode}")
        try:
            with urllib.request.urlopen(status_url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        elapsed = int(time.monotonic() + timeout_seconds - deadline)
        if elapsed // 10 > shown:
            shown = elapsed // 10
            log(f"  ...waiting for Rasa to load the model ({elapsed} s)")
        time.sleep(0.5)
    raise RuntimeError(f"Rasa did not become ready in {timeout_seconds:.0f} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["train", "fingerprint", "serve"])
    parser.add_argument("--host", default=os.environ.get("RASA_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("RASA_PORT", "5005")))
    args = parser.parse_args(argv)
    if args.command == "fingerprint":
        print(fingerprint())
        return 0
    model = ensure_model()
    if args.command == "serve":
        token = os.environ.get("RASA_TOKEN", "")
        if len(token) < 16:
            print("error: set RASA_TOKEN (16+ characters, shared with the bot)", file=sys.stderr)
            return 2
        command = rasa_command(model, args.host, args.port, token)
        os.execve(command[0], command, rasa_environment())
    return 0


if __name__ == "__main__":
    sys.exit(main())
