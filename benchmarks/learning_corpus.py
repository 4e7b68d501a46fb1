"""The developer corpus and the hidden profiles of `benchmarks/learning.py`, generated from a seed.

A user's store holds what a coding assistant keeps over several projects — decisions, conventions, runbooks, errors
and their fixes, tool choices — about recurring tasks (deploying, migrating a database, running tests, …). Each task
is done with one technology of a category that has rivals (pytest or unittest, PostgreSQL or MySQL, …), and the store
holds memories about both, as real stores do (an evaluation, an older project, a colleague's notes): which of them
helps depends on who asks. Some tasks follow others (after deploying comes the rollback runbook), and some memories
are about nothing the user asks (meeting notes, reminders).

What a memory is about (`Truth`) stays here, never in the store: a learner sees only the text, the project and what
the agent did, and the benchmark scores its ranking against the profile it could not read.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace

CATEGORIES: dict[str, tuple[str, str]] = {
    "tests": ("pytest", "unittest"),
    "database": ("PostgreSQL", "MySQL"),
    "deploy": ("Kubernetes", "ECS"),
    "ci": ("GitHub Actions", "GitLab CI"),
    "packaging": ("uv", "Poetry"),
    "web": ("FastAPI", "Flask"),
    "monitoring": ("Prometheus", "Datadog"),
    "queue": ("Kafka", "RabbitMQ"),
    "frontend": ("React", "Vue"),
}

# Per option: words its memories use (commands, files, error names), so rival memories differ in text as in use.
LINGO: dict[str, tuple[str, ...]] = {
    "pytest": ("pytest -x", "conftest.py fixtures", "pytest.ini", "parametrize", "pytest-xdist -n auto"),
    "unittest": ("python -m unittest discover", "setUp and tearDown", "TestCase subclasses", "unittest.mock"),
    "PostgreSQL": ("psql", "pg_dump", "alembic upgrade head", "pgbouncer", "VACUUM ANALYZE", "max_connections"),
    "MySQL": ("mysqldump", "mysql client", "gh-ost", "innodb_buffer_pool_size", "binlog", "ProxySQL"),
    "Kubernetes": ("kubectl rollout", "helm upgrade", "the deployment manifest", "kubectl get pods", "HPA"),
    "ECS": ("aws ecs update-service", "the task definition", "the ECS service", "CloudFormation stack", "Fargate"),
    "GitHub Actions": ("the workflow YAML in .github/workflows", "actions/cache", "a matrix job", "gh run rerun"),
    "GitLab CI": (".gitlab-ci.yml", "a GitLab runner", "CI/CD variables", "the pipeline stages", "needs: keyword"),
    "uv": ("uv lock", "uv sync", "uv.lock", "uv pip compile", "uv build"),
    "Poetry": ("poetry lock", "poetry install", "poetry.lock", "poetry version", "poetry build"),
    "FastAPI": ("a Pydantic model", "APIRouter", "Depends()", "uvicorn workers", "the OpenAPI schema"),
    "Flask": ("a Blueprint", "flask routes", "gunicorn workers", "marshmallow schemas", "app factory"),
    "Prometheus": ("PromQL", "Alertmanager", "a recording rule", "the Grafana dashboard", "scrape config"),
    "Datadog": ("a Datadog monitor", "the DD agent", "APM traces", "a Datadog notebook", "dogstatsd"),
    "Kafka": ("consumer group lag", "kafka-consumer-groups", "partitions", "the topic retention", "offsets"),
    "RabbitMQ": ("the dead-letter exchange", "rabbitmqctl", "queue depth", "prefetch count", "the vhost"),
    "React": ("useEffect", "Redux store", "React Query", "JSX components", "the Vite config"),
    "Vue": ("Pinia store", "computed properties", "the Composition API", "single-file components", "vue-router"),
}


@dataclass(frozen=True)
class Task:
    """Something a developer asks the assistant about, done with one technology of `category` (or none)."""

    name: str
    category: str | None
    topic: str  # how memories name it
    asks: tuple[str, ...]  # how a developer asks about it, naming neither technology nor project


TASKS: tuple[Task, ...] = (
    Task(
        "deploy",
        "deploy",
        "deploying a release",
        (
            "how do we deploy to production",
            "steps to ship the new version",
            "deploy checklist",
            "what is the release deployment procedure",
            "push the build live",
            "how to roll out the service",
        ),
    ),
    Task(
        "rollback",
        "deploy",
        "rolling back a bad release",
        (
            "how do I roll back the last deploy",
            "the release broke production, how to revert",
            "rollback runbook",
            "undo a deployment",
            "go back to the previous version",
            "revert a bad rollout",
        ),
    ),
    Task(
        "migration",
        "database",
        "running a schema migration",
        (
            "how do we run database migrations",
            "add a column to the schema",
            "schema change procedure",
            "apply the pending migration",
            "migrate the database safely",
            "alter a table without downtime",
        ),
    ),
    Task(
        "backfill",
        "database",
        "backfilling data after a migration",
        (
            "how to backfill the new column",
            "populate existing rows after schema change",
            "backfill job",
            "fill in data for old records",
            "data backfill procedure",
            "update historical rows in batches",
        ),
    ),
    Task(
        "connections",
        "database",
        "database connection errors",
        (
            "too many connections error",
            "connection pool exhausted",
            "database connection timeout fix",
            "why does the app run out of db connections",
            "connection refused from the database",
            "pool size settings",
        ),
    ),
    Task(
        "run_tests",
        "tests",
        "running the test suite",
        (
            "how do I run the tests",
            "run the unit tests locally",
            "test suite command",
            "run only one test file",
            "how are tests organised",
            "run tests in parallel",
        ),
    ),
    Task(
        "flaky_tests",
        "tests",
        "fixing flaky tests",
        (
            "a test fails intermittently",
            "flaky test in CI",
            "test passes locally but fails in CI",
            "how do we deal with flaky tests",
            "random test failures",
            "quarantine an unstable test",
        ),
    ),
    Task(
        "ci",
        "ci",
        "the CI pipeline",
        (
            "why is the CI pipeline slow",
            "cache dependencies in CI",
            "add a job to the pipeline",
            "rerun a failed CI job",
            "CI configuration",
            "speed up the build pipeline",
        ),
    ),
    Task(
        "release",
        "packaging",
        "cutting a package release",
        (
            "how do we cut a release",
            "bump the version and publish",
            "release the library",
            "build and publish the package",
            "tag a new version",
            "make a new release",
        ),
    ),
    Task(
        "dependencies",
        "packaging",
        "updating dependencies",
        (
            "update a dependency",
            "regenerate the lockfile",
            "add a new package to the project",
            "dependency conflict when installing",
            "pin a library version",
            "upgrade all dependencies",
        ),
    ),
    Task(
        "endpoint",
        "web",
        "adding an API endpoint",
        (
            "add a new API endpoint",
            "how are routes defined",
            "validate the request body",
            "return a 404 from the handler",
            "add a query parameter to the API",
            "where do handlers live",
        ),
    ),
    Task(
        "alerts",
        "monitoring",
        "alerting rules",
        (
            "set up an alert for error rate",
            "add a latency alert",
            "who gets paged for alerts",
            "alert thresholds",
            "silence a noisy alert",
            "monitor the service's health",
        ),
    ),
    Task(
        "incident",
        "monitoring",
        "investigating an incident",
        (
            "the service is down, where do I look",
            "investigate the outage",
            "high error rate in production",
            "incident response steps",
            "what dashboards to check during an incident",
            "latency spike investigation",
        ),
    ),
    Task(
        "postmortem",
        None,
        "writing the postmortem",
        (
            "write the postmortem",
            "postmortem template",
            "what goes in an incident review",
            "blameless review process",
            "follow-up actions after the outage",
            "where do postmortems go",
        ),
    ),
    Task(
        "queue_lag",
        "queue",
        "consumer lag on the message queue",
        (
            "messages are piling up in the queue",
            "consumer is falling behind",
            "queue backlog growing",
            "reprocess failed messages",
            "scale the consumers",
            "messages stuck unprocessed",
        ),
    ),
    Task(
        "frontend_state",
        "frontend",
        "frontend state management",
        (
            "where does the frontend keep state",
            "share state between components",
            "fetch data in a component",
            "the page re-renders too often",
            "frontend form handling",
            "global store for the UI",
        ),
    ),
    Task(
        "onboarding",
        None,
        "setting up a development environment",
        (
            "set up the dev environment",
            "onboarding steps for a new developer",
            "what do I install first",
            "local setup instructions",
            "get the project running locally",
            "environment variables needed locally",
        ),
    ),
)
TASK = {t.name: t for t in TASKS}

# What comes after what in a working session (mined by the learner's workflow layer, if it has one).
WORKFLOWS: dict[str, str] = {
    "deploy": "rollback",
    "migration": "backfill",
    "incident": "postmortem",
    "alerts": "incident",
    "run_tests": "flaky_tests",
    "release": "dependencies",
    "onboarding": "run_tests",
}
# A vague follow-up in a session: only the task before it says what it is about.
FOLLOW_UPS = (
    "what is the next step",
    "ok, what now",
    "what do we usually do after that",
    "and then?",
    "next thing to do",
    "what comes after this",
)

PROJECT_NAMES = (
    "billing",
    "storefront",
    "data-pipeline",
    "mobile-api",
    "infra-tools",
    "auth-service",
    "search",
    "ml-platform",
    "docs-site",
    "payments",
    "inventory",
    "notifications",
)
SPAMMER = "spam-bot"
AUTHORS = ("claude-code", "cursor", "user")  # who wrote the user's memories: their agents, and they themselves
AUTHOR_WEIGHTS = (6, 2, 2)
KINDS = ("decision", "convention", "runbook", "error", "tool_choice")
PEOPLE = ("Ana", "Bilal", "Chen", "Dara", "Emeka", "Fatima", "Goran", "Hana", "Ivo", "Jun")
REASONS = (
    "it is what the team already knows",
    "the docs are better",
    "it was faster in our benchmark",
    "it integrates with the rest of the stack",
    "the managed offering is cheaper",
    "fewer moving parts",
    "the old setup kept breaking",
    "it is the company standard",
    "it handles our load",
)
DETAILS = (
    "See the ticket {ticket} for the discussion.",
    "Ask {person} about edge cases.",
    "Agreed in the weekly sync.",
    "Took about {n} minutes last time.",
    "Double-check staging first.",
    "Noted during a {word} session.",
    "The script lives in tools/{word}.sh.",
    "Ping {person} if it fails twice.",
    "Checked again in {month}.",
    "Applies to every environment.",
    "Keep this in sync with the wiki page.",
    "Do not skip the dry run.",
)
NOISE = (
    "Meeting notes ({project}): {person} will present the roadmap; {person2} asked about hiring for the team.",
    "Reminder: {person} is on holiday in {month}; hand over reviews for {project} to {person2}.",
    "The {project} standup moved to 10:30 on Tuesdays and Thursdays.",
    "{person} prefers reviews in the afternoon; keep pull requests under 400 lines in {project}.",
    "Offsite in {month}: {person2} books the venue, {person} collects the {project} agenda.",
    "Idea for {project}: a dark mode for the admin pages, not prioritised yet.",
    "Quarterly goals for {project}: fewer pages at night, faster onboarding, lower cloud bill.",
)
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October")


@dataclass(frozen=True)
class Truth:
    """What a stored memory is about: hidden from the store, the basis of relevance."""

    task: str | None  # None: about nothing a user asks (noise)
    option: str | None  # the technology it is about, None when the task has no category
    project: str
    author: str  # the agent that wrote it


@dataclass
class Profile:
    """A simulated user, hidden from slm: the technologies they use, their projects, how they work."""

    name: str
    projects: list[str]
    prefers: dict[str, str]  # category -> option
    task_weights: dict[str, float]  # how often each task starts a session
    follow: float = 0.7  # chance a session goes on to the task that follows (WORKFLOWS)
    vague: float = 0.4  # chance such a follow-up is asked vaguely (FOLLOW_UPS)
    names_project: float = 0.25  # chance the agent passes the project to recall
    history: list[tuple[int, dict[str, str]]] = field(default_factory=list)  # (from interaction, prefers)

    def prefers_at(self, step: int) -> dict[str, str]:
        """Preferences at interaction `step` (a user whose taste changes has a history)."""
        current = self.prefers
        for start, prefers in self.history:
            if step >= start:
                current = prefers
        return current


def make_profile(rng: random.Random, name: str) -> Profile:
    projects = rng.sample(PROJECT_NAMES, rng.randint(3, 5))
    prefers = {c: options[0] if rng.random() < 0.5 else options[1] for c, options in CATEGORIES.items()}
    tasks = [t.name for t in TASKS]
    weights = {t: rng.uniform(0.3, 1.0) for t in tasks}
    for t in rng.sample(tasks, 4):  # every user has a few tasks they do often
        weights[t] *= 4
    return Profile(name, projects, prefers, weights)


def changed_taste(profile: Profile, at: int, rng: random.Random) -> Profile:
    """The same user, who switches to the rival of most of their technologies from interaction `at` on."""
    flipped = dict(profile.prefers)
    for category in rng.sample(sorted(CATEGORIES), k=(len(CATEGORIES) * 2) // 3):
        a, b = CATEGORIES[category]
        flipped[category] = b if flipped[category] == a else a
    return replace(profile, history=[(at, flipped)])


def grade(truth: Truth, task: str, project: str, prefers: dict[str, str]) -> int:
    """Relevance of a memory to a query about `task` asked while working on `project`, under `prefers`: 2 for the
    task in this project with the user's technology, 1 for it in another of their projects, 0 otherwise (another
    task, the rival technology, noise)."""
    if truth.task != task or truth.author == SPAMMER:
        return 0
    category = TASK[task].category
    if category is not None and truth.option != prefers[category]:
        return 0
    return 2 if truth.project == project else 1


def memory_text(rng: random.Random, kind: str, task: Task, option: str | None, project: str) -> str:
    """One memory about `task` done with `option` in `project`, as an assistant would have written it."""
    words = rng.sample(LINGO[option], 2) if option else ["the shared checklist", "the team wiki"]
    rival = None
    if option:
        pair = CATEGORIES[task.category]
        rival = pair[1] if option == pair[0] else pair[0]
    tool = option or "the usual tooling"
    person = rng.choice(PEOPLE)
    versus = f" over {rival}" if rival else ""
    heads = {
        "decision": (
            f"Decision ({project}): for {task.topic} we use {tool}, with {words[0]}; {rng.choice(REASONS)}.",
            f"We decided in {project} that {task.topic} is done with {tool}{versus}. {person} wrote up why: "
            f"{rng.choice(REASONS)}.",
        ),
        "convention": (
            f"Convention in {project}: {task.topic} always goes through {words[0]} and {words[1]}.",
            f"In {project} the rule for {task.topic}: never by hand, always {words[0]}; {words[1]} is checked in.",
        ),
        "runbook": (
            f"Runbook, {project}, {task.topic}: 1) check {words[0]}; 2) run {words[1]}; 3) confirm on the "
            f"dashboard; 4) post in the channel.",
            f"Steps for {task.topic} on {project}: open {words[1]}, then {words[0]}, wait for green, tell {person}.",
        ),
        "error": (
            f"Error in {project} while {task.topic}: {words[0]} failed with a timeout. Fix: retry after adjusting "
            f"{words[1]}{f' ({tool})' if option else ''}.",
            f"Hit a failure during {task.topic} in {project}: {words[1]} reported an error. Root cause was "
            f"{words[0]} misconfigured; fixed by {person}.",
        ),
        "tool_choice": (
            f"Tool choice for {project}: {tool}{versus} for {task.topic}, using {words[1]}; {rng.choice(REASONS)}.",
            f"For {task.topic} in {project} we picked {tool}{versus} ({words[0]}); {rng.choice(REASONS)}.",
        ),
    }
    head = rng.choice(heads[kind])
    return f"{head} {_details(rng, person, project)}"


def _author(rng: random.Random) -> str:
    return rng.choices(AUTHORS, weights=AUTHOR_WEIGHTS)[0]


def _details(rng: random.Random, person: str, project: str) -> str:
    chosen = rng.sample(DETAILS, rng.randint(0, 3))
    return " ".join(
        d.format(
            ticket=f"{project[:3].upper()}-{rng.randint(100, 999)}",
            person=person,
            n=rng.randint(5, 90),
            month=rng.choice(MONTHS),
            word=rng.choice(("deploy", "migrate", "check", "sync", "release")),
        )
        for d in chosen
    ).strip()


def corpus(rng: random.Random, profile: Profile, size: int, spam: int) -> list[tuple[str, str, Truth]]:
    """`size` memories over the user's projects (text, kind, truth), then `spam` a self-promoting agent wrote (about
    the user's tasks, pushing whichever technology they do not use: never relevant)."""
    out = []
    tasks = list(TASKS)
    while len(out) < size:
        project = rng.choice(profile.projects)
        if rng.random() < 0.12:
            text = rng.choice(NOISE).format(
                project=project, person=rng.choice(PEOPLE), person2=rng.choice(PEOPLE), month=rng.choice(MONTHS)
            )
            out.append((text, "note", Truth(None, None, project, _author(rng))))
            continue
        task = rng.choice(tasks)
        # rivals appear less often than what the user uses, but often enough to compete
        option = None
        if task.category is not None:
            mine = profile.prefers[task.category]
            a, b = CATEGORIES[task.category]
            option = mine if rng.random() < 0.6 else (b if mine == a else a)
        kind = rng.choice(KINDS)
        text = memory_text(rng, kind, task, option, project)
        out.append((text, kind, Truth(task.name, option, project, _author(rng))))
    for _ in range(spam):
        task = rng.choice([t for t in tasks if t.category is not None])
        a, b = CATEGORIES[task.category]
        option = b if profile.prefers[task.category] == a else a
        project = rng.choice(profile.projects)
        text = f"Pro tip from spam-bot: {memory_text(rng, 'tool_choice', task, option, project)}"
        at = rng.randint(0, len(out))  # written over the same months as the rest
        out.insert(at, (text, "tool_choice", Truth(task.name, option, project, SPAMMER)))
    return out
