"""A seeded synthetic corpus of developer memories and the questions a developer would ask of them.

Memories are what a coding assistant stores — decisions, bugs and fixes, preferences, commands, config facts,
API notes, meeting notes, incidents, ownership facts — built from templates filled from shared vocabularies, plus
0-10 detail sentences, so that 100k of them are varied (10-120 words, median ~30) and queries drawn from the
same vocabularies have real answers. The same seed gives the same corpus, and `memories(n)` is a prefix of
`memories(m)` for n < m, so the stores of different sizes nest.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

SEED = 20240501
START = datetime(2023, 1, 1, tzinfo=UTC)
SPAN_SECONDS = 2 * 365 * 24 * 3600  # event times spread over two years
MAX_WORDS = 120  # the templates alone give at least 10

PROJECTS = (
    "billing",
    "storefront",
    "data-pipeline",
    "mobile-app",
    "infra",
    "auth",
    "search",
    "ml-platform",
    "docs-site",
    "payments-gateway",
)
PROJECT_WEIGHTS = (18, 16, 12, 10, 10, 9, 8, 7, 5, 5)
AGENTS = ("claude-code", "cursor", "copilot", "aider", "codex", "user")
AGENT_WEIGHTS = (35, 20, 15, 10, 10, 10)
SERVICES = (
    "billing service",
    "checkout API",
    "notification worker",
    "search indexer",
    "auth gateway",
    "reporting job",
    "image resizer",
    "ledger service",
    "webhook dispatcher",
    "session store",
    "feature-flag service",
    "email sender",
    "rate limiter",
    "export worker",
    "recommendation engine",
    "inventory service",
    "order service",
    "pricing engine",
    "audit log service",
    "user profile API",
    "payment processor",
    "invoice generator",
    "analytics collector",
    "GraphQL gateway",
    "admin dashboard",
    "scheduler",
    "file upload service",
    "shipping calculator",
    "fraud detector",
    "customer support bot",
)
DATABASES = (
    "MySQL 5.7",
    "MySQL 8.0",
    "PostgreSQL 12",
    "PostgreSQL 14",
    "PostgreSQL 15",
    "PostgreSQL 16",
    "SQLite 3.45",
    "MongoDB 6.0",
    "Redis 7.2",
    "DynamoDB",
    "Cassandra 4.1",
    "ClickHouse 23.8",
    "Elasticsearch 8.11",
    "OpenSearch 2.11",
    "CockroachDB 23.1",
    "Aurora PostgreSQL",
)
LANGUAGES = (
    "Python 3.11",
    "Python 3.12",
    "Go 1.21",
    "Go 1.22",
    "TypeScript 5.3",
    "Rust 1.75",
    "Java 21",
    "Kotlin 1.9",
    "Node 20",
    "Ruby 3.3",
    "Elixir 1.16",
    "C# 12",
)
LIBRARIES = (
    "pytest",
    "SQLAlchemy 2.0",
    "FastAPI",
    "Django 5.0",
    "Celery",
    "pydantic v2",
    "httpx",
    "requests",
    "pandas",
    "polars",
    "React 18",
    "Next.js 14",
    "Vite",
    "Jest",
    "Vitest",
    "Playwright",
    "Cypress",
    "Prisma",
    "gRPC",
    "protobuf",
    "confluent-kafka",
    "tokio",
    "serde",
    "axum",
    "gin",
    "cobra",
    "zap",
    "Spring Boot 3",
    "Hibernate",
    "Gradle",
    "Poetry",
    "uv",
    "ruff",
    "mypy",
    "black",
    "eslint",
    "prettier",
    "Terraform 1.6",
    "Helm",
    "Argo CD",
    "GitHub Actions",
    "structlog",
    "OpenTelemetry",
    "Sentry",
    "alembic",
    "tRPC",
    "Zod",
    "Redux Toolkit",
    "TanStack Query",
    "Tailwind",
    "Storybook",
    "hypothesis",
    "testcontainers",
    "Flyway",
    "Liquibase",
)
PEOPLE = (
    "Alice",
    "Bob",
    "Carlos",
    "Dana",
    "Emeka",
    "Farah",
    "Grace",
    "Hiroshi",
    "Ines",
    "Jonas",
    "Kavya",
    "Liam",
    "Mei",
    "Noah",
    "Olga",
    "Priya",
    "Quentin",
    "Rosa",
    "Sven",
    "Tariq",
    "Uma",
    "Victor",
    "Wen",
    "Yusuf",
    "Zoe",
)
ERRORS = (
    "psycopg2.OperationalError: could not connect to server",
    "ECONNRESET",
    "OOMKilled",
    "Deadlock found when trying to get lock",
    "TypeError: Cannot read properties of undefined (reading 'id')",
    "context deadline exceeded",
    "SSL: CERTIFICATE_VERIFY_FAILED",
    "ModuleNotFoundError: No module named 'yaml'",
    "sqlite3.OperationalError: database is locked",
    "429 Too Many Requests",
    "java.lang.OutOfMemoryError: Java heap space",
    "panic: runtime error: invalid memory address or nil pointer dereference",
    "ImagePullBackOff",
    "CrashLoopBackOff",
    "too many open files",
    "segmentation fault (core dumped)",
    "UnicodeDecodeError: 'utf-8' codec can't decode byte 0xff",
    "Hydration failed because the initial UI does not match",
    "KeyError: 'user_id'",
    "QueuePool limit of size 5 overflow 10 reached",
    "duplicate key value violates unique constraint",
    "502 Bad Gateway",
    "504 Gateway Timeout",
    "ERR_REQUIRE_ESM",
    "Cannot find module '@/lib/utils'",
    "fatal: refusing to merge unrelated histories",
    "x509: certificate has expired or is not yet valid",
    "RecursionError: maximum recursion depth exceeded",
    "ValueError: too many values to unpack",
    "NullPointerException in OrderMapper",
    "lock wait timeout exceeded",
    "redis.exceptions.ConnectionError: Connection reset by peer",
    "Kafka consumer group rebalancing",
    "ResizeObserver loop limit exceeded",
    "permission denied (publickey)",
)
DIRS = ("src", "app", "services", "internal", "pkg", "lib", "api", "web/src", "cmd", "core", "jobs", "tests")
MODULES = (
    "billing",
    "invoices",
    "checkout",
    "auth",
    "session",
    "models",
    "handlers",
    "router",
    "db",
    "cache",
    "queue",
    "worker",
    "settings",
    "payments",
    "search",
    "indexer",
    "export",
    "users",
    "orders",
    "retry",
    "ratelimit",
    "webhooks",
    "schema",
    "migrations",
    "client",
    "utils",
    "flags",
    "pricing",
    "ledger",
    "events",
)
EXTENSIONS = ("py", "ts", "tsx", "go", "rs", "java", "kt", "rb", "sql", "yaml")
ENVIRONMENTS = (
    "staging",
    "production",
    "the dev cluster",
    "the EU region",
    "us-east-1",
    "the load-test env",
    "preview deployments",
    "CI",
)
MEETINGS = (
    "sprint planning",
    "the retro",
    "the architecture review",
    "the incident review",
    "standup",
    "the design review",
    "quarterly planning",
    "the security review",
    "the on-call handover",
)
TEST_KINDS = ("unit", "integration", "end-to-end", "contract", "load", "smoke", "snapshot", "migration")
CONFIG_KEYS = (
    "MAX_POOL_SIZE",
    "REDIS_URL",
    "FEATURE_NEW_CHECKOUT",
    "LOG_LEVEL",
    "REQUEST_TIMEOUT_MS",
    "WORKER_CONCURRENCY",
    "CACHE_TTL_SECONDS",
    "DATABASE_URL",
    "SENTRY_SAMPLE_RATE",
    "RETRY_LIMIT",
    "BATCH_SIZE",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "JWT_EXPIRY_MINUTES",
    "S3_BUCKET",
    "RATE_LIMIT_PER_MIN",
)
ENDPOINTS = (
    "GET /v1/invoices",
    "POST /v1/checkout",
    "GET /v2/users/{id}",
    "POST /webhooks/stripe",
    "GET /v1/search",
    "DELETE /v1/sessions/{id}",
    "PATCH /v1/orders/{id}",
    "GET /healthz",
    "POST /v1/exports",
    "GET /v1/reports/monthly",
    "PUT /v1/flags/{key}",
    "POST /oauth/token",
)
REASONS = (
    "the JSONB support makes the invoice metadata queries much simpler",
    "p95 latency went from 800 ms to 120 ms in the load test",
    "the old driver is no longer maintained",
    "we kept hitting replication lag on the read replicas",
    "the licence changed and legal asked us to move",
    "it halves our hosting bill",
    "the team already knows it well",
    "it supports logical replication",
    "we needed row-level security for multi-tenant data",
    "connection handling under load was unreliable",
    "the managed offering removes most of the on-call burden",
    "schema migrations were taking hours",
    "full-text search was too slow for large tenants",
    "type checking catches the bugs we keep shipping",
    "the build took over twenty minutes",
    "we need better observability of background jobs",
)
CAUSES = (
    "a missing index on the created_at column",
    "a race between two workers claiming the same job",
    "an expired TLS certificate on the internal load balancer",
    "a connection leak in the retry path",
    "the cache key not including the tenant id",
    "a timezone bug when converting to UTC",
    "an unbounded in-memory queue",
    "a too-small connection pool",
    "a stale DNS entry after failover",
    "the feature flag defaulting to on",
    "a breaking change in a minor dependency release",
    "integer overflow in the pagination offset",
    "a retry storm after a downstream timeout",
    "a migration that locked the orders table",
    "the health check hitting the database",
)
FIXES = (
    "adding the index concurrently",
    "wrapping the claim in SELECT ... FOR UPDATE SKIP LOCKED",
    "rotating the certificate and adding an expiry alert",
    "closing the connection in a finally block",
    "adding the tenant id to the cache key",
    "storing all timestamps as UTC",
    "bounding the queue at 10k items",
    "raising the pool size to 20 and adding a timeout",
    "lowering the DNS TTL",
    "turning the flag off by default",
    "pinning the dependency and adding a regression test",
    "switching to keyset pagination",
    "adding jittered exponential backoff",
    "splitting the migration into batches",
    "making the health check shallow",
)
PREFERENCES = (
    ("pytest fixtures", "setUp methods"),
    ("small pull requests", "big-bang rewrites"),
    ("explicit type hints", "inferred types"),
    ("rebase", "merge commits"),
    ("tabs", "spaces"),
    ("dataclasses", "plain dicts"),
    ("structured JSON logs", "print debugging"),
    ("feature flags", "long-lived branches"),
    ("integration tests against a real database", "mocks"),
    ("early returns", "nested ifs"),
    ("composition", "inheritance"),
    ("f-strings", "str.format"),
    ("async handlers", "thread pools"),
    ("snake_case JSON fields", "camelCase JSON fields"),
    ("conventional commits", "free-form commit messages"),
    ("descriptive variable names", "abbreviations"),
    ("ADRs in the repo", "decisions in Slack threads"),
)
COMMANDS = (
    "make test-integration",
    "docker compose up -d postgres redis",
    "pytest -m integration --maxfail=1",
    "npm run e2e -- --headed",
    "go test ./... -race -count=1",
    "cargo nextest run --workspace",
    "kubectl rollout restart deploy/{svc}",
    "terraform plan -var-file=staging.tfvars",
    "alembic upgrade head",
    "uv pip compile requirements.in -o requirements.txt",
    "pnpm turbo run build --filter=web",
    "./scripts/seed_db.sh --tenants 5",
    "make lint typecheck",
    "helm upgrade --install {svc} charts/{svc}",
    "gradle test --tests '*IntegrationTest'",
    "bin/rails db:reset",
    "tox -e py311",
    "just dev",
    "psql $DATABASE_URL -f sql/backfill.sql",
    "aws s3 sync ./dist s3://assets-staging",
    "k6 run load/checkout.js",
)
ACTIONS = (
    "freeze the schema until the migration lands",
    "add a dashboard for queue depth",
    "write an ADR for the new caching layer",
    "move the cron jobs to the scheduler",
    "deprecate the v1 endpoints",
    "split the monorepo CI into per-package jobs",
    "add contract tests between the services",
    "run a game day for the failover",
    "document the on-call runbook",
    "turn on Dependabot for all repos",
    "drop the legacy admin pages",
    "set an error budget for the checkout flow",
)
CONDITIONS = (
    "the request body is larger than 1 MB",
    "two requests arrive within the same millisecond",
    "the tenant has more than 10k invoices",
    "the user has no billing address",
    "the cache is cold",
    "the upstream returns an empty list",
    "the locale is not en-US",
    "a deploy happens during the nightly batch",
    "the token expires mid-request",
    "the CSV export has non-ASCII names",
)
TICKET_PREFIXES = ("ENG", "OPS", "BILL", "SRCH")
GENERIC_QUERIES = (
    "what are our coding conventions",
    "how do we handle database migrations",
    "what's the release process",
    "any known flaky tests?",
    "what did we decide about logging",
    "how do I set up the dev environment",
    "what caused the last outage",
    "which services talk to each other",
    "what should I know before deploying",
    "who do I ask about the payments code",
    "what are the open action items from the retro",
    "why is CI so slow",
    "how do we do code review here",
    "what's our policy on feature flags",
    "which database do we use",
    "what changed in the last sprint",
    "how do I rotate secrets",
    "what's the on-call process",
    "what tests should I run before merging",
    "what are the known performance problems",
)

Rng = random.Random


def memories(n: int, seed: int = SEED) -> list[dict]:
    """`n` memories with distinct texts (the store would drop an exact duplicate within a project)."""
    rng = random.Random(seed)
    seen: set[str] = set()
    out: list[dict] = []
    while len(out) < n:
        item = _memory(rng)
        if item["text"] not in seen:
            seen.add(item["text"])
            out.append(item)
    return out


def queries(n: int, seed: int = SEED + 1) -> list[str]:
    """`n` questions: ~85% about things the corpus talks about, the rest generic."""
    rng = random.Random(seed)
    return [rng.choice(GENERIC_QUERIES) if rng.random() < 0.15 else _specific_query(rng) for _ in range(n)]


def word_count(text: str) -> int:
    return len(text.split())


def describe(items: list[dict]) -> dict:
    """Length and spread statistics, to check the corpus looks like what the module docstring promises."""
    lengths = sorted(word_count(item["text"]) for item in items)
    return {
        "count": len(items),
        "distinct_texts": len({item["text"] for item in items}),
        "words_min": lengths[0],
        "words_median": lengths[len(lengths) // 2],
        "words_p95": lengths[int(len(lengths) * 0.95)],
        "words_max": lengths[-1],
        "projects": len({item["project"] for item in items}),
        "agents": len({item["agent"] for item in items}),
        "first": min(item["time"] for item in items),
        "last": max(item["time"] for item in items),
    }


# -- memories -------------------------------------------------------------------------------------------------
def _memory(rng: Rng) -> dict:
    kind, tags, text = rng.choice(_TEMPLATES)(rng)
    text = _with_details(rng, text)
    project = rng.choices(PROJECTS, PROJECT_WEIGHTS)[0]
    agent = rng.choices(AGENTS, AGENT_WEIGHTS)[0]
    when = START + timedelta(seconds=rng.randrange(SPAN_SECONDS))
    meta = {"source": rng.choice(("chat", "pr-review", "terminal", "ide", "meeting-notes"))}
    if rng.random() < 0.3:
        meta["pr"] = rng.randrange(100, 9000)
    return {
        "text": text,
        "time": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "agent": agent,
        "project": project,
        "kind": kind,
        "tags": [kind, *tags],
        "meta": meta,
    }


def _with_details(rng: Rng, text: str) -> str:
    """Append detail sentences: the count is skewed so the median memory is ~30 words and a few reach 120."""
    wanted = rng.choices(range(11), (30, 30, 14, 8, 5, 4, 3, 2, 2, 1, 1))[0]
    for _ in range(wanted):
        detail = rng.choice(_DETAILS)(rng)
        if word_count(text) + word_count(detail) > MAX_WORDS:
            break
        text = f"{text} {detail}"
    return text


def _path(rng: Rng) -> str:
    return f"{rng.choice(DIRS)}/{rng.choice(MODULES)}/{rng.choice(MODULES)}.{rng.choice(EXTENSIONS)}"


def _version(rng: Rng) -> str:
    return f"{rng.randrange(0, 6)}.{rng.randrange(0, 30)}.{rng.randrange(0, 15)}"


def _date(rng: Rng) -> str:
    return (START + timedelta(days=rng.randrange(730))).strftime("%B %-d")


def _command(rng: Rng) -> str:
    return rng.choice(COMMANDS).replace("{svc}", _slug(rng.choice(SERVICES)))


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def _decision(rng: Rng) -> tuple[str, list[str], str]:
    service, (old, new) = rng.choice(SERVICES), rng.sample(DATABASES, 2)
    options = (
        f"We moved the {service} from {old} to {new} because {rng.choice(REASONS)}.",
        f"Decided to adopt {rng.choice(LIBRARIES)} in the {service} because {rng.choice(REASONS)}; "
        f"{rng.choice(PEOPLE)} will own the migration.",
        f"New services are written in {rng.choice(LANGUAGES)} from now on; the {service} stays on "
        f"{rng.choice(LANGUAGES)} until Q{rng.randrange(1, 5)} {rng.choice((2023, 2024, 2025))}.",
        f"We replaced {rng.choice(LIBRARIES)} with {rng.choice(LIBRARIES)} across the {service} since "
        f"{rng.choice(REASONS)}.",
    )
    return "decision", ["architecture", _slug(service)], rng.choice(options)


def _bug(rng: Rng) -> tuple[str, list[str], str]:
    service, error = rng.choice(SERVICES), rng.choice(ERRORS)
    options = (
        f'Bug: the {service} fails with "{error}" when {rng.choice(CONDITIONS)}. Root cause was '
        f"{rng.choice(CAUSES)}. Fixed in {_path(rng)} by {rng.choice(FIXES)}.",
        f'Intermittent "{error}" from the {service} in {rng.choice(ENVIRONMENTS)}; traced to {rng.choice(CAUSES)}.',
        f"Fixed the flaky test test_{rng.choice(MODULES)}_{rng.choice(MODULES)} in {_path(rng)} by "
        f"{rng.choice(FIXES)}; it failed about one run in {rng.randrange(5, 60)}.",
    )
    return "bug", ["bugfix", _slug(service)], rng.choice(options)


def _preference(rng: Rng) -> tuple[str, list[str], str]:
    person, (liked, disliked) = rng.choice(PEOPLE), rng.choice(PREFERENCES)
    options = (
        f"{person} prefers {liked} over {disliked} everywhere in the {rng.choice(SERVICES)} codebase.",
        f"{person} asked that code reviews of {_path(rng)} favour {liked} rather than {disliked}.",
        f"Team convention set by {person}: use {liked}, not {disliked}, for anything new in {rng.choice(LANGUAGES)}.",
    )
    return "preference", ["conventions", person.lower()], rng.choice(options)


def _command_note(rng: Rng) -> tuple[str, list[str], str]:
    service = rng.choice(SERVICES)
    options = (
        f"To run the {rng.choice(TEST_KINDS)} tests for the {service}, use `{_command(rng)}` from the repo root.",
        f"Deploy the {service} to {rng.choice(ENVIRONMENTS)} with `{_command(rng)}` after the migrations have run.",
        f"Reset the local database for the {service} with `{_command(rng)}`; it wipes all local data.",
    )
    return "command", ["howto", _slug(service)], rng.choice(options)


def _config(rng: Rng) -> tuple[str, list[str], str]:
    service, key, env = rng.choice(SERVICES), rng.choice(CONFIG_KEYS), rng.choice(ENVIRONMENTS)
    options = (
        f"The {service} listens on port {rng.randrange(3000, 9999)} in {env}; {key} controls its behaviour there.",
        f"{key} defaults to {rng.randrange(1, 500)} for the {service} in {env}; set it to "
        f"{rng.randrange(500, 5000)} when {rng.choice(CONDITIONS)}.",
        f"The {service} reads {key} at startup only, so changing it in {env} needs a restart.",
    )
    return "config", ["config", _slug(service)], rng.choice(options)


def _api(rng: Rng) -> tuple[str, list[str], str]:
    service, endpoint = rng.choice(SERVICES), rng.choice(ENDPOINTS)
    options = (
        f"The {endpoint} endpoint of the {service} returns {rng.choice((400, 404, 409, 422, 429, 503))} when "
        f"{rng.choice(CONDITIONS)}; clients should retry with backoff.",
        f"API note: {endpoint} on the {service} is paginated with a cursor and a page size of at most "
        f"{rng.choice((50, 100, 200, 500))}.",
        f"{rng.choice(LIBRARIES)} {_version(rng)} deprecated the old client used by the {service}; "
        f"calls to {endpoint} must move to the new one.",
    )
    return "api", ["api", _slug(service)], rng.choice(options)


def _meeting(rng: Rng) -> tuple[str, list[str], str]:
    a, b, c = rng.sample(PEOPLE, 3)
    text = (
        f"Notes from {rng.choice(MEETINGS)} on {_date(rng)}: {a} and {b} agreed to {rng.choice(ACTIONS)}. "
        f"{c} will follow up on the {rng.choice(SERVICES)}."
    )
    return "meeting", ["meeting"], text


def _incident(rng: Rng) -> tuple[str, list[str], str]:
    service = rng.choice(SERVICES)
    text = (
        f"Incident INC-{rng.randrange(100, 9999)}: the {service} was down in {rng.choice(ENVIRONMENTS)} for "
        f"{rng.randrange(3, 240)} minutes, caused by {rng.choice(CAUSES)}. Action item: {rng.choice(ACTIONS)}."
    )
    return "incident", ["incident", _slug(service)], text


def _fact(rng: Rng) -> tuple[str, list[str], str]:
    service, other = rng.sample(SERVICES, 2)
    options = (
        f"{rng.choice(PEOPLE)} owns the {service}; ask them before changing {_path(rng)} or its schema.",
        f"The {service} depends on the {other} over {rng.choice(('gRPC', 'REST', 'Kafka', 'SQS', 'GraphQL'))}, "
        f"so deploy the {other} first.",
        f"The {service} is written in {rng.choice(LANGUAGES)} and stores its data in {rng.choice(DATABASES)}.",
    )
    return "fact", ["ownership", _slug(service)], rng.choice(options)


_TEMPLATES: tuple[Callable[[Rng], tuple[str, list[str], str]], ...] = (
    _decision,
    _decision,
    _bug,
    _bug,
    _bug,
    _preference,
    _command_note,
    _command_note,
    _config,
    _config,
    _api,
    _meeting,
    _incident,
    _fact,
    _fact,
)

_DETAILS: tuple[Callable[[Rng], str], ...] = (
    lambda r: f"The change touched {_path(r)} and {_path(r)}.",
    lambda r: f"{r.choice(PEOPLE)} reviewed it in PR #{r.randrange(100, 9000)}.",
    lambda r: f"Benchmarks showed p95 going from {r.randrange(200, 2000)} ms to {r.randrange(10, 200)} ms.",
    lambda r: f"See docs/runbooks/{_slug(r.choice(SERVICES))}.md for the details.",
    lambda r: f"It only shows up under load above {r.randrange(50, 5000)} requests per second.",
    lambda r: f"We pinned {r.choice(LIBRARIES)} to {_version(r)} until the upstream fix lands.",
    lambda r: f"Rollback plan: redeploy the previous image and run `{_command(r)}`.",
    lambda r: f"This affects {r.choice(ENVIRONMENTS)} only.",
    lambda r: f'The logs also showed "{r.choice(ERRORS)}" around the same time.',
    lambda r: f"Follow-up ticket {r.choice(TICKET_PREFIXES)}-{r.randrange(100, 9999)} tracks the cleanup.",
    lambda r: f"`{_command(r)}` passes locally and in CI now.",
    lambda r: f"{r.choice(PEOPLE)} thinks we should revisit this after Q{r.randrange(1, 5)}.",
    lambda r: f"Memory use dropped from {r.randrange(400, 4000)} MB to {r.randrange(50, 400)} MB after the change.",
    lambda r: f"Note that {r.choice(CONFIG_KEYS)} must be set before the {r.choice(SERVICES)} starts.",
    lambda r: f"{r.choice(PEOPLE)} and {r.choice(PEOPLE)} paired on it on {_date(r)}.",
    lambda r: f"The root cause analysis mentions {r.choice(CAUSES)} as a contributing factor.",
    lambda r: f"Alternatives considered were {r.choice(LIBRARIES)} and {r.choice(DATABASES)}, both rejected.",
    lambda r: f"Remember to {r.choice(ACTIONS)} before the next release.",
    lambda r: f"The {r.choice(TEST_KINDS)} suite covers it in {_path(r)}.",
    lambda r: f"Customers on the {r.choice(('free', 'team', 'enterprise'))} plan were affected the most.",
)


# -- queries --------------------------------------------------------------------------------------------------
def _specific_query(rng: Rng) -> str:
    service, person = rng.choice(SERVICES), rng.choice(PEOPLE)
    options = (
        f"why did we switch the {service} to {rng.choice(DATABASES).split()[0].lower()}?",
        f"how do I run the {rng.choice(TEST_KINDS)} tests for the {service}",
        f"what does {person} prefer for {rng.choice(PREFERENCES)[0]}",
        f"how did we fix {rng.choice(ERRORS)}",
        rng.choice(ERRORS),
        f"what port does the {service} use",
        f"who owns the {service}?",
        f"what was decided in {rng.choice(MEETINGS)}",
        f"how to deploy the {service} to {rng.choice(ENVIRONMENTS)}",
        f"what is {rng.choice(CONFIG_KEYS)} set to in {rng.choice(ENVIRONMENTS)}",
        f"is {rng.choice(ENDPOINTS)} paginated",
        f"incidents involving the {service}",
        f"why are we using {rng.choice(LIBRARIES)}",
        f"what depends on the {service}",
        f"{person}'s review comments about {rng.choice(MODULES)}",
    )
    return rng.choice(options)
