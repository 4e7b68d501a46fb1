"""Claims in a memory, found by rules, without a model: (subject, attribute, value, polarity, time).

"api-gateway uses PostgreSQL 15" gives (api gateway, database, postgresql) and (api gateway, postgresql version,
15); "we moved api-gateway to MySQL in May" gives (api gateway, database, mysql), a change dated May. The rules
are one table (`RULES`); canonical forms make paraphrases meet, and an attribute is single-valued or not, which
decides what disagrees (docs/ARCHITECTURE.md, "Claims and contradictions"). Text that matches no rule gives no
claims; nothing here raises on odd text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime
from functools import cache

from slm import time_expressions
from slm.graph import entities

MAX_CLAIMS = 32  # per memory: a pasted document is not a list of facts to check against each other


@dataclass(frozen=True)
class Claim:
    subject: str
    attribute: str
    value: str
    polarity: int = 1  # -1: the text denies it ("does not use", "no longer uses", "is not deprecated")
    single: bool = True  # the attribute holds one value at a time
    change: bool = False  # the text says it changed ("moved to", "now", "no longer") or dates it ("in May")
    when: datetime | None = None  # the time the text gives for it, if any
    rule: str = ""  # the name of the rule in RULES that found it

    @property
    def key(self) -> tuple[str, str]:
        return self.subject, self.attribute


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
def _category_of() -> dict[str, str]:
    table = {}
    for category, names in CATEGORIES.items():
        for name in names.split("|"):
            table[_technology(name)] = category
    return table


@cache
def _attribute_of() -> dict[str, str]:
    """Spelling -> attribute name, for the named attributes and the categories."""
    named = {spelling: name for name, spellings in NAMED_ATTRIBUTES.items() for spelling in spellings.split("|")}
    return {category: category for category in CATEGORIES} | named


@cache
def _attribute_names() -> frozenset[str]:
    return frozenset(_attribute_of().values())


# --- canonical forms -------------------------------------------------------------------------------------------------

_DETERMINERS = re.compile(r"^(?:the|our|my|your|their|this|that|its|a|an)\s+", re.IGNORECASE)
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
    words = _clean(text)
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
    lowered = _DETERMINERS.sub("", lowered)
    lowered = re.sub(r"[\s_-]+", " ", lowered).strip()
    shorter = _GENERIC_ENDS.sub("", lowered).strip()
    return shorter or lowered


def _technology(name: str) -> str:
    entity = entities.canonical(_clean(name))
    return entity.key if entity is not None else _clean(name).lower()


def value_parts(text: str) -> tuple[str, str | None]:
    """A value's canonical name and its version, if it carries one: 'PostgreSQL 15' -> ('postgresql', '15'),
    'py3.12' -> ('python', '3.12'), 'Node 20.x' -> ('node.js', '20'), 'Priya' -> ('person:priya', None)."""
    words = _DETERMINERS.sub("", _clean(text))
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
            if key in _category_of() or entities.canonical(name) is not None or names:
                return key, re.sub(r"\.x$", "", match["version"].lower())
    return _technology(words), None


def _clean(text: str) -> str:
    text = re.sub(r"[`\"“”*]", "", text).strip()
    text = re.sub(r"'s$", "", text)
    return re.sub(r"\s+", " ", text).strip(" .,:;!?'’-")


# --- the rule table ---------------------------------------------------------------------------------------------------

_SUBJ = r"(?P<subj>[`'\"\w@./+#-]+(?:\s+[`'\"\w@./+#-]+){0,3}?)"
_VAL = r"(?P<val>[`'\"\w@./+#-]+(?:\s+[`'\"\w@./+#-]+){0,3}?)"
_OLD = _VAL.replace("val", "old")
_NEW = _VAL.replace("val", "new")
_STOP = (
    r"(?=\s*(?:[,;:()!?]|\.(?:\s|$)|$|\s(?:for|as|in|since|because|with|via|from|to|instead|over|and|but|which|that"
    r"|so|when|until|on|at|by|now|anymore|any\s+more|too|also|again|today|going|after|before|starting|if|unless"
    r"|rather|than|across|everywhere|here|there|locally|internally|behind|last|next|this|yesterday|earlier"
    r"|later|soon|ago)\b|\s\d+\s+(?:days?|weeks?|months?|years?)\s+ago\b))"
)
_LEAD = r"^(?:(?:so|also|now|currently|today|btw|note|fyi|update|heads up|remember|reminder)\b[,:]?\s*)?"
_DATE = (
    r"(?:\d{4}-\d{2}(?:-\d{2})?|(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
    r"(?:\s+\d{1,2}(?:st|nd|rd|th)?)?(?:,?\s+\d{4})?|\d{4}|last\s+(?:week|month|year|quarter|sprint)"
    r"|yesterday|today|\d+\s+(?:days|weeks|months)\s+ago)"
)
_TIME_LEAD = r"(?:(?:(?:in|since|as\s+of|starting|from|on)\s+)?" + _DATE + r"\s*,?\s+)?"
_NOT = r"(?:does\s+not|doesn't|do\s+not|don't|did\s+not|didn't|never|is\s+not|isn't|are\s+not|aren't)"
_NO_LONGER = r"(?:no\s+longer|not\s+anymore)"
_USE = (
    r"(?:uses|use|is\s+using|are\s+using|runs\s+on|run\s+on|is\s+running\s+on|runs"
    r"|used|ran\s+on|was\s+using|was\s+on|relied\s+on|was\s+backed\s+by|was\s+hosted\s+on|relies\s+on|is\s+backed\s+by|stores\s+(?:its\s+)?data\s+in|is\s+deployed\s+(?:to|on)|is\s+hosted\s+on"
    r"|targets|is\s+on|are\s+on|is\s+pinned\s+to|requires)"
)
_USE_BARE = r"(?:use|run\s+on|run|rely\s+on|depend\s+on|store\s+(?:its\s+)?data\s+in|target|need|require)"
_MOVERS = r"\b(?:we|i|they|(?:the\s+|our\s+)?[\w-]+(?:\s+[\w-]+)?\s+team)"  # "we moved X to Y", "the web team ..."
_ADVERB = r"(?:(?:primarily|mainly|mostly|usually|currently|typically|only|still|also|always)\s+)?"
_USE_ANY = r"(?:" + _USE_BARE + r"s?|depends\s+on|runs\s+on|relies\s+on|stores\s+(?:its\s+)?data\s+in)"
_CHANGE_VERB = r"(?:moved|migrated|switched|changed|upgraded|downgraded|ported|went|transitioned)"
_PHRASE = r"(?P<attr>[a-z][a-z0-9 -]{1,30}?)"  # any attribute phrase: "logging library", "primary store"


def _known_attributes() -> str:
    spellings = {spelling for spellings in NAMED_ATTRIBUTES.values() for spelling in spellings.split("|")}
    spellings |= set(CATEGORIES)
    words = sorted((re.escape(s).replace(r"\ ", r"\s+") for s in spellings), key=len, reverse=True)
    return r"(?P<attr>" + "|".join(words) + r")"


_KNOWN = _known_attributes()  # "port", "default branch", "package manager", "runtime", ...


_USE_RULES = {"uses", "uses for", "now uses", "no longer uses", "not ... anymore", "does not use", "we use for",
              "we don't use for", "always use", "moved from", "we moved", "moved to", "replaced"}  # fmt: skip


@dataclass(frozen=True)
class Rule:
    name: str
    pattern: str  # groups: subj, val (or old/new), attr, person
    attribute: str  # "by value": from the value's category; else the attribute's name; "named": from group attr
    polarity: int = 1
    change: bool = False
    anchored: bool = True  # the subject starts the clause


RULES: tuple[Rule, ...] = (
    # changes: "X moved from A to B", "we migrated X to B", "X now uses B", "X no longer uses A"
    Rule("moved from", _SUBJ + r"\s+(?:has\s+|have\s+)?" + _CHANGE_VERB + r"\s+(?:over\s+)?from\s+" + _OLD
         + r"\s+to\s+" + _NEW + _STOP, "by value", change=True),
    Rule("we moved", _MOVERS + r"(?:'ve|\s+have)?\s+(?:moved|migrated|switched|ported|upgraded)"
         r"\s+" + _SUBJ + r"\s+(?:over\s+)?(?:from\s+" + _OLD + r"\s+)?to\s+" + _NEW + _STOP, "by value",
         change=True, anchored=False),
    Rule("replaced", r"\b(?:we\s+)?replaced\s+" + _OLD + r"\s+with\s+" + _NEW + r"\s+in\s+" + _SUBJ + _STOP,
         "by value", change=True, anchored=False),
    Rule("moved to", _SUBJ + r"\s+(?:has\s+|have\s+)?" + _CHANGE_VERB + r"\s+(?:over\s+)?to\s+" + _NEW + _STOP,
         "by value", change=True),
    Rule("now uses", _SUBJ + r"\s+(?:now\s+" + _USE + r"|" + _USE + r"\s+now)\s+" + _VAL + _STOP, "by value",
         change=True),
    Rule("no longer uses", _SUBJ + r"\s+" + _NO_LONGER + r"\s+" + _USE_ANY + r"\s+" + _VAL + _STOP, "by value",
         polarity=-1, change=True),
    Rule("not ... anymore", _SUBJ + r"\s+" + _NOT + r"\s+" + _USE_BARE + r"\s+" + _VAL
         + r"\s+(?:anymore|any\s+more)\b", "by value", polarity=-1, change=True),
    # uses, negated or not; "we use X for Y" is about Y
    Rule("we don't use for", r"^(?:we|i)\s+(?:don't|do\s+not|never)\s+use\s+" + _VAL + r"\s+(?:for|in|on)\s+" + _SUBJ
         + _STOP, "by value", polarity=-1),
    Rule("we use for", r"^(?:we|i)\s+(?:use|run|are\s+on|deploy\s+(?:to|on))\s+" + _VAL + r"\s+(?:for|in|on)\s+"
         + _SUBJ + _STOP, "by value"),
    Rule("lasts", _SUBJ + r"\s+(?:lasts?|expires?(?:\s+after)?|times?\s+out\s+after|(?:is|are)\s+cached\s+for"
         r"|(?:is|are)\s+kept\s+for|(?:is|are)\s+valid\s+for)\s+(?:for\s+)?(?P<val>\d+(?:\.\d+)?\s*[a-z]+)\b",
         "lifetime"),
    Rule("does not use", _SUBJ + r"\s+" + _NOT + r"\s+" + _USE_BARE + r"\s+" + _VAL + _STOP, "by value", polarity=-1),
    Rule("is written in", _SUBJ + r"\s+(?:is|are)\s+(?:written|implemented|coded)\s+in\s+" + _VAL + _STOP,
         "language"),
    Rule("depends on", _SUBJ + r"\s+(?:depends|depend)\s+on\s+" + _VAL + _STOP, "depends on"),
    Rule("always use", r"^(?:always|please\s+always|please)\s+use\s+" + _VAL + _STOP, "by value", anchored=False),
    Rule("supports from", _SUBJ + r"\s+(?:supports|requires|needs|targets)\s+(?P<val>[\w.-]+\s*v?\d+(?:\.\d+)*)\s*"
         r"(?:\+|and\s+(?:up|newer|above|later)|or\s+(?:newer|later|above|higher))", "minimum"),
    Rule("uses for", _SUBJ + r"\s+" + _USE + r"\s+" + _VAL + r"\s+(?:for|as)\s+(?:its\s+|the\s+|our\s+|a\s+)?"
         + _PHRASE + _STOP, "phrase"),
    Rule("runs in", _SUBJ + r"\s+(?:runs|is\s+deployed|is\s+hosted|lives|is)\s+" + _ADVERB
         + r"in\s+(?P<val>[a-z]{2}(?:-[a-z]+)+-?\d)\b", "region"),  # AWS / GCP region names
    Rule("uses", _SUBJ + r"\s+" + _USE + r"\s+" + _ADVERB + _VAL + _STOP, "by value"),
    # preferences
    Rule("prefers over", _SUBJ + r"\s+(?:prefers?|likes?|wants?|favou?rs?)\s+" + _VAL + r"\s+(?:over|to|rather\s+than"
         r"|instead\s+of)\s+" + _OLD + _STOP, "prefers"),
    Rule("prefers", _SUBJ + r"\s+(?:prefers?|likes?|wants?)\s+" + _VAL + _STOP, "prefers"),
    # status
    Rule("no longer deprecated", _SUBJ + r"\s+is\s+" + _NO_LONGER + r"\s+(?P<val>deprecated)\b", "status",
         polarity=-1, change=True),
    Rule("not deprecated", _SUBJ + r"\s+(?:is\s+not|isn't)\s+(?P<val>deprecated)\b", "status", polarity=-1),
    Rule("deprecated now", _SUBJ + r"\s+(?:is\s+now|are\s+now|ha(?:s|ve)\s+(?:now\s+)?been|was(?:\s+just)?"
         r"|were(?:\s+just)?|got)\s+"
         r"(?P<val>deprecated|archived|sunset|retired|decommissioned)\b", "status", change=True),
    Rule("deprecated", _SUBJ + r"\s+(?:is|are)\s+(?P<val>deprecated|archived|sunset|retired|end-of-life|frozen"
         r"|decommissioned)\b", "status"),
    # owners
    Rule("handed over", _SUBJ + r"\s+(?:was|has\s+been|got)\s+(?:handed|passed|transferred)\s+(?:over\s+)?to\s+"
         + _VAL + _STOP, "owner", change=True),
    Rule("owned by", _SUBJ + r"\s+(?:is|are)\s+(?:now\s+)?(?:owned|maintained|run)\s+by\s+" + _VAL + _STOP, "owner"),
    Rule("owns", r"^(?P<val>[A-Z][\w-]*(?:\s+[A-Z][\w-]*)?|the\s+[\w -]+?\s+team)\s+(?:now\s+)?(?:owns|maintains)\s+"
         + _SUBJ + _STOP, "owner"),
    Rule("is the owner of", r"^(?P<val>[A-Z][\w-]*(?:\s+[A-Z][\w-]*)?)\s+is\s+(?:now\s+)?(?:the\s+)?"
         r"(?P<attr>owner|maintainer|tech\s+lead|dri|product\s+owner|product\s+manager|pm|point\s+of\s+contact)"
         r"\s+(?:of|for|on)\s+" + _SUBJ + _STOP, "named"),
    Rule("belongs to", _SUBJ + r"\s+belongs\s+to\s+" + _VAL + _STOP, "owner"),
    # deadlines
    Rule("due", _SUBJ + r"\s+(?:is|are)\s+(?:now\s+)?(?:due|scheduled)\s+(?:on|by|for)?\s*" + _VAL + _STOP,
         "deadline"),
    Rule("ships on", _SUBJ + r"\s+(?:ships|launches|goes\s+live|releases)\s+(?:on|by|in)\s+" + _VAL + _STOP,
         "deadline"),
    Rule("pushed to", r"(?:the\s+)?(?:deadline|due\s+date|launch|release)\s+(?:for|of)\s+" + _SUBJ
         + r"\s+(?:was|has\s+been|got)\s+(?:moved|pushed|pulled|changed|slipped)\s+(?:back\s+|up\s+)?to\s+" + _VAL
         + _STOP, "deadline", change=True),
    # ports
    Rule("listens on", _SUBJ + r"\s+(?:listens|runs|is\s+served|serves|is\s+exposed)\s+on\s+port\s+"
         r"(?P<val>\d{2,5})\b", "port"),
    # named attributes: "the owner of X is Y", "X's database is Y", "X port is 8080", "deadline for X is Friday"
    Rule("the attr of", r"^(?:the\s+)?" + _PHRASE + r"\s+(?:of|for)\s+" + _SUBJ + r"\s+(?:is|are)\s+(?:now\s+)?"
         + _VAL + _STOP, "phrase"),
    Rule("x's attr is", _SUBJ + r"(?:'s|’s)\s+" + _PHRASE + r"\s+(?:is|are)\s+(?:now\s+)?" + _VAL + _STOP,
         "phrase"),
    Rule("x attr is", _SUBJ + r"\s+" + _KNOWN + r"\s+(?:is|are)\s+(?:now\s+)?" + _VAL + _STOP, "named"),
    Rule("x attr: value", r"^(?P<subj>[`'\"\w@./+#-]+(?:\s+[`'\"\w@./+#-]+){0,3}?)?\s*" + _KNOWN + r"\s*[:=]\s+" + _VAL
         + _STOP, "named"),
    Rule("is done with", _SUBJ + r"\s+(?:is|are)\s+(?:now\s+)?(?P<attr>[a-z]+ed|run|built|done|made|kept|sent"
         r"|written|held|set)\s+(?:with|by|via|through|using|to|at|in|on|from|under|as)\s+(?:the\s+)?" + _VAL + _STOP,
         "phrase"),
    Rule("does with", _SUBJ + r"\s+(?P<attr>(?!is\b|are\b|was\b|has\b)[a-z]+s(?:\s+(?!the\b)[a-z]+){0,2}?)\s+"
         r"(?:with|via|through|using|over|at|in|to)\s+(?:the\s+|a\s+|an\s+)?" + _VAL + _STOP, "phrase"),
    # "X is Y" last: the least specific shape
    Rule("is not", _SUBJ + r"\s+(?:is\s+not|isn't)\s+(?:a\s+|an\s+)?" + _VAL + _STOP, "is", polarity=-1),
    Rule("is", _SUBJ + r"\s+is\s+(?:a\s+|an\s+)?" + _VAL + _STOP, "is"),
)  # fmt: skip

_QUESTION = re.compile(
    r"\?\s*$|^(?:does|do|did|should|could|would|can|is|are|was|were|who|what|which|why|how|when|where)\b",
    re.IGNORECASE,
)
_MORE_VALUES = re.compile(r"\s*(?:,\s*(?:and\s+)?|\s+and\s+|\s*&\s*)" + _VAL + _STOP, re.IGNORECASE)
_CHANGE_WORDS = re.compile(r"\b(?:now|since|as\s+of|starting|from\s+now\s+on|no\s+longer|anymore|switched|moved"
                           r"|migrated|upgraded|downgraded|replaced|changed)\b", re.IGNORECASE)  # fmt: skip
_TIME_WORDS = re.compile(r"(?:\b(?:in|since|as\s+of|on|starting|from)\s+)?\b(" + _DATE + r")\b", re.IGNORECASE)
_SENTENCE = re.compile(r"(?<=[.!?;])\s+|\n+|\s+(?:but|whereas|while)\s+")
_NOT_SUBJECTS = {"always", "never", "please",
                 "it", "this", "that", "there", "which", "what", "who", "he", "she", "they", "you", "here", "one",
                 "everything", "nothing", "something", "everyone", "nobody", "all", "each", "both", "none"}  # fmt: skip
_NOT_VALUES = {"it", "this", "that", "them", "something", "anything", "nothing", "everything", "one", "fine", "ok",
               "okay", "good", "bad", "great", "true", "false", "done", "here", "there", "not", "also", "still",
               "now", "only", "just", "very", "really", "so", "too", "the", "a", "an", "no", "being", "used",
               "going", "supposed", "able", "never"}  # fmt: skip


@cache
def _compiled() -> tuple[tuple[Rule, re.Pattern[str]], ...]:
    return tuple((rule, re.compile((_LEAD + _TIME_LEAD if rule.anchored else "") + rule.pattern, re.IGNORECASE))
                 for rule in RULES)  # fmt: skip


def extract(text: str, now: datetime | None = None) -> list[Claim]:
    """The claims of a memory, at most MAX_CLAIMS; `now` resolves relative times ("in May")."""
    if not isinstance(text, str) or not text.strip():
        return []
    prose = re.sub(r"```.*?(?:```|$)", " ", text[:20_000], flags=re.DOTALL)  # code is not a statement of fact
    prose = re.sub(r"[ \t]+", " ", prose)
    found: list[Claim] = []
    seen: set[tuple] = set()
    for sentence in _SENTENCE.split(prose):
        for claim in _listed(_sentence_claims(sentence.strip(), now)):
            identity = (claim.subject, claim.attribute, claim.value, claim.polarity)
            if identity not in seen:
                seen.add(identity)
                found.append(claim)
            if len(found) >= MAX_CLAIMS:
                return found
    return found


def _listed(claims: list[Claim]) -> list[Claim]:
    """Several values of one attribute in one sentence ("written in Kotlin and Swift") are a set, not a choice."""
    keys = [c.key for c in claims if c.polarity > 0]
    return [replace(c, single=False) if keys.count(c.key) > 1 else c for c in claims]


def _sentence_claims(sentence: str, now: datetime | None) -> list[Claim]:
    if len(sentence) < 5 or _QUESTION.search(sentence):
        return []
    for rule, pattern in _compiled():
        match = pattern.search(sentence)
        if match is None:
            continue
        claims = _claims_of(rule, match, sentence, now)
        if claims:
            return claims
    return []


def _claims_of(rule: Rule, match: re.Match[str], sentence: str, now: datetime | None) -> list[Claim]:
    groups = match.groupdict()
    subject = subject_key(groups["subj"]) if groups.get("subj") else "project"
    if not subject or subject in _NOT_SUBJECTS or len(subject) > 60:
        return []
    attribute = rule.attribute
    spoken = _DETERMINERS.sub("", _clean(groups.get("subj") or "").lower())
    if attribute in ("named", "phrase"):
        attribute = _attribute_name(groups["attr"])
    elif spoken in _attribute_of() and attribute in ("by value", "is"):  # "CI runs on X", "the cache is Y"
        subject, attribute = "project", _attribute_of()[spoken]
    change = rule.change or bool(_CHANGE_WORDS.search(sentence))
    when = None if attribute == "deadline" else _time_in(sentence, now)
    change = change or when is not None  # a dated statement tells when it became so
    claims = []
    for raw in _values(groups["val"] if groups.get("val") else groups["new"], sentence[match.end() :]):
        claims += _value_claims(rule.name, subject, attribute, raw, (rule.polarity, change, when), now)
    purpose = _clean(groups.get("subj") or "").lower()
    if rule.name == "we use for" and claims and claims[0].polarity > 0 and _is_activity(purpose):
        purpose = _attribute_name(purpose)  # "we use Rollbar for error tracking": the team's error tracker
        claims.append(replace(claims[0], subject="project", attribute=purpose, single=True))
    if rule.name == "is" and re.match(r"(?:our|the\s+team's)\s", groups["subj"].strip(), re.IGNORECASE) and claims:
        claims = [replace(claims[0], subject="project", attribute=_attribute_name(spoken), single=True)]
    if rule.name == "prefers over" and claims:
        claims = [_preference(claims[0], groups["old"])]
    elif groups.get("old") and claims:  # "from A to B": A no longer holds (unless only its version changed)
        claims += [replace(c, polarity=-1, change=True) for c in _value_claims(
            rule.name, subject, claims[0].attribute if claims[0].single else rule.attribute, groups["old"],
            (-1, True, when), now) if c.attribute == claims[0].attribute and c.value != claims[0].value]  # fmt: skip
    return claims


def _is_activity(phrase: str) -> bool:
    """'error tracking', 'state management', 'CI': a purpose a tool is chosen for, not a place ('the frontend')."""
    last = phrase.split()[-1] if phrase.split() else ""
    return last.endswith("ing") or last in ("management", "orchestration") or phrase in _attribute_of()


def _attribute_name(phrase: str) -> str:
    """A named attribute's canonical name ("db" -> database), else the phrase's stems: "error tracker" and
    "error tracking", "is stored in" and "stores ... in", "min iOS" and "minimum iOS version" meet."""
    phrase = _DETERMINERS.sub("", re.sub(r"\s+", " ", phrase.lower().strip()))
    if phrase in _attribute_of():
        return _attribute_of()[phrase]
    for size in (3, 2, 1):  # "primary aws region" -> region, "public http port" -> port
        tail = " ".join(phrase.split()[-size:])
        if len(phrase.split()) > size and tail in _attribute_of():
            return _attribute_of()[tail]
    words = [_SHORT.get(w, w) for w in re.sub(r"(?<=\w)version\b", "", phrase).split()]
    return " ".join(_stem(w) for w in words if w not in _FILLER) or phrase


_SHORT = {"min": "minimum", "max": "maximum", "db": "database", "repo": "repository", "env": "environment"}
_FILLER = {"the", "its", "their", "our", "version", "supported", "all", "every", "primary", "main", "default"}


def _stem(word: str) -> str:
    """A crude suffix strip, enough for a verb and its participle or a noun and its -er/-ing forms to meet."""
    for suffix in ("ings", "ing", "ers", "er", "ed", "es", "s", "e"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            return word[:-1] if len(word) > 3 and word[-1] == word[-2] and word[-1] not in "aeiouls" else word
    return word


def _values(first: str, rest: str) -> list[str]:
    """The value a rule matched and those listed after it: 'Kotlin and Swift', 'March 3, 2026' (one date)."""
    year = re.match(r",?\s+(\d{4})\b", rest)
    if year and re.search(r"[a-z]\.?\s+\d{1,2}(?:st|nd|rd|th)?$", first, re.IGNORECASE):
        return [f"{first} {year[1]}"]
    values = [first]
    while (more := _MORE_VALUES.match(rest)) and (" and " in more[0] or entities.canonical(_clean(more["val"]))):
        values.append(more["val"])  # "Kotlin and Swift", "Go, Rust"; not "GitHub Actions, main workflow in ..."
        rest = rest[more.end() :]
    return values


def _value_claims(
    rule: str, subject: str, attribute: str, raw: str, how: tuple[int, bool, datetime | None], now: datetime | None
) -> list[Claim]:
    polarity, change, when = how
    if attribute == "deadline":
        value, version = _date_value(raw, now) or value_parts(raw)[0], None
    elif attribute == "lifetime":
        value, version = _slot_value(raw), None
    else:
        value, version = value_parts(raw)
    if attribute == "minimum":  # "supports iOS 14 and up": the minimum iOS is 14
        if version is None:
            return []
        return [Claim(subject, _attribute_name(f"minimum {value}"), version, polarity, True, change, when, rule)]
    if re.fullmatch(r"[a-z]+ed", value) and attribute != "status" and value not in _category_of():  # a predicate
        return []
    if not value or value.split()[0] in _NOT_VALUES or len(value) > 60 or value == subject:
        return []
    category = _category_of().get(value)
    single = True
    if attribute not in _attribute_names() and category and attribute not in ("is", "depends on", "prefers"):
        attribute = category  # "its primary store is MongoDB", "caches lookups in Memcached": the database, the cache
    if attribute == "by value":
        attribute, single = (category, True) if category else ("uses", False)
    elif attribute in ("is", "depends on", "prefers"):
        single = False
        if attribute == "prefers" and category:
            attribute, single = f"prefers {category}", True
    claims = [Claim(subject, attribute, value, polarity, single, change, when, rule)]
    if rule in _USE_RULES and attribute != "uses":  # "uses Celery for jobs" also says it uses Celery at all
        claims.append(Claim(subject, "uses", value, polarity, False, change, when, rule))
    if version is not None and polarity > 0:
        claims.append(Claim(subject, f"{value} version", version, 1, True, change, when, rule))
    return claims


def _preference(claim: Claim, other: str) -> Claim:
    """'prefers A over B': one value of the choice between A and B, whichever order the text names them in."""
    other_value = value_parts(other)[0]
    category = _category_of().get(claim.value)
    if category and category == _category_of().get(other_value):  # "tabs over spaces" and "I prefer tabs" meet
        return replace(claim, attribute=f"prefers {category}", single=True)
    pair = sorted([claim.value, other_value])
    return Claim(claim.subject, f"prefers {pair[0]} or {pair[1]}", claim.value, 1, True, claim.change, claim.when,
                 claim.rule)  # fmt: skip


def _time_in(sentence: str, now: datetime | None) -> datetime | None:
    match = _TIME_WORDS.search(sentence)
    if match is None or now is None:
        return None
    phrase = match.group(1).lower()
    if re.fullmatch(r"\d{4}-\d{2}", phrase):
        phrase += "-01"
    intent = time_expressions.parse(phrase if re.search(r"ago|last|yesterday|today", phrase) else f"in {phrase}", now)
    return intent.start if intent.has_window else None


def _date_value(raw: str, now: datetime | None) -> str | None:
    """A deadline's day as an ISO date; with no year, the first such day on or after `now`. None if not a date."""
    text = _clean(raw).lower()
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


