"""Claims found by rules in memory text: a varied corpus of notes as developers and assistants write them, every rule
in RULES, canonical forms that make paraphrases meet, times, sets of values, and text that must give no claims."""

from __future__ import annotations

import re
import string
import sys
from datetime import datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmarks import corpus
from benchmarks.contradiction_cases import CASES
from slm.facts.claim_rules import SENTENCE, candidates, compiled_rules, fold, is_question, trie
from slm.facts.claims import MAX_CLAIMS, RULES, Claim, _one_space, extract, subject_key, value_parts

NOW = datetime(2026, 6, 15, 12, 0)  # "in May" is last month; "due March 15" is next year's

Fact = tuple[str, str, str, int, bool]  # subject, attribute, value, polarity, change


def facts(text: str) -> set[Fact]:
    return {(c.subject, c.attribute, c.value, c.polarity, c.change) for c in extract(text, NOW)}


def keys(text: str) -> set[tuple[str, str, str]]:
    """(subject, attribute, value) of what the text asserts."""
    return {(c.subject, c.attribute, c.value) for c in extract(text, NOW) if c.polarity > 0}


def use(subject: str, category: str, value: str, polarity: int = 1, change: bool = False) -> list[Fact]:
    """A use of a known technology: its category's claim and the plain "uses" one."""
    return [(subject, category, value, polarity, change), (subject, "uses", value, polarity, change)]


def moved(subject: str, category: str, old: str, new: str) -> list[Fact]:
    """ "from OLD to NEW": the new value's use, and the old value denied, both as a change."""
    return [*use(subject, category, new, change=True), (subject, category, old, -1, True)]


def one(subject: str, attribute: str, value: str, polarity: int = 1, change: bool = False) -> list[Fact]:
    return [(subject, attribute, value, polarity, change)]


# --- the corpus: one or more sentences and every claim they give ---------------------------------------------------

