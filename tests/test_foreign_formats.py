"""Reading other tools' memory files: the reference MCP memory server's memory.jsonl, basic-memory's Markdown
notes and mem0's get_all export, as those tools write them; every bad line, note or record is a Problem."""

from __future__ import annotations

import json
import os
import shutil
import threading
from pathlib import Path

import pytest

from slm import Memory, validation
from slm.core.writer import ITEM_KEYS
from slm.errors import InvalidInput
from slm.portability import importer
from slm.portability.foreign import FORMATS, PART_BYTES, Incoming, Problem, detect, read

pytestmark = pytest.mark.both_backends  # the reading needs no store; what imports into one runs on each backend

# As @modelcontextprotocol/server-memory saves it: entities first, then relations, a trailing newline.
MCP_LINES = [
    {"type": "entity", "name": "Alice", "entityType": "person", "observations": ["Works at Acme", "Prefers email"]},
    {"type": "entity", "name": "Bob", "entityType": "person", "observations": []},
    {"type": "entity", "name": "ML Project X", "entityType": "Software Project", "observations": ["Started in 2023"]},
    {"type": "relation", "from": "Alice", "to": "Bob", "relationType": "manages"},
    {"type": "relation", "from": "Alice", "to": "ML Project X", "relationType": "works_on"},
]

COFFEE = """---
title: Coffee Brewing Methods
type: note
permalink: coffee/coffee-brewing-methods
tags:
- coffee
- brewing
created: 2024-03-01T09:00:00Z
---

# Coffee Brewing Methods

Notes from trying every method, see also [[Tea Brewing]].

## Observations
- [method] Pour over provides more flavor clarity than French press
- [technique] Water temperature at 205°F extracts optimal compounds #brewing #Temperature
- [preference] Ethiopian beans work well with lighter roasts (personal experience)
- [ ] buy a scale

## Relations
- relates_to [[Coffee Bean Origins]]
- "based on" [[Customer Interview]] (2024 survey)
"""

PAUL = """---
title: Paul Graham
type: Person
tags: [startups, essays, lisp]
permalink: paul-graham
date: 2024-01-15
---

# Paul Graham

## Observations
- [role] Essayist and investor
- [fact] Created Viaweb, the first web app

```python
- [not] an observation inside code #nope
```

## Relations
- works_at [[Y Combinator]] (co-founder)
- authored [[Hackers and Painters]]
"""

AUTH = """---
title: 'Auth Design: JWT'
type: decision
tags: security, backend
---

Prose first: the heading is not the title.

- [decision] Using JWT tokens for stateless authentication #security
- implements [[API Security Requirements]]
"""

INBOX = "Just an idea: try [[Coffee Brewing Methods]] with oat milk.\n"

MEM0_RESULTS = {
    "results": [
        {
            "id": "4a5a417a-fa10-43b5-8c53-a77c45e80438",
            "memory": "Name is Joseph",
            "hash": "62bc074f56d1f909f1b4c2b639f56f6a",
            "metadata": None,
            "categories": ["personal_details"],
            "created_at": "2025-03-19T09:09:00.146390-07:00",
            "updated_at": "2025-03-19T09:09:00.146404-07:00",
            "user_id": "joseph",
        },
        {
            "id": "8d268d0f-5452-4714-b27d-ae46f676a49d",
            "memory": "Is vegetarian and allergic to nuts",
            "hash": "1f0e8a8f6c0b4c5d9e2a7b3c4d5e6f70",
            "metadata": {"source": "onboarding chat", "confidence": 0.9},
            "categories": ["food", "Health Info"],
            "created_at": "2025-03-19T09:10:00Z",
            "updated_at": "2025-03-20T10:00:00Z",
            "user_id": "joseph",
            "agent_id": "diet-coach",
            "run_id": "run-7",
        },
    ],
    "relations": [],
}


def write_jsonl(path: Path, records: list) -> Path:
    path.write_text("".join(json.dumps(r, separators=(",", ":")) + "\n" for r in records), encoding="utf-8")
    return path


def incoming(results) -> list[Incoming]:
    results = list(results)
    assert all(isinstance(r, Incoming) for r in results), [r for r in results if isinstance(r, Problem)]
    return results


