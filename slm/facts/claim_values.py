"""What claim attributes and values are, and the canonical forms that make paraphrases meet: the categories of
single-valued technologies, the named attributes, and one spelling for each subject ("the billing-service"),
value ("PostgreSQL 15", "py3.12"), attribute phrase ("db"), deadline, duration and size. Rules, extraction and
alignment all compare claims through these forms.
"""

from __future__ import annotations

import re
from datetime import datetime
from functools import cache

from slm import time_expressions
from slm.graph import entities

# --- what values are: categories of single-valued "uses" ------------------------------------------------------------

# A technology in one of these categories is the one a thing uses of its kind: "X uses MySQL" and "X uses
# PostgreSQL" disagree, "X uses Redis" and "X uses PostgreSQL" do not. Names go through the gazetteer.
CATEGORIES = {
    "database": "PostgreSQL|MySQL|MariaDB|SQLite|MongoDB|DynamoDB|CockroachDB|Cassandra|Oracle|SQL Server|Firestore|"
    "Couchbase|Neo4j|ClickHouse|Supabase|PlanetScale",
    "cache": "Redis|Memcached|Valkey",
    "message broker": "Kafka|RabbitMQ|NATS|Pulsar|Amazon SQS|SQS|Kinesis|ActiveMQ",
    "language": "Python|JavaScript|TypeScript|Go|Golang|Rust|Java|Kotlin|Ruby|PHP|Swift|Elixir|Scala|C#|C++|Haskell|"
    "Dart",
    "runtime": "Node.js|Deno|Bun",
    "web framework": "Django|Flask|FastAPI|Express|Rails|Spring|Spring Boot|NestJS|Laravel|Phoenix|Gin|Echo",
    "frontend framework": "React|Vue|Angular|Svelte|SolidJS|Next.js|Nuxt|Remix|SvelteKit|Astro",
    "bundler": "Vite|webpack|esbuild|Rollup|Parcel|Turbopack",
    "package manager": "npm|pnpm|Yarn|pip|Poetry|uv|Pipenv|Conda|Cargo|Maven|Gradle",
    "cloud": "AWS|GCP|Azure|Vercel|Netlify|Heroku|Fly.io|Render|Cloudflare|DigitalOcean|Hetzner",
    "orchestrator": "Kubernetes|Nomad|Docker Swarm|ECS|Docker Compose",
    "ci": "Jenkins|CircleCI|Buildkite|GitHub Actions|GitLab CI|Travis CI|Drone",
    "test framework": "pytest|unittest|Jest|Vitest|Mocha|JUnit|RSpec|Playwright|Cypress",
    "linter": "Ruff|Flake8|Pylint|ESLint|Biome",
    "formatter": "Black|Prettier|dprint",
    "orm": "SQLAlchemy|Prisma|TypeORM|Drizzle|Django ORM|Sequelize|Hibernate",
    "infrastructure as code": "Terraform|Pulumi|CloudFormation|OpenTofu|CDK",
    "indentation": "tabs|spaces",
    "quotes": "single quotes|double quotes",
    "auth provider": "Auth0|Okta|Keycloak|Cognito|Clerk|Firebase Auth",
}  # fmt: skip

# Attributes named in the text ("its port is", "the owner of X is") that hold one value, with their spellings.
NAMED_ATTRIBUTES = {
    "database": "database|db|primary database|main database|datastore|data store",
    "cache": "cache|caching layer",
    "language": "language|programming language",
    "owner": "owner|maintainer|tech lead|lead|point of contact|dri",
    "deadline": "deadline|due date|release date|launch date|ship date|cutoff|code freeze",
    "port": "port|http port|default port",
    "region": "region|aws region|default region|gcp region|azure region",
    "lifetime": "ttl|lifetime|expiry|expiration|session length|session lifetime",
    "timeout": "timeout|request timeout|default timeout",
    "status": "status",
    "version": "version",
    "branch": "default branch|main branch|release branch",
    "package manager": "package manager",
    "cloud": "cloud|cloud provider|hosting|host",
    "ci": "ci|ci system|ci provider",
    "test framework": "test framework|test runner",
    "indentation": "indentation|indent style",
    "node version": "node version",
    "python version": "python version",
    "retry limit": "retry limit|max retries|retries",
    "on call": "on-call|on call|oncall",
    "product owner": "product owner|product manager|pm",
}


