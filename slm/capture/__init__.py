"""Capture: what a coding session leaves in memory without anyone calling `remember` (docs/ARCHITECTURE.md,
"Capture"). Transcripts are read as data; nothing in them is ever followed."""