def problems(results) -> list[Problem]:
    return [r for r in results if isinstance(r, Problem)]


@pytest.fixture
def mcp_file(tmp_path) -> Path:
    return write_jsonl(tmp_path / "memory.jsonl", MCP_LINES)


@pytest.fixture
def notes(tmp_path) -> Path:
    root = tmp_path / "notes"
    for rel, text in {
        "coffee.md": COFFEE,
        "people/paul-graham.md": PAUL,
        "projects/2024/auth.md": AUTH,
        "inbox.md": INBOX,
        ".obsidian/workspace.md": "# hidden, not a note",
        "people/photo.png": "not markdown",
    }.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    return root


@pytest.fixture
def mem0_file(tmp_path) -> Path:
    path = tmp_path / "mem0.json"
    path.write_text(json.dumps(MEM0_RESULTS, indent=2), encoding="utf-8")
    return path


# --- detection -------------------------------------------------------------------------------------------------


def test_detects_each_format(mcp_file, notes, mem0_file, tmp_path):
    assert detect(mcp_file) == "mcp-memory"
    assert detect(notes) == "basic-memory"
    assert detect(notes / "coffee.md") == "basic-memory"
    assert detect(mem0_file) == "mem0"
    legacy = tmp_path / "memory.json"  # what the server called its JSONL file before memory.jsonl
    shutil.copy(mcp_file, legacy)
    assert detect(legacy) == "mcp-memory"
    bare_list = tmp_path / "list.json"
    bare_list.write_text(json.dumps(MEM0_RESULTS["results"]), encoding="utf-8")
    assert detect(bare_list) == "mem0"
    assert set(FORMATS) == {"mcp-memory", "basic-memory", "mem0"}


def test_detects_nothing_in_other_files(tmp_path):
    other = {
        "notes.txt": "hello\n",
        "events.jsonl": '{"event": "login"}\n',
        "config.json": '{"results": [{"title": "no memory key"}]}',
        "empty.json": "[]",
        "broken.json": "{",
        "binary.jsonl": "\udcff\udcfe",
    }
    for name, text in other.items():
        (tmp_path / name).write_bytes(text.encode("utf-8", "surrogateescape"))
        assert detect(tmp_path / name) is None, name
    (tmp_path / "empty-folder").mkdir()
    assert detect(tmp_path / "empty-folder") is None


def test_a_path_that_does_not_exist_raises(tmp_path, mcp_file):
    with pytest.raises(InvalidInput, match="does not exist") as err:
        read(tmp_path / "nope.jsonl", "mcp-memory")  # at once, not on the first next()
    assert err.value.hint
    with pytest.raises(InvalidInput, match="does not exist"):
        detect(tmp_path / "nope")
    with pytest.raises(InvalidInput, match="unknown format"):
        read(mcp_file, "obsidian")
    with pytest.raises(InvalidInput, match="is a folder"):
        read(tmp_path, "mcp-memory")
    with pytest.raises(InvalidInput, match="project"):
        read(mcp_file, "mcp-memory", project="  ")


# --- mcp-memory ------------------------------------------------------------------------------------------------


def test_mcp_memory_items(mcp_file):
    results = incoming(read(mcp_file, "mcp-memory"))
    assert [r.item["text"] for r in results] == [
        "Alice (person): Works at Acme",
        "Alice (person): Prefers email",
        "ML Project X (Software Project): Started in 2023",
        "Alice manages Bob",
        "Alice works on ML Project X",
    ]
    assert [r.where for r in results] == [f"memory.jsonl line {n}" for n in (1, 1, 3, 4, 5)]
    first, project, relation = results[0].item, results[2].item, results[4].item
    assert first == {
        "text": "Alice (person): Works at Acme",
        "time": None,
        "agent": "mcp-memory",
        "project": None,
        "tags": ["person"],
        "meta": {"source": "mcp-memory", "entity": "Alice"},
        "kind": "fact",
        "session": None,
    }
    assert project["tags"] == ["software-project"]
    assert relation["kind"] == "relation"
    assert relation["meta"] == {
        "source": "mcp-memory",
        "relation": {"from": "Alice", "relationType": "works_on", "to": "ML Project X"},
    }