@cache
def category_of() -> dict[str, str]:
    table = {}
    for category, names in CATEGORIES.items():
        for name in names.split("|"):
            table[_technology(name)] = category
    return table


@cache
def attribute_of() -> dict[str, str]:
    """Spelling -> attribute name, for the named attributes and the categories."""
    named = {spelling: name for name, spellings in NAMED_ATTRIBUTES.items() for spelling in spellings.split("|")}
    return {category: category for category in CATEGORIES} | named


@cache
def attribute_names() -> frozenset[str]:
    return frozenset(attribute_of().values())


# --- canonical forms -------------------------------------------------------------------------------------------------

DETERMINERS = re.compile(r"^(?:the|our|my|your|their|this|that|its|a|an)\s+", re.IGNORECASE)
_GENERIC_ENDS = re.compile(
    r"[\s_-]+(?:service|svc|repo|repository|project|codebase|module|package|app|backend|entries|items|records)$"
)
_PEOPLE_WE = {"we": "project", "the team": "project", "our team": "project", "us": "project"}
_PEOPLE_I = {"i", "me", "the user", "user", "my"}
_THE_PROJECT = {"our", "the", "this", "repo", "project", "codebase", "this repo", "the repo", "this project",
                "the project", "our repo", "the codebase", "this codebase"}  # fmt: skip
# spellings of one value: "4-space indentation" and "spaces" are one choice
_VALUE_ALIASES = ((re.compile(r"^(?:\d+[- ]?spaces?|spaces?)\b.*"), "spaces"), (re.compile(r"^tabs?\b.*"), "tabs"))
_VERSION = re.compile(r"^(?P<name>.*?[^\s\d.v])\s+v?(?P<version>\d+(?:\.(?:\d+|x))*)(?:\.x)?$", re.IGNORECASE)
_COMPACT_VERSION = re.compile(
    r"^(?P<name>py|python|node|pg|php|java|go|ruby)-?v?(?P<version>\d+(?:\.\d+)*)$", re.IGNORECASE
)
_COMPACT_NAMES = {"py": "python", "node": "node.js", "pg": "postgresql", "java": "java", "php": "php"}


def subject_key(text: str) -> str:
    """'The billing-service', 'billing service', '`Billing`' -> 'billing'; 'I' -> 'user'; 'we' -> 'team'."""
    words = clean(text)
    lowered = words.lower()
    if lowered in _PEOPLE_I:
        return "user"
    if lowered in _PEOPLE_WE:
        return _PEOPLE_WE[lowered]
    if lowered in _THE_PROJECT:
        return "project"
    entity = entities.canonical(words)
    if entity is not None:
        return entity.key
    lowered = DETERMINERS.sub("", lowered)
    lowered = re.sub(r"[\s_-]+", " ", lowered).strip()
    shorter = _GENERIC_ENDS.sub("", lowered).strip()
    return shorter or lowered


def _technology(name: str) -> str:
    cleaned = clean(name)
    entity = entities.canonical(cleaned)
    return entity.key if entity is not None else cleaned.lower()


def value_parts(text: str) -> tuple[str, str | None]:
    """A value's canonical name and its version, if it carries one: 'PostgreSQL 15' -> ('postgresql', '15'),
    'py3.12' -> ('python', '3.12'), 'Node 20.x' -> ('node.js', '20'), 'Priya' -> ('person:priya', None)."""
    words = DETERMINERS.sub("", clean(text))
    for alias, value in _VALUE_ALIASES:
        if alias.match(words.lower()):
            return value, None
    if entities.canonical(words) is not None:
        return _technology(words), None
    for pattern, names in ((_VERSION, {}), (_COMPACT_VERSION, _COMPACT_NAMES)):
        match = pattern.match(words)
        if match:
            name = match["name"].strip(" -")
            key = names.get(name.lower()) or _technology(name)
            if key in category_of() or entities.canonical(name) is not None or names:
                return key, re.sub(r"\.x$", "", match["version"].lower())
    return _technology(words), None


