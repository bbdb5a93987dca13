"""Storage of what users leave behind (feedback, ratings, questions) and its privacy rules."""