def test_mcp_memory_project_and_old_files(tmp_path):
    # Older servers wrote no trailing newline and spread extra keys into the line; blank lines carry nothing.
    path = tmp_path / "memory.json"
    path.write_text(
        '\ufeff{"type":"entity","name":"Alice","entityType":"person","observations":["Likes tea"],"extra":1}\r\n'
        "\n   \n"
        '{"type":"relation","from":"Alice","to":"Bob","relationType":"knows","weight":2}',
        encoding="utf-8",
    )
    results = incoming(read(path, "mcp-memory", project="home"))
    assert [(r.where, r.item["text"], r.item["project"]) for r in results] == [
        ("memory.json line 1", "Alice (person): Likes tea", "home"),
        ("memory.json line 4", "Alice knows Bob", "home"),
    ]


def test_mcp_memory_problems_name_their_line(tmp_path):
    # The unreadable lines of the reference server's own persistence tests, and a few more.
    lines = [
        '{"type":"entity","name":"Alice","entityType":"person","observations":["Works at Acme"]}',
        '{"type":"entity","name":"Bob","entityType":"person","observations":["Lives in Haifa",null,42]}',
        '{"type":"entity","name":"Project X","observations":["Deadline 2026-10-01"]}',
        '{"type":"relation","from":"Alice","to":"Bob"}',
        '{"type":"entity","name":"Trunc',
        '{"type":"entity","name":"A","entityType":"x","observations":[]}{"type":"entity","name":"B"}',
        "42",
        "null",
        '{"type":"note","text":"unknown type"}',
        '{"type":"entity","name":"  ","entityType":"x","observations":["nameless"]}',
        '{"type":"entity","name":"Carol","entityType":"person","observations":"not a list"}',
        '{"type":"entity","name":"Dan","entityType":"person","observations":["   "]}',
        '{"type":"entity","name":"Eve","entityType":"person","observations":["fine"]}',
    ]
    path = tmp_path / "memory.jsonl"
    path.write_bytes(("\n".join(lines) + "\n").encode() + b'{"type":"entity","name":"caf\xe9"}\n')
    results = list(read(path, "mcp-memory"))
    found = {(p.where, p.message.split(";")[0]) for p in problems(results)}
    assert found == {
        ("memory.jsonl line 2", "entity 'Bob', observation 2: expected text, got null"),
        ("memory.jsonl line 2", "entity 'Bob', observation 3: expected text, got a number"),
        ("memory.jsonl line 3", "entity without 'entityType' text"),
        ("memory.jsonl line 4", "relation without 'relationType' text"),
        ("memory.jsonl line 5", "invalid JSON (Unterminated string starting, column 25)"),
        ("memory.jsonl line 6", "invalid JSON (Extra data, column 64)"),
        ("memory.jsonl line 7", "expected a JSON object, got a number"),
        ("memory.jsonl line 8", "expected a JSON object, got null"),
        ("memory.jsonl line 9", 'unknown "type" \'note\': expected "entity" or "relation"'),
        ("memory.jsonl line 10", "entity without 'name' text"),
        ("memory.jsonl line 11", "entity 'Carol': 'observations' must be a list of text, not text"),
        ("memory.jsonl line 12", "entity 'Dan', observation 1: expected text, got empty text"),
        ("memory.jsonl line 14", "not valid UTF-8 (byte 29 of the line)"),
    }
    assert [r.item["text"] for r in results if isinstance(r, Incoming)] == [
        "Alice (person): Works at Acme",
        "Bob (person): Lives in Haifa",
        "Eve (person): fine",
    ]


def test_mcp_memory_is_read_lazily(tmp_path):
    path = tmp_path / "memory.jsonl"
    write_jsonl(path, MCP_LINES[:1])
    with path.open("a", encoding="utf-8") as out:
        out.write("this is not JSON\n" * 10_000)
    results = read(path, "mcp-memory")
    assert next(results).item["text"] == "Alice (person): Works at Acme"
    assert next(results).item["text"] == "Alice (person): Prefers email"
    results.close()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs a named pipe")
