"""The command-line face: the click app, its output rendering, `slm doctor` and the demo (docs/ARCHITECTURE.md)."""
