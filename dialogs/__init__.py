"""Dialogs: answer, clarify, fallback and small talk.

They know content and state, never a channel.
"""