def test_mcp_memory_yields_a_line_before_the_next_one_is_written(tmp_path):
    pipe = tmp_path / "memory.jsonl"
    os.mkfifo(pipe)
    took_first = threading.Event()
    streamed = []

    def writer() -> None:
        with pipe.open("w", encoding="utf-8") as out:
            out.write(json.dumps(MCP_LINES[0]) + "\n")
            out.flush()
            streamed.append(took_first.wait(timeout=10))  # a reader of the whole file would still be waiting
            out.write(json.dumps(MCP_LINES[3]) + "\n")

    thread = threading.Thread(target=writer)
    thread.start()
    results = read(pipe, "mcp-memory")
    first = next(results)
    took_first.set()
    rest = list(results)
    thread.join()
    assert streamed == [True]
    assert first.item["text"] == "Alice (person): Works at Acme"
    assert [r.item["text"] for r in rest] == ["Alice (person): Prefers email", "Alice manages Bob"]


# --- basic-memory ----------------------------------------------------------------------------------------------


def test_basic_memory_reads_every_note_in_path_order(notes):
    results = incoming(read(notes, "basic-memory", project="kb"))
    assert [r.where for r in results] == ["coffee.md", "inbox.md", "people/paul-graham.md", "projects/2024/auth.md"]
    coffee, inbox, paul, auth = (r.item for r in results)

    assert coffee["text"] == COFFEE.split("---\n", 2)[2].strip()  # front matter gone, heading kept once
    assert coffee["time"] == "2024-03-01T09:00:00Z"
    assert coffee["agent"] == "basic-memory"
    assert coffee["project"] == "kb"
    assert coffee["kind"] == "note"
    assert coffee["tags"] == ["coffee", "brewing", "temperature"]
    assert coffee["meta"] == {
        "source": "basic-memory",
        "permalink": "coffee/coffee-brewing-methods",
        "path": "coffee.md",
        "type": "note",
        "observations": [
            {"category": "method", "text": "Pour over provides more flavor clarity than French press"},
            {
                "category": "technique",
                "text": "Water temperature at 205°F extracts optimal compounds #brewing #Temperature",
            },
            {
                "category": "preference",
                "text": "Ethiopian beans work well with lighter roasts",
                "context": "personal experience",
            },
        ],
        "relations": [
            {"type": "links_to", "target": "Tea Brewing"},
            {"type": "relates_to", "target": "Coffee Bean Origins"},
            {"type": "based on", "target": "Customer Interview", "context": "2024 survey"},
        ],
    }

    assert paul["kind"] == "person"  # type: Person
    assert paul["time"] == "2024-01-15T00:00:00Z"  # from `date:`; a date alone is midnight UTC
    assert paul["tags"] == ["startups", "essays", "lisp"]
    assert [o["category"] for o in paul["meta"]["observations"]] == ["role", "fact"]  # not the one in code
    assert paul["meta"]["relations"] == [
        {"type": "works_at", "target": "Y Combinator", "context": "co-founder"},
        {"type": "authored", "target": "Hackers and Painters"},
    ]

    assert auth["text"].startswith("# Auth Design: JWT\n\nProse first")  # the title line is added
    assert auth["kind"] == "decision"
    assert auth["tags"] == ["security", "backend"]  # "tags: a, b" and the observation's #security
    assert auth["meta"]["path"] == "projects/2024/auth.md"
    assert auth["meta"]["relations"] == [{"type": "implements", "target": "API Security Requirements"}]

    assert inbox == {  # no front matter: title from the file name, no time, no permalink
        "text": "# inbox\n\nJust an idea: try [[Coffee Brewing Methods]] with oat milk.",
        "time": None,
        "agent": "basic-memory",
        "project": "kb",
        "tags": [],
        "meta": {
            "source": "basic-memory",
            "permalink": None,
            "path": "inbox.md",
            "observations": [],
            "relations": [{"type": "links_to", "target": "Coffee Brewing Methods"}],
        },
        "kind": "note",
        "session": None,
    }