CORPUS = [
    # uses / runs on / relies on / is backed by / is deployed to / is hosted on / requires
    ("`api-gateway` uses PostgreSQL 15 (see `infra/db.tf`).",
     [*use("api gateway", "database", "postgresql"), ("api gateway", "postgresql version", "15", 1, False)]),
    ("The `billing-service` runs on Kubernetes.", use("billing", "orchestrator", "kubernetes")),
    ("The cluster runs on k8s.", use("cluster", "orchestrator", "kubernetes")),
    ("The ingest worker runs on AWS.", use("ingest worker", "cloud", "amazon web services")),
    ("The frontend is deployed to Vercel.", use("frontend", "cloud", "vercel")),
    ("The docs site is hosted on Netlify.", use("docs site", "cloud", "netlify")),
    ("The api is backed by DynamoDB.", use("api", "database", "amazon dynamodb")),
    ("The billing-service stores its data in MongoDB.", use("billing", "database", "mongodb")),
    ("search-api relies on Elasticsearch.", one("search api", "uses", "elasticsearch")),
    ("The tests use pytest.", use("tests", "test framework", "pytest")),
    ("The project uses uv.", use("project", "package manager", "uv")),
    ("Our CI runs on GitHub Actions.", use("project", "ci", "github actions")),
    ("Our backend uses JS.", use("backend", "language", "javascript")),
    ("The api runs on Node v20.11",
     [*use("api", "runtime", "node.js"), ("api", "node.js version", "20.11", 1, False)]),
    ("The toolchain is pinned to py3.12",
     [*use("toolchain", "language", "python"), ("toolchain", "python version", "3.12", 1, False)]),
    ("The api uses Redis and Kafka.",
     [*use("api", "cache", "redis"), *use("api", "message broker", "apache kafka")]),
    # uses X for Y: the phrase is the attribute, unless the value has a category
    ("The api uses Celery for background jobs.",
     [("api", "background job", "celery", 1, False), ("api", "uses", "celery", 1, False)]),
    ("note: `services/auth` uses Redis for sessions", use("services/auth", "cache", "redis")),
    ("We use GitHub Actions for CI.", use("project", "ci", "github actions")),
    ("We use Sentry for the frontend.", one("frontend", "uses", "sentry")),
    ("I use VS Code for this repo.", one("project", "uses", "visual studio code")),
    ("We don't use Docker for local dev.", one("local dev", "uses", "docker", -1)),
    ("Always use pnpm.", use("project", "package manager", "pnpm")),
    ("Please always use double quotes.", use("project", "quotes", "double quotes")),
    # depends on
    ("auth-svc depends on Redis", one("auth", "depends on", "redis")),
    ("The checkout service depends on `payments-api`.", one("checkout", "depends on", "payments-api")),
    ("notifications depends on the auth service", one("notifications", "depends on", "auth service")),
    ("The frontend depends on React and Redux.",
     [("frontend", "depends on", "react", 1, False), ("frontend", "depends on", "redux", 1, False)]),
    # written in
    ("The CLI is written in Rust.", one("cli", "language", "rust")),
    ("The cli is written in Golang.", one("cli", "language", "go")),
    ("`tools/migrate.py` is written in Python 3.11.",
     [("tools/migrate.py", "language", "python", 1, False), ("tools/migrate.py", "python version", "3.11", 1, False)]),
    ("The mobile app is written in Kotlin and Swift.",
     [("mobile", "language", "kotlin", 1, False), ("mobile", "language", "swift", 1, False)]),
    ("The desktop app is implemented in Rust and TypeScript.",
     [("desktop", "language", "rust", 1, False), ("desktop", "language", "typescript", 1, False)]),
    # preferences
    ("I prefer Vitest over Jest.", one("user", "prefers test framework", "vitest")),
    ("We prefer Postgres to MySQL.", one("project", "prefers database", "postgresql")),
    ("I prefer single quotes over double quotes.",
     one("user", "prefers quotes", "single quotes")),
    ("Alice prefers snake_case over camelCase.", one("person:alice", "prefers camelcase or snake_case", "snake_case")),
    ("I prefer dark mode.", one("user", "prefers", "dark mode")),
    ("I like tabs.", one("user", "prefers indentation", "tabs")),
    # changes: moved / migrated / switched / upgraded / replaced, now, no longer, not ... anymore
    ("The frontend moved from webpack to Vite.", moved("frontend", "bundler", "webpack", "vite")),
    ("The web app switched from Yarn to pnpm.", moved("web", "package manager", "yarn", "pnpm")),
    ("auth-service has moved from Auth0 to Keycloak.", moved("auth", "auth provider", "auth0", "keycloak")),
    ("We migrated the search service from Elasticsearch to OpenSearch.",
     [*one("search", "uses", "opensearch", change=True), *one("search", "uses", "elasticsearch", -1, True)]),
    ("We switched the frontend from Jest to Vitest.", moved("frontend", "test framework", "jest", "vitest")),
    ("we moved the notifications service to Kafka",
     use("notifications", "message broker", "apache kafka", change=True)),
    ("We replaced Jenkins with GitHub Actions in the monorepo.", moved("monorepo", "ci", "jenkins", "github actions")),
    ("billing moved to Postgres 16.",
     [*use("billing", "database", "postgresql", change=True), ("billing", "postgresql version", "16", 1, True)]),
    ("The api upgraded to Python 3.12.",
     [*use("api", "language", "python", change=True), ("api", "python version", "3.12", 1, True)]),
    ("The worker now uses RabbitMQ.", use("worker", "message broker", "rabbitmq", change=True)),
    ("Payments now runs on Kubernetes.", use("payments", "orchestrator", "kubernetes", change=True)),
    ("the frontend uses Tailwind now", one("frontend", "uses", "tailwind css", change=True)),
    ("The worker no longer uses Celery.", one("worker", "uses", "celery", -1, True)),
    ("ingest no longer uses Kafka.", use("ingest", "message broker", "apache kafka", -1, True)),
    ("The dashboard doesn't use Redis anymore.", use("dashboard", "cache", "redis", -1, True)),
    # negation
    ("The dashboard does not use Redux.", one("dashboard", "uses", "redux", -1)),
    ("billing does not run on Heroku.", use("billing", "cloud", "heroku", -1)),
    ("The api doesn't use an ORM.", one("api", "uses", "orm", -1)),
    # deprecated, and its negations
    ("The v1 API is deprecated.", one("v1 api", "status", "deprecated")),
    ("`utils/legacy.py` is deprecated.", one("utils/legacy.py", "status", "deprecated")),
    ("The old importer is now deprecated.", one("old importer", "status", "deprecated", change=True)),
    ("The legacy dashboard has been deprecated.", one("legacy dashboard", "status", "deprecated", change=True)),
    ("legacy-importer is no longer deprecated.", one("legacy importer", "status", "deprecated", -1, True)),
    ("The old reporting module is not deprecated.", one("old reporting", "status", "deprecated", -1)),
    # owners: active, passive, "is the tech lead for", named, handed over, belongs to
    ("The payments repo is owned by Priya.", one("payments", "owner", "person:priya")),
    ("Priya owns the payments service.", one("payments", "owner", "person:priya")),
    ("The search service is maintained by the platform team.", one("search", "owner", "platform team")),
    ("The platform team owns search.", one("search", "owner", "platform team")),
    ("Marco is the tech lead for the search service.", one("search", "owner", "person:marco")),
    ("Sam is the product owner for checkout.", one("checkout", "product owner", "person:sam")),
    ("The owner of billing is Dana.", one("billing", "owner", "person:dana")),
    ("billing's owner is Dana.", one("billing", "owner", "person:dana")),
    ("The ingest pipeline belongs to Sam.", one("ingest pipeline", "owner", "person:sam")),
    ("Payments was handed over to the platform team.", one("payments", "owner", "platform team", change=True)),
    # deadlines: ISO dates kept, a day with no year is the next such day after NOW
    ("The billing migration is due March 15.", one("billing migration", "deadline", "2027-03-15")),
    ("The billing migration is due July 1.", one("billing migration", "deadline", "2026-07-01")),
    ("The billing migration is due March 15, 2027.", one("billing migration", "deadline", "2027-03-15")),
    ("The v2 launch is due on 2026-06-30.", one("v2 launch", "deadline", "2026-06-30")),
    ("The SDK release is scheduled for Feb 2, 2027.", one("sdk release", "deadline", "2027-02-02")),
    ("The mobile app launches on June 3rd.", one("mobile", "deadline", "2027-06-03")),
    ("The CLI ships by Sept 1.", one("cli", "deadline", "2026-09-01")),
    ("The deadline for the api rewrite was moved to May 20.", one("api rewrite", "deadline", "2027-05-20", 1, True)),
    ("The launch for checkout got pushed back to Oct 15.", one("checkout", "deadline", "2026-10-15", 1, True)),
    ("deadline for billing is 2026-09-01", one("billing", "deadline", "2026-09-01")),
    # ports and other named attributes
    ("The api listens on port 8000.", one("api", "port", "8000")),
    ("The admin UI is served on port 3000.", one("admin ui", "port", "3000")),
    ("api port is 8080", one("api", "port", "8080")),
    ("billing's port is 9090", one("billing", "port", "9090")),
    ("api-gateway's database is MySQL.", one("api gateway", "database", "mysql")),
    ("billing's primary database is PostgreSQL.", one("billing", "database", "postgresql")),
    ("billing cache is Redis", one("billing", "cache", "redis")),
    ("The CI is Jenkins.", one("project", "ci", "jenkins")),
    ("The region for the cluster is eu-west-1.", one("cluster", "region", "eu-west-1")),
    ("The default branch of the repo is main.", one("project", "branch", "main")),
    ("The api timeout is 30s.", one("api", "timeout", "30s")),
    # the colon form
    ("web app runtime: Node 20", [*one("web", "runtime", "node.js"), *one("web", "node.js version", "20")]),
    ("db: Postgres 16", [*one("project", "database", "postgresql"), *one("project", "postgresql version", "16")]),
    ("billing db: MySQL", one("billing", "database", "mysql")),
    ("region: us-east-1", one("project", "region", "us-east-1")),
    # minimum versions
    ("The SDK supports Python 3.9 or newer.", one("sdk", "minimum python", "3.9")),
    ("The mobile client supports iOS 14 and up.", one("mobile client", "minimum ios", "14")),
    ("The mobile client supports iOS 14+.", one("mobile client", "minimum ios", "14")),
    # "does X with Y", "is done with Y": the verb's stem is the attribute, or the value's category
    ("The api deploys with Helm.", one("api", "deploy", "helm")),
    ("The api is deployed with Helm.", one("api", "deploy", "helm")),
    ("The frontend bundles with esbuild.", one("frontend", "bundler", "esbuild")),
    ("Tests are run with pytest.", one("tests", "test framework", "pytest")),
    # "X is Y", "X is not Y": the least specific
    ("The staging cluster is ephemeral.", one("staging cluster", "is", "ephemeral")),
    ("billing is not a monolith.", one("billing", "is", "monolith", -1)),
    ("The frontend is not Angular.", one("frontend", "is", "angular", -1)),
    # explicit times: dated statements are changes
    ("We moved api-gateway to MySQL in May.", use("api gateway", "database", "mysql", change=True)),
    ("Since 2026-05-01, the notifications service uses Kafka.",
     use("notifications", "message broker", "apache kafka", change=True)),
    ("billing uses MySQL since 2026-02.", use("billing", "database", "mysql", change=True)),
    ("billing switched from MySQL to PostgreSQL last month.", moved("billing", "database", "mysql", "postgresql")),
    # lifetimes and regions
    ("auth-service sessions last 24 hours.", one("auth service sessions", "lifetime", "86400 s")),
    ("Cache entries expire after 5 minutes.", one("cache", "lifetime", "300 s")),
    ("payments runs primarily in eu-west-1.", one("payments", "region", "eu-west-1")),
    ("We use Rollbar for error tracking.",
     [*one("error tracking", "uses", "rollbar"), *one("project", "error track", "rollbar")]),
    ("Our error tracker is Sentry.", one("project", "error track", "sentry")),
    # several sentences, clauses joined by "but"
    ("billing uses MySQL but search uses Postgres.",
     [*use("billing", "database", "mysql"), *use("search", "database", "postgresql")]),
    ("billing uses MySQL. Dana owns billing; the api listens on port 8000.",
     [*use("billing", "database", "mysql"), *one("billing", "owner", "person:dana"), *one("api", "port", "8000")]),
]  # fmt: skip