# --- aligned statements: two sentences that differ in one value ------------------------------------------------------

_TOKEN = re.compile(r"[\w@/+#'’-]+(?:[.:][\w@/+#'’-]+)*")
_FUNCTION_WORDS = frozenset(re.split(
    " ", "is are was were be been to of in on for with at by the a an and or but not no never from as it its that "
    "this via than into over under after before also only just all any some"))  # fmt: skip
_MANY_VERBS = frozenset(re.split(
    " ", "uses use using depends depend includes include imports import supports support has have contains contain "
    "needs need requires require calls call talks talk and exposes expose provides provide handles handle emits emit "
    "exports export"))  # a value after these is one of several  # fmt: skip
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*(ms|milliseconds?|s|secs?|seconds?|m|mins?|minutes?|h|hrs?|hours?|d|days?"
                       r"|w|weeks?)$")  # fmt: skip
_SECONDS = {"ms": 0.001, "m": 60, "min": 60, "h": 3600, "hr": 3600, "hour": 3600, "d": 86400, "day": 86400}
_SECONDS |= {"w": 604800, "week": 604800, "s": 1, "sec": 1, "second": 1, "millisecond": 0.001, "minute": 60}
_SIZE = re.compile(r"^(\d+(?:\.\d+)?)\s*(b|kb|mb|gb|tb|kib|mib|gib|tib)$")
_BYTES = {"b": 1, "kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12, "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}