def test_basic_memory_reads_front_matter_as_pyyaml_writes_it(tmp_path):
    """basic-memory saves front matter with PyYAML's SafeDumper: quoting, wrapping and all."""
    yaml = pytest.importorskip("yaml")
    front = {
        "title": "L2 Governance Core (Split: Core), a title long enough for PyYAML to wrap it onto two lines",
        "type": "Meeting Notes",
        "permalink": "meetings/o'brien-sync",
        "tags": ["#Startups", "Essay Writing", "it's", 'say "hi"', "café"],
        "created": "2024-01-15T10:00:00+02:00",
        "modified": "2024-01-16",
        "status": "a: b",
        "schema": {"name": "string, full name", "works_at?": "Organization"},
    }
    dumped = yaml.dump(front, sort_keys=False, allow_unicode=True, default_flow_style=False, Dumper=yaml.SafeDumper)
    assert "\n  " in dumped.split("type:")[0]  # the title really is wrapped
    note = tmp_path / "meeting.md"
    note.write_text(f"---\n{dumped}---\n\nBody.\n", encoding="utf-8")
    (result,) = incoming(read(note, "basic-memory"))
    assert result.where == "meeting.md"
    assert result.item["text"] == f"# {front['title']}\n\nBody."
    assert result.item["tags"] == ["startups", "essay-writing", "it's", 'say-"hi"', "café"]
    assert result.item["time"] == "2024-01-15T08:00:00Z"
    assert result.item["kind"] == "note"  # "meeting notes" is not a kind slm accepts
    assert result.item["meta"]["type"] == "Meeting Notes"
    assert result.item["meta"]["permalink"] == "meetings/o'brien-sync"


def test_basic_memory_front_matter_forms(tmp_path):
    note = tmp_path / "forms.md"
    note.write_bytes(
        (
            "\ufeff---\r\n"
            "# a comment\r\n"
            'title: "Quoted \\"title\\" \\u00e9"  # trailing comment\r\n'
            "type: ~\r\n"
            "tags:\r\n"
            "  - one\r\n"
            "  - 'two, three'\r\n"
            "aliases: [x, 'y', \"z\"]\r\n"
            "created: 2024-05-06 07:08:09\r\n"
            "---\r\n"
            "Body line.\r\n"
        ).encode()
    )
    (result,) = incoming(read(note, "basic-memory"))
    assert result.item["text"] == '# Quoted "title" é\n\nBody line.'
    assert result.item["tags"] == ["one", "two,-three"]
    assert result.item["time"] == "2024-05-06T07:08:09Z"  # no offset: taken as UTC, the same on every machine
    assert result.item["kind"] == "note"
    assert "type" not in result.item["meta"]


def test_basic_memory_front_matter_yaml_forms_read_as_written(tmp_path):
    """Block scalars and anchors are YAML like any other; dates, numbers and booleans stay the text written."""
    note = tmp_path / "yaml.md"
    note.write_text(
        "---\ntitle: |\n  Block title\ntype: &kind decision\ntags: [*kind, yes, 2024, 1.0]\n"
        "created: 2024-05-06\n---\nBody.\n",
        encoding="utf-8",
    )
    (result,) = incoming(read(note, "basic-memory"))
    assert result.item["text"] == "# Block title\n\nBody."
    assert result.item["kind"] == "decision"
    assert result.item["tags"] == ["decision", "yes", "2024", "1.0"]
    assert result.item["time"] == validation.parse_time("2024-05-06", "created")