@pytest.mark.parametrize(("text", "expected"), CORPUS, ids=[text[:48] for text, _ in CORPUS])
def test_the_corpus_gives_exactly_its_claims(text: str, expected: list[Fact]) -> None:
    assert facts(text) == set(expected)


def test_every_rule_in_the_table_is_exercised_by_the_corpus() -> None:
    fired = {claim.rule for text, _ in CORPUS for claim in extract(text, NOW)}
    assert fired == {rule.name for rule in RULES}


def test_rule_names_are_unique_and_each_claim_names_its_rule() -> None:
    names = [rule.name for rule in RULES]
    assert len(names) == len(set(names))
    assert {c.rule for c in extract("The worker no longer uses Celery.", NOW)} == {"no longer uses"}
    assert {c.rule for c in extract("Priya owns the payments service.", NOW)} == {"owns"}
    assert {c.rule for c in extract("The payments repo is owned by Priya.", NOW)} == {"owned by"}


# --- single-valued or not ---------------------------------------------------------------------------------------------


def by_key(text: str) -> dict[tuple[str, str, str], Claim]:
    return {(c.subject, c.attribute, c.value): c for c in extract(text, NOW)}


def test_a_technology_of_a_known_category_is_single_valued_and_the_plain_use_is_not() -> None:
    found = by_key("api-gateway uses PostgreSQL 15")
    assert found["api gateway", "database", "postgresql"].single is True
    assert found["api gateway", "uses", "postgresql"].single is False
    assert found["api gateway", "postgresql version", "15"].single is True
    assert by_key("search-api relies on Elasticsearch.")["search api", "uses", "elasticsearch"].single is False


