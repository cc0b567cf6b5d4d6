"""Flows: one module per feature that does the side effects in order (Slack messages, Homes,
networks) around the rules module of the same name in ``bot/``. Only these and ``handlers/``
take ``Services``."""
