"""basic-memory: a folder of Markdown notes with YAML front matter (title, type, permalink, tags, created),
observations `- [category] text #tag (context)` and relations `- relation_type [[Target]]` in the body.
One item per note, split into parts when it is too big for one memory.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from slm import validation
from slm.errors import InvalidInput
from slm.portability.foreign import common, front_matter
from slm.portability.foreign.common import META_BUDGET, Problem, Result

PART_BYTES = 60_000  # a note longer than this (UTF-8) becomes several items, under slm's 64 KiB text limit
_TITLE_IN_PART = 200  # characters of the title repeated at the head of each part after the first


def markdown_files(root: Path) -> tuple[list[Path], list[OSError]]:
    """Every .md file under root, hidden files and folders (.git, .obsidian) left out, in path order."""
    errors: list[OSError] = []
    found: list[Path] = []
    for folder, folders, names in os.walk(root, onerror=errors.append):
        folders[:] = [name for name in folders if not name.startswith(".")]
        found += [Path(folder, name) for name in names if name.lower().endswith(".md") and not name.startswith(".")]
    return sorted(found, key=lambda file: file.relative_to(root).parts), errors


def read_basic_memory(path: Path, project: str | None) -> Iterator[Result]:
    if not path.is_dir():
        yield from _read_note(path, path.name, project)
        return
    files, errors = markdown_files(path)
    for err in errors:
        where = Path(err.filename).relative_to(path).as_posix() if err.filename else path.name
        yield Problem(where, f"cannot read this folder ({err.strerror})")
    for file in files:
        yield from _read_note(file, file.relative_to(path).as_posix(), project)


def _read_note(file: Path, where: str, project: str | None) -> Iterator[Result]:
    try:
        content = file.read_bytes().decode("utf-8")
    except OSError as err:
        yield Problem(where, f"cannot read: {err.strerror}")
        return
    except UnicodeDecodeError as err:
        yield Problem(where, f"not valid UTF-8 (byte {err.start + 1}); re-save it as UTF-8 to import it")
        return
    try:
        note = _Note.parse(content.removeprefix("\ufeff").replace("\r\n", "\n"), file.stem)
    except front_matter.Unreadable as err:
        yield Problem(where, f"{err}")
        return
    yield from note.items(where, project)


_ITEM = re.compile(r"[ \t]*[-*+][ \t]+(.*)")
_CATEGORY = re.compile(r"\[([^\[\]()]+)\][ \t]+(.+)")
_CLOCK = re.compile(r"\d{1,3}:\d{2}(?::\d{2})?(?:[.,]\d{1,3})?(?:\s+-\s+\d{1,3}:\d{2}(?::\d{2})?(?:[.,]\d{1,3})?)?")
_LINK = re.compile(r"\[\[(.+?)\]\]")


@dataclass(frozen=True)
class _Note:
    title: str
    text: str
    note_type: str | None
    permalink: str | None
    time: str | None
    tags: list[str]
    observations: list[dict]
    relations: list[dict]

    @classmethod
    def parse(cls, content: str, stem: str) -> _Note:
        entries, body = front_matter.parse(content)
        title = front_matter.text_of(entries, "title") or stem
        tags = front_matter.value_of(entries["tags"]) if "tags" in entries else None
        if isinstance(tags, str):
            tags = tags.split(",")  # basic-memory also takes "tags: a, b"
        when = next((key for key in ("created", "date") if front_matter.text_of(entries, key)), None)
        try:
            time = validation.parse_time(front_matter.text_of(entries, when), when) if when else None
        except InvalidInput as err:
            raise front_matter.Unreadable(f"front matter: {err.message} ({err.hint})") from None
        observations, relations = _semantics(body)
        tags = [*(tags or []), *(tag for obs in observations for tag in obs.pop("tags"))]
        first_line = next((line.strip() for line in body.split("\n") if line.strip()), "")
        text = body.strip() if first_line == f"# {title}" else f"# {title}\n\n{body.strip()}"
        note_type, permalink = front_matter.text_of(entries, "type"), front_matter.text_of(entries, "permalink")
        return cls(title, text, note_type, permalink, time, tags, observations, relations)

    def items(self, where: str, project: str | None) -> Iterator[Result]:
        base: dict = {"source": "basic-memory", "permalink": self.permalink, "path": where}
        if self.note_type is not None:
            base["type"] = self.note_type
        tags = common.tags(self.tags, base)
        parts = [self.text]
        if len(self.text.encode("utf-8")) > PART_BYTES:  # leave room for the heading of the later parts
            parts = _split(
                self.text, PART_BYTES - len(f"# {self.title[:_TITLE_IN_PART]} (part 9999/9999)\n\n".encode())
            )
        for number, part in enumerate(parts, 1):
            meta = base | ({"part": number, "parts": len(parts)} if len(parts) > 1 else {})
            head = f"# {self.title[:_TITLE_IN_PART]} (part {number}/{len(parts)})\n\n" if number > 1 else ""
            item = {
                "text": head + part,
                "time": self.time,
                "agent": "basic-memory",
                "project": project,
                "tags": tags,
                "meta": self._bounded(meta),
                "kind": self._kind(),
            }
            yield common.finish(f"{where} (part {number}/{len(parts)})" if len(parts) > 1 else where, "", item)

    def _kind(self) -> str:
        try:
            return validation.clean_kind((self.note_type or validation.DEFAULT_KIND).lower())
        except InvalidInput:
            return validation.DEFAULT_KIND

    def _bounded(self, meta: dict) -> dict:
        """meta with as many observations and relations as fit under slm's limit, and the full counts if cut."""
        room = META_BUDGET - common.json_size(meta)
        observations = common.fit(self.observations, room // 2)
        relations = common.fit(self.relations, room - common.json_size(observations))
        meta = meta | {"observations": observations, "relations": relations}
        if len(observations) < len(self.observations):
            meta["observations_total"] = len(self.observations)
        if len(relations) < len(self.relations):
            meta["relations_total"] = len(self.relations)
        return meta


def _semantics(body: str) -> tuple[list[dict], list[dict]]:
    """Observations and relations of a note body, as basic-memory's parser finds them (code blocks and quotes
    left out). Observations keep their #tags under "tags" for the caller to collect."""
    observations: list[dict] = []
    relations: list[dict] = []
    fence = ""
    for line in body.split("\n"):
        stripped = line.strip()
        if stripped.startswith(("```", "~~~")) and (not fence or stripped.startswith(fence)):
            fence = "" if fence else stripped[:3]
            continue
        if fence or stripped.startswith(">"):
            continue
        item = _ITEM.fullmatch(line)
        if item is None:
            relations += [{"type": "links_to", "target": target.strip()} for target in _LINK.findall(line)]
            continue
        observation = _observation(item[1].strip())
        if observation is not None:
            observations.append(observation)
        relations += _relations(item[1].strip())
    return observations, relations


def _observation(content: str) -> dict | None:
    """`[category] text #tag (context)`, or a list item with a #tag and no category; None for other items."""
    if content.startswith(("[ ]", "[x]", "[-]")):
        return None  # a task
    match = _CATEGORY.match(content)
    category = match[1].strip() if match else ""
    if match and (_CLOCK.fullmatch(category) or (len(category) == 1 and (category in "xX" or not category.isalnum()))):
        match = None  # a transcript timecode or a task marker, not a category
    if match is None and not any(word.startswith("#") for word in content.split()):
        return None
    text = match[2].strip() if match else content
    context = None
    if text.endswith(")") and "(" in text:
        cut = text.rfind("(")
        text, context = text[:cut].strip(), text[cut + 1 : -1].strip()
    tags = [tag.rstrip(".,;:!?") for word in text.split() if word.startswith("#") for tag in word.split("#")]
    observation = {"category": category if match else "note", "text": text, "tags": [tag for tag in tags if tag]}
    return observation | ({"context": context} if context else {})


def _relations(content: str) -> list[dict]:
    """`type [[Target]] (context)` (a quoted type may have spaces); other links in the item are `links_to`."""
    before, _, after = content.partition("[[")
    label = before.strip()
    if label[:1] in ("'", '"') and len(label) > 1 and label.endswith(label[0]):
        label = label[1:-1].strip()
    elif any(char.isspace() for char in label):
        label = ""
    target, closed, tail = after.partition("]]")
    tail = tail.strip()
    if label and closed and target.strip() and (not tail or (tail.startswith("(") and tail.endswith(")"))):
        relation = {"type": label, "target": target.strip()}
        return [relation | ({"context": tail[1:-1].strip()} if tail[1:-1].strip() else {})]
    return [{"type": "links_to", "target": link.strip()} for link in _LINK.findall(content) if link.strip()]


def _split(text: str, limit: int) -> list[str]:
    """Pieces of at most `limit` UTF-8 bytes, cut between paragraphs where that is enough, else between lines,
    else between words; a word longer than a piece is cut between characters."""
    pieces: list[str] = []
    current, size = "", 0
    for separator, atom in _atoms(text, limit, ("\n\n", "\n", " ")):
        atom_size = len(atom.encode("utf-8"))
        if current and size + len(separator) + atom_size <= limit:
            current, size = current + separator + atom, size + len(separator) + atom_size
        else:
            pieces.append(current)
            current, size = atom, atom_size
    pieces.append(current)
    return [piece for piece in pieces if piece.strip()]


def _atoms(text: str, limit: int, separators: tuple[str, ...]) -> Iterator[tuple[str, str]]:
    """(separator before it, atom) for text cut at the coarsest separator that makes every atom fit."""
    separator, finer = separators[0], separators[1:]
    for index, piece in enumerate(text.split(separator)):
        joint = separator if index else ""
        if len(piece.encode("utf-8")) <= limit:
            yield joint, piece
            continue
        inner = _atoms(piece, limit, finer) if finer else (("", chunk) for chunk in _cut(piece, 4096))
        for number, (inner_separator, atom) in enumerate(inner):
            yield (joint if number == 0 else inner_separator), atom


def _cut(text: str, limit: int) -> list[str]:
    """Cut at `limit` bytes, moved back to the start of a UTF-8 character."""
    data, pieces = text.encode("utf-8"), []
    while data:
        end = limit
        while end < len(data) and data[end] & 0xC0 == 0x80:
            end -= 1
        pieces.append(data[:end].decode("utf-8"))
        data = data[end:]
    return pieces
