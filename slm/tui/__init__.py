"""The Textual terminal UI (a later issue)."""