def test_depends_on_and_is_hold_several_values() -> None:
    assert by_key("auth-svc depends on Redis")["auth", "depends on", "redis"].single is False
    assert by_key("The staging cluster is ephemeral.")["staging cluster", "is", "ephemeral"].single is False
    assert by_key("I prefer dark mode.")["user", "prefers", "dark mode"].single is False


@pytest.mark.parametrize(
    "text",
    [
        "The api listens on port 8000.",
        "The owner of billing is Dana.",
        "The billing migration is due July 1.",
        "The CLI is written in Rust.",
        "The v1 API is deprecated.",
        "I prefer tabs over spaces.",
        "The SDK supports Python 3.9 or newer.",
    ],
)
def test_named_attributes_hold_one_value(text: str) -> None:
    claims = extract(text, NOW)
    assert len(claims) == 1 and claims[0].single is True


def test_a_list_of_values_is_a_set_not_a_choice() -> None:
    claims = extract("The mobile app is written in Kotlin and Swift.", NOW)
    assert [(c.value, c.single) for c in claims] == [("kotlin", False), ("swift", False)]
    claims = extract("The service is written in Go, Rust.", NOW)
    assert [(c.value, c.single) for c in claims] == [("go", False), ("rust", False)]
    # values of different categories are not a list of one attribute: each keeps its single value
    found = by_key("The api uses Redis and Kafka.")
    assert found["api", "cache", "redis"].single and found["api", "message broker", "apache kafka"].single


# --- times -----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "when"),
    [
        ("We moved api-gateway to MySQL in May.", datetime(2026, 5, 1)),
        ("In May, billing switched to Stripe.", datetime(2026, 5, 1)),
        ("Since 2026-05-01, the notifications service uses Kafka.", datetime(2026, 5, 1)),
        ("The billing service uses Stripe since 2026-05-01.", datetime(2026, 5, 1)),
        ("As of 2026-01-15, billing uses MySQL.", datetime(2026, 1, 15)),
        ("billing uses MySQL since 2026-02.", datetime(2026, 2, 1)),
        ("billing switched from MySQL to PostgreSQL last month.", datetime(2026, 5, 1)),
        ("Billing migrated from MySQL to Postgres in January.", datetime(2026, 1, 1)),
        ("billing moved to MySQL yesterday.", datetime(2026, 6, 14)),
    ],
)
def test_a_dated_statement_carries_its_time_and_is_a_change(text: str, when: datetime) -> None:
    claims = extract(text, NOW)
    assert claims
    assert all(c.when == when and c.change for c in claims)


