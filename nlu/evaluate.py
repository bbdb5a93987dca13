"""Evaluate the assistant end to end through its Direct Line endpoint.

    python -m nlu.evaluate tests/data/heldout.yml [--url http://127.0.0.1:3978]

Each question (`text`, `topic`, `lang`, optional `style`) is sent as the first
message of a new conversation; the reply's `channelData.topic` and `locale` are
compared with the labels. Prints topic accuracy per language and per style,
out-of-scope accuracy, reply-language accuracy, and every miss.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import yaml


@dataclass(frozen=True)
class Question:
    text: str
    topic: str
    lang: str
    style: str = "standard"


@dataclass(frozen=True)
class Outcome:
    question: Question
    topic: str | None
    locale: str | None

    @property
    def topic_ok(self) -> bool:
        return self.topic == self.question.topic

    @property
    def language_ok(self) -> bool:
        return self.locale == self.question.lang


def load_questions(path: Path) -> list[Question]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    items = data["questions"] if isinstance(data, dict) else data
    return [
        Question(str(i["text"]), str(i["topic"]), str(i["lang"]), str(i.get("style", "standard")))
        for i in items
    ]


async def ask(session: aiohttp.ClientSession, base: str, question: Question) -> Outcome:
    """One new conversation, one message; the first reply to it decides."""
    async with session.post(f"{base}/v3/directline/conversations") as response:
        response.raise_for_status()
        started = await response.json()
    conversation, headers = (
        started["conversationId"],
        {"Authorization": f"Bearer {started['token']}"},
    )
    activities_url = f"{base}/v3/directline/conversations/{conversation}/activities"
    async with session.post(
        activities_url, json={"type": "message", "text": question.text}, headers=headers
    ) as response:
        response.raise_for_status()
        posted_id = (await response.json())["id"]
    async with session.get(activities_url, headers=headers) as response:
        response.raise_for_status()
        activities = (await response.json())["activities"]
    replies = [a for a in activities if a.get("replyToId") == posted_id and a["type"] == "message"]
    if not replies:
        return Outcome(question, None, None)
    first = replies[0]
    return Outcome(question, (first.get("channelData") or {}).get("topic"), first.get("locale"))


async def run(questions: list[Question], base: str, concurrency: int) -> list[Outcome]:
    semaphore = asyncio.Semaphore(concurrency)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(timeout=timeout) as session:

        async def one(question: Question) -> Outcome:
            async with semaphore:
                return await ask(session, base, question)

        return list(await asyncio.gather(*(one(q) for q in questions)))


@dataclass(frozen=True)
class Summary:
    topic_accuracy: dict[str, float]  # per answer language, in-scope questions
    out_of_scope_accuracy: float
    language_accuracy: float
    overall_topic_accuracy: float


def _share(hits: int, total: int) -> float:
    return hits / total if total else float("nan")


def summarise(outcomes: list[Outcome]) -> Summary:
    in_scope = [o for o in outcomes if o.question.topic != "out_of_scope"]
    by_lang: dict[str, list[Outcome]] = defaultdict(list)
    for outcome in in_scope:
        by_lang[outcome.question.lang].append(outcome)
    oos = [o for o in outcomes if o.question.topic == "out_of_scope"]
    return Summary(
        topic_accuracy={
            lang: _share(sum(o.topic_ok for o in items), len(items))
            for lang, items in by_lang.items()
        },
        out_of_scope_accuracy=_share(sum(o.topic_ok for o in oos), len(oos)),
        language_accuracy=_share(sum(o.language_ok for o in outcomes), len(outcomes)),
        overall_topic_accuracy=_share(sum(o.topic_ok for o in in_scope), len(in_scope)),
    )


def report(outcomes: list[Outcome], out=sys.stdout) -> Summary:
    summary = summarise(outcomes)
    in_scope = [o for o in outcomes if o.question.topic != "out_of_scope"]

    def table(title: str, key) -> None:
        groups: dict[str, list[Outcome]] = defaultdict(list)
        for outcome in in_scope:
            groups[key(outcome)].append(outcome)
        print(f"\n{title}", file=out)
        for name in sorted(groups):
            items = groups[name]
            hits = sum(o.topic_ok for o in items)
            print(f"  {name:<14} {hits:>4}/{len(items):<4} {hits / len(items):6.1%}", file=out)

    print(f"Questions: {len(outcomes)} ({len(in_scope)} in scope)", file=out)
    table("Topic accuracy by language", lambda o: o.question.lang)
    table("Topic accuracy by style", lambda o: o.question.style)
    oos = [o for o in outcomes if o.question.topic == "out_of_scope"]
    print(
        f"\nOut-of-scope declined:   {sum(o.topic_ok for o in oos)}/{len(oos)} "
        f"{summary.out_of_scope_accuracy:6.1%}",
        file=out,
    )
    print(
        f"Reply in right language: {sum(o.language_ok for o in outcomes)}/{len(outcomes)} "
        f"{summary.language_accuracy:6.1%}",
        file=out,
    )
    print(f"Topic accuracy overall:  {summary.overall_topic_accuracy:6.1%}", file=out)
    misses = [o for o in outcomes if not (o.topic_ok and o.language_ok)]
    if misses:
        print("\nMisses (expected topic/lang -> got topic/locale):", file=out)
        for o in misses:
            q = o.question
            print(
                f"  [{q.lang}/{q.style}] {q.text!r}: {q.topic}/{q.lang} -> {o.topic}/{o.locale}",
                file=out,
            )
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("questions", type=Path, help="YAML file of labelled questions")
    parser.add_argument("--url", default="http://127.0.0.1:3978", help="bot service base URL")
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args(argv)
    try:
        questions = load_questions(args.questions)
    except (OSError, KeyError, TypeError, yaml.YAMLError) as error:
        print(f"error: cannot read {args.questions}: {error}", file=sys.stderr)
        return 2
    try:
        outcomes = asyncio.run(run(questions, args.url.rstrip("/"), args.concurrency))
    except aiohttp.ClientResponseError as error:
        if error.status == 429:
            # Each question opens a conversation: far more than a person does a minute.
            print(
                f"error: the bot at {args.url} refused the evaluation's pace (429). Start it "
                "for an evaluation with the per-address limits off: "
                "RATE_LIMIT_NEW_CONVERSATIONS=0 RATE_LIMIT_PER_ADDRESS=0 ./scripts/run",
                file=sys.stderr,
            )
        else:
            print(f"error: the bot at {args.url} answered {error.status}", file=sys.stderr)
        return 2
    except aiohttp.ClientError as error:
        print(f"error: the bot at {args.url} did not answer: {error}", file=sys.stderr)
        return 2
    report(outcomes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
