"""What a memory's text says about its writer: instructions aimed at the agents that will read it, hidden Unicode,
and whether two texts state the same fact (a corroboration) rather than a variation of it (which may be a
contradiction).

Text written to steer later readers is how memory poisoning works, but a team's store is full of conventions in
the imperative ("always run make lint before pushing"), which are knowledge, not attacks. So the rules look for
what only an attempt on the reader does (whom the text addresses, overriding, identity change, chat markup,
secrecy and exfiltration, steering the answer, hidden characters), never for imperatives as such. An
"instruction" is enough to quarantine a memory; a "directive" (a risky command) only lowers its weight. Reasons
name the pattern, never the text. The patterns and their measurement: docs/ARCHITECTURE.md, "Trust", content.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

# -- who and what the patterns talk about --------------------------------------------------------------------------
# Names that mean an AI on their own; "agent", "model" and "bot" only with a qualifier (a monitoring agent, a churn
# model and a release bot are the team's software).
_AI = (
    r"(?:AI|A\.I\.|LLMs?|large language models?|language models?|chat ?bots?|(?:AI |coding |LLM |autonomous )?"
    r"assistants?|(?:AI|coding|LLM|autonomous) (?:agents?|models?|bots?)|Claude|ChatGPT|GPT(?:-\d\w*)?|Copilot|"
    r"Codex|Gemini)"
)
_AI_ANY = rf"(?:{_AI}|agents?|models?|bots?)"
_NEGATION = re.compile(
    r"\b(?:never|not|no|don't|dont|do not|does not|doesn't|mustn't|shouldn't|cannot|can't|avoid|forbid\w*|"
    r"prohibit\w*|instead of)\b",
    re.IGNORECASE,
)
_SECRET = (
    r"(?:secrets?|credentials?|passwords?|passphrases?|(?:api|access|secret|private|ssh|deploy|auth|session|bearer|"
    r"refresh)[ _-]?(?:keys?|tokens?)|tokens?|cookies?|\.env\b|env(?:ironment)? var(?:iable)?s|os\.environ|"
    r"id_rsa|id_ed25519|~/\.ssh|~/\.aws|\.npmrc|\.pypirc|system prompt|(?:chat|conversation) (?:history|log|"
    r"transcript)|(?:whole|full|entire) (?:conversation|chat)|every memory|all (?:the |your )?memories|"
    r"\b(?-i:[A-Z][A-Z0-9]{0,30}_(?:[A-Z0-9]{1,30}_){0,4}(?:KEY|TOKEN|SECRET|PASSWORD|COOKIE|SESSION)|SESSION|"
    r"COOKIE)\b)"
)
_DESTINATION = (
    r"(?:https?://|\b[\w.+-]+@[\w-]+\.[\w.-]+|\bpublic (?:gist|repo\w*|bucket|channel)|\bpastebin|\bgist\b|"
    r"\byour (?:next |final )?(?:reply|replies|answers?|responses?|messages?|output)|\bquery (?:string|param\w*))"
)
_SEND = (
    r"\b(?:send|post|upload|e-?mail|mail|forward|paste|copy|share|leak|exfiltrate|transmit|submit|add|include|"
    r"append|attach|put|fetch|open|curl|wget|print|reveal|output|dump|echo|display|show|repeat|render|write)\b"
)
_USER = r"(?:the user|the human|the owner|the developer)(?!'s|s\b|\s+agent|[-_])"

# (name, signal, negatable, alternatives): a negatable pattern does not count when a negation comes before it in
# its clause ("never force-push to main" is a convention, "force-push to main" a risk; "never delete data without
# asking the user" a rule, "delete it without asking the user" secrecy).
_PATTERNS: list[tuple[str, str, bool, tuple[str, ...]]] = [
    # overriding earlier instructions
    (
        "override-instructions",
        "instruction",
        False,
        (
            r"\b(?:ignore|disregard|forget|override|bypass|discard|abandon)\W+(?:\w+\W+){0,3}?(?:previous|prior|above|"
            r"earlier|preceding|original|initial|all|any|your|system|safety|security|other)\W+(?:\w+\W+)?"
            r"(?:instructions?|prompts?|rules|guidelines|guidance|guardrails|directives|constraints|restrictions|"
            r"polic(?:y|ies)|messages|context|settings)\b",
            r"\b(?:your\s+(?:\w+\s+)?(?:instructions?|guidelines|rules|directives|prompts?|guidance|orders)|"
            r"(?:instructions?|guidelines|rules|directives|orders) you (?:received|were given|got|have been given|"
            r"follow)(?:\s+\w+)?)\s+(?:are|is|were|have been|has been|no longer|do not|don't|does not)\s+(?:now\s+)?"
            r"(?:void|invalid|outdated|obsolete|revoked|cancell?ed|superseded|replaced|wrong|apply|applies|matter|"
            r"count|valid|in effect)",
            r"\bforget\s+(?:everything|all)\b[^.!?\n]{0,40}\b(?:told|above|before|previously|so far|until now|"
            r"this message)",
            r"\b(?:highest|top)[- ]priority (?:instructions?|directives?|rules?|orders?)\b",
            r"\b(?:the|your) only rule (?:now|from now on|is)\b",
            r"\b(?:follow|obey) (?:these|the following|my) (?:instructions|rules|directions|orders) instead\b",
            r"\byour new (?:task|instructions?|orders|goal|objective|rules?) (?:is|are)\b",
            r"\bnew (?:system )?instructions?\s*:",
            r"\b(?:ignore|disregard|override|bypass|disable|turn off|switch off|lift|suspend)\W+(?:\w+\W+){0,2}?"
            r"(?:safety|content) (?:settings|checks|filters|rules|polic(?:y|ies)|guidelines|guidance|guardrails|"
            r"restrictions|measures)\b",
            r"\b(?:safety|content|security) (?:checks?|filters?|rules|polic(?:y|ies)|guardrails|restrictions) (?:are|is"
            r"|have been|has been) (?:now )?(?:off|disabled|lifted|suspended|removed|turned off|waived)\b",
            r"\b(?:message|instructions?|notice|note|update|orders?)\s+from\s+(?:the\s+)?(?:developers?|creators?|"
            r"makers?|administrators?|admins?|operators?|owners?|vendor|OpenAI|Anthropic|system)\s+(?:of|behind)\s+"
            rf"(?:this|the|your)\s+(?:{_AI_ANY}|system|tool)\b",
            rf"\b(?:ignore|disregard)\s+(?:what\s+)?{_USER}",
        ),
    ),
    # identity change
    (
        "role-reassignment",
        "instruction",
        False,
        (
            r"\byou(?:'re| are)\s+(?:now|no longer|henceforth|actually|really|secretly)\b",
            r"\b(?:from now on|henceforth|going forward),?\s+you\s+(?:are|act|will act|behave|become|play|serve|"
            r"work as)\b",
            r"\b(?:pretend|imagine|roleplay|role-play)\s+(?:to be|you(?:'re| are)?|that you|as)\b",
            r"\bplay the role of\b|\bact as (?:if|though)\b",
            r"\byour\s+(?:real|true|new|actual|only|primary)\s+(?:role|identity|name|persona|purpose|task|job|goal|"
            r"mission)\s+(?:is|are|will be)\b",
            r"\b(?:enter|switch to|activate|enable|go into)\s+(?:\w+\s+)?(?:god|jailbreak|DAN|unrestricted|"
            r"uncensored)\s+mode\b",
            rf"\b(?:you(?:'re| are)?|an? {_AI})\s+(?:\w+\s+){{0,3}}?(?:without|with no|have no|had no|has no|free of|"
            r"free from|not bound by|no longer bound by)\s+(?:any\s+|all\s+|your\s+|the\s+)?(?:rules|restrictions|"
            r"limits|limitations|filters|guardrails|constraints|polic(?:y|ies)|guidelines|content policy|safety)\b",
        ),
    ),
    # addressed to the reader: the memory speaking to whoever reads it, or to an AI by name
    (
        "addressed-to-reader",
        "instruction",
        False,
        (
            r"\bwhen(?:ever)?\s+you\s+(?:read|see|recall|retrieve|load|process|encounter|find|come across|"
            r"are reading)\s+(?:this|these)(?:\s+(?:note|memory|memories|text|entry))?\s*(?:[,.;:!]|$)",
            rf"\bif\s+you(?:'re| are)\s+(?:an?\s+)?{_AI_ANY}\b",
            rf"\byou,?\s+as\s+(?:an?|the)\s+{_AI}\b|\bas\s+an?\s+{_AI},\s*you\b",
            rf"\b{_AI_ANY}\s+(?:that\s+|who\s+)?(?:reads?|reading|sees?|seeing|process(?:es|ing)?|recall(?:s|ing)?|"
            r"retriev(?:es|ing)|load(?:s|ing)?)\s+(?:this|these)\b",
            r"(?:^|[.!?]\s+|\n\s*|\(\s*)(?:please,?\s+)?(?:(?:dear|hey|hi|hello|attention|note|message|memo|reminder|"
            r"instructions?|notice|to|for)\s+(?:to\s+|for\s+)?)?(?:the\s+|all\s+|any\s+|every\s+|kind\s+|future\s+)?"
            rf"{_AI}\s*[,:!]",
            r"\b(?:note|message|memo|reminder|instructions?|notice|attention)\s+(?:to|for)\s+(?:the\s+|all\s+|any\s+|"
            rf"every\s+|future\s+)?{_AI}\b",
            r"\b(?:not for|hidden from)\s+(?:the\s+)?(?:humans?|users?|people)\b",
            rf"\bfor\s+(?:the\s+)?{_AI}\s+only\b|\b{_AI}[- ]only\s+(?:notes?|instructions?|messages?)\b",
            rf"<!--(?:(?!-->).){{0,500}}?\b(?:{_AI_ANY}|you|your|ignore|instructions?)\b",
        ),
    ),
    # system-prompt and chat markup
    (
        "fake-markup",
        "instruction",
        False,
        (
            r"<\s*/?\s*(?:system|instructions?|assistant|sys|im_start|im_end)\s*>|<\|[a-z_]+\|>",
            r"\[\s*/?(?:system|INST|SYS)\s*\]|<<\s*/?SYS\s*>>",
            r"(?:^|\n)\s*#{1,6}\s*(?:system|instructions?|new instructions?|assistant)\b",
            r"\b(?:BEGIN|END)\s+(?:SYSTEM|HIDDEN|SECRET|ADMIN)\s+(?:PROMPT|INSTRUCTIONS?|MESSAGE)\b",
            r"(?:^|\n)\s*(?:system|assistant|developer|admin)\s*(?:message|prompt|override|notice|note)?\s*:\s*"
            rf"[^\n]{{0,60}}?\b(?:you|your|{_AI_ANY}|new|ignore|always|never|from now on|sure|certainly|okay|I will|"
            r"I'll|must|policy)\b",
        ),
    ),
    # secrecy towards the user
    (
        "hide-from-user",
        "instruction",
        True,
        (
            r"\b(?:don't|do not|never|not|without|no need to)\s+(?:\w+\s+)?(?:tell|telling|inform|informing|notify|"
            r"notifying|alert|alerting|warn|warning|ask|asking|consult|consulting|bother|bothering|mention|"
            rf"mentioning)\s+(?:\w+\s+){{0,3}}?(?:to\s+)?{_USER}",
            r"\bno need to (?:tell|inform|notify|ask|mention\w*)\s+(?:it\s+to\s+)?(?:anyone|anybody|them)\b",
            r"\bkeep\s+(?:this|these|the following)\s+(?:instructions?|notes?|messages?|memor(?:y|ies)|prompts?)\s+"
            rf"(?:secret|hidden|private|confidential|to yourself)|\bkeep\s+(?:this|it)\s+(?:secret\s+|hidden\s+)?from"
            rf"\s+{_USER}",
            r"\b(?:never|don't|do not|not)\s+(?:reveal|mention|disclose|admit|say)\w*\s+(?:that|where|how)\s+you\s+"
            r"(?:read|saw|got|received|found|learned)\b",
            r"(?:^|[.!?]\s+|\byou\s+|\bplease,?\s+|\band\s+)(?:quietly|secretly|covertly|stealthily|discreetly)\s+\w+",
            r"\b(?:stop|without)\s+(?:asking|checking with)\s+(?:\w+\s+){0,2}?(?:for\s+)?(?:confirmation|consent|"
            r"permission)\b",
        ),
    ),
    # steering what the reader tells the user
    (
        "steers-answers",
        "instruction",
        True,
        (
            r"\b(?:in|at the (?:end|start|beginning|bottom|top) of|end|start|begin|close|finish)\s+(?:\w+\s+){0,2}?"
            r"(?:every|each|all|any)\s+(?:of\s+)?(?:your\s+)?(?:answers?|responses?|replies|reply|outputs?|"
            r"completions?|chat messages)\b",
            r"\b(?:in|into|to|at the (?:end|start|beginning) of)\s+(?:each of\s+)?your (?:next |final )?(?:answers?|"
            r"responses?|replies|reply|completions?)\b",
            r"\b(?:when|whenever|if|once)\s+the\s+user\s+(?:asks?|says?|mentions?|wants?|requests?|types?|writes?|"
            r"queries)\b[^.!?\n]{0,80}?\b(?:say|tell|answer|reply|respond|recommend|suggest|claim|state|insist|"
            r"assure|mention)\b",
            r"\b(?:assure|reassure|convince|persuade)\s+(?:the\s+)?user\s+(?:that|it|everything)\b",
            r"\bfrom now on\b,?\s+(?:\w+\s+){0,2}?(?:tell|say|answer|reply|respond|recommend|suggest|claim)\b",
        ),
    ),
    # risky commands: directives
    ("pipe-to-shell", "directive", True, (r"\b(?:curl|wget)\b[^|\n]{0,200}\|\s*(?:sudo\s+)?(?:ba|z|da)?sh\b",)),
    (
        "insecure-setting",
        "directive",
        True,
        (
            r"\b(?:disabl\w*|turn\w*\s+off|skip\w*|bypass\w*|ignor\w*)\s+(?:\w+\s+){0,2}?(?:TLS|SSL|certificates?|"
            r"cert|host ?key)\s+(?:verification|validation|checks?|checking)\b",
            r"\bverify\s*=\s*False\b|\bVERIFY_SSL\s*=\s*(?:false|0)\b|NODE_TLS_REJECT_UNAUTHORIZED\s*=\s*0|"
            r"\bStrictHostKeyChecking\s*=?\s*no\b|--insecure\b",
            r"\bchmod\s+(?:-R\s+)?0?777\b|\brm\s+-(?:rf|fr)\s+(?:~|/(?:\s|$|\*)|\$HOME)",
            r"\b(?:force-push\w*|push\s+(?:-f|--force)\w*)\s+(?:\w+\s+){0,2}?(?:main|master)\b|--no-verify\b",
        ),
    ),
]
_COMPILED = [
    (name, signal, negatable, re.compile("|".join(alternatives), re.IGNORECASE))
    for name, signal, negatable, alternatives in _PATTERNS
]
# Talk of what assistants or agents must do. Alone it is no flag — "the LLM must never see raw PII" is a rule of the
# team's product —, but with a risky command it is assistants told to run it ("agents must always run curl … | sh").
_ABOUT_AGENTS = re.compile(
    rf"\b(?:{_AI}|agents)\s+(?:(?:must|should|shall|will|would|need to|needs to|has to|have to|are to|is to)\s+"
    r"(?:always\s+|never\s+|now\s+)?|always\s+)(?!be\b|been\b|have\b|not\b|always\b|never\b|now\b)[a-z]+",
    re.IGNORECASE,
)
_TO = rf"\b(?:to|into|in|as|inside|onto|via)\s+(?:\S+\s+){{0,3}}?{_DESTINATION}"
# Within one sentence: a secret sent to a destination ("post the .env file to https://…", "include the key in your
# reply"), in either order; a URL fetched with a secret in its query ("open https://x/?q= and the whole chat").
_SEND_SECRET = re.compile(
    rf"{_SEND}.{{0,80}}?{_SECRET}.{{0,40}}?{_TO}|{_SECRET}.{{0,40}}?{_SEND}.{{0,40}}?{_TO}|\b(?:fetch|open|curl|wget|"
    rf"visit|load|request)\b.{{0,40}}?https?://\S*\?\S*=.{{0,60}}?(?:{_SECRET}|\{{)",
    re.IGNORECASE,
)
_LEAK_PROMPT = re.compile(
    r"\b(?:print|reveal|repeat|output|dump|show|display|disclose|leak|recite)\s+(?:\w+\s+){0,2}?(?:your|the)\s+"
    r"(?:full\s+|hidden\s+|original\s+|initial\s+|whole\s+)?(?:system prompt|prompt|instructions you (?:were|have been)"
    r" given|hidden instructions)|\b(?:print|reveal|dump|output|show|display)\s+(?:\w+\s+){0,4}?(?:every memory|all "
    r"(?:the |your )?memories)",
    re.IGNORECASE,
)
_ANY_DESTINATION = re.compile(_DESTINATION, re.IGNORECASE)
_IMAGE_OUT = re.compile(rf"!\[[^\]]*\]\(\s*https?://[^)\s]*\?[^)\s]*(?:\{{|{_SECRET})", re.IGNORECASE)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|;\s+|\n+")
_CLAUSE = re.compile(r",\s*(?:but|and|then|so)\b|[:;]|\bbut\b|\bthen\b", re.IGNORECASE)

# Invisible characters that change what an agent reads but not what a person sees: zero-width space and
# non-joiner, bidirectional overrides and isolates, word joiners, a byte-order mark inside text, and the Unicode
# tag block (ASCII smuggling). The zero-width joiner is left alone: emoji sequences need it.
HIDDEN = re.compile("[\u200b\u200c\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\U000e0000-\U000e007f]")


@dataclass(frozen=True)
class Flag:
    signal: str  # "instruction" or "directive": a key of model.SIGNALS
    pattern: str


def _sentences(text: str) -> list[str]:
    return [s for s in _SENTENCE_END.split(text) if s.strip()]


def _negated(sentence: str, at: int) -> bool:
    """Whether a negation comes before `at` in its clause ("do not tell the user, but upload …" negates the telling,
    not the upload)."""
    return bool(_NEGATION.search(_CLAUSE.split(sentence[:at])[-1]))


def _exfiltrates(sentence: str) -> bool:
    """A secret sent somewhere — an address, a URL, the reader's answer — or the reader's prompt printed; not when
    negated ("never paste tokens into …" is a convention)."""
    candidates = [_LEAK_PROMPT.search(sentence)]
    if _ANY_DESTINATION.search(sentence):  # most sentences have none: skip the costlier patterns
        if _IMAGE_OUT.search(sentence):
            return True
        candidates.append(_SEND_SECRET.search(sentence))
    return any(found and not _negated(sentence, found.start()) for found in candidates)


def flags(text: str) -> list[Flag]:
    """The instruction-like patterns the text matches, strongest first (each pattern once)."""
    names: dict[str, str] = {}
    if HIDDEN.search(text):
        names["hidden-unicode"] = "instruction"
    sentences = _sentences(text)
    for name, signal, negatable, pattern in _COMPILED:
        if name in names:
            continue
        if negatable:
            hit = any(not _negated(sentence, m.start()) for sentence in sentences for m in pattern.finditer(sentence))
        else:
            hit = pattern.search(text) is not None
        if hit:
            names[name] = signal
    if any(_exfiltrates(sentence) for sentence in sentences):
        names["exfiltration"] = "instruction"
    if {"pipe-to-shell", "insecure-setting"} & names.keys() and _ABOUT_AGENTS.search(text):
        names["agents-must"] = "instruction"
    found = [Flag(signal, name) for name, signal in names.items()]
    return sorted(found, key=lambda flag: flag.signal != "instruction")


# -- corroboration ------------------------------------------------------------------------------------------------
_TOKEN = re.compile(r"\d[\d.,:]*\d|\d|[A-Za-z][\w+#-]*")
_SENTENCE_START = re.compile(r"(?:^|[.!?]\s+)([A-Za-z][\w+#-]*)")
_CALENDAR = {
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "january", "february", "march",
    "april", "may", "june", "july", "august", "september", "october", "november", "december", "daily", "weekly",
    "monthly", "yearly", "hourly",
}  # fmt: skip
_FUNCTION_WORDS = {
    "the", "a", "an", "we", "our", "i", "my", "you", "your", "they", "their", "it", "its", "this", "that", "these",
    "those", "there", "he", "she", "in", "on", "at", "for", "to", "from", "with", "and", "but", "so", "if", "when",
    "after", "before", "please", "note", "also", "all", "every", "each", "as", "since", "now", "then",
}  # fmt: skip
_NEGATIONS = re.compile(r"\b(?:not|no|never|none|without|instead|stopped|removed|dropped)\b|n't\b", re.IGNORECASE)


@lru_cache(maxsize=512)  # a new memory is compared with each of its neighbours (512 texts: 32 MB at most)
def values(text: str) -> tuple[frozenset[str], frozenset[str]]:
    """The parts of a fact that make it this fact and not a variation — numbers, names, days and months,
    identifiers — and, apart, the capitalised words that open a sentence, which may be a name ("Alice owns auth")
    or just a word ("Failed webhooks are retried")."""
    starts = {m.start(1) for m in _SENTENCE_START.finditer(text)}
    found, openers = set(), set()
    for match in _TOKEN.finditer(text):
        token = match.group()
        lower = token.lower().rstrip("s") if token.lower().rstrip("s") in _CALENDAR else token.lower()
        if token[0].isdigit() or lower in _CALENDAR or any(c.isdigit() or c in "-_" for c in token):
            found.add(lower)  # numbers, days, identifiers: 5432, tuesday, api-gateway, user_id, py311
        elif token[0].isupper():
            (openers if match.start() in starts else found).add(lower)
    return frozenset(found), frozenset(openers)


@lru_cache(maxsize=512)
def _words(text: str) -> frozenset[str]:
    return frozenset(w for token in _TOKEN.findall(text.lower()) for w in (token, token.rstrip("s")))


def same_fact(a: str, b: str) -> bool:
    """Whether two texts that embed close together say the same thing: the same values and the same negations,
    and each sentence-opening capital of one is a word of the other too.

    "The gateway uses PostgreSQL 15" and "the gateway uses MySQL 8" embed at cosine 0.82, "port 5432" and "port
    5433" at 0.98: closeness alone cannot tell a corroboration from a contradiction, so the values decide.
    """
    (found_a, openers_a), (found_b, openers_b) = values(a), values(b)
    words_a, words_b = _words(a), _words(b)
    openers_agree = all({w, w.rstrip("s")} & words_b for w in openers_a - _FUNCTION_WORDS) and all(
        {w, w.rstrip("s")} & words_a for w in openers_b - _FUNCTION_WORDS
    )
    negations_agree = len(_NEGATIONS.findall(a)) == len(_NEGATIONS.findall(b))
    return found_a == found_b and openers_agree and negations_agree
