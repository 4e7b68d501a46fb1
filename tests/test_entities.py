"""Entity extraction: every kind, the gazetteer's aliases and its rules for ambiguous ones, overlaps, order, limit
and bad input."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slm.graph.entities import KINDS, Entity, canonical, extract
from slm.graph.gazetteer import load as _gazetteer
from slm.graph.name_finders import STOP as _STOP

TRICKY = ["Go", "go", "C", "Redis", "pg", "Sarah", "said", "told", "my friend", ".", ",", "/", "_", "(", ")", "`"]
TRICKY += ["1.2.3", "v2", "May", "2023", "\n", "İ", "https://x.io/a", "src/a.py", "Dr.", "Mc", "Donald", "Zürich"]


def found(text: str) -> dict[str, str]:
    """key -> kind of what `text` names."""
    return {entity.key: entity.kind for entity in extract(text)}


def names(text: str) -> dict[str, str]:
    """key -> display name."""
    return {entity.key: entity.name for entity in extract(text)}


# --- the gazetteer: technologies, organisations, places ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("surface", "key", "kind"),
    [
        ("PostgreSQL", "postgresql", "technology"),
        ("Postgres", "postgresql", "technology"),
        ("postgres", "postgresql", "technology"),
        ("psql", "postgresql", "technology"),
        ("pg", "postgresql", "technology"),
        ("k8s", "kubernetes", "technology"),
        ("Kubernetes", "kubernetes", "technology"),
        ("JS", "javascript", "technology"),
        ("js", "javascript", "technology"),
        ("TS", "typescript", "technology"),
        ("Golang", "go", "technology"),
        ("VS Code", "visual studio code", "technology"),
        ("vscode", "visual studio code", "technology"),
        ("claude-code", "claude code", "technology"),
        ("Copilot", "github copilot", "technology"),
        ("llama.cpp", "llama.cpp", "technology"),
        ("C++", "c++", "technology"),
        ("C#", "c#", "technology"),
        (".NET", ".net", "technology"),
        ("GitHub", "github", "organization"),
        ("Microsoft", "microsoft", "organization"),
        ("Google", "google", "organization"),
        ("Google Cloud", "google cloud", "technology"),
        ("Paris", "paris", "place"),
        ("Japan", "japan", "place"),
        ("Zürich", "zurich", "place"),
        ("Sarah", "person:sarah", "person"),
    ],
)
def test_canonical_names_the_entity_of_an_alias(surface: str, key: str, kind: str) -> None:
    entity = canonical(surface)
    assert entity is not None and (entity.key, entity.kind) == (key, kind)


def test_canonical_keeps_the_case_rules_and_knows_nothing_else() -> None:
    assert canonical("Postgres") == Entity("postgresql", "PostgreSQL", "technology")
    assert canonical("  google \n cloud ") == canonical("Google Cloud")  # whitespace normalised, any case
    for surface in ("PG", "go", "rust", "ts", "sarah", "frobnicator", "", "   "):
        assert canonical(surface) is None, surface
    assert canonical("Go").key == "go" and canonical("Rust").key == "rust"  # type: ignore[union-attr]


def test_aliases_meet_on_one_key_in_text() -> None:
    text = "We run Postgres in prod, psql for admin, and PostgreSQL 15 in CI via k8s (Kubernetes)."
    assert list(found(text)) == ["postgresql", "version:postgresql 15", "ci/cd", "kubernetes"]
    assert names(text)["postgresql"] == "PostgreSQL"  # the canonical name, whatever the surface


def test_longest_alias_wins() -> None:
    assert found("Deployed on Google Cloud Run, owned by Google.") == {
        "cloud run": "technology",
        "google": "organization",
    }
    assert "google" not in found("Deployed on Google Cloud.")
    assert list(found("Claude Code and Claude")) == ["claude code", "claude"]
    assert list(found("New York City and New York")) == ["new york city"]


def test_aliases_match_whole_words_only() -> None:
    assert found("main.js and app.ts changed") == {"path:main.js": "path", "path:app.ts": "path"}
    assert "postgresql" not in found("run pg_dump nightly")
    assert "go" not in found("Gopher and DuckDuckGo")
    assert "javascript" not in found("jsx files")


def test_multiword_alias_spans_any_whitespace() -> None:
    assert "google cloud" in found("we moved to Google\n  Cloud last year")


# --- ambiguous short aliases ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "I will go home.",
        "Go home now.",
        "Go to the store and buy milk.",
        "Let's go with the flow.",
    ],
)
def test_go_the_verb_is_not_go_the_language(text: str) -> None:
    assert "go" not in found(text)


@pytest.mark.parametrize(
    "text",
    [
        "We rewrote the ingest service in Go.",
        "Go 1.22 is out.",
        "Go modules are a pain.",
        "Golang is fine.",
    ],
)
def test_go_the_language(text: str) -> None:
    assert found(text).get("go") == "technology"


def test_go_with_a_version_gives_both() -> None:
    assert found("Go 1.22 is out.") == {"go": "technology", "version:go 1.22": "version"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("connect to pg with the admin role", True),
        ("PG-13 film", False),
        ("pg_dump -Fc", False),
        ("Rust is our second language", True),
        ("rust on the bike", False),
        ("TS strict mode", True),
        ("ts = now()", False),
        ("the React app", True),
        ("how users react to it", False),
        ("a Cursor rule file", True),
        ("Cursor-based pagination was removed.", False),  # sentence start, no technical noun after
        ("the cursor moved", False),
    ],
)
def test_case_sensitive_aliases(text: str, expected: bool) -> None:
    assert bool(set(found(text)) & {"postgresql", "rust", "typescript", "react", "cursor"}) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("It is written in C.", True),
        ("C code is hard to secure.", True),
        ("We use R 4.3 for stats.", True),
        ("Plan C failed.", False),
        ("She got a grade C.", False),
        ("Vitamin C helps.", False),
        ("C:\\temp is full", False),
    ],
)
def test_single_letter_languages_need_a_cue(text: str, expected: bool) -> None:
    assert bool(set(found(text)) & {"c", "r"}) is expected


def test_names_of_people_yield_to_person_cues() -> None:
    assert found("We flew to Jordan.") == {"jordan": "place"}
    assert found("My friend Jordan flew to Jordan.") == {"person:jordan": "person", "jordan": "place"}
    assert found("Ruby said we should try Ruby 3.3.") == {
        "person:ruby": "person",
        "ruby": "technology",
        "version:ruby 3.3": "version",
    }


# --- people -----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("I had lunch with Maria Lopez today.", "person:maria lopez"),
        ("A note from Kwame Mensah about billing.", "person:kwame mensah"),
        ("I told Zanele about it.", "person:zanele"),
        ("We asked Okonkwo to review.", "person:okonkwo"),
        ("I met Ravindra yesterday.", "person:ravindra"),
        ("My friend Bartholomew likes it.", "person:bartholomew"),
        ("Ask my colleague Imogen first.", "person:imogen"),
        ("My sister Anneliese lives there.", "person:anneliese"),
        ("Dr. Okafor reviewed the model.", "person:okafor"),
        ("Mr. Tanaka approved it.", "person:tanaka"),
        ("Mrs. Whitfield called.", "person:whitfield"),
        ("Ms. Oyelaran is the lead.", "person:oyelaran"),
        ("Zanele said the build is green.", "person:zanele"),
        ("Okonkwo suggested Redis.", "person:okonkwo"),
        ("Then Imogen asked for a demo.", "person:imogen"),
        ("Sarah prefers tabs.", "person:sarah"),
        ("Sarah Chen owns billing.", "person:sarah chen"),
        ("Meeting Priya tomorrow.", "person:priya"),
        ("Bob's review is done.", "person:bob"),
    ],
)
def test_people(text: str, key: str) -> None:
    assert found(text).get(key) == "person", found(text)


def test_a_name_shown_to_be_a_person_is_a_person_everywhere() -> None:
    assert found("Ask Bartholomew. Bartholomew reviewed it.") == {"person:bartholomew": "person"}


@pytest.mark.parametrize(
    "text",
    [
        "Benchmarks showed 110 ms. See the docs.",  # "ms." is not "Ms."
        "Deployed to Staging today.",  # one word after with/from/to/by: could be anything
        "I think it works.",
    ],
)
def test_not_people(text: str) -> None:
    assert "person" not in found(text).values(), found(text)


# --- generic names and organisations ----------------------------------------------------------------------------------


def test_generic_names_are_capitalised_words_not_opening_a_sentence() -> None:
    assert found("The app uses Zorblax adapters and the Hydra Gateway.") == {
        "name:zorblax": "name",
        "name:hydra gateway": "name",
    }


def test_a_capitalised_word_opening_a_sentence_is_no_name() -> None:
    assert found("Secrets rotate. Pagination changed. Money is stored as cents.") == {}


def test_two_capitalised_words_opening_a_sentence_are_a_name() -> None:
    assert found("Hydra Gateway fell over.") == {"name:hydra gateway": "name"}


def test_stop_words_months_weekdays_and_i_are_no_names() -> None:
    assert found("On Monday I said OK to Zorblax. In January we met. Thanks!") == {"name:zorblax": "name"}
    assert found("Then The Beatles played.") == {}  # after opening stop words, still a sentence start


def test_organisations_by_suffix() -> None:
    assert found("We signed with Acme Corp and Initech Labs.") == {
        "org:acme corp": "organization",
        "org:initech labs": "organization",
    }


def test_shouting_is_not_a_run_of_names() -> None:
    assert found("PLEASE DO NOT MERGE THIS") == {}


def test_acronyms_stand_alone() -> None:
    assert found("Error ECONNRESET from the client.") == {"name:econnreset": "name"}


# --- code: identifiers, paths, URLs -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "key", "name"),
    [
        ("the generate_invoices function", "id:generate_invoices", "generate_invoices"),
        ("set STRIPE_WEBHOOK_SECRET first", "id:stripe_webhook_secret", "STRIPE_WEBHOOK_SECRET"),
        ("override __init__ there", "id:__init__", "__init__"),
        ("call getUserById instead", "id:getuserbyid", "getUserById"),
        ("the HttpServer class", "id:httpserver", "HttpServer"),
        ("raises IOError sometimes", "id:ioerror", "IOError"),
        ("use os.path.join here", "id:os.path.join", "os.path.join"),
        ("call generate_invoices() again", "id:generate_invoices", "generate_invoices()"),
        ("then foo() runs", "id:foo", "foo()"),
        ("requests.get(url, timeout=3)", "id:requests.get", "requests.get()"),
        ("run `make itest` first", "id:make itest", "make itest"),
        ("tracked in BILL-6692", "id:bill-6692", "BILL-6692"),
    ],
)
def test_identifiers(text: str, key: str, name: str) -> None:
    assert names(text).get(key) == name, names(text)
    assert found(text)[key] == "identifier"


def test_prose_is_not_code() -> None:
    assert found("the file(s) are here, e.g. this one; at 9 a.m. we met; see example.com") == {}
    assert found("PRs and APIs and IDs") == {}


def test_backticks_claim_nothing_but_skip_what_is_already_one_entity() -> None:
    assert list(found("run `ruff check src` now")) == ["id:ruff check src", "ruff"]
    assert found("run `pytest` and `src/app/main.py` and `generate_invoices()`") == {
        "pytest": "technology",
        "path:src/app/main.py": "path",
        "id:generate_invoices": "identifier",
    }
    assert found("```python``` and `` are no identifiers") == {"python": "technology"}


@pytest.mark.parametrize(
    ("text", "path"),
    [
        ("edit src/app/main.py now", "src/app/main.py"),
        ("run ./x", "./x"),
        ("run ../scripts/seed.sh", "../scripts/seed.sh"),
        ("config in ~/.config/slm.", "~/.config/slm"),
        ("see /etc/hosts", "/etc/hosts"),
        ("probes hit /healthz every 10s", "/healthz"),
        ("open C:\\foo\\bar.txt please", "C:\\foo\\bar.txt"),
        ("read README.md first", "README.md"),
        ("the checkout.spec.ts test", "checkout.spec.ts"),
        ("update proguard-rules.pro", "proguard-rules.pro"),
        ("fix the Dockerfile", "Dockerfile"),
        ("never commit .env files", ".env"),
        ("under dashboards/ in the repo", "dashboards/"),
        ("a relative src/app dir", "src/app"),
    ],
)
def test_paths(text: str, path: str) -> None:
    assert names(text).get(f"path:{path.lower()}") == path, names(text)


@pytest.mark.parametrize("text", ["and/or", "TCP/IP", "24/7", "client/server", "w/ tests", "Node.js", "e.g. this"])
def test_not_paths(text: str) -> None:
    assert "path" not in found(text).values(), found(text)


def test_urls() -> None:
    text = "See https://GitHub.com/Org/Repo/blob/main/src/app.py, (http://example.com/) and https://x.io/wiki/A_(b))."
    assert found(text) == {
        "url:https://github.com/Org/Repo/blob/main/src/app.py": "url",  # host lowercased, path kept
        "url:http://example.com": "url",
        "url:https://x.io/wiki/A_(b)": "url",  # a bracket the URL opened stays
    }
    assert names(text)["url:http://example.com"] == "http://example.com/"


# --- versions and dates -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("upgrade to v1.2.3 now", "version:1.2.3"),
        ("removed in v2 because", "version:2"),
        ("libfoo 1.2.3 is out", "version:1.2.3"),
        ("pin version 1.2 for now", "version:1.2"),
        ("the 2.0.0-rc1 build", "version:2.0.0-rc1"),
        ("Python 3.12 is required", "version:python 3.12"),
        ("PostgreSQL 15 and later", "version:postgresql 15"),
        ("Python v3.11 works", "version:python 3.11"),
        ("on Xcode 16.2;", "version:xcode 16.2"),
    ],
)
def test_versions(text: str, key: str) -> None:
    assert found(text).get(key) == "version", found(text)


def test_a_version_keeps_its_technology() -> None:
    assert list(found("Python 3.12 and PostgreSQL 15")) == [
        "python",
        "version:python 3.12",
        "postgresql",
        "version:postgresql 15",
    ]
    assert names("Python 3.12")["version:python 3.12"] == "Python 3.12"


@pytest.mark.parametrize("text", ["took 2.5 seconds", "ping 10.0.0.1", "Redis 3 times a day", "a 1.2 ratio"])
def test_not_versions(text: str) -> None:
    assert "version" not in found(text).values(), found(text)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("Incident 2025-05-06: disk full", "date:2025-05-06"),
        ("at 2023-05-06T10:00:00Z we", "date:2023-05-06"),
        ("on 2023/05/20 we", "date:2023-05-20"),
        ("since 2023-05 we", "date:2023-05"),
        ("in May 2023 we", "date:2023-05"),
        ("on May 5, 2023 we", "date:2023-05-05"),
        ("on May 5th 2023 we", "date:2023-05-05"),
        ("on 5 May 2023 we", "date:2023-05-05"),
        ("on the 5th of May, 2023", "date:2023-05-05"),
        ("on Sept. 3, 2024", "date:2024-09-03"),
        ("in Jan 2024", "date:2024-01"),
    ],
)
def test_dates(text: str, key: str) -> None:
    assert found(text).get(key) == "date", found(text)


@pytest.mark.parametrize("text", ["on 2023-13-45", "may 2023 be good", "since April 28", "in May 1066", "2023-2024"])
def test_not_dates(text: str) -> None:
    assert "date" not in found(text).values(), found(text)


def test_the_same_date_written_differently_is_one_entity() -> None:
    assert list(found("2023-05-05, May 5, 2023 and 5 May 2023")) == ["date:2023-05-05"]


# --- overlaps, order, limit -------------------------------------------------------------------------------------------


def test_a_urls_path_is_not_also_a_path_or_a_file() -> None:
    assert found("see https://example.com/docs/setup.md today") == {"url:https://example.com/docs/setup.md": "url"}


def test_a_path_is_one_entity_not_also_a_file_name_or_a_technology() -> None:
    assert found("edit src/redis/client.py") == {"path:src/redis/client.py": "path"}


def test_distinct_entities_in_order_of_first_appearance() -> None:
    text = "Redis, then Postgres, then Redis again, then postgres, then Kafka."
    assert [entity.key for entity in extract(text)] == ["redis", "postgresql", "apache kafka"]


def test_limit() -> None:
    text = "Redis, Postgres, Kafka, Docker and Kubernetes."
    assert [entity.key for entity in extract(text, limit=2)] == ["redis", "postgresql"]
    assert extract(text, limit=0) == []
    assert len(extract(" ".join(f"v{i}.0.1" for i in range(200)))) == 64  # the default


def test_the_demo_memory() -> None:
    text = (
        "The frontend is React 19 with Vite 6; deploys go to Cloudflare Pages from the main branch. Bob wants "
        "TypeScript strict mode, Alice prefers pytest fixtures, see docs/openapi.json."
    )
    assert found(text) == {
        "react": "technology",
        "version:react 19": "version",
        "vite": "technology",
        "version:vite 6": "version",
        "cloudflare pages": "technology",
        "person:bob": "person",
        "typescript": "technology",
        "person:alice": "person",
        "pytest": "technology",
        "path:docs/openapi.json": "path",
    }


# --- bad and odd input ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [None, b"Redis", 42, ["Redis"]])
def test_non_text_is_a_type_error(bad: object) -> None:
    with pytest.raises(TypeError, match="str"):
        extract(bad)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="str"):
        canonical(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("empty", ["", "   ", "\n\t"])
def test_empty_text(empty: str) -> None:
    assert extract(empty) == []


@pytest.mark.parametrize(
    "odd",
    [
        "İstanbul İSTANBUL and Redis",  # lowercase changes the length: the any-case fallback keeps spans aligned
        "surrogate \ud800 and Redis",
        "null \x00 byte Redis",
        "emoji 🚀 Redis",
        "RTL שלום Redis",
        "zero\u200bwidth Redis",
        "combining e\u0301 Redis",
        "ﬁ ligature Redis",
    ],
)
def test_odd_unicode_never_raises(odd: str) -> None:
    assert "redis" in found(odd)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=()), max_size=300))
def test_any_text_gives_well_formed_entities(text: str) -> None:
    entities = extract(text)
    assert len({entity.key for entity in entities}) == len(entities) <= 64
    for entity in entities:
        assert entity.kind in KINDS and entity.key and entity.name
        assert entity.kind == "url" or entity.key == entity.key.lower()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(TRICKY)))
def test_any_mix_of_tricky_tokens_gives_well_formed_entities(words: list[str]) -> None:
    for entity in extract(" ".join(words)):
        assert entity.kind in KINDS


# --- the gazetteer file -----------------------------------------------------------------------------------------------


def test_gazetteer_loads_cleanly_and_is_big_enough() -> None:
    gaz = _gazetteer()
    assert gaz.conflicts == ()
    entities = {alias.entity for alias in (*gaz.any_case.values(), *gaz.exact.values())}
    counts = {kind: sum(entity.kind == kind for entity in entities) for kind in ("technology", "organization", "place")}
    assert counts["technology"] >= 300 and counts["place"] >= 300 and counts["organization"] >= 100, counts
    assert len(gaz.first_names) >= 300


def test_gazetteer_keys_are_unique_and_aliases_unambiguous() -> None:
    gaz = _gazetteer()
    entities = {alias.entity for alias in (*gaz.any_case.values(), *gaz.exact.values())}
    assert len({entity.key for entity in entities}) == len(entities)  # one entity per canonical name
    for surface, alias in gaz.exact.items():  # a flagged alias never collides with another entity's any-case one
        other = gaz.any_case.get(surface.lower())
        assert other is None or other.entity == alias.entity, surface


def test_first_names_are_not_stop_words_or_aliases() -> None:
    gaz = _gazetteer()
    assert not {name for name in gaz.first_names if name.lower() in _STOP}
    assert not {name for name in gaz.first_names if gaz.lookup(name) is not None}