_MARKS = re.compile(r"[`\"“”*]")
_POSSESSIVE = re.compile(r"'s$")
_SPACES = re.compile(r"\s+")


def clean(text: str) -> str:
    text = _POSSESSIVE.sub("", _MARKS.sub("", text).strip())
    return _SPACES.sub(" ", text).strip(" .,:;!?'’-")


def attribute_name(phrase: str) -> str:
    """A named attribute's canonical name ("db" -> database), else the phrase's stems: "error tracker" and
    "error tracking", "is stored in" and "stores ... in", "min iOS" and "minimum iOS version" meet."""
    phrase = DETERMINERS.sub("", re.sub(r"\s+", " ", phrase.lower().strip()))
    if phrase in attribute_of():
        return attribute_of()[phrase]
    for size in (3, 2, 1):  # "primary aws region" -> region, "public http port" -> port
        tail = " ".join(phrase.split()[-size:])
        if len(phrase.split()) > size and tail in attribute_of():
            return attribute_of()[tail]
    words = [_SHORT.get(w, w) for w in re.sub(r"(?<=\w)version\b", "", phrase).split()]
    return " ".join(stem(w) for w in words if w not in _FILLER) or phrase


_SHORT = {"min": "minimum", "max": "maximum", "db": "database", "repo": "repository", "env": "environment"}
_FILLER = {"the", "its", "their", "our", "version", "supported", "all", "every", "primary", "main", "default"}


def stem(word: str) -> str:
    """A crude suffix strip, enough for a verb and its participle or a noun and its -er/-ing forms to meet."""
    for suffix in ("ings", "ing", "ers", "er", "ed", "es", "s", "e"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            return word[:-1] if len(word) > 3 and word[-1] == word[-2] and word[-1] not in "aeiouls" else word
    return word


def date_value(raw: str, now: datetime | None) -> str | None:
    """A deadline's day as an ISO date; with no year, the first such day on or after `now`. None if not a date."""
    text = clean(raw).lower()
    match = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", text)
    if match:
        return text
    match = re.fullmatch(r"([a-z]+)\.?\s+(\d{1,2})(?:st|nd|rd|th)?(?:,?\s+(\d{4}))?", text) or re.fullmatch(
        r"(\d{1,2})(?:st|nd|rd|th)?\s+([a-z]+)\.?(?:,?\s+(\d{4}))?", text
    )
    if match is None:
        return None
    month_word, day = (match[1], match[2]) if not match[1].isdigit() else (match[2], match[1])
    month = time_expressions.MONTHS.get(month_word)
    if month is None:
        return None
    if match[3]:
        year = int(match[3])
    else:
        now = now or datetime.now()
        year = now.year + ((month, int(day)) < (now.month, now.day))
    try:
        return datetime(year, month, int(day)).date().isoformat()
    except ValueError:
        return None


_DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*(ms|milliseconds?|s|secs?|seconds?|m|mins?|minutes?|h|hrs?|hours?|d|days?"
                       r"|w|weeks?)$")  # fmt: skip
_SECONDS = {"ms": 0.001, "m": 60, "min": 60, "h": 3600, "hr": 3600, "hour": 3600, "d": 86400, "day": 86400}
_SECONDS |= {"w": 604800, "week": 604800, "s": 1, "sec": 1, "second": 1, "millisecond": 0.001, "minute": 60}
_SIZE = re.compile(r"^(\d+(?:\.\d+)?)\s*(b|kb|mb|gb|tb|kib|mib|gib|tib)$")
_BYTES = {"b": 1, "kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12, "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}


def slot_value(text: str) -> str:
    """A value's canonical form: durations in seconds, sizes in bytes, else as `value_parts` (with its version)."""
    text = text.strip(" .,;:!'’`\"")
    for pattern, units, unit in ((_DURATION, _SECONDS, "s"), (_SIZE, _BYTES, "B")):
        match = pattern.match(text)
        if match:
            name = match[2].rstrip("s") if match[2] not in ("s", "ms") else match[2]
            factor = units.get(name, units.get(match[2], 1))
            return f"{float(match[1]) * factor:g} {unit}"
    name, version = value_parts(text)
    return f"{name} {version}" if version else name
