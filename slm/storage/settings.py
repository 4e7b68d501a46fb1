"""Key/value settings kept in the database itself (embedding model identity, dimension)."""

from __future__ import annotations


def get_setting(conn, key: str) -> str | None:
    row = conn.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
    return row[0] if row else None


def set_settings(conn, values: dict[str, str]) -> None:
    with conn.transaction():
        conn.executemany(
            "INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            list(values.items()),
        )


def delete_setting(conn, key: str) -> None:
    conn.execute("DELETE FROM settings WHERE key = ?", (key,))
