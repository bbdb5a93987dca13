"""The NLU side: the Rasa project (config.yml, domain.yml, data/) and the bot's client to it.

Python modules here run in the bot's environment (Python 3.11) and talk to the
Rasa server over HTTP; Rasa itself runs in its own Python 3.10 environment.
"""
