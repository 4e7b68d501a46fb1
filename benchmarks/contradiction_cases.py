"""Labelled cases for benchmarks/contradictions.py: short developer memories, each case 2-4 statements in order.

Kinds:

- contradiction: the statements leave two *current* incompatible values of one single-valued fact about the same
  thing (a database, a language version, an owner, a deadline, a port, a preference, "is/is not deprecated",
  "uses / does not use X"), in the same project, and nothing says it changed. Typically two different authors (two
  agents, or an agent and the user) disagree without update language; different days alone do not make it an
  update when the authors differ.
- update: a change in time explains the difference: the later statement uses change language ("moved to",
  "migrated from A to B", "switched to", "replaced A with B", "now uses", "no longer", "since <date>", "as of
  <date>", "upgraded to", "is deprecated now", "was handed over to"), carries a later explicit date, or comes from
  the same author (same `agent`) on a later day restating a new value (self-correction, a change of mind).
- paraphrase: the same value in other words (aliases, spellings, case, active/passive, word order, filler).
- different_topic: the same subject but different attributes that can all be true together (its database and its
  cache, its owner and its deadline, several dependencies), or the same attribute in two different projects.
- agreement: several sources state the same value, possibly in other words or on other days, possibly adding a
  compatible detail.

Only `contradiction` cases are positives (`Case.contradiction`). Every case is labelled independently of any
detector; `note` says why when the label is not obvious.

    .venv/bin/python -m benchmarks.contradiction_cases   # counts per kind
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Literal

Kind = Literal["contradiction", "update", "paraphrase", "different_topic", "agreement"]

KINDS: tuple[Kind, ...] = ("contradiction", "update", "paraphrase", "different_topic", "agreement")


@dataclass(frozen=True)
class Statement:
    text: str
    agent: str = "user"  # who wrote it: "user" (the owner) or an agent name such as "claude-code", "cursor", "codex"
    project: str = "default"
    day: float = 0.0  # when it was written, in days after the case's start; statements are written in list order


@dataclass(frozen=True)
class Case:
    id: str  # unique, e.g. "contra-012"
    kind: Kind
    statements: tuple[Statement, ...]  # 2 to 4
    note: str = ""  # optional: why this label

    @property
    def contradiction(self) -> bool:
        return self.kind == "contradiction"


_S = Statement


def _c(id_: str, kind: Kind, *statements: Statement, note: str = "") -> Case:
    return Case(id_, kind, statements, note)


_CONTRADICTIONS: tuple[Case, ...] = (
    _c(
        "contra-001",
        "contradiction",
        _S("payments-api uses PostgreSQL as its primary database.", "user"),
        _S("payments-api's primary database is MySQL 8.", "cursor", day=3),
    ),
    _c(
        "contra-002",
        "contradiction",
        _S("ledger-service is written in Go.", "claude-code", "payments"),
        _S("ledger-service is written in Rust; the entrypoint is `ledger/src/main.rs`.", "codex", "payments", 1),
    ),
    _c(
        "contra-003",
        "contradiction",
        _S("The web app runs on Node 18.", "user", "web"),
        _S("web app runtime: Node 20 (see `.nvmrc`).", "copilot", "web", 2),
    ),
    _c(
        "contra-004",
        "contradiction",
        _S("Priya owns the auth service.", "user"),
        _S("Owner of auth-service: Marcus Chen. Ping him for any change to token handling.", "cursor", day=6),
    ),
    _c(
        "contra-005",
        "contradiction",
        _S("The v2 launch is due March 3.", "user", "web"),
        _S("v2 launch deadline: March 17.", "claude-code", "web", 4),
    ),
    _c(
        "contra-006",
        "contradiction",
        _S("notification-service listens on port 8080.", "codex"),
        _S("notification-service listens on port 9090 (set in `config/server.yaml`).", "cursor", day=1),
    ),
    _c(
        "contra-007",
        "contradiction",
        _S("I prefer tabs for indentation in this repo.", "user"),
        _S("The user prefers 4-space indentation, never tabs.", "claude-code", day=2),
        note="an agent's note about the user's preference disagrees with the user's own statement",
    ),
    _c(
        "contra-008",
        "contradiction",
        _S("The `/v1/orders` endpoint is deprecated.", "copilot", "payments"),
        _S("`/v1/orders` is not deprecated; it is the supported orders endpoint.", "codex", "payments", 5),
    ),
    _c(
        "contra-009",
        "contradiction",
        _S("The worker uses Celery for background jobs.", "claude-code"),
        _S("The worker does not use Celery.", "cursor", day=1),
    ),
    _c(
        "contra-010",
        "contradiction",
        _S("search-indexer uses Redis.", "user", "search"),
        _S("search-indexer does not use Redis at all.", "codex", "search", 3),
    ),
    _c(
        "contra-011",
        "contradiction",
        _S("Always use pnpm in this repo.", "user", "web"),
        _S("This repo uses yarn as its package manager; don't run pnpm here.", "copilot", "web", 9),
    ),
    _c(
        "contra-012",
        "contradiction",
        _S("The data pipeline runs on Python 3.11.", "claude-code", "data"),
        _S("data pipeline runs on Python 3.12.", "aider", "data", 1),
    ),
    _c(
        "contra-013",
        "contradiction",
        _S("We use pytest for every test in `billing/`.", "cursor"),
        _S("Tests in `billing/` are written with unittest; pytest is not used there.", "codex", day=2),
    ),
    _c(
        "contra-014",
        "contradiction",
        _S("infra/terraform deploys everything to AWS.", "user", "infra"),
        _S("infra/terraform targets GCP only.", "claude-code", "infra", 7),
    ),
    _c(
        "contra-015",
        "contradiction",
        _S("CI runs on GitHub Actions.", "copilot"),
        _S("Our CI is CircleCI; there are no GitHub Actions workflows in this repo.", "cursor", day=1),
    ),
    _c(
        "contra-016",
        "contradiction",
        _S("The admin dashboard is built with React.", "codex", "internal-tools"),
        _S("The admin dashboard is built with Vue 3.", "claude-code", "internal-tools", 4),
    ),
    _c(
        "contra-017",
        "contradiction",
        _S("All timestamps in ledger-service are stored in UTC.", "user", "payments"),
        _S("ledger-service stores timestamps in local time (America/New_York).", "cursor", "payments", 2),
    ),
    _c(
        "contra-018",
        "contradiction",
        _S("Max line length is 100 in this repo.", "user"),
        _S("The project's max line length is 120; ruff is configured with `line-length = 120`.", "claude-code", day=1),
    ),
    _c(
        "contra-019",
        "contradiction",
        _S("The mobile app's minimum iOS version is 15.", "user", "mobile"),
        _S("Min iOS for the mobile app is 15.", "codex", "mobile", 2),
        _S("The mobile app supports iOS 14 and up.", "cursor", "mobile", 5),
        note="two sources agree on 15, a third states 14 with no change language",
    ),
    _c(
        "contra-020",
        "contradiction",
        _S("Team Orion owns the checkout flow.", "claude-code", "web"),
        _S("checkout flow owner: Team Vega.", "copilot", "web", 3),
    ),
    _c(
        "contra-021",
        "contradiction",
        _S("inventory-service's logging library is structlog.", "cursor"),
        _S("inventory-service's logging library is loguru; structlog isn't installed.", "aider", day=1),
    ),
    _c(
        "contra-022",
        "contradiction",
        _S("The docs site is deployed on Netlify.", "user", "docs"),
        _S("The docs site is hosted on Vercel.", "claude-code", "docs", 8),
    ),
    _c(
        "contra-023",
        "contradiction",
        _S("The primary AWS region for payments is us-east-1.", "codex", "payments"),
        _S("payments runs primarily in eu-west-1.", "windsurf", "payments", 2),
    ),
    _c(
        "contra-024",
        "contradiction",
        _S("The partner API is REST.", "user"),
        _S("The partner API is GraphQL-only; there are no REST routes for partners.", "cursor", day=1),
    ),
    _c(
        "contra-025",
        "contradiction",
        _S("The default branch is `main`.", "copilot"),
        _S("Default branch of this repo is `master`.", "claude-code", day=0.5),
    ),
    _c(
        "contra-026",
        "contradiction",
        _S("We always squash-merge PRs.", "user"),
        _S("PRs here are merged with rebase-merge; squash merging is disabled in the repo settings.", "copilot", day=4),
    ),
    _c(
        "contra-027",
        "contradiction",
        _S("order-events are published to Kafka.", "claude-code", "payments"),
        _S("order-events are published to RabbitMQ.", "codex", "payments", 1),
    ),
    _c(
        "contra-028",
        "contradiction",
        _S("user-service uses SQLAlchemy as its ORM.", "cursor"),
        _S("user-service's ORM is Tortoise ORM.", "claude-code", day=3),
    ),
    _c(
        "contra-029",
        "contradiction",
        _S("reporting-service is built with Java 17.", "aider", "data"),
        _S("reporting-service targets Java 21.", "cursor", "data", 2),
    ),
    _c(
        "contra-030",
        "contradiction",
        _S("The staging namespace for api-gateway is `gw-staging`.", "user", "infra"),
        _S("api-gateway's staging deployment lives in the `staging` namespace.", "claude-code", "infra", 1),
    ),
    _c(
        "contra-031",
        "contradiction",
        _S(
            "The docs site is built with Docusaurus. We moved the repo to the platform org last week.", "cursor", "docs"
        ),
        _S("The docs site is built with MkDocs Material.", "codex", "docs", 2),
        note="'moved' refers to the repository's location, not to the site generator",
    ),
    _c(
        "contra-032",
        "contradiction",
        _S("We use LaunchDarkly for feature flags.", "user"),
        _S("Feature flags are handled by Unleash (self-hosted); there is no LaunchDarkly account.", "copilot", day=5),
    ),
    _c(
        "contra-033",
        "contradiction",
        _S("Dana is the tech lead for the mobile app.", "claude-code", "mobile"),
        _S("The mobile app tech lead is Omar.", "cursor", "mobile", 1),
    ),
    _c(
        "contra-034",
        "contradiction",
        _S("PRs need two approvals before merge.", "user"),
        _S("One approval is enough to merge a PR here.", "codex", day=3),
    ),
    _c(
        "contra-035",
        "contradiction",
        _S("I prefer single quotes in Python.", "user"),
        _S("User prefers double quotes in Python code.", "cursor", day=1),
    ),
    _c(
        "contra-036",
        "contradiction",
        _S("The public API returns dates as ISO 8601 strings.", "claude-code"),
        _S("The public API returns dates as Unix epoch seconds.", "aider", day=2),
    ),
    _c(
        "contra-037",
        "contradiction",
        _S("The max upload size for media-service is 25 MB.", "codex"),
        _S("media-service caps uploads at 100 MB.", "copilot", day=4),
    ),
    _c(
        "contra-038",
        "contradiction",
        _S("webhook-dispatcher retries failed deliveries 5 times.", "cursor", "platform"),
        _S("webhook-dispatcher retries a failed delivery 3 times, then gives up.", "claude-code", "platform", 2),
    ),
    _c(
        "contra-039",
        "contradiction",
        _S("cart-service uses MongoDB as its primary store.", "user", "web", 0),
        _S("We migrated cart-service from MongoDB to PostgreSQL.", "user", "web", 10),
        _S("cart-service's primary store is MongoDB.", "cursor", "web", 20),
        note="the last statement, by another author, reasserts the old value after the migration with no change "
        "language: PostgreSQL and MongoDB are both left current",
    ),
    _c(
        "contra-040",
        "contradiction",
        _S("The legacy SOAP API is deprecated.", "claude-code", "payments"),
        _S("The legacy SOAP API is fully supported and not deprecated.", "codex", "payments", 6),
    ),
    _c(
        "contra-041",
        "contradiction",
        _S("billing-worker runs on Python 3.10.", "claude-code"),
        _S("billing-worker depends on stripe-sdk.", "user", day=1),
        _S("billing-worker runs on Python 3.12.", "codex", day=2),
        note="the middle statement is about another attribute; 3.10 and 3.12 conflict",
    ),
    _c(
        "contra-042",
        "contradiction",
        _S("Our monorepo is managed with Nx.", "cursor", "web"),
        _S("The monorepo uses Turborepo, not Nx.", "copilot", "web", 1),
    ),
    _c(
        "contra-043",
        "contradiction",
        _S("TLS is terminated at the load balancer.", "user", "infra"),
        _S("TLS terminates at the pods, not at the load balancer.", "claude-code", "infra", 2),
    ),
    _c(
        "contra-044",
        "contradiction",
        _S("The request timeout for api-gateway is 30 seconds.", "codex", "infra"),
        _S("api-gateway request timeout is 60s.", "aider", "infra", 3),
    ),
    _c(
        "contra-045",
        "contradiction",
        _S("Product cache TTL is 5 minutes.", "cursor", "web"),
        _S("Product cache entries expire after 1 hour.", "claude-code", "web", 1),
    ),
    _c(
        "contra-046",
        "contradiction",
        _S("We release on Tuesdays.", "user"),
        _S("Releases go out every Thursday.", "copilot", day=2),
    ),
    _c(
        "contra-047",
        "contradiction",
        _S("The Python SDK is MIT-licensed.", "claude-code"),
        _S("The Python SDK is licensed under Apache-2.0.", "cursor", day=1),
    ),
    _c(
        "contra-048",
        "contradiction",
        _S("We format TypeScript with Prettier.", "codex", "web"),
        _S("TypeScript in this repo is formatted with Biome; Prettier is not installed.", "claude-code", "web", 4),
    ),
    _c(
        "contra-049",
        "contradiction",
        _S("The mobile app uses Redux for state management.", "cursor", "mobile"),
        _S("mobile app state management: Zustand.", "copilot", "mobile", 2),
    ),
    _c(
        "contra-050",
        "contradiction",
        _S("The analytics warehouse runs PostgreSQL 14.", "user", "data"),
        _S("The analytics warehouse is on PostgreSQL 16.", "codex", "data", 12),
        note="different authors twelve days apart, no change language",
    ),
    _c(
        "contra-051",
        "contradiction",
        _S("The auth service signs its JWTs with RS256.", "claude-code"),
        _S("Auth service tokens are signed with HS256.", "aider", day=1),
    ),
    _c(
        "contra-052",
        "contradiction",
        _S("Feature branches must be prefixed with `feat/`.", "user"),
        _S("Branch names start with the ticket id, e.g. `PAY-123-fix-refunds`; no `feat/` prefix.", "cursor", day=3),
    ),
    _c(
        "contra-053",
        "contradiction",
        _S("The Android app's minSdk is 24.", "codex", "mobile"),
        _S("minSdkVersion for the Android app is 26.", "claude-code", "mobile", 1),
    ),
    _c(
        "contra-054",
        "contradiction",
        _S("The staging database is refreshed from prod every night.", "copilot", "infra"),
        _S("The staging database is never refreshed from prod.", "user", "infra", 2),
    ),
    _c(
        "contra-055",
        "contradiction",
        _S("The recommendation model is served with TorchServe.", "cursor", "ml"),
        _S("The recommendation model is served via Triton Inference Server.", "codex", "ml", 3),
    ),
    _c(
        "contra-056",
        "contradiction",
        _S("Secrets are stored in HashiCorp Vault.", "claude-code", "infra"),
        _S("Secrets live in AWS Secrets Manager; we don't run Vault.", "aider", "infra", 1),
    ),
    _c(
        "contra-057",
        "contradiction",
        _S("The design system package is `@acme/ui`.", "user", "web"),
        _S("The design system is published as `@acme/design`.", "copilot", "web", 5),
    ),
    _c(
        "contra-058",
        "contradiction",
        _S("search-api is backed by Elasticsearch 8.", "cursor", "search"),
        _S("search-api is backed by OpenSearch 2.11.", "claude-code", "search", 2),
    ),
    _c(
        "contra-059",
        "contradiction",
        _S("Our error tracker is Sentry.", "codex"),
        _S("We use Rollbar for error tracking.", "copilot", day=1),
    ),
    _c(
        "contra-060",
        "contradiction",
        _S("Don't add type hints to test functions.", "user"),
        _S("User wants full type hints on every function, tests included.", "claude-code", day=2),
    ),
    _c(
        "contra-061",
        "contradiction",
        _S("The web app is bundled with Vite.", "cursor", "web"),
        _S("The web app is bundled with webpack 5.", "aider", "web", 1),
    ),
    _c(
        "contra-062",
        "contradiction",
        _S("The SLA for the public API is 99.9%.", "user"),
        _S("public API SLA: 99.95%.", "claude-code", day=4),
    ),
    _c(
        "contra-063",
        "contradiction",
        _S("invoice-service stores money amounts as integer cents.", "codex", "payments"),
        _S("invoice-service stores amounts as DECIMAL(12,2) dollars.", "cursor", "payments", 2),
    ),
    _c(
        "contra-064",
        "contradiction",
        _S("The iOS app's UI layer is built with SwiftUI.", "claude-code", "mobile"),
        _S("The iOS app's UI is UIKit only; there is no SwiftUI anywhere.", "copilot", "mobile", 1),
    ),
    _c(
        "contra-065",
        "contradiction",
        _S("geo-service caches lookups in Memcached.", "aider"),
        _S("geo-service's lookup cache is Redis.", "codex", day=3),
    ),
    _c(
        "contra-066",
        "contradiction",
        _S("The QA environment URL is https://qa.acme.dev.", "user"),
        _S("QA lives at https://qa.internal.acme.com. Use the VPN to reach it.", "cursor", day=1),
    ),
    _c(
        "contra-067",
        "contradiction",
        _S("Priya is the product owner for onboarding.", "claude-code"),
        _S("Onboarding's product owner is Jules.", "codex", day=2),
    ),
    _c(
        "contra-068",
        "contradiction",
        _S("I prefer composition over inheritance; avoid base classes.", "user"),
        _S("User prefers inheritance hierarchies over composition for services.", "cursor", day=6),
    ),
    _c(
        "contra-069",
        "contradiction",
        _S("Database migrations are run with Alembic.", "claude-code", "data"),
        _S("Database migrations use Flyway.", "windsurf", "data", 1),
        note="'migrations' names the schema-migration tool; it is not change language about the tool",
    ),
    _c(
        "contra-070",
        "contradiction",
        _S("The scheduler runs its job sweep every 15 minutes.", "codex", "platform"),
        _S("The scheduler sweeps for due jobs every 5 minutes.", "copilot", "platform", 2),
    ),
    _c(
        "contra-071",
        "contradiction",
        _S("The GraphQL API is served by Apollo Server.", "cursor"),
        _S("The GraphQL API is served by Strawberry.", "claude-code", day=1),
    ),
    _c(
        "contra-072",
        "contradiction",
        _S("The prod data lake is the S3 bucket `acme-lake-prod`.", "user", "data"),
        _S("prod data lake bucket: `acme-datalake`.", "aider", "data", 3),
    ),
    _c(
        "contra-073",
        "contradiction",
        _S("email-service sends mail via SendGrid.", "codex"),
        _S("email-service delivers outgoing mail through Amazon SES.", "cursor", day=2),
    ),
    _c(
        "contra-074",
        "contradiction",
        _S("The backend is on Django 4.2.", "claude-code", "web"),
        _S("backend runs Django 5.0.", "copilot", "web", 1),
    ),
    _c(
        "contra-075",
        "contradiction",
        _S("Shipping estimates are computed in the `shipping-calc` service.", "cursor", "web"),
        _S("Shipping estimates are computed in the frontend; there is no shipping-calc service.", "codex", "web", 4),
    ),
    _c(
        "contra-076",
        "contradiction",
        _S("The nightly batch export runs at 02:00 UTC.", "copilot", "data", 0),
        _S("The nightly batch export runs at 04:00 UTC.", "claude-code", "data", 45),
        note="45 days apart, but different authors and no change language",
    ),
    _c(
        "contra-077",
        "contradiction",
        _S("We don't use Docker Compose for local dev.", "cursor"),
        _S("Local dev uses Docker Compose (`docker-compose.yml` at the repo root).", "aider", day=1),
    ),
    _c(
        "contra-078",
        "contradiction",
        _S("Commit messages follow Conventional Commits.", "user"),
        _S("This repo doesn't use Conventional Commits; commit messages are free-form.", "copilot", day=3),
    ),
    _c(
        "contra-079",
        "contradiction",
        _S("The web app supports Safari 15 and newer.", "claude-code", "web"),
        _S("Minimum supported Safari for the web app is 16.", "cursor", "web", 2),
    ),
    _c(
        "contra-080",
        "contradiction",
        _S("The embeddings vector index uses HNSW.", "codex", "ml"),
        _S("The embeddings vector index is IVF-Flat.", "claude-code", "ml", 1),
    ),
    _c(
        "contra-081",
        "contradiction",
        _S("auth-service sessions last 24 hours.", "aider"),
        _S("auth-service sessions expire after 7 days.", "user", day=5),
    ),
    _c(
        "contra-082",
        "contradiction",
        _S("The prod Kubernetes cluster is on version 1.28.", "cursor", "infra"),
        _S("prod cluster runs k8s 1.30.", "codex", "infra", 2),
    ),
    _c(
        "contra-083",
        "contradiction",
        _S("The ledger reconciliation job is owned by finance-eng.", "claude-code", "payments"),
        _S("The ledger reconciliation job is owned by data-platform.", "copilot", "payments", 3),
    ),
    _c(
        "contra-084",
        "contradiction",
        _S("The public docs are written in MDX.", "user", "docs"),
        _S("Docs pages are plain reStructuredText; we don't use MDX.", "cursor", "docs", 1),
    ),
    _c(
        "contra-085",
        "contradiction",
        _S("payroll-service is written in Kotlin.", "user", "payments"),
        _S("payroll-service uses Exposed for database access.", "copilot", "payments", 1),
        _S("payroll-service is written in Java 21.", "codex", "payments", 2),
        note="Exposed is compatible with both; Kotlin vs Java as the implementation language conflict",
    ),
    _c(
        "contra-086",
        "contradiction",
        _S("The maximum page size for list endpoints is 100.", "claude-code"),
        _S("List endpoints allow up to 500 items per page.", "aider", day=2),
    ),
    _c(
        "contra-087",
        "contradiction",
        _S("Terraform state is stored in S3 with DynamoDB locking.", "codex", "infra"),
        _S("Terraform state lives in Terraform Cloud.", "cursor", "infra", 1),
    ),
    _c(
        "contra-088",
        "contradiction",
        _S("The acme CLI is written in Go.", "claude-code"),
        _S("The acme CLI is written in Python and installed with `pipx install acme-cli`.", "copilot", day=3),
    ),
    _c(
        "contra-089",
        "contradiction",
        _S("Mobile push notifications are sent with Firebase Cloud Messaging.", "cursor", "mobile"),
        _S("Mobile push notifications go through OneSignal.", "aider", "mobile", 2),
    ),
    _c(
        "contra-090",
        "contradiction",
        _S("Rita owns the analytics events schema.", "user", "data"),
        _S("Rita doesn't own the analytics events schema; Ken does.", "claude-code", "data", 4),
    ),
    _c(
        "contra-091",
        "contradiction",
        _S("fraud-scorer calls the model over gRPC.", "codex", "payments"),
        _S(
            "fraud-scorer calls the model over plain HTTP/JSON; there is no gRPC in that path.", "cursor", "payments", 1
        ),
    ),
    _c(
        "contra-092",
        "contradiction",
        _S("I want all new React components written as class components.", "user", "web"),
        _S(
            "User's convention: new React components are function components with hooks, never classes.",
            "copilot",
            "web",
            2,
        ),
    ),
    _c(
        "contra-093",
        "contradiction",
        _S("The dev container image is based on Ubuntu 22.04.", "claude-code"),
        _S("Our dev container image is based on Debian bookworm.", "cursor", day=1),
        _S("Reminder: rebuild the dev container after pulling.", "user", day=2),
        note="the last statement is unrelated; Ubuntu vs Debian base image conflict",
    ),
    _c(
        "contra-094",
        "contradiction",
        _S("The ETL jobs are orchestrated by Airflow.", "aider", "data"),
        _S("ETL orchestration is Dagster.", "codex", "data", 8),
    ),
)


_UPDATES: tuple[Case, ...] = (
    _c(
        "update-001",
        "update",
        _S("payments-api uses PostgreSQL as its primary database.", "user", "payments", 0),
        _S("We migrated payments-api from PostgreSQL to CockroachDB.", "user", "payments", 40),
    ),
    _c(
        "update-002",
        "update",
        _S("The web app runs on Node 18.", "cursor", "web", 0),
        _S("Upgraded the web app to Node 20 today; `.nvmrc` is updated.", "claude-code", "web", 20),
    ),
    _c(
        "update-003",
        "update",
        _S("Priya owns the auth service.", "user", day=0),
        _S("The auth service was handed over to Marcus's team.", "user", day=30),
    ),
    _c(
        "update-004",
        "update",
        _S("The v2 launch is due March 3.", "user", "web", 0),
        _S("The v2 launch slipped; the new date is March 17.", "claude-code", "web", 10),
    ),
    _c(
        "update-005",
        "update",
        _S("I prefer tabs for indentation.", "user", day=0),
        _S("I prefer 4 spaces for indentation.", "user", day=60),
        note="the same author restates a new value later: a change of mind",
    ),
    _c(
        "update-006",
        "update",
        _S("notification-service listens on port 8080.", "codex", day=0),
        _S("Correction: notification-service listens on 8081, not 8080.", "codex", day=1),
    ),
    _c(
        "update-007",
        "update",
        _S("The worker uses Celery for background jobs.", "copilot", day=0),
        _S("We replaced Celery with Dramatiq in the worker.", "user", day=14),
    ),
    _c(
        "update-008",
        "update",
        _S("We use Docker Compose for local dev.", "cursor", day=0),
        _S("We don't use Docker Compose anymore; local dev runs on Tilt.", "user", day=21),
    ),
    _c(
        "update-009",
        "update",
        _S("search-api is backed by Elasticsearch 7.", "claude-code", "search", 0),
        _S("As of 2026-02-01, search-api runs on OpenSearch 2.11.", "codex", "search", 35),
    ),
    _c(
        "update-010",
        "update",
        _S("`/v1/orders` is the main orders endpoint.", "aider", "payments", 0),
        _S("`/v1/orders` is deprecated now; call `/v2/orders` instead.", "user", "payments", 18),
    ),
    _c(
        "update-011",
        "update",
        _S("The admin dashboard is built with Vue 2.", "cursor", "internal-tools", 0),
        _S("In March 2026 we moved the admin dashboard from Vue 2 to Vue 3.", "user", "internal-tools", 50),
    ),
    _c(
        "update-012",
        "update",
        _S("CI runs on CircleCI.", "copilot", day=0),
        _S("CI now runs on GitHub Actions; the CircleCI config was deleted.", "claude-code", day=9),
    ),
    _c(
        "update-013",
        "update",
        _S("ledger-service uses MySQL.", "user", "payments", 0),
        _S("ledger-service primary database: MySQL 5.7.", "cursor", "payments", 3),
        _S("Since 2026-05-01 ledger-service's primary database is Aurora PostgreSQL.", "user", "payments", 50),
    ),
    _c(
        "update-014",
        "update",
        _S("billing runs on Python 3.10.", "codex", day=0),
        _S("Upgraded billing to Python 3.12 (PR #482).", "cursor", day=11),
    ),
    _c(
        "update-015",
        "update",
        _S("Always use npm in this repo.", "user", "web", 0),
        _S("Switching this repo to pnpm: always use pnpm from now on.", "user", "web", 15),
    ),
    _c(
        "update-016",
        "update",
        _S("The docs site is hosted on Netlify.", "claude-code", "docs", 0),
        _S("Moved the docs site from Netlify to Cloudflare Pages.", "aider", "docs", 7),
    ),
    _c(
        "update-017",
        "update",
        _S("Secrets are stored in HashiCorp Vault.", "user", "infra", 0),
        _S("We no longer run Vault; secrets moved to AWS Secrets Manager.", "codex", "infra", 25),
    ),
    _c(
        "update-018",
        "update",
        _S("The prod Kubernetes cluster is on 1.28.", "cursor", "infra", 0),
        _S("The prod cluster was upgraded to Kubernetes 1.30 last night.", "claude-code", "infra", 40),
    ),
    _c(
        "update-019",
        "update",
        _S("email-service sends mail via SendGrid.", "copilot", day=0),
        _S("email-service switched to Amazon SES on 2026-01-15.", "user", day=30),
    ),
    _c(
        "update-020",
        "update",
        _S("The mobile app uses Redux for state.", "copilot", "mobile", 0),
        _S("The mobile app uses Zustand for state.", "copilot", "mobile", 25),
        note="same agent, later day, new value: the agent restating what changed",
    ),
    _c(
        "update-021",
        "update",
        _S("Product cache TTL is 5 minutes.", "codex", "web", 0),
        _S("Raised the product cache TTL to 15 minutes after the load test.", "user", "web", 6),
    ),
    _c(
        "update-022",
        "update",
        _S("Releases go out on Tuesdays.", "claude-code", day=0),
        _S("Starting this sprint we release on Thursdays instead of Tuesdays.", "user", day=12),
    ),
    _c(
        "update-023",
        "update",
        _S("Dana is the tech lead for the mobile app.", "cursor", "mobile", 0),
        _S("Omar took over from Dana as mobile tech lead.", "user", "mobile", 45),
    ),
    _c(
        "update-024",
        "update",
        _S("The max upload size for media-service is 25 MB.", "aider", day=0),
        _S("media-service's upload limit is now 100 MB.", "codex", day=16),
    ),
    _c(
        "update-025",
        "update",
        _S("The Python SDK is MIT-licensed.", "claude-code", day=0),
        _S("We relicensed the Python SDK from MIT to Apache-2.0 in v3.", "user", day=60),
    ),
    _c(
        "update-026",
        "update",
        _S("Our error tracker is Sentry.", "cursor", day=0),
        _S("Dropped Sentry; errors go to Rollbar now.", "copilot", day=20),
    ),
    _c(
        "update-027",
        "update",
        _S("The web app is bundled with webpack 5.", "codex", "web", 0),
        _S("The web app migrated from webpack to Vite.", "claude-code", "web", 12),
    ),
    _c(
        "update-028",
        "update",
        _S("The legacy SOAP API is fully supported.", "user", "payments", 0),
        _S("The legacy SOAP API is deprecated as of v4.2 and will be removed in Q3.", "cursor", "payments", 90),
    ),
    _c(
        "update-029",
        "update",
        _S("I prefer single quotes in Python.", "user", day=0),
        _S("Changed my mind: use double quotes in Python and let `ruff format` handle it.", "user", day=90),
    ),
    _c(
        "update-030",
        "update",
        _S("reporting-service targets Java 17.", "claude-code", "data", 0),
        _S("reporting-service targets Java 21 (checked `build.gradle`).", "claude-code", "data", 1),
        note="the same agent corrects itself a day later",
    ),
    _c(
        "update-031",
        "update",
        _S("geo-service caches lookups in Memcached.", "aider", day=0),
        _S("geo-service's lookup cache has been Redis since the Q1 2026 infra cleanup.", "codex", day=70),
    ),
    _c(
        "update-032",
        "update",
        _S("Terraform state is stored in S3.", "copilot", "infra", 0),
        _S("We migrated Terraform state from S3 to Terraform Cloud.", "user", "infra", 33),
    ),
    _c(
        "update-033",
        "update",
        _S("The backend is on Django 4.2.", "cursor", "web", 0),
        _S("Upgraded the backend to Django 5.0; see the upgrade notes in `docs/django5.md`.", "claude-code", "web", 19),
    ),
    _c(
        "update-034",
        "update",
        _S("One approval is enough to merge a PR.", "codex", day=0),
        _S("As of this quarter, PRs need two approvals.", "user", day=40),
    ),
    _c(
        "update-035",
        "update",
        _S("api-gateway request timeout is 30 seconds.", "claude-code", "infra", 0),
        _S("api-gateway request timeout is 60s now (raised after INC-2231).", "aider", "infra", 8),
    ),
    _c(
        "update-036",
        "update",
        _S("Rita owns the analytics events schema.", "cursor", "data", 0),
        _S("Rita handed the analytics events schema over to Ken.", "user", "data", 22),
    ),
    _c(
        "update-037",
        "update",
        _S("The mobile app's minimum iOS version is 15.", "codex", "mobile", 0),
        _S("Dropped iOS 15 support; the minimum is now iOS 16.", "user", "mobile", 55),
    ),
    _c(
        "update-038",
        "update",
        _S("search-indexer uses Redis.", "claude-code", "search", 0),
        _S("search-indexer no longer uses Redis.", "cursor", "search", 17),
    ),
    _c(
        "update-039",
        "update",
        _S("Feature flags are in LaunchDarkly.", "user", day=0),
        _S("feature flags: LaunchDarkly (SDK wrapper in `src/flags.ts`).", "cursor", day=3),
        _S("We replaced LaunchDarkly with Unleash to cut costs.", "user", day=40),
        _S("Feature flags are served by self-hosted Unleash.", "codex", day=41),
        note="the change is stated; the last statement agrees with the new value",
    ),
    _c(
        "update-040",
        "update",
        _S("The staging database is refreshed from prod every night.", "aider", "infra", 0),
        _S("We stopped the nightly prod-to-staging refresh; staging is seeded from fixtures now.", "user", "infra", 27),
    ),
    _c(
        "update-041",
        "update",
        _S("The Android app's minSdk is 24.", "cursor", "mobile", 0),
        _S("Bumped the Android minSdk to 26 for the new camera API.", "user", "mobile", 20),
    ),
    _c(
        "update-042",
        "update",
        _S("The recommendation model is served with TorchServe.", "claude-code", "ml", 0),
        _S("Recommendation model serving moved to Triton.", "codex", "ml", 31),
    ),
    _c(
        "update-043",
        "update",
        _S("Our monorepo is managed with Lerna.", "copilot", "web", 0),
        _S("We replaced Lerna with Nx for the monorepo.", "claude-code", "web", 13),
    ),
    _c(
        "update-044",
        "update",
        _S("payments runs primarily in us-east-1.", "cursor", "payments", 0),
        _S(
            "Since January 2026 the primary region for payments is eu-west-1 (EU data residency project).",
            "user",
            "payments",
            80,
        ),
    ),
    _c(
        "update-045",
        "update",
        _S("Team Orion owns the checkout flow.", "codex", "web", 0),
        _S("After the reorg, the checkout flow was handed over to Team Vega.", "aider", "web", 35),
    ),
    _c(
        "update-046",
        "update",
        _S("The nightly batch export runs at 02:00 UTC.", "claude-code", "data", 0),
        _S("Moved the nightly batch export to 04:00 UTC to avoid the backup window.", "user", "data", 9),
    ),
    _c(
        "update-047",
        "update",
        _S("invoice-service stores amounts as DECIMAL(12,2).", "copilot", "payments", 0),
        _S("invoice-service migrated amounts to integer cents (migration 0042).", "cursor", "payments", 14),
    ),
    _c(
        "update-048",
        "update",
        _S("The web app supports Safari 15 and newer.", "user", "web", 0),
        _S("Safari 15 is no longer supported; the minimum is Safari 16.", "claude-code", "web", 120),
    ),
    _c(
        "update-049",
        "update",
        _S("The public docs are written in reStructuredText.", "codex", "docs", 0),
        _S("The docs were converted from RST to MDX last sprint.", "user", "docs", 24),
    ),
    _c(
        "update-050",
        "update",
        _S("The acme CLI is written in Python.", "aider", day=0),
        _S("We rewrote the acme CLI in Go; v2.0 now ships a Go binary.", "user", day=75),
    ),
    _c(
        "update-051",
        "update",
        _S("The deadline for the data migration is April 30.", "user", "data", 0),
        _S("The deadline for the data migration is May 15.", "user", "data", 12),
        note="the user restates a new value later",
    ),
    _c(
        "update-052",
        "update",
        _S("We format Python with black.", "cursor", day=0),
        _S("We switched from black to `ruff format`.", "claude-code", day=10),
    ),
    _c(
        "update-053",
        "update",
        _S("Mobile push notifications go through OneSignal.", "codex", "mobile", 0),
        _S("Push notifications moved to FCM in release 5.2.", "copilot", "mobile", 44),
    ),
    _c(
        "update-054",
        "update",
        _S("The ledger reconciliation job is owned by finance-eng.", "claude-code", "payments", 0),
        _S("As of 2026-03-01 data-platform owns the ledger reconciliation job.", "user", "payments", 60),
    ),
    _c(
        "update-055",
        "update",
        _S("Commit messages are free-form here.", "copilot", day=0),
        _S("From now on we use Conventional Commits for every commit.", "user", day=5),
    ),
    _c(
        "update-056",
        "update",
        _S("The embeddings vector index is IVF-Flat.", "cursor", "ml", 0),
        _S("Rebuilt the embeddings vector index with HNSW; IVF-Flat is gone.", "codex", "ml", 18),
    ),
    _c(
        "update-057",
        "update",
        _S("Auth service tokens are signed with HS256.", "aider", day=0),
        _S("The auth service now signs JWTs with RS256 (key rotation ticket SEC-88).", "claude-code", day=29),
    ),
    _c(
        "update-058",
        "update",
        _S("The design system package is `@acme/ui`.", "user", "web", 0),
        _S("Renamed `@acme/ui` to `@acme/design`; update your imports.", "user", "web", 16),
    ),
    _c(
        "update-059",
        "update",
        _S("user-service uses SQLAlchemy 1.4.", "codex", day=0),
        _S("user-service was upgraded to SQLAlchemy 2.0.", "cursor", day=37),
    ),
    _c(
        "update-060",
        "update",
        _S("Max line length is 88.", "user", day=0),
        _S("Let's go with 120 for the max line length from now on.", "user", day=11),
    ),
    _c(
        "update-061",
        "update",
        _S("The QA environment is at https://qa.acme.dev.", "claude-code", day=0),
        _S("QA moved to https://qa.internal.acme.com; the old URL redirects for a month.", "aider", day=21),
    ),
    _c(
        "update-062",
        "update",
        _S("The GraphQL API is served by Apollo Server.", "copilot", day=0),
        _S(
            "The GraphQL API is served by Strawberry now; Apollo went away with the Node backend.",
            "claude-code",
            day=48,
        ),
    ),
    _c(
        "update-063",
        "update",
        _S("Deployments are done with Helm charts.", "cursor", "infra", 0),
        _S("Deployments switched from Helm to Argo CD with Kustomize.", "user", "infra", 64),
    ),
    _c(
        "update-064",
        "update",
        _S("image-resizer runs on AWS Lambda.", "codex", "platform", 0),
        _S("image-resizer was moved off Lambda to Cloud Run.", "claude-code", "platform", 26),
    ),
    _c(
        "update-065",
        "update",
        _S("auth-service sessions last 24 hours.", "aider", day=0),
        _S("As of release 3.4, auth-service sessions last 7 days.", "copilot", day=33),
    ),
    _c(
        "update-066",
        "update",
        _S("Our on-call paging tool is PagerDuty.", "user", "infra", 0),
        _S("We moved on-call paging from PagerDuty to Opsgenie.", "cursor", "infra", 52),
    ),
    _c(
        "update-067",
        "update",
        _S("The data pipeline runs on Python 3.11.", "codex", "data", 0),
        _S("The data pipeline runs on Python 3.12.", "codex", "data", 5),
        note="same agent, later day: self-correction or restated new value",
    ),
    _c(
        "update-068",
        "update",
        _S("The team tracks tickets in Jira.", "claude-code", day=0),
        _S("Tickets live in Linear now; Jira is read-only.", "user", day=19),
    ),
    _c(
        "update-069",
        "update",
        _S("The marketing site is built with Gatsby.", "cursor", "web", 0),
        _S("In February 2026 the marketing site was rebuilt on Astro.", "aider", "web", 40),
    ),
    _c(
        "update-070",
        "update",
        _S("config-service reads its config from Consul.", "copilot", "platform", 0),
        _S("config-service no longer reads from Consul; it uses etcd.", "codex", "platform", 15),
    ),
    _c(
        "update-071",
        "update",
        _S("I like detailed commit messages with a bullet list of changes.", "user", day=0),
        _S("Keep commit messages to a single line from now on.", "user", day=23),
    ),
    _c(
        "update-072",
        "update",
        _S("The v3 deadline is June 1.", "user", "mobile", 0),
        _S("v3 is due June 1.", "claude-code", "mobile", 2),
        _S("v3 was pushed to June 22 because of the App Store review backlog.", "user", "mobile", 20),
    ),
    _c(
        "update-073",
        "update",
        _S("The worker does not use Celery.", "cursor", day=0),
        _S("We adopted Celery for the worker's background jobs this week.", "user", day=30),
    ),
    _c(
        "update-074",
        "update",
        _S("The prod data lake is the S3 bucket `acme-datalake`.", "aider", "data", 0),
        _S(
            "Since 2026-04-10 the prod data lake lives in `acme-lake-prod`; the old bucket is archived.",
            "user",
            "data",
            70,
        ),
    ),
)


_PARAPHRASES: tuple[Case, ...] = (
    _c(
        "para-001",
        "paraphrase",
        _S("payments-api uses Postgres 15.", "user", "payments"),
        _S("PostgreSQL 15 is the database behind payments-api.", "cursor", "payments", 2),
    ),
    _c(
        "para-002",
        "paraphrase",
        _S("Our services run on k8s.", "claude-code", "infra"),
        _S("Our services are deployed on Kubernetes.", "codex", "infra", 1),
    ),
    _c(
        "para-003",
        "paraphrase",
        _S("The storefront frontend is written in JS.", "user", "web"),
        _S("The storefront frontend codebase is JavaScript.", "user", "web", 4),
    ),
    _c(
        "para-004",
        "paraphrase",
        _S("The data pipeline targets py3.12.", "aider", "data"),
        _S("data pipeline: Python 3.12.", "claude-code", "data", 1),
    ),
    _c(
        "para-005",
        "paraphrase",
        _S("Alice owns billing.", "user"),
        _S("billing is owned by Alice.", "user", day=3),
    ),
    _c(
        "para-006",
        "paraphrase",
        _S("I prefer tabs over spaces.", "user"),
        _S("Indent with tabs, not spaces.", "user", day=8),
    ),
    _c(
        "para-007",
        "paraphrase",
        _S("Always use pnpm in this repo.", "user", "web"),
        _S("The package manager for this repo is pnpm; don't use npm or yarn.", "cursor", "web", 2),
    ),
    _c(
        "para-008",
        "paraphrase",
        _S("notification-service listens on port 8080.", "codex"),
        _S("Port for notification-service: 8080 (see `config/server.yaml`).", "codex", day=6),
    ),
    _c(
        "para-009",
        "paraphrase",
        _S("The v2 launch is due March 3.", "user", "web"),
        _S("We need to ship v2 by 3 March.", "user", "web", 1),
    ),
    _c(
        "para-010",
        "paraphrase",
        _S("The worker uses Celery for background jobs.", "claude-code"),
        _S(
            "Background jobs in the worker are run by Celery. The broker settings live in `worker/settings.py`.",
            "cursor",
            day=2,
        ),
    ),
    _c(
        "para-011",
        "paraphrase",
        _S("`/v1/orders` is deprecated.", "copilot", "payments"),
        _S("Don't build anything new on `/v1/orders`, it's a deprecated endpoint.", "user", "payments", 3),
    ),
    _c(
        "para-012",
        "paraphrase",
        _S("ledger-service is written in Go.", "cursor", "payments"),
        _S("ledger-service: golang codebase.", "cursor", "payments", 5),
    ),
    _c(
        "para-013",
        "paraphrase",
        _S("infra/terraform deploys to AWS.", "user", "infra"),
        _S("Everything in infra/terraform targets Amazon Web Services.", "claude-code", "infra", 1),
    ),
    _c(
        "para-014",
        "paraphrase",
        _S("CI is GitHub Actions.", "aider"),
        _S("Our CI pipelines are GH Actions workflows under `.github/workflows/`.", "codex", day=2),
    ),
    _c(
        "para-015",
        "paraphrase",
        _S("The mobile app is built with React Native.", "user", "mobile"),
        _S("mobile app = RN.", "user", "mobile", 1),
    ),
    _c(
        "para-016",
        "paraphrase",
        _S("We squash-merge PRs.", "copilot"),
        _S("Pull requests are merged via squash.", "claude-code", day=4),
    ),
    _c(
        "para-017",
        "paraphrase",
        _S("Tests run with pytest.", "cursor"),
        _S("The test runner is py.test.", "user", day=1),
    ),
    _c(
        "para-018",
        "paraphrase",
        _S("search-api is backed by ES 8.", "codex", "search"),
        _S("Elasticsearch 8 powers search-api.", "codex", "search", 3),
    ),
    _c(
        "para-019",
        "paraphrase",
        _S("The analytics warehouse is BigQuery.", "user", "data"),
        _S("We keep analytics in Google BigQuery (BQ).", "aider", "data", 2),
    ),
    _c(
        "para-020",
        "paraphrase",
        _S("order-events go through Kafka.", "claude-code", "payments"),
        _S("Apache Kafka carries the order-events stream.", "claude-code", "payments", 7),
    ),
    _c(
        "para-021",
        "paraphrase",
        _S("The Python SDK is MIT-licensed.", "cursor"),
        _S("License for the Python SDK: MIT.", "copilot", day=1),
    ),
    _c(
        "para-022",
        "paraphrase",
        _S("The docs site is built with MkDocs.", "user", "docs"),
        _S("We generate the docs site using mkdocs with the Material theme.", "user", "docs", 9),
    ),
    _c(
        "para-023",
        "paraphrase",
        _S("We format TypeScript with Prettier.", "codex", "web"),
        _S("Prettier handles TS formatting.", "cursor", "web", 2),
    ),
    _c(
        "para-024",
        "paraphrase",
        _S("The web app runs on Node 20.", "claude-code", "web"),
        _S("web app: Node.js v20 LTS.", "claude-code", "web", 3),
    ),
    _c(
        "para-025",
        "paraphrase",
        _S("Secrets are stored in Vault.", "aider", "infra"),
        _S("We keep secrets in HashiCorp Vault.", "user", "infra", 1),
    ),
    _c(
        "para-026",
        "paraphrase",
        _S("Product cache TTL is 5 minutes.", "cursor", "web"),
        _S("Product cache entries expire after 300 seconds.", "codex", "web", 2),
    ),
    _c(
        "para-027",
        "paraphrase",
        _S("Releases go out on Tuesdays.", "user"),
        _S("Release day is Tuesday.", "user", day=14),
    ),
    _c(
        "para-028",
        "paraphrase",
        _S("The public API returns dates as ISO 8601 strings.", "copilot"),
        _S("Dates in public API responses use ISO-8601 format, e.g. `2026-03-01T12:00:00Z`.", "claude-code", day=1),
    ),
    _c(
        "para-029",
        "paraphrase",
        _S("Dana is the tech lead for mobile.", "codex", "mobile"),
        _S("mobile's TL is Dana.", "codex", "mobile", 4),
    ),
    _c(
        "para-030",
        "paraphrase",
        _S("The prod cluster runs Kubernetes 1.30.", "cursor", "infra"),
        _S("k8s v1.30 on the prod cluster.", "aider", "infra", 1),
    ),
    _c(
        "para-031",
        "paraphrase",
        _S("I prefer composition over inheritance.", "user"),
        _S("Favor composing objects instead of subclassing.", "user", day=20),
    ),
    _c(
        "para-032",
        "paraphrase",
        _S("Database migrations are run with Alembic.", "claude-code", "data"),
        _S("Alembic manages our DB schema migrations.", "cursor", "data", 2),
    ),
    _c(
        "para-033",
        "paraphrase",
        _S("The iOS app is written in Swift.", "copilot", "mobile"),
        _S("iOS client language: Swift.", "copilot", "mobile", 2),
    ),
    _c(
        "para-034",
        "paraphrase",
        _S("email-service sends mail through Amazon SES.", "user"),
        _S("Outgoing email from email-service is delivered via AWS SES.", "codex", day=3),
    ),
    _c(
        "para-035",
        "paraphrase",
        _S("The max upload size for media-service is 25 MB.", "claude-code"),
        _S("media-service rejects uploads larger than 25MB.", "claude-code", day=1),
    ),
    _c(
        "para-036",
        "paraphrase",
        _S("Priya is the PM for onboarding.", "user"),
        _S("Onboarding's product manager: Priya.", "aider", day=2),
    ),
    _c(
        "para-037",
        "paraphrase",
        _S("I prefer single quotes in Python.", "user"),
        _S("Use 'single quotes' for Python strings, please.", "user", day=30),
    ),
    _c(
        "para-038",
        "paraphrase",
        _S("The staging database is refreshed from prod every night.", "cursor", "infra"),
        _S("Every night, staging's DB gets a fresh copy of production.", "codex", "infra", 1),
    ),
    _c(
        "para-039",
        "paraphrase",
        _S("The admin dashboard is built with Vue 3.", "claude-code", "internal-tools"),
        _S("admin dashboard = Vue.js 3 app.", "claude-code", "internal-tools", 6),
    ),
    _c(
        "para-040",
        "paraphrase",
        _S("The GraphQL API is served by Apollo Server.", "copilot"),
        _S("Apollo serves our GraphQL API.", "cursor", day=2),
    ),
    _c(
        "para-041",
        "paraphrase",
        _S("The recommendation model is served with Triton.", "user", "ml"),
        _S("We use NVIDIA Triton Inference Server to serve the rec model.", "user", "ml", 5),
    ),
    _c(
        "para-042",
        "paraphrase",
        _S("Terraform state lives in S3.", "aider", "infra"),
        _S("The tf state backend is an S3 bucket.", "claude-code", "infra", 1),
    ),
    _c(
        "para-043",
        "paraphrase",
        _S("The analytics warehouse runs PostgreSQL 16.", "codex", "data"),
        _S("analytics-wh: postgres 16.", "codex", "data", 3),
    ),
    _c(
        "para-044",
        "paraphrase",
        _S("On-call paging uses PagerDuty.", "user", "infra"),
        _S("We get paged through PD (PagerDuty).", "cursor", "infra", 2),
    ),
    _c(
        "para-045",
        "paraphrase",
        _S("The web app is bundled with Vite.", "claude-code", "web"),
        _S("Vite bundles the web app.", "claude-code", "web", 1),
    ),
    _c(
        "para-046",
        "paraphrase",
        _S("Feature branches are prefixed with `feat/`.", "user"),
        _S("Name feature branches like `feat/<short-description>`.", "user", day=5),
    ),
    _c(
        "para-047",
        "paraphrase",
        _S("Commit messages follow Conventional Commits.", "copilot"),
        _S("Write conventional-commit style messages (`fix:`, `feat:`, `chore:`).", "user", day=1),
    ),
    _c(
        "para-048",
        "paraphrase",
        _S("The auth service signs its JWTs with RS256.", "codex"),
        _S("Tokens issued by the auth service use the RS256 algorithm.", "aider", day=2),
    ),
    _c(
        "para-049",
        "paraphrase",
        _S("The prod data lake is the S3 bucket `acme-lake-prod`.", "cursor", "data"),
        _S("`s3://acme-lake-prod` is the production data lake.", "cursor", "data", 4),
    ),
    _c(
        "para-050",
        "paraphrase",
        _S("The partner API is GraphQL.", "user"),
        _S("Partners talk to us over GraphQL.", "claude-code", day=1),
    ),
    _c(
        "para-051",
        "paraphrase",
        _S("The acme CLI is written in Go.", "copilot"),
        _S("acme-cli is a Golang binary.", "codex", day=3),
    ),
    _c(
        "para-052",
        "paraphrase",
        _S("We use LaunchDarkly for feature flags.", "user"),
        _S("Feature flags: LD (LaunchDarkly).", "user", day=2),
    ),
    _c(
        "para-053",
        "paraphrase",
        _S("Our monorepo uses Turborepo.", "cursor", "web"),
        _S("Monorepo tooling: turbo (`turbo.json` at the root).", "claude-code", "web", 1),
    ),
    _c(
        "para-054",
        "paraphrase",
        _S("The Android app's minSdk is 26.", "aider", "mobile"),
        _S("Android min API level is 26 (Android 8.0).", "aider", "mobile", 2),
    ),
    _c(
        "para-055",
        "paraphrase",
        _S("The backend uses Django 5.0.", "codex", "web"),
        _S("Django 5.0 is what the backend runs on.", "copilot", "web", 1),
    ),
    _c(
        "para-056",
        "paraphrase",
        _S("invoice-service stores amounts as integer cents.", "user", "payments"),
        _S("Money in invoice-service is kept in cents as ints, never floats.", "user", "payments", 6),
    ),
    _c(
        "para-057",
        "paraphrase",
        _S("The scheduler sweeps for due jobs every 5 minutes.", "claude-code", "platform"),
        _S("scheduler sweep interval: 300s.", "cursor", "platform", 2),
    ),
    _c(
        "para-058",
        "paraphrase",
        _S("Ken owns the analytics events schema.", "codex", "data"),
        _S("The analytics events schema belongs to Ken.", "codex", "data", 1),
    ),
    _c(
        "para-059",
        "paraphrase",
        _S("Kotlin is the language of payroll-service.", "user", "payments"),
        _S("payroll-service is written in Kotlin.", "aider", "payments", 3),
    ),
    _c(
        "para-060",
        "paraphrase",
        _S("Use ruff for linting.", "user"),
        _S("Lint with Ruff. That's the only linter we run in CI.", "user", day=5),
    ),
    _c(
        "para-061",
        "paraphrase",
        _S("The public API SLA is 99.9%.", "claude-code"),
        _S("We promise three nines of availability on the public API.", "copilot", day=2),
    ),
    _c(
        "para-062",
        "paraphrase",
        _S("The team prefers Tailwind for styling.", "user", "web"),
        _S("Style components with TailwindCSS utility classes.", "user", "web", 3),
    ),
    _c(
        "para-063",
        "paraphrase",
        _S("The frontend is written in TS.", "cursor", "web"),
        _S("Everything under `web/src` is TypeScript.", "cursor", "web", 0.5),
        _S("The web frontend's language is TypeScript.", "codex", "web", 2),
    ),
    _c(
        "para-064",
        "paraphrase",
        _S("fraud-scorer is deployed to the `risk` namespace.", "aider", "payments"),
        _S("The `risk` k8s namespace is where fraud-scorer runs.", "aider", "payments", 2),
    ),
)


_DIFFERENT_TOPICS: tuple[Case, ...] = (
    _c(
        "topic-001",
        "different_topic",
        _S("api-gateway uses Redis for caching.", "user", "infra"),
        _S("api-gateway uses Kafka for events.", "cursor", "infra", 1),
    ),
    _c(
        "topic-002",
        "different_topic",
        _S("payments-api's primary database is PostgreSQL.", "claude-code", "payments"),
        _S("payments-api caches sessions in Redis.", "codex", "payments", 2),
    ),
    _c(
        "topic-003",
        "different_topic",
        _S("Priya owns the auth service.", "user"),
        _S("The auth service's token refactor is due April 12.", "copilot", day=3),
    ),
    _c(
        "topic-004",
        "different_topic",
        _S("The data pipeline runs on Python 3.12.", "aider", "data"),
        _S("The data pipeline is linted with ruff.", "claude-code", "data", 1),
    ),
    _c(
        "topic-005",
        "different_topic",
        _S("billing depends on stripe-sdk.", "cursor"),
        _S("billing depends on requests.", "codex", day=1),
        note="a dependency list is multi-valued",
    ),
    _c(
        "topic-006",
        "different_topic",
        _S("The API client uses axios.", "claude-code", "web"),
        _S("The API client uses fetch.", "cursor", "mobile", 2),
        note="the same attribute in two different projects",
    ),
    _c(
        "topic-007",
        "different_topic",
        _S("Unit tests run with Jest.", "user", "web"),
        _S("Unit tests run with Vitest.", "codex", "docs", 1),
        note="different projects",
    ),
    _c(
        "topic-008",
        "different_topic",
        _S("ledger-service is written in Go.", "copilot", "payments"),
        _S("ledger-service is deployed to the `finance` namespace.", "aider", "payments", 3),
    ),
    _c(
        "topic-009",
        "different_topic",
        _S("The mobile app uses Redux for state.", "cursor", "mobile"),
        _S("The mobile app uses React Navigation for routing.", "claude-code", "mobile", 1),
    ),
    _c(
        "topic-010",
        "different_topic",
        _S("search-api runs on OpenSearch.", "user", "search"),
        _S("Team Falcon owns search-api.", "codex", "search", 2),
    ),
    _c(
        "topic-011",
        "different_topic",
        _S("Always use pnpm in this repo.", "user", "web"),
        _S("Always run `make lint` before pushing.", "user", "web", 4),
    ),
    _c(
        "topic-012",
        "different_topic",
        _S("notification-service listens on port 8080.", "claude-code"),
        _S("notification-service exposes Prometheus metrics on port 9100.", "cursor", day=1),
        note="two ports with different roles: serving vs metrics",
    ),
    _c(
        "topic-013",
        "different_topic",
        _S("The v2 launch is due March 3.", "user", "web"),
        _S("The v2 public beta is due February 10.", "copilot", "web", 2),
        note="two milestones, not two values of one deadline",
    ),
    _c(
        "topic-014",
        "different_topic",
        _S("I prefer tabs for indentation.", "user"),
        _S("I prefer snake_case for file names.", "user", day=5),
    ),
    _c(
        "topic-015",
        "different_topic",
        _S("The worker uses Celery.", "codex"),
        _S("The worker uses Redis as the Celery broker.", "aider", day=1),
    ),
    _c(
        "topic-016",
        "different_topic",
        _S("reporting-service is built with Java 21.", "cursor", "data"),
        _S("reporting-service builds with Gradle 8.", "claude-code", "data", 2),
    ),
    _c(
        "topic-017",
        "different_topic",
        _S("The docs site is built with Docusaurus.", "user", "docs"),
        _S("The docs site is hosted on Vercel.", "codex", "docs", 1),
    ),
    _c(
        "topic-018",
        "different_topic",
        _S("infra/terraform targets AWS.", "claude-code", "infra"),
        _S("infra/terraform is pinned to Terraform 1.7.", "copilot", "infra", 3),
    ),
    _c(
        "topic-019",
        "different_topic",
        _S("The admin dashboard is built with React.", "aider", "internal-tools"),
        _S("The admin dashboard's charts use Recharts.", "cursor", "internal-tools", 1),
    ),
    _c(
        "topic-020",
        "different_topic",
        _S("email-service sends mail via Amazon SES.", "codex"),
        _S("email-service templates are written in MJML.", "claude-code", day=2),
    ),
    _c(
        "topic-021",
        "different_topic",
        _S("Dana is the tech lead for the mobile app.", "user", "mobile"),
        _S("Dana works from Lisbon, so schedule reviews before 5pm WET.", "cursor", "mobile", 6),
    ),
    _c(
        "topic-022",
        "different_topic",
        _S("The Python SDK is MIT-licensed.", "copilot"),
        _S("The Python SDK is published to PyPI as `acme-sdk`.", "aider", day=1),
    ),
    _c(
        "topic-023",
        "different_topic",
        _S("The auth service signs its JWTs with RS256.", "claude-code"),
        _S("Access tokens from the auth service expire after 15 minutes.", "codex", day=2),
    ),
    _c(
        "topic-024",
        "different_topic",
        _S("The Android app's minSdk is 26.", "cursor", "mobile"),
        _S("The Android app's targetSdk is 34.", "claude-code", "mobile", 1),
        note="min and target SDK are different attributes",
    ),
    _c(
        "topic-025",
        "different_topic",
        _S("The iOS app's minimum version is iOS 16.", "user", "mobile"),
        _S("The iOS app is built with Xcode 15.3.", "copilot", "mobile", 2),
    ),
    _c(
        "topic-026",
        "different_topic",
        _S("Secrets are stored in HashiCorp Vault.", "codex", "infra"),
        _S("Vault's unseal keys are held by the platform team leads.", "aider", "infra", 4),
    ),
    _c(
        "topic-027",
        "different_topic",
        _S("Product cache TTL is 5 minutes.", "cursor", "web"),
        _S("Session cache TTL is 24 hours.", "claude-code", "web", 1),
        note="two different caches",
    ),
    _c(
        "topic-028",
        "different_topic",
        _S("geo-service caches lookups in Redis.", "user"),
        _S("geo-service stores geofences in PostGIS.", "codex", day=3),
    ),
    _c(
        "topic-029",
        "different_topic",
        _S("The backend uses Django 5.0.", "claude-code", "web"),
        _S("The backend runs async tasks with Celery 5.3.", "cursor", "web", 1),
    ),
    _c(
        "topic-030",
        "different_topic",
        _S("We squash-merge PRs.", "user"),
        _S("PRs need two approvals before merge.", "copilot", day=2),
    ),
    _c(
        "topic-031",
        "different_topic",
        _S("Staging lives at https://staging.acme.dev.", "aider", "web"),
        _S("Staging lives at https://staging-api.acme.dev.", "codex", "mobile", 1),
        note="different projects, each with its own staging URL",
    ),
    _c(
        "topic-032",
        "different_topic",
        _S("Our primary AWS region is us-east-1.", "cursor", "payments"),
        _S("Our primary AWS region is eu-west-1.", "claude-code", "data", 2),
        note="different projects",
    ),
    _c(
        "topic-033",
        "different_topic",
        _S("The recommendation model is served with Triton.", "user", "ml"),
        _S("The recommendation model is retrained every Sunday night.", "aider", "ml", 1),
    ),
    _c(
        "topic-034",
        "different_topic",
        _S("ledger-service depends on `shopspring/decimal`.", "codex", "payments"),
        _S("ledger-service depends on `pgx` v5.", "cursor", "payments", 2),
        _S("ledger-service depends on `zap` for logging.", "claude-code", "payments", 3),
        note="a dependency list is multi-valued",
    ),
    _c(
        "topic-035",
        "different_topic",
        _S("Team Vega owns the checkout flow.", "copilot", "web"),
        _S("The checkout flow uses Stripe Elements for card input.", "user", "web", 1),
    ),
    _c(
        "topic-036",
        "different_topic",
        _S("The web app runs on Node 20.", "claude-code", "web"),
        _S("The web app is a Next.js 14 app.", "codex", "web", 1),
    ),
    _c(
        "topic-037",
        "different_topic",
        _S("The public API SLA is 99.9%.", "user"),
        _S("The public API rate limit is 1000 requests per minute per key.", "cursor", day=2),
    ),
    _c(
        "topic-038",
        "different_topic",
        _S("order-events go through Kafka.", "aider", "payments"),
        _S("order-events are retained for 7 days.", "claude-code", "payments", 3),
    ),
    _c(
        "topic-039",
        "different_topic",
        _S("The prod cluster runs Kubernetes 1.30.", "codex", "infra"),
        _S("The prod cluster autoscaler tops out at 40 nodes.", "copilot", "infra", 1),
    ),
    _c(
        "topic-040",
        "different_topic",
        _S("I prefer single quotes in Python.", "user"),
        _S("In TypeScript I prefer double quotes.", "user", day=4),
        note="preferences for two different languages",
    ),
    _c(
        "topic-041",
        "different_topic",
        _S("Max line length is 120 for Python code.", "user"),
        _S("Max line length is 100 for TypeScript (Prettier `printWidth`).", "cursor", day=2),
        note="different languages",
    ),
    _c(
        "topic-042",
        "different_topic",
        _S("E2E tests run with Detox.", "claude-code", "mobile"),
        _S("E2E tests run with Playwright.", "codex", "web", 1),
        note="different projects",
    ),
    _c(
        "topic-043",
        "different_topic",
        _S("invoice-service stores amounts as integer cents.", "aider", "payments"),
        _S("invoice-service renders invoice PDFs with WeasyPrint.", "cursor", "payments", 5),
    ),
    _c(
        "topic-044",
        "different_topic",
        _S("The acme CLI is written in Go.", "user"),
        _S("The acme CLI is distributed through Homebrew and Scoop.", "claude-code", day=1),
    ),
    _c(
        "topic-045",
        "different_topic",
        _S("Omar leads the mobile team.", "copilot", "mobile"),
        _S("Omar also owns the release checklist in `docs/release.md`.", "user", "mobile", 2),
    ),
    _c(
        "topic-046",
        "different_topic",
        _S("user-service uses SQLAlchemy 2.0.", "codex"),
        _S("user-service uses Pydantic v2 for request models.", "cursor", day=1),
    ),
    _c(
        "topic-047",
        "different_topic",
        _S("The QA environment is at https://qa.internal.acme.com.", "claude-code"),
        _S("The QA environment's database is reset every Monday at 06:00.", "aider", day=3),
    ),
    _c(
        "topic-048",
        "different_topic",
        _S("The analytics warehouse is BigQuery.", "user", "data"),
        _S("The dbt models for the warehouse live in `analytics/dbt/`.", "codex", "data", 1),
    ),
    _c(
        "topic-049",
        "different_topic",
        _S("Feature flags are served by Unleash.", "cursor"),
        _S("Feature flag names must be kebab-case, e.g. `new-checkout-flow`.", "user", day=2),
    ),
    _c(
        "topic-050",
        "different_topic",
        _S("The marketing site is built with Astro.", "claude-code", "web"),
        _S("Jules from marketing owns the marketing site's copy.", "copilot", "web", 4),
    ),
    _c(
        "topic-051",
        "different_topic",
        _S("payroll-service is written in Kotlin.", "aider", "payments"),
        _S("payroll-service runs on a Java 21 JVM.", "codex", "payments", 1),
        note="implementation language vs runtime; Kotlin runs on the JVM",
    ),
    _c(
        "topic-052",
        "different_topic",
        _S("media-service caps uploads at 25 MB.", "cursor"),
        _S("media-service stores uploads in the `acme-media` S3 bucket.", "claude-code", day=2),
    ),
    _c(
        "topic-053",
        "different_topic",
        _S("webhook-dispatcher retries failed deliveries 5 times.", "user", "platform"),
        _S("webhook-dispatcher signs payloads with HMAC-SHA256.", "codex", "platform", 1),
    ),
    _c(
        "topic-054",
        "different_topic",
        _S("config-service reads its config from etcd.", "copilot", "platform"),
        _S("config-service is written in Rust.", "aider", "platform", 3),
    ),
    _c(
        "topic-055",
        "different_topic",
        _S("We track tickets in Linear.", "user"),
        _S("Put the ticket id in the branch name, e.g. `PLAT-1234-fix-retry`.", "user", day=1),
    ),
    _c(
        "topic-056",
        "different_topic",
        _S("billing depends on stripe-sdk 7.x.", "claude-code"),
        _S("billing depends on `pydantic>=2`.", "cursor", day=1),
        _S("billing depends on httpx for outbound calls.", "codex", day=2),
        note="a dependency list is multi-valued",
    ),
    _c(
        "topic-057",
        "different_topic",
        _S("The default Python version is 3.10 because of the CUDA wheels.", "aider", "ml"),
        _S("The default Python version is 3.12.", "claude-code", "web", 2),
        note="different projects",
    ),
    _c(
        "topic-058",
        "different_topic",
        _S("The scheduler runs in the `jobs` namespace.", "cursor", "platform"),
        _S("The scheduler sweeps for due jobs every 5 minutes.", "codex", "platform", 1),
    ),
    _c(
        "topic-059",
        "different_topic",
        _S("The auth service's database is PostgreSQL.", "user"),
        _S("The auth service's cache is Redis.", "claude-code", day=1),
        _S("The auth service publishes audit events to SQS.", "copilot", day=2),
    ),
    _c(
        "topic-060",
        "different_topic",
        _S("image-resizer runs on Cloud Run.", "codex", "platform"),
        _S("image-resizer is written in Rust and uses libvips.", "aider", "platform", 2),
    ),
    _c(
        "topic-061",
        "different_topic",
        _S("Team Falcon owns search-api.", "user", "search"),
        _S("Team Falcon's search relevance project is due May 20.", "cursor", "search", 3),
    ),
    _c(
        "topic-062",
        "different_topic",
        _S("The legacy SOAP API is deprecated.", "claude-code", "payments"),
        _S("The legacy SOAP API still serves about 4% of partner traffic.", "codex", "payments", 1),
    ),
    _c(
        "topic-063",
        "different_topic",
        _S("The design system package is `@acme/design`.", "copilot", "web"),
        _S("The design system's icons come from Lucide.", "claude-code", "web", 2),
    ),
    _c(
        "topic-064",
        "different_topic",
        _S("fraud-scorer is deployed to the `risk` namespace.", "cursor", "payments"),
        _S("fraud-scorer is owned by Lena's risk team; page them via #risk-oncall.", "user", "payments", 5),
    ),
)


_AGREEMENTS: tuple[Case, ...] = (
    _c(
        "agree-001",
        "agreement",
        _S("payments-api uses PostgreSQL.", "user", "payments"),
        _S("payments-api's database is Postgres (v15).", "cursor", "payments", 1),
        _S("Confirmed: payments-api runs on PostgreSQL 15.", "codex", "payments", 4),
    ),
    _c(
        "agree-002",
        "agreement",
        _S("ledger-service is written in Go.", "claude-code", "payments"),
        _S("ledger-service is a Go service; the entrypoint is `cmd/ledger/main.go`.", "copilot", "payments", 2),
    ),
    _c(
        "agree-003",
        "agreement",
        _S("Priya owns the auth service.", "user"),
        _S("Auth service owner: Priya. Ask her before changing token TTLs.", "claude-code", day=3),
    ),
    _c(
        "agree-004",
        "agreement",
        _S("The v2 launch is due March 3.", "cursor", "web"),
        _S("v2 launch date is March 3.", "codex", "web", 1),
        _S("Yes, March 3 for v2.", "user", "web", 2),
    ),
    _c(
        "agree-005",
        "agreement",
        _S("I prefer 4 spaces for indentation.", "user"),
        _S("The user prefers 4-space indentation.", "claude-code", day=1),
    ),
    _c(
        "agree-006",
        "agreement",
        _S("The worker uses Celery for background jobs.", "copilot"),
        _S("Celery runs the worker's background jobs, with Redis as the broker.", "cursor", day=2),
    ),
    _c(
        "agree-007",
        "agreement",
        _S("CI runs on GitHub Actions.", "user"),
        _S("CI: GitHub Actions, main workflow in `.github/workflows/ci.yml`.", "aider", day=1),
    ),
    _c(
        "agree-008",
        "agreement",
        _S("The web app runs on Node 20.", "cursor", "web", 0),
        _S("Node 20 for the web app, per `.nvmrc`.", "codex", "web", 12),
    ),
    _c(
        "agree-009",
        "agreement",
        _S("`/v1/orders` is deprecated.", "copilot", "payments"),
        _S("The v1 orders endpoint is deprecated; new code should call `/v2/orders`.", "claude-code", "payments", 1),
    ),
    _c(
        "agree-010",
        "agreement",
        _S("search-api runs on OpenSearch 2.11.", "aider", "search"),
        _S("search-api's backend is OpenSearch 2.11.", "user", "search", 3),
        _S("OpenSearch 2.11 backs search-api; the index templates are in `search/templates/`.", "cursor", "search", 5),
    ),
    _c(
        "agree-011",
        "agreement",
        _S("Always use pnpm in this repo.", "user", "web"),
        _S("This repo uses pnpm; the lockfile is `pnpm-lock.yaml`.", "copilot", "web", 2),
    ),
    _c(
        "agree-012",
        "agreement",
        _S("The data pipeline runs on Python 3.12.", "claude-code", "data"),
        _S("data pipeline: py3.12.", "codex", "data", 1),
    ),
    _c(
        "agree-013",
        "agreement",
        _S("infra/terraform targets AWS.", "cursor", "infra"),
        _S("infra/terraform deploys to AWS, account `prod-main`.", "user", "infra", 2),
    ),
    _c(
        "agree-014",
        "agreement",
        _S("The admin dashboard is built with Vue 3.", "codex", "internal-tools"),
        _S("admin dashboard: Vue 3 with Pinia.", "aider", "internal-tools", 1),
    ),
    _c(
        "agree-015",
        "agreement",
        _S("Team Vega owns the checkout flow.", "claude-code", "web"),
        _S("The checkout flow belongs to Team Vega.", "copilot", "web", 6),
    ),
    _c(
        "agree-016",
        "agreement",
        _S("The docs site is hosted on Vercel.", "user", "docs"),
        _S("docs site deploys to Vercel on every merge to main.", "cursor", "docs", 1),
    ),
    _c(
        "agree-017",
        "agreement",
        _S("We squash-merge PRs.", "copilot"),
        _S("PRs are squash-merged.", "codex", day=2),
        _S("Squash merge only, please.", "user", day=3),
    ),
    _c(
        "agree-018",
        "agreement",
        _S("order-events are published to Kafka.", "cursor", "payments"),
        _S("order-events go to the Kafka topic `orders.v1`.", "claude-code", "payments", 1),
    ),
    _c(
        "agree-019",
        "agreement",
        _S("reporting-service targets Java 21.", "aider", "data"),
        _S("reporting-service is built with JDK 21.", "codex", "data", 4),
    ),
    _c(
        "agree-020",
        "agreement",
        _S("We use LaunchDarkly for feature flags.", "user"),
        _S("Feature flags live in LaunchDarkly.", "claude-code", day=1),
    ),
    _c(
        "agree-021",
        "agreement",
        _S("Dana is the tech lead for the mobile app.", "copilot", "mobile"),
        _S("Mobile TL: Dana.", "cursor", "mobile", 2),
    ),
    _c(
        "agree-022",
        "agreement",
        _S("PRs need two approvals before merge.", "user"),
        _S("Branch protection requires 2 approving reviews.", "aider", day=3),
    ),
    _c(
        "agree-023",
        "agreement",
        _S("I prefer single quotes in Python.", "user"),
        _S("User prefers single quotes in Python code.", "cursor", day=1),
        _S("Noted: single-quoted strings in Python.", "codex", day=9),
    ),
    _c(
        "agree-024",
        "agreement",
        _S("The public API returns dates as ISO 8601 strings.", "claude-code"),
        _S("public API: dates are ISO 8601, always with a `Z` suffix.", "copilot", day=2),
    ),
    _c(
        "agree-025",
        "agreement",
        _S("webhook-dispatcher retries failed deliveries 5 times.", "codex", "platform"),
        _S("webhook-dispatcher makes up to 5 retries with exponential backoff.", "cursor", "platform", 1),
    ),
    _c(
        "agree-026",
        "agreement",
        _S("The legacy SOAP API is deprecated.", "user", "payments"),
        _S("SOAP API: deprecated, do not extend.", "claude-code", "payments", 7),
    ),
    _c(
        "agree-027",
        "agreement",
        _S("Our monorepo uses Turborepo.", "aider", "web"),
        _S("The monorepo is managed by Turborepo.", "copilot", "web", 2),
    ),
    _c(
        "agree-028",
        "agreement",
        _S("TLS is terminated at the load balancer.", "cursor", "infra"),
        _S("TLS terminates at the ALB; pods speak plain HTTP inside the VPC.", "codex", "infra", 3),
    ),
    _c(
        "agree-029",
        "agreement",
        _S("api-gateway request timeout is 60 seconds.", "claude-code", "infra"),
        _S("api-gateway times out requests after 60s.", "aider", "infra", 1),
    ),
    _c(
        "agree-030",
        "agreement",
        _S("Releases go out on Thursdays.", "user"),
        _S("We ship on Thursdays.", "cursor", day=5),
        _S("Release day: Thursday, after the 11:00 standup.", "claude-code", day=6),
    ),
    _c(
        "agree-031",
        "agreement",
        _S("The Python SDK is licensed under Apache-2.0.", "copilot"),
        _S("Python SDK license: Apache 2.0.", "codex", day=1),
    ),
    _c(
        "agree-032",
        "agreement",
        _S("The mobile app uses Zustand for state management.", "cursor", "mobile"),
        _S("mobile app state: Zustand stores in `src/state/`.", "claude-code", "mobile", 2),
    ),
    _c(
        "agree-033",
        "agreement",
        _S("The analytics warehouse runs PostgreSQL 16.", "aider", "data"),
        _S("The analytics warehouse is on Postgres 16.", "user", "data", 10),
    ),
    _c(
        "agree-034",
        "agreement",
        _S("The Android app's minSdk is 26.", "codex", "mobile"),
        _S("minSdkVersion is 26 for the Android app.", "copilot", "mobile", 1),
    ),
    _c(
        "agree-035",
        "agreement",
        _S("The staging database is never refreshed from prod.", "user", "infra"),
        _S("Staging's DB is seeded from fixtures, not copied from prod.", "cursor", "infra", 2),
    ),
    _c(
        "agree-036",
        "agreement",
        _S("The recommendation model is served with Triton.", "claude-code", "ml"),
        _S("rec model serving: Triton Inference Server, 2 replicas.", "codex", "ml", 1),
    ),
    _c(
        "agree-037",
        "agreement",
        _S("Secrets live in AWS Secrets Manager.", "aider", "infra"),
        _S("We store secrets in AWS Secrets Manager.", "copilot", "infra", 4),
    ),
    _c(
        "agree-038",
        "agreement",
        _S("Our error tracker is Sentry.", "cursor"),
        _S("Errors are reported to Sentry.", "claude-code", day=1),
        _S("Sentry project for the backend is `acme-backend`.", "codex", day=3),
    ),
    _c(
        "agree-039",
        "agreement",
        _S("The web app is bundled with Vite.", "user", "web"),
        _S("Vite is the bundler for the web app.", "aider", "web", 2),
    ),
    _c(
        "agree-040",
        "agreement",
        _S("invoice-service stores money amounts as integer cents.", "codex", "payments"),
        _S("invoice-service keeps amounts in cents (BIGINT columns).", "claude-code", "payments", 1),
    ),
    _c(
        "agree-041",
        "agreement",
        _S("geo-service caches lookups in Redis.", "copilot"),
        _S("geo-service's lookup cache is Redis with a 10-minute TTL.", "cursor", day=2),
    ),
    _c(
        "agree-042",
        "agreement",
        _S("The GraphQL API is served by Strawberry.", "aider"),
        _S("Strawberry serves the GraphQL API.", "codex", day=1),
    ),
    _c(
        "agree-043",
        "agreement",
        _S("email-service delivers mail through Amazon SES.", "user"),
        _S("email-service uses SES.", "claude-code", day=4),
    ),
    _c(
        "agree-044",
        "agreement",
        _S("We don't use Docker Compose for local dev.", "user"),
        _S("Local dev doesn't use Docker Compose; it runs on Tilt.", "copilot", day=2),
    ),
    _c(
        "agree-045",
        "agreement",
        _S("Commit messages follow Conventional Commits.", "cursor"),
        _S("Use Conventional Commits for every commit message.", "user", day=1),
    ),
    _c(
        "agree-046",
        "agreement",
        _S("The prod cluster runs Kubernetes 1.30.", "claude-code", "infra"),
        _S("prod k8s is 1.30.", "codex", "infra", 3),
        _S("prod cluster: Kubernetes 1.30 on EKS.", "aider", "infra", 8),
    ),
    _c(
        "agree-047",
        "agreement",
        _S("Ken owns the analytics events schema.", "user", "data"),
        _S("The analytics events schema is owned by Ken.", "cursor", "data", 2),
    ),
    _c(
        "agree-048",
        "agreement",
        _S("payroll-service is written in Kotlin.", "copilot", "payments"),
        _S("payroll-service: Kotlin on the JVM.", "claude-code", "payments", 1),
    ),
    _c(
        "agree-049",
        "agreement",
        _S("Terraform state lives in Terraform Cloud.", "aider", "infra"),
        _S("We keep tf state in Terraform Cloud, workspace `infra-prod`.", "user", "infra", 2),
    ),
    _c(
        "agree-050",
        "agreement",
        _S("The acme CLI is written in Go.", "cursor"),
        _S("acme CLI: Go, built with goreleaser.", "codex", day=2),
    ),
    _c(
        "agree-051",
        "agreement",
        _S("Mobile push notifications are sent with Firebase Cloud Messaging.", "claude-code", "mobile"),
        _S("Push on mobile goes through FCM.", "copilot", "mobile", 3),
    ),
    _c(
        "agree-052",
        "agreement",
        _S("The ETL jobs are orchestrated by Airflow.", "codex", "data"),
        _S("ETL orchestration: Airflow 2.9, DAGs in `etl/dags/`.", "aider", "data", 1),
        _S("Our ETL runs in Airflow.", "user", "data", 6),
    ),
)


CASES: tuple[Case, ...] = _CONTRADICTIONS + _UPDATES + _PARAPHRASES + _DIFFERENT_TOPICS + _AGREEMENTS

_ids = [case.id for case in CASES]
assert len(_ids) == len(set(_ids)), sorted(i for i, n in Counter(_ids).items() if n > 1)
for _case in CASES:
    assert 2 <= len(_case.statements) <= 4, _case.id
    assert _case.kind in KINDS, _case.id
    assert all(a.day <= b.day for a, b in zip(_case.statements, _case.statements[1:], strict=False)), _case.id
del _ids, _case


if __name__ == "__main__":
    counts = Counter(case.kind for case in CASES)
    for kind in KINDS:
        print(f"{kind:16} {counts[kind]}")
    print(f"{'total':16} {len(CASES)}")
