"""SQLite storage: connections, migrations, repositories. Imports nothing of slm above it."""
