"""A Direct Line 3.0 subset served by the bot itself, for the web widget and the evaluation tool."""