@pytest.mark.parametrize(
    ("front", "message"),
    [
        ("title: Never closed\n", "never closed by a '---' line"),
        ("title: A\njust words\n", "not valid YAML: could not find expected ':' on line 3"),
        ("title: A\ntitle: B\n", "'title' is given twice"),
        ("title: 'unclosed\n", "not valid YAML: found unexpected end of stream on line 2"),
        ("title: Split: Core\n", "not valid YAML: mapping values are not allowed here on line 2"),
        ("title: [a, [b]]\n", "'title' (line 2): nested lists"),
        ("title: [a, b]\n", "'title' (line 2): expected text, found a list"),
        ("tags:\n  nested: mapping\n", "'tags' (line 2): a nested mapping or block"),
        ("tags: [a, b\n", "not valid YAML: expected ',' or ']', but got '<stream end>' on line 2"),
        ("title: A\n- stray item\n", "not valid YAML: expected <block end>, but found '-' on line 3"),
        ('title: "bad \\q escape"\n', "not valid YAML: found unknown escape character 'q' on line 2"),
        ("created: last tuesday\n", "created 'last tuesday' is not a valid time"),
    ],
)
def test_basic_memory_bad_front_matter_is_a_problem_for_that_note(tmp_path, front, message):
    root = tmp_path / "kb"
    root.mkdir()
    (root / "a-good.md").write_text("---\ntitle: Good\n---\nFine.\n", encoding="utf-8")
    closing = "" if message.startswith("never closed by") else "---\n"
    (root / "b-bad.md").write_text(f"---\n{front}{closing}Body.\n", encoding="utf-8")
    (root / "c-good.md").write_text("Also fine.\n", encoding="utf-8")
    results = list(read(root, "basic-memory"))
    assert [type(r).__name__ for r in results] == ["Incoming", "Problem", "Incoming"]
    assert results[1].where == "b-bad.md"
    assert message in results[1].message, results[1].message


def test_basic_memory_non_utf8_note_is_a_problem(notes):
    (notes / "people" / "latin1.md").write_bytes("---\ntitle: Café\n---\nCrème brûlée\n".encode("latin-1"))
    results = list(read(notes, "basic-memory"))
    (problem,) = problems(results)
    assert problem.where == "people/latin1.md"
    assert "not valid UTF-8 (byte 15)" in problem.message
    assert len(results) == 5


def test_basic_memory_oversize_note_is_split_at_paragraphs(tmp_path):
    paragraphs = [f"Paragraph {n}: " + " ".join(["lorem ipsum dolor sit amet"] * 100) for n in range(60)]  # 2.7 KB
    note = tmp_path / "big.md"
    note.write_text("---\ntitle: Big Note\ntags: [big]\n---\n# Big Note\n\n" + "\n\n".join(paragraphs), "utf-8")
    results = incoming(read(note, "basic-memory"))
    assert len(results) == 3
    for number, result in enumerate(results, 1):
        item = result.item
        assert len(item["text"].encode()) <= PART_BYTES
        assert item["meta"]["part"] == number and item["meta"]["parts"] == 3
        assert item["tags"] == ["big"]
        assert result.where == f"big.md (part {number}/3)"
        if number > 1:
            assert item["text"].startswith(f"# Big Note (part {number}/3)\n\n")
    body = "\n\n".join(r.item["text"].split("\n\n", 1)[1] if n else r.item["text"] for n, r in enumerate(results))
    assert body == "# Big Note\n\n" + "\n\n".join(paragraphs)  # cut only between paragraphs, nothing lost


