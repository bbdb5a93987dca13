"""The deployment files, checked where no Docker engine or cluster runs (these machines):
they parse, they run the commands the tests run, secrets come only from the environment,
containers are non-root with health checks, and every file they copy exists.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
BOT_COMMAND = ["python", "-m", "bot"]  # what tests/integration/conftest.py starts
MIGRATE_COMMAND = ["python", "-m", "bot.storage.migrate"]


def dockerfile(path: str) -> list[str]:
    """Instructions with continuation lines joined, comments dropped."""
    text = (ROOT / path).read_text(encoding="utf-8")
    joined = re.sub(r"\\\n\s*", " ", text)
    return [
        line.strip() for line in joined.splitlines() if line.strip() and not line.startswith("#")
    ]


def test_dockerfiles_are_non_root_with_healthchecks_and_existing_sources():
    for path in ("Dockerfile", "nlu/Dockerfile"):
        lines = dockerfile(path)
        users = [line.split()[1] for line in lines if line.startswith("USER ")]
        assert users and users[-1] not in ("root", "0"), path
        assert any(line.startswith("HEALTHCHECK") for line in lines), path
        for line in lines:
            if line.startswith("COPY") and "--from=" not in line:
                for source in line.split()[1:-1]:
                    assert (ROOT / source).exists(), f"{path}: {source} does not exist"
    bot = dockerfile("Dockerfile")
    assert 'CMD ["python", "-m", "bot"]' in bot
    assert any("/livez" in line for line in bot if line.startswith("HEALTHCHECK"))
    assert any(line.startswith("FROM rasa/rasa:3.6.21") for line in dockerfile("nlu/Dockerfile"))
    assert 'ENTRYPOINT ["python", "-m", "nlu.service"]' in dockerfile("nlu/Dockerfile")


def test_the_nlu_image_serves_the_way_the_tests_start_rasa():
    from nlu import service

    command = service.rasa_command(Path("m.tar.gz"), "0.0.0.0", 5005, "-starts-with-a-dash")
    assert command[1:3] == ["run", "--enable-api"] and "--auth-token=-starts-with-a-dash" in command


def test_compose_file_wires_bot_nlu_postgres_and_a_one_off_migration():
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))
    services = compose["services"]
    assert set(services) == {"postgres", "nlu", "migrate", "bot"}
    assert services["postgres"]["image"].startswith("postgres:")
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])
    assert services["migrate"]["command"] == MIGRATE_COMMAND
    assert services["bot"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert services["bot"]["depends_on"]["nlu"]["condition"] == "service_healthy"
    assert services["nlu"]["build"]["dockerfile"] == "nlu/Dockerfile"
    assert "pgdata" in compose["volumes"]
    # Secrets only from the environment: every value that names one is a ${...} reference.
    for name, service in services.items():
        for key, value in (service.get("environment") or {}).items():
            if any(word in key for word in ("PASSWORD", "SECRET", "TOKEN")):
                assert str(value).startswith("${"), f"{name}.{key} holds a literal secret"


def test_kubernetes_manifests_have_probes_sizes_and_the_tested_commands():
    documents = [
        doc
        for path in sorted((ROOT / "deploy" / "k8s").glob("*.yaml"))
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8"))
        if doc and doc.get("kind") != "Kustomization"
    ]
    by_kind = {}
    for doc in documents:
        by_kind.setdefault(doc["kind"], []).append(doc)
    deployments = {d["metadata"]["name"]: d for d in by_kind["Deployment"]}
    bot = deployments["bot"]["spec"]["template"]["spec"]["containers"][0]
    assert bot["command"] == BOT_COMMAND
    assert bot["livenessProbe"]["httpGet"]["path"] == "/livez"
    assert bot["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert bot["resources"]["requests"]["memory"] and deployments["bot"]["spec"]["replicas"] >= 2
    for deployment in deployments.values():
        assert deployment["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"] is True
    [job] = by_kind["Job"]
    assert job["spec"]["template"]["spec"]["containers"][0]["command"] == MIGRATE_COMMAND
    [cron] = by_kind["CronJob"]
    purge = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["command"]
    assert purge == ["python", "-m", "bot.manage", "purge"]
    assert not any("CHANGE-ME" in str(doc) for doc in documents)  # the example secret is apart
