"""Reply building from content: answer text with read-more links, and the quick-reply buttons."""

from __future__ import annotations

from content.store import ContentStore, Entry
from dialogs.messages import Button, Reply

HELP_PAYLOAD = {"intent": "help"}


class ReplyFactory:
    """Builds Reply objects in a language from the content store."""

    def __init__(self, content: ContentStore) -> None:
        self.content = content

    def topic_buttons(self, topic_ids: tuple[str, ...] | list[str], language: str) -> list[Button]:
        """A button per topic; "give_feedback" (content/store.py RELATED_DIALOGS) is the
        button that starts the feedback dialog."""
        buttons = []
        for topic_id in topic_ids:
            if topic_id in self.content.topics:
                title = self.content.topics[topic_id].title[language]
                buttons.append(Button(title, {"intent": topic_id}))
            elif topic_id == "give_feedback":
                buttons.append(self.feedback_button(language))
        return buttons

    def help_button(self, language: str) -> Button:
        return Button(self.content.ui_text("button_help", language), dict(HELP_PAYLOAD))

    def feedback_button(self, language: str) -> Button:
        """The "Give feedback" button: starts the feedback dialog."""
        title = self.content.conversation["give_feedback"].title[language]
        return Button(title, {"intent": "give_feedback"})

    def language_buttons(self, except_language: str | None = None) -> list[Button]:
        return [
            Button(label, {"lang": code})
            for code, label in self.content.language_labels.items()
            if code != except_language
        ]

    def with_links(self, text: str, entry: Entry, language: str) -> str:
        """Append read-more links; the URLs come from config, never from content text."""
        urls = [self.content.links[key] for key in entry.links if self.content.links.get(key)]
        if not urls:
            return text
        label = self.content.ui_text("read_more", language)
        return text + "\n\n" + "\n".join(f"{label}: {url}" for url in urls)

    def entry_reply(
        self,
        entry_id: str,
        language: str,
        *,
        level: str | None = None,
        topic: str | None = None,
        extra_buttons: list[Button] | None = None,
    ) -> Reply:
        """An entry's answer with its related topics as buttons."""
        entry = self.content.entry(entry_id)
        text = self.with_links(entry.text(language, level), entry, language)
        buttons = self.topic_buttons(entry.related, language) + (extra_buttons or [])
        return Reply(text=text, topic=topic or entry_id, locale=language, buttons=tuple(buttons))

    def ui_reply(
        self, key: str, language: str, topic: str, buttons: list[Button] | None = None, **values
    ) -> Reply:
        text = self.content.ui_text(key, language, **values)
        return Reply(text=text, topic=topic, locale=language, buttons=tuple(buttons or []))

    def menu_buttons(self, language: str) -> list[Button]:
        """The help menu's topics, for replies that need a way forward."""
        return self.topic_buttons(self.content.conversation["help"].related, language)