def test_basic_memory_note_of_the_limit_is_one_item(tmp_path):
    note = tmp_path / "edge.md"
    note.write_text("# edge\n\n" + "word " * ((PART_BYTES - 8) // 5), encoding="utf-8")
    (result,) = incoming(read(note, "basic-memory"))
    assert PART_BYTES - 5 < len(result.item["text"].encode()) <= PART_BYTES
    assert "part" not in result.item["meta"]


def test_basic_memory_oversize_paragraph_is_cut_between_characters(tmp_path):
    note = tmp_path / "wall.md"
    note.write_text("é" * 70_000, encoding="utf-8")  # 140,000 bytes, no space or line break to cut at
    results = incoming(read(note, "basic-memory"))
    assert len(results) == 3
    texts = [r.item["text"].split("\n\n", 1)[1] for r in results]
    assert "".join(texts) == "é" * 70_000
    assert all(len(r.item["text"].encode()) <= PART_BYTES for r in results)


def test_basic_memory_meta_stays_under_slm_limit(tmp_path):
    lines = [f"- [fact] Observation {n} #t{n % 40}" for n in range(1000)]
    lines += [f"- relates_to [[Note {n}]]" for n in range(500)]
    note = tmp_path / "many.md"
    note.write_text("---\ntitle: Many\n---\n" + "\n".join(lines), encoding="utf-8")
    (result,) = incoming(read(note, "basic-memory"))
    meta = result.item["meta"]
    assert len(json.dumps(meta, ensure_ascii=False).encode()) <= validation.MAX_META_BYTES
    assert 0 < len(meta["observations"]) < 1000 and meta["observations_total"] == 1000
    assert 0 < len(meta["relations"]) < 500 and meta["relations_total"] == 500
    assert meta["observations"][0]["text"] == "Observation 0 #t0"  # the first ones are kept
    assert len(result.item["tags"]) == validation.MAX_TAGS and meta["tags_omitted"] == 8


def test_basic_memory_observation_syntax(tmp_path):
    note = tmp_path / "syntax.md"
    note.write_text(
        "\n".join(
            [
                "- [x] done task",
                "- [-] cancelled task",
                "- [00:01:02] transcript line",
                "- [link](https://example.com)",
                "- plain item without tags",
                "- item with a #hashtag, no category",
                "> - [quote] inside a blockquote",
                "* [idea] star bullets count too",
                "- some other thing [[Some Entity]]",
                "- 'in response to' [[Incident Review]]",
                "- depends_on [[A]] and then [[B]]",
            ]
        ),
        encoding="utf-8",
    )
    (result,) = incoming(read(note, "basic-memory"))
    meta = result.item["meta"]
    assert meta["observations"] == [
        {"category": "note", "text": "item with a #hashtag, no category"},
        {"category": "idea", "text": "star bullets count too"},
    ]
    assert result.item["tags"] == ["hashtag"]
    assert meta["relations"] == [
        {"type": "links_to", "target": "Some Entity"},
        {"type": "in response to", "target": "Incident Review"},
        {"type": "links_to", "target": "A"},  # prose after the link: not an explicit relation
        {"type": "links_to", "target": "B"},
    ]


# --- mem0 ------------------------------------------------------------------------------------------------------


def test_mem0_items(mem0_file):
    results = incoming(read(mem0_file, "mem0", project="diet"))
    assert [r.where for r in results] == ["mem0.json record 1", "mem0.json record 2"]
    assert results[0].item == {
        "text": "Name is Joseph",
        "time": "2025-03-19T16:09:00Z",
        "agent": "mem0",
        "project": "diet",
        "tags": ["personal_details"],
        "meta": {
            "source": "mem0",
            "id": "4a5a417a-fa10-43b5-8c53-a77c45e80438",
            "hash": "62bc074f56d1f909f1b4c2b639f56f6a",
            "user_id": "joseph",
            "updated_at": "2025-03-19T09:09:00.146404-07:00",
        },
        "kind": "fact",
        "session": None,
    }
    second = results[1].item
    assert second["agent"] == "diet-coach"
    assert second["tags"] == ["food", "health-info"]
    assert second["meta"]["metadata"] == {"source": "onboarding chat", "confidence": 0.9}
    assert second["meta"]["run_id"] == "run-7" and second["session"] == "run-7"  # mem0's session


def test_mem0_bare_list_as_the_platform_returns_it(tmp_path):
    path = tmp_path / "export.json"
    records = [
        {
            "id": "m1",
            "memory": "Prefers morning meetings",
            "user_id": "arjun",
            "metadata": {"type": "preference"},
            "categories": None,
            "immutable": False,
            "expiration_date": None,
            "created_at": "2024-07-25T23:57:00.108347-07:00",
            "updated_at": "2024-07-25T23:57:00.108367-07:00",
        }
    ]
    path.write_text(json.dumps(records), encoding="utf-8")
    (result,) = incoming(read(path, "mem0"))
    assert result.item["time"] == "2024-07-26T06:57:00Z"
    assert result.item["tags"] == []
    assert result.item["meta"]["metadata"] == {"type": "preference"}
    assert result.item["project"] is None


def test_mem0_problems_name_their_record(tmp_path):
    records = [
        {"id": "ok", "memory": "Fine"},
        "just a string",
        {"id": "no-memory", "text": "wrong key"},
        {"id": "empty", "memory": "  "},
        {"id": "bad-time", "memory": "When?", "created_at": "yesterday-ish"},
        {"id": "bad-categories", "memory": "Cats", "categories": "food"},
        {"id": "bad-agent", "memory": "Who?", "agent_id": 7},
        {"id": "huge", "memory": "Big metadata", "metadata": {"blob": "x" * 20_000}},
    ]
    path = tmp_path / "mem0.json"
    path.write_text(json.dumps({"results": records}), encoding="utf-8")
    results = list(read(path, "mem0"))
    assert [(p.where, p.message) for p in problems(results)] == [
        ("mem0.json record 2", "expected a JSON object, got text"),
        ("mem0.json record 3", 'no "memory" text'),
        ("mem0.json record 4", "text is empty (the text needs at least one word)"),
        (
            "mem0.json record 5",
            "time 'yesterday-ish' is not a valid time (use ISO-8601, e.g. 2023-05-08 or 2023-05-08T13:56:00Z)",
        ),
        ("mem0.json record 6", '"categories" must be a list, not text'),
        ("mem0.json record 7", "agent must be text, not int"),
    ]
    ok, huge = (r.item for r in results if isinstance(r, Incoming))
    assert ok["text"] == "Fine"
    assert "metadata" not in huge["meta"] and "over slm's meta limit" in huge["meta"]["metadata_omitted"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'{"results": [', "invalid JSON"),
        (b'{"memories": []}', 'expected a list of memories or {"results": [...]}'),
        ('[{"memory": "Café"}]'.encode("latin-1"), "not valid UTF-8"),
    ],
)
def test_mem0_unreadable_file_is_one_problem(tmp_path, content, message):
    path = tmp_path / "mem0.json"
    path.write_bytes(content)
    (problem,) = read(path, "mem0")
    assert isinstance(problem, Problem) and problem.where == "mem0.json"
    assert message in problem.message