def test_without_a_time_there_is_no_when_and_without_a_change_word_no_change() -> None:
    claims = extract("billing uses MySQL", NOW)
    assert claims and all(c.when is None and not c.change for c in claims)


def test_without_now_a_relative_time_is_not_resolved() -> None:
    claims = extract("We moved api-gateway to MySQL in May.")
    assert claims and all(c.when is None and c.change for c in claims)


def test_a_deadline_is_its_value_not_its_time() -> None:
    (claim,) = extract("The billing migration is due on 2026-07-01.", NOW)
    assert (claim.attribute, claim.value, claim.when) == ("deadline", "2026-07-01", None)


def test_a_deadline_without_a_year_is_the_next_such_day() -> None:
    assert keys("The v2 launch is due May 1.") == {("v2 launch", "deadline", "2027-05-01")}
    assert keys("The v2 launch is due June 15.") == {("v2 launch", "deadline", "2026-06-15")}  # today counts
    assert keys("The v2 launch is due December 31.") == {("v2 launch", "deadline", "2026-12-31")}
    early = datetime(2026, 1, 10)
    assert {c.value for c in extract("The v2 launch is due May 1.", early)} == {"2026-05-01"}


# --- canonical forms: paraphrases meet -------------------------------------------------------------------------------

PARAPHRASES = [
    # case and the subject's spelling
    ["billing-service uses MySQL", "The billing service uses MySQL", "Billing uses MySQL",
     "the `billing_service` uses mysql"],
    # gazetteer aliases of the value
    ["billing uses Postgres", "Billing uses postgresql.", "the billing service uses psql", "billing uses PostgreSQL"],
    ["The cluster runs on k8s.", "The cluster runs on Kubernetes."],
    ["The frontend is written in JS.", "The frontend is written in JavaScript."],
    ["The cli is written in Golang.", "The cli is written in Go."],
    # versions, split into a claim of their own
    ["The api uses Postgres 15.", "The api uses PostgreSQL v15.", "The api uses pg15", "api uses PostgreSQL 15"],
    ["The toolchain is pinned to py3.12", "The toolchain is pinned to Python 3.12",
     "the toolchain is pinned to Python3.12"],
    ["The web app runs on Node 20.x", "The web app runs on node20", "the web-app runs on Node v20"],
    # the colon form and the named attribute: no plain "uses" claim, the same runtime and version
    ["web app runtime: Node 20", "The web app's runtime is Node 20.x", "The runtime of the web app is Node 20."],
    # owners, active and passive and named
    ["The billing service is owned by Dana.", "Dana owns billing.", "The owner of billing is Dana.",
     "billing's owner is Dana.", "Dana is the tech lead for billing.", "billing belongs to Dana.",
     "The tech lead of billing is Dana."],
    # ports
    ["The api listens on port 8080.", "api port is 8080", "The api's port is 8080.", "The port of the api is 8080."],
    # a named attribute and a use of a technology of that category
    ["api-gateway's database is MySQL.", "The api gateway's db is MySQL.", "api-gateway db: MySQL"],
    # the verb and its participle
    ["The api deploys with Helm.", "The api is deployed with Helm."],
    # "moved from A to B" and "we moved X to B" and "X now uses B" say the same of B
    ["billing moved from MySQL to Postgres.", "We moved billing to Postgres.", "billing now uses Postgres."],
]  # fmt: skip


@pytest.mark.parametrize("texts", PARAPHRASES, ids=[texts[0][:40] for texts in PARAPHRASES])
def test_paraphrases_give_the_same_claims(texts: list[str]) -> None:
    first = keys(texts[0])
    assert first
    for text in texts[1:]:
        assert keys(text) == first, text


def test_a_version_becomes_a_claim_of_its_own() -> None:
    assert keys("api-gateway uses PostgreSQL 15") == {
        ("api gateway", "database", "postgresql"),
        ("api gateway", "uses", "postgresql"),
        ("api gateway", "postgresql version", "15"),
    }
    # an upgrade changes the version and keeps the database
    old, new = keys("api-gateway uses PostgreSQL 15"), keys("api-gateway upgraded to PostgreSQL 16")
    assert old - new == {("api gateway", "postgresql version", "15")}
    assert new - old == {("api gateway", "postgresql version", "16")}