@dataclass(frozen=True)
class Alignment:
    """Two sentences that are one statement with a different value in one place ("order events are published to
    Kafka" / "... to RabbitMQ"): the slot, as its words before and after, and each side's value."""

    subject: str  # the words before the value
    attribute: str  # "_" and the words after it
    first: str
    second: str
    change: bool  # the second sentence says it changed


def aligned(first: str, second: str) -> Alignment | None:
    """The one slot two texts fill with different values, if some sentence of each is the same statement but for
    a short value (no function words in it, at least three shared words, most of each sentence shared, the
    value not first, and not after a verb that takes several values such as "depends on")."""
    if not isinstance(first, str) or not isinstance(second, str):
        return None
    by_first_word: dict[str, list[tuple[list[str], str]]] = {}
    for tokens, sentence in _statements(second):
        by_first_word.setdefault(tokens[0], []).append((tokens, sentence))
    for tokens, _ in _statements(first):  # only sentences that start alike can share a prefix: no n × m scan
        for other, sentence in by_first_word.get(tokens[0], ()):
            if abs(len(tokens) - len(other)) <= 3:  # each side differs in at most 4 words
                found = _slot(tokens, other, sentence)
                if found is not None:
                    return found
    return None


def _statements(text: str) -> list[tuple[list[str], str]]:
    """The lowercased words of each sentence that is not a question."""
    found = []
    for sentence in _SENTENCE.split(text[:2000]):
        tokens = _TOKEN.findall(sentence.lower())
        if tokens and not _QUESTION.search(sentence):
            found.append((tokens, sentence))
    return found


