"""What is worth keeping from a coding session, by rule (no LLM): what the user decided, prefers or set as a
convention, in their own words; the commands that built, tested or deployed and worked; an error and the change
after which the same command passed; the files the session kept editing. Each becomes one short memory."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from slm.capture.transcript import ToolResult, Turn

MIN_WORDS, MAX_WORDS = 4, 60  # a user's sentence worth keeping
COMMAND_CHARS = 200
INJECTED = re.compile(r"<(slm-memory|system-reminder|command-[a-z-]+|local-command-[a-z-]+)\b.*?</\1>", re.S | re.I)
SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
STATEMENTS = (  # (kind, pattern): the user's words that say how things are to be done
    ("decision", re.compile(
        r"\b(?:we|i)(?:'ve| have)? (?:decided|chose|agreed|settled on)\b|\b(?:we|i)(?:'re| are) going with\b"
        r"|\b(?:we|i)(?: will|'ll) (?:use|switch to|stick with|keep)\b|\blet'?s (?:use|go with|switch to|stick with)\b",
        re.I)),
    ("preference", re.compile(
        r"\b(?:i|we) (?:prefer|would rather|'d rather)\b|\bprefer\b.{1,60}\b(?:over|to|instead of)\b", re.I)),
    ("convention", re.compile(
        r"^(?:please )?(?:always|never|don't|do not|make sure to|remember to)\b|\b(?:from now on|going forward|"
        r"by convention|our convention|the convention)\b", re.I)),
)  # fmt: skip
PURPOSES = (  # (purpose, pattern over a shell command)
    ("test", re.compile(r"\b(?:pytest|tox|nox|go test|cargo test|npm (?:run )?test|pnpm (?:run )?test|yarn test|"
                        r"jest|vitest|mvn test|gradle test|make (?:test|check)|ctest|rspec|phpunit)\b")),
    ("build", re.compile(r"\b(?:make(?: build| all)?$|cargo build|go build|npm run build|pnpm (?:run )?build|"
                         r"yarn build|docker build|mvn package|gradle build|cmake --build|python -m build)\b")),
    ("lint", re.compile(r"\b(?:ruff|flake8|mypy|pyright|eslint|prettier --check|golangci-lint|cargo clippy)\b")),
    ("deploy", re.compile(r"\b(?:deploy|kubectl apply|helm (?:upgrade|install)|terraform apply|fly deploy|"
                          r"vercel --prod|git push \S+ \S*(?:main|master|release))\b")),
)  # fmt: skip
FIRST_PERSON = re.compile(r"\b(?:I|I'm|I've|I'd|I'll|my|we|we're|we've|our)\b", re.I)
REQUEST = re.compile(r"^(?:can|could|would|will) you\b|\b(?:please|help me|recommend|suggest|tell me)\b", re.I)
DETAIL = re.compile(
    r"\d|\b(?:yesterday|today|tonight|last (?:week|month|year|weekend|summer|winter|spring|fall)|"
    r"ago|since|until|on (?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday))\b",
    re.I,
)
NAME = re.compile(r"(?<![.!?]\s)\b[A-Z][a-z]{2,}\b")  # a capitalised word inside the sentence
SECRET = re.compile(r"(?:token|secret|passw(?:or)?d|api[_-]?key|bearer|authorization)\s*[=:]", re.I)
FAILURE = re.compile(r"Traceback \(most recent call last\)|\bFAILED\b|^\s*(?:\w+)?Error\b|\berror(?:\[\w+\])?:|"
                     r"Exit code [1-9]|command not found", re.M)  # fmt: skip
NAMED_ERROR = re.compile(r"\b[A-Z]\w*(?:Error|Exception)\b:")
EDITS = ("Edit", "MultiEdit", "Write", "NotebookEdit")


@dataclass(frozen=True)
class Captured:
    text: str
    kind: str
    tags: tuple[str, ...]
    time: str | None
    users_words: bool = False  # typed by the user (stored as theirs), not made from what the assistant did


def statements(turns: list[Turn]) -> list[Captured]:
    """The user's sentences that decide, prefer or set a convention, or say something concrete about themselves
    (a fact only they know), verbatim."""
    found = []
    for turn in turns:
        if not turn.said_by_user:
            continue
        for sentence in _sentences(INJECTED.sub(" ", turn.text)):
            kind = next((kind for kind, pattern in STATEMENTS if pattern.search(sentence)), None)
            if kind is None and _personal_fact(sentence):
                kind = "fact"
            if kind is not None:
                found.append(Captured(sentence, kind, ("captured", kind), turn.time, users_words=True))
    return found


def _personal_fact(sentence: str) -> bool:
    """First person, a statement (not a question or a request), and a detail: a number, a name, a time."""
    if sentence.endswith("?") or REQUEST.search(sentence) or not FIRST_PERSON.search(sentence):
        return False
    return bool(DETAIL.search(sentence) or NAME.search(sentence[1:]))


def commands(turns: list[Turn]) -> list[Captured]:
    """Build, test, lint and deploy commands that ran without failing, each once."""
    found, seen = [], set()
    for turn, command, result in _shell_runs(turns):
        purpose = next((p for p, pattern in PURPOSES if pattern.search(command)), None)
        if purpose is None or _failed(result) or SECRET.search(command) or command in seen:
            continue
        seen.add(command)
        found.append(
            Captured(f"To {purpose} this project, run: `{command}`", "command", ("captured", purpose), turn.time)
        )
    return found


def fixes(turns: list[Turn], root: Path | None) -> list[Captured]:
    """A command that failed, then passed after files were changed: the error and what was changed."""
    found, failing = [], {}  # command -> (its first error line, files edited since)
    for turn, command, result in _shell_runs(turns, on_edit=lambda path: _note_edit(failing, _shown(path, root))):
        if _failed(result):
            failing.setdefault(command, (_first_error(result.text), []))
        elif command in failing:
            error, edited = failing.pop(command)
            if edited and not SECRET.search(command):
                files = ", ".join(dict.fromkeys(edited))
                text = f"`{command}` failed with: {error} It passed after changes to {files}."
                found.append(Captured(text, "fix", ("captured", "error"), turn.time))
    return found


def _note_edit(failing: dict, path: str) -> None:
    for _, edited in failing.values():
        edited.append(path)


def central_files(turns: list[Turn], root: Path | None, top: int = 5) -> Captured | None:
    """The files edited most in the session (two edits or more)."""
    counts = Counter(_shown(path, root) for turn in turns for use in turn.uses if (path := _edited(use)) is not None)
    kept = [(path, n) for path, n in counts.most_common(top) if n >= 2]
    if not kept:
        return None
    listed = ", ".join(f"{path} ({n} edits)" for path, n in kept)
    return Captured(f"Files this session worked on most: {listed}.", "files", ("captured", "files"), last_time(turns))


def _shell_runs(turns: list[Turn], on_edit=None):
    """(turn of the result, command, its result) for every shell command and its result, in order; `on_edit` is
    told each file edited, as it comes."""
    asked = {}
    for turn in turns:
        for use in turn.uses:
            command, path = use.input.get("command"), _edited(use)
            if use.name == "Bash" and isinstance(command, str) and command.strip():
                asked[use.id] = " ".join(command.split())[:COMMAND_CHARS]
            elif path is not None and on_edit is not None:
                on_edit(path)
        for result in turn.results:
            if result.tool_use_id in asked:
                yield turn, asked.pop(result.tool_use_id), result


def _edited(use) -> str | None:
    path = use.input.get("file_path") or use.input.get("notebook_path")
    return path if use.name in EDITS and isinstance(path, str) else None


def _failed(result: ToolResult) -> bool:
    return result.is_error or bool(FAILURE.search(result.text[-4000:]))


def _first_error(text: str) -> str:
    """The line that names the error (`ImportError: …` before `FAILED test_x`), cut."""
    lines = text.splitlines()
    named = [line for line in lines if NAMED_ERROR.search(line)]
    failing = [line for line in lines if FAILURE.search(line) and "Traceback" not in line]
    chosen = (named or failing or [text])[0]
    return " ".join(chosen.split())[:160] or "an error"


def _sentences(text: str) -> list[str]:
    kept = []
    for sentence in SENTENCE_END.split(text):
        sentence = " ".join(sentence.split())
        if MIN_WORDS <= len(sentence.split()) <= MAX_WORDS and not sentence.startswith(("```", "<", "$ ", ">")):
            kept.append(sentence)
    return kept


def _shown(path: str, root: Path | None) -> str:
    """A path as the project knows it: relative to its root when inside it."""
    if root is not None:
        try:
            return str(Path(path).relative_to(root))
        except ValueError:
            pass
    return path


def last_time(turns: list[Turn]) -> str | None:
    return next((turn.time for turn in reversed(turns) if turn.time), None)