def test_a_negation_denies_no_version() -> None:
    assert facts("billing does not use PostgreSQL 15") == set(use("billing", "database", "postgresql", -1))


def test_preferences_in_either_order_share_one_attribute() -> None:
    (tabs,) = extract("I prefer tabs over spaces.", NOW)
    (spaces,) = extract("I prefer spaces to tabs.", NOW)
    assert (tabs.subject, tabs.attribute) == (spaces.subject, spaces.attribute) == ("user", "prefers indentation")
    assert (tabs.value, spaces.value) == ("tabs", "spaces")
    assert tabs.single and spaces.single
    (four,) = extract("I prefer 4 spaces over tabs.", NOW)
    assert (four.attribute, four.value) == ("prefers indentation", "spaces")
    (rather,) = extract("user prefers tabs rather than spaces", NOW)
    assert (rather.attribute, rather.value) == ("prefers indentation", "tabs")


def test_active_and_passive_owners_disagree_only_on_the_person() -> None:
    (priya,) = extract("Priya owns the payments service.", NOW)
    (dana,) = extract("The payments repo is owned by Dana.", NOW)
    assert priya.key == dana.key == ("payments", "owner")
    assert (priya.value, dana.value) == ("person:priya", "person:dana")


@pytest.mark.parametrize(
    ("surface", "key"),
    [
        ("billing-service", "billing"),
        ("the billing service", "billing"),
        ("Billing", "billing"),
        ("`Billing`", "billing"),
        ("The billing-service", "billing"),
        ("billing_service", "billing"),
        ("billing svc", "billing"),
        ("billing repo", "billing"),
        ("Auth-Service", "auth"),
        ("api-gateway", "api gateway"),
        ("API Gateway", "api gateway"),
        ("I", "user"),
        ("me", "user"),
        ("we", "project"),
        ("our team", "project"),
        ("this repo", "project"),
        ("the codebase", "project"),
        ("Postgres", "postgresql"),
        ("k8s", "kubernetes"),
        ("`utils/legacy.py`", "utils/legacy.py"),
    ],
)
def test_subject_key(surface: str, key: str) -> None:
    assert subject_key(surface) == key


@pytest.mark.parametrize(
    ("surface", "parts"),
    [
        ("PostgreSQL 15", ("postgresql", "15")),
        ("Postgres 15", ("postgresql", "15")),
        ("PostgreSQL v15", ("postgresql", "15")),
        ("psql", ("postgresql", None)),
        ("pg15", ("postgresql", "15")),
        ("py3.12", ("python", "3.12")),
        ("Python3.12", ("python", "3.12")),
        ("Python 3.12", ("python", "3.12")),
        ("Node 20.x", ("node.js", "20")),
        ("node20", ("node.js", "20")),
        ("Vue 3", ("vue.js", "3")),
        ("Go 1.22", ("go", "1.22")),
        ("go1.22", ("go", "1.22")),
        ("k8s", ("kubernetes", None)),
        ("JS", ("javascript", None)),
        ("JavaScript", ("javascript", None)),
        ("`Redis`", ("redis", None)),
        ("the Redis", ("redis", None)),
        ("Priya", ("person:priya", None)),
        ("Tabs", ("tabs", None)),
        ("4 spaces", ("spaces", None)),
        ("2-space indentation", ("spaces", None)),
    ],
)
def test_value_parts(surface: str, parts: tuple[str, str | None]) -> None:
    assert value_parts(surface) == parts


def test_one_claim_is_given_once() -> None:
    text = "billing uses MySQL. Billing uses mysql. The billing service uses MySQL."
    assert len(extract(text, NOW)) == 2  # the database and the plain use


# --- text that gives no claims ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        # small talk and acknowledgements
        "thanks, that works!",
        "Hi there, how are you?",
        "ok",
        "lgtm",
        "sounds good",
        "Sure, I'll take a look.",
        "Great question!",
        "Let me look into that.",
        "I think it's fine.",
        "I'm not sure.",
        "This is great, thanks!",
        "That is correct.",
        "It is what it is.",
        "Let's grab lunch.",
        "Okay, running the tests now.",
        # questions
        "Which database does the api use?",
        "What database does billing use?",
        "Is the v1 API deprecated?",
        "Is billing written in Go?",
        "Are we on Python 3.12?",
        "Can you run the tests?",
        "What is the port?",
        "Should we switch the api to Postgres?",
        # code
        "```python\nimport redis\nclient = redis.Redis(host='localhost', port=6379)\nprint(client.ping())\n```",
        '```dockerfile\nFROM python:3.12-slim\nRUN pip install -r requirements.txt\nEXPOSE 8080\nCMD ["uvicorn"]\n```',
        "```sql\nSELECT * FROM users WHERE id = 1;\n```",
        "```bash\n$ npm run build && npm test\n```",
        "for user in users: user.is_active = True",
        "x = y if z is None else w",
        # nothing to read
        "",
        " ",
        "   \n\t  ",
        ".",
        "```\n```",
    ],
)
def test_no_claims(text: str) -> None:
    assert extract(text, NOW) == []


