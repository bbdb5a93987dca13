# Bot service image (first version). The NLU service gets its own image built on
# rasa/rasa:3.6.21 (see docs/decisions.md); both run the same scripts as the README.
# Not built on the development machines: they have no Docker engine.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 BOT_HOST=0.0.0.0
WORKDIR /app

RUN useradd --create-home --uid 10001 assistant
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY dialogs ./dialogs
COPY content ./content
COPY nlu/__init__.py nlu/client.py nlu/language.py nlu/evaluate.py nlu/service.py ./nlu/
COPY config.yml ./
RUN pip install --no-cache-dir .

USER assistant
EXPOSE 3978
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:3978/livez')"
# RASA_URL and RASA_TOKEN point at the NLU container; DIRECTLINE_TOKEN_SECRET is shared by replicas.
CMD ["python", "-m", "bot"]
