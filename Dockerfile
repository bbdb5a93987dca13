# The bot service image: Direct Line, /api/messages (Teams), the widget and /staff.
# The NLU service has its own image (nlu/Dockerfile); compose.yaml runs both with
# PostgreSQL. Both run the commands the README's and the tests use:
# `python -m bot` here, `python -m nlu.service serve` there. Migrations run once
# per deployment as `python -m bot.storage.migrate` (compose's migrate service, a
# Kubernetes Job), never at every replica's start.

# The widget's browser packages (HDS styles, Web Chat for the interop page), exactly as locked.
FROM node:20-bookworm-slim AS widget
WORKDIR /build/widget
COPY widget/package.json widget/package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    BOT_HOST=0.0.0.0 BOT_PORT=3978 LOG_FORMAT=json
WORKDIR /app
RUN useradd --create-home --uid 10001 --user-group assistant
# Dependencies first (a layer that changes only with pyproject.toml).
COPY pyproject.toml README.md ./
RUN mkdir -p bot dialogs content nlu bench && touch bot/__init__.py dialogs/__init__.py \
      content/__init__.py nlu/__init__.py bench/__init__.py \
 && pip install --no-cache-dir . && rm -rf bot dialogs content nlu bench
COPY config.yml ./
COPY bot ./bot
COPY dialogs ./dialogs
COPY content ./content
COPY nlu/__init__.py nlu/client.py nlu/language.py nlu/resilience.py nlu/evaluate.py nlu/service.py ./nlu/
COPY widget/src ./widget/src
COPY --from=widget /build/widget/node_modules ./widget/node_modules
USER assistant
EXPOSE 3978
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:3978/livez', timeout=2)"]
# Secrets and addresses come from the environment: DATABASE_URL, RASA_URL, RASA_TOKEN,
# DIRECTLINE_TOKEN_SECRET, PSEUDONYM_SECRET, MICROSOFT_APP_ID/_PASSWORD/_TENANT_ID.
CMD ["python", "-m", "bot"]