@pytest.mark.parametrize("value", [None, 42, 3.5, b"billing uses MySQL", ["billing uses MySQL"], object()])
def test_not_a_string_gives_no_claims(value: object) -> None:
    assert extract(value, NOW) == []  # type: ignore[arg-type]


def test_a_large_text_is_bounded() -> None:
    lines = []
    for i in range(4000):
        lines.append(f"service{i} uses MySQL {i % 9}.0 and depends on `lib{i}`; Dana{i} owns service{i}.")
        lines.append("Let me know if there's anything else, happy to help with the refactor later today.")
    text = "\n".join(lines)
    assert len(text) >= 200_000
    claims = extract(text, NOW)
    assert len(claims) == MAX_CLAIMS
    assert claims[0] == Claim("service0", "database", "mysql", rule="uses")


def test_many_facts_stop_at_max_claims_in_order() -> None:
    text = " ".join(f"The api{i} listens on port {8000 + i}." for i in range(MAX_CLAIMS + 10))
    claims = extract(text, NOW)
    assert [c.value for c in claims] == [str(8000 + i) for i in range(MAX_CLAIMS)]


# --- any text: no exception, at most MAX_CLAIMS claims, each well formed ------------------------------------------

_WORDS = [
    "billing", "The", "the", "api-gateway", "`auth`", "we", "I", "uses", "use", "runs on", "is", "isn't", "not",
    "no longer", "now", "anymore", "moved", "from", "to", "switched", "migrated", "replaced", "with", "in", "for",
    "over", "prefers", "prefer", "deprecated", "owned by", "owns", "Dana", "is the tech lead for", "due", "port",
    "8080", "MySQL", "Postgres 15", "py3.12", "Node 20.x", "k8s", "Kotlin", "and", ",", ".", ":", ";", "?", "'s",
    "May", "2026-05-01", "since", "depends on", "written in", "supports", "iOS 14", "and up", "\n", "```", "  ",
]  # fmt: skip
_RULE_NAMES = {rule.name for rule in RULES}


def _check(claims: list[Claim]) -> None:
    assert isinstance(claims, list) and len(claims) <= MAX_CLAIMS
    for claim in claims:
        assert isinstance(claim, Claim)
        for field in (claim.subject, claim.attribute, claim.value):
            assert isinstance(field, str) and field.strip()
        assert claim.polarity in (1, -1)
        assert isinstance(claim.single, bool) and isinstance(claim.change, bool)
        assert claim.when is None or isinstance(claim.when, datetime)
        assert claim.rule in _RULE_NAMES


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=400))
def test_any_text_gives_well_formed_claims(text: str) -> None:
    _check(extract(text, NOW))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(_WORDS), max_size=40).map(" ".join), st.none() | st.just(NOW))
def test_developer_like_word_salad_gives_well_formed_claims(text: str, now: datetime | None) -> None:
    _check(extract(text, now))


# --- the words a rule needs (a sentence without any is not searched) -------------------------------------------------


_NEEDED = {word for rule in RULES for word in rule.needs.split()}
_TOKENS = re.compile(r"\w+|[^\w\s]")  # words as `\b` sees them, and each other sign alone


def _sentences(texts: list[str]) -> list[str]:
    """Each sentence as `extract` sees it, also in capitals and with the letters IGNORECASE folds onto i and s."""
    found = [s.strip() for text in texts for s in SENTENCE.split(text)]
    return [v for s in found for v in (s, s.upper(), s.replace("i", "ı").replace("s", "ſ"), s.replace("I", "İ"))]