def _slot(a: list[str], b: list[str], other: str) -> Alignment | None:
    prefix = 0
    while prefix < min(len(a), len(b)) and a[prefix] == b[prefix]:
        prefix += 1
    suffix = 0
    while suffix < min(len(a), len(b)) - prefix and a[-1 - suffix] == b[-1 - suffix]:
        suffix += 1
    left, right = a[prefix : len(a) - suffix], b[prefix : len(b) - suffix]
    shared = prefix + suffix
    if prefix == 0 or not (1 <= len(left) <= 4 and 1 <= len(right) <= 4) or shared < 3:
        return None
    if shared < 0.5 * max(len(a), len(b)) or _FUNCTION_WORDS & set(left + right) or a[prefix - 1] in _MANY_VERBS:
        return None
    if prefix > 1 and a[prefix - 2] in _MANY_VERBS:  # "depends on _"
        return None
    first, second = _slot_value(" ".join(left)), _slot_value(" ".join(right))
    if first == second:
        return None  # the same value in other words: a paraphrase
    subject = " ".join(_stem(w) for w in a[:prefix] if w not in _DETERMINER_WORDS)[:60]
    attribute = " ".join(["_", *(_stem(w) for w in a[len(a) - suffix :])])[:60]
    return Alignment(subject, attribute, first, second, bool(_CHANGE_WORDS.search(other)))


_DETERMINER_WORDS = frozenset({"the", "our", "my", "your", "their", "this", "that", "a", "an"})


def _slot_value(text: str) -> str:
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
