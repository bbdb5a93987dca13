"""Microsoft Bot Framework channels (Teams) through botbuilder's CloudAdapter at /api/messages."""