def test_a_rule_never_matches_a_sentence_without_a_word_it_needs() -> None:
    """`needs` must be words no match can lack: checked on every test text, the contradiction cases and 2,000
    corpus memories (every rule matches some of them), in their case variants."""
    texts = [text for text, _ in CORPUS] + [s.text for case in CASES for s in case.statements]
    texts += [m["text"] for m in corpus.memories(2000)] + _WORDS
    matched, order = set(), [rule.name for rule in RULES]
    for sentence in _sentences(texts):
        words = set(_TOKENS.findall(fold(sentence)))
        tried = [rule.name for rule, _ in candidates(sentence)]
        assert tried == sorted(tried, key=order.index)  # in the table's order: the first rule that fits wins
        for rule, pattern in compiled_rules():
            if pattern.search(sentence):
                matched.add(rule.name)
                needs = set(rule.needs.split())
                assert not needs or needs & words, f"{rule.name!r} matches {sentence!r} without any of {needs}"
                assert rule.name in tried
    assert matched == _RULE_NAMES


def test_folding_keeps_each_character_s_kind_and_what_ignorecase_makes_of_it() -> None:
    """Needed words are found in the folded sentence: one character for one (so `\\b` stays where it was), of the
    same kind, and a letter in the lower case IGNORECASE matches it to."""
    letter = re.compile("[a-z]", re.IGNORECASE)
    for code in range(sys.maxunicode + 1):
        char = chr(code)
        folded = fold(char)
        assert len(folded) == 1, hex(code)
        if char.isspace():
            assert folded.isspace(), hex(code)
        elif letter.fullmatch(char):  # A, a, K (kelvin), ſ, ı, İ: the one ASCII letter it matches
            assert folded in string.ascii_lowercase and re.fullmatch(folded, char, re.IGNORECASE), hex(code)
        else:
            assert bool(re.fullmatch(r"\w", char)) == bool(re.fullmatch(r"\w", folded)), hex(code)


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from([*_NEEDED, *_WORDS, "isn't", "This", "island", "at:", "a=b", "İs", "ſupports"]),
                max_size=30).map(" ".join) | st.text(max_size=200))  # fmt: skip
def test_the_rules_tried_are_those_needing_a_word_the_sentence_has_whole(sentence: str) -> None:
    words = set(_TOKENS.findall(fold(sentence)))
    expected = [rule for rule in RULES if not rule.needs or set(rule.needs.split()) & words]
    assert [rule for rule, _ in candidates(sentence)] == expected


# --- the fast forms of the patterns: each finds what its plain form finds -------------------------------------------

_PLAIN_SENTENCE = re.compile(r"(?<=[.!?;])\s+|\n+|\s+(?:but|whereas|while)\s+")
_PLAIN_QUESTION = re.compile(
    r"\?\s*$|^(?:does|do|did|should|could|would|can|is|are|was|were|who|what|which|why|how|when|where)\b",
    re.IGNORECASE,
)
_PIECES = ["a", "b.", "c!", "d?", "e;", "but", "But", "whereas", "while", "is", "How", "?", " ", "  ", "\n", "\n\n",
           "\t", "\u2003", ".", ";"]  # fmt: skip


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=30).map("".join) | st.text(max_size=200))
def test_sentences_and_questions_are_what_the_plain_patterns_find(text: str) -> None:
    assert SENTENCE.split(text) == _PLAIN_SENTENCE.split(text)
    assert is_question(text) == bool(_PLAIN_QUESTION.search(text))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["a", " ", "  ", "\t", "\n", "\u00a0"]), max_size=20).map("".join))
def test_runs_of_blanks_become_one_space_as_the_plain_pattern_makes_them(text: str) -> None:
    assert _one_space(text) == re.sub(r"[ \t]+", " ", text)


def test_sentences_of_the_corpus_are_what_the_plain_pattern_finds() -> None:
    for text in [text for text, _ in CORPUS] + [m["text"] for m in corpus.memories(2000)]:
        assert SENTENCE.split(text) == _PLAIN_SENTENCE.split(text)


_SPELLINGS = ["port", "http port", "ci", "ci system", "db", "default branch", "default port", "de", "c#", "c++"]


@settings(max_examples=500, deadline=None)
@given(
    st.lists(st.sampled_from(_SPELLINGS), min_size=1, unique=True),
    st.lists(st.sampled_from([*_SPELLINGS, " ", "  ", "\t", "x", ":", "s", "PORT"]), max_size=8).map("".join),
)
def test_a_trie_matches_what_a_longest_first_alternation_matches(spellings: list[str], text: str) -> None:
    """Also when what follows must match too: backtracking tries the same spellings in the same order."""
    plain = "|".join(sorted((re.escape(s).replace(r"\ ", r"\s+") for s in spellings), key=len, reverse=True))
    for tail in ("", r"\s*:", r"s\b"):
        found = re.match(f"(?:{trie(spellings)}){tail}", text, re.IGNORECASE)
        expected = re.match(f"(?:{plain}){tail}", text, re.IGNORECASE)
        assert (found and found.group()) == (expected and expected.group())
