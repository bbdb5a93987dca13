"""The bot service: app factory, config, channels (Direct Line) and the turn pipeline."""