# --- determinism -----------------------------------------------------------------------------------------------


def test_same_input_gives_the_same_items_in_the_same_order(mcp_file, notes, mem0_file, tmp_path):
    for path, fmt in ((mcp_file, "mcp-memory"), (notes, "basic-memory"), (mem0_file, "mem0")):
        first = list(read(path, fmt))
        assert first == list(read(path, fmt))
        shared = ITEM_KEYS - {"private"}  # what Memory.remember_many takes; other tools know no private memories
        assert all(set(r.item) == shared for r in incoming(first))
    copy = tmp_path / "copy"
    shutil.copytree(notes, copy)
    for file in copy.rglob("*.md"):
        os.utime(file, (1_000_000_000, 1_000_000_000))  # file times must not leak into the items
    assert list(read(copy, "basic-memory")) == list(read(notes, "basic-memory"))


# --- into a store ----------------------------------------------------------------------------------------------


def test_each_format_is_stored_as_read_and_only_once(mcp_file, notes, mem0_file, store_at):
    """What `read` gives is what the store keeps, a SQLite file or a PostgreSQL database: text, kind, agent,
    project, session, time, tags and meta (nested lists and objects, non-ASCII text); importing the same files
    again adds nothing."""
    sources = ((mcp_file, "mcp-memory", None), (notes, "basic-memory", "kb"), (mem0_file, "mem0", "diet"))
    with Memory.open(store_at) as mem:
        expected: dict[str, dict] = {}
        for path, fmt, project in sources:
            items = [r.item for r in incoming(read(path, fmt, project=project))]
            report = importer.import_file(mem.transfers, path, project=project)
            assert (report.format, report.added, report.problems) == (fmt, len(items), [])
            expected.update({item["text"]: item for item in items})
        stored = {row.content: row for row in mem.list(limit=100)}
        assert stored.keys() == expected.keys() and len(stored) == 11
        for text, item in expected.items():
            row = stored[text]
            assert (row.kind, row.agent, row.session, row.meta) == (item["kind"], item["agent"], item["session"],
                                                                    item["meta"]), text  # fmt: skip
            assert (row.project, row.event_time) == (item["project"] or validation.DEFAULT_PROJECT, item["time"]), text
            assert sorted(row.tags) == sorted(item["tags"]), text
        assert {row.project for row in stored.values()} == {validation.DEFAULT_PROJECT, "kb", "diet"}
        again = [importer.import_file(mem.transfers, path, project=project) for path, _, project in sources]
        assert [(r.added, r.already) for r in again] == [(0, 5), (0, 4), (0, 2)] and mem.count() == 11
