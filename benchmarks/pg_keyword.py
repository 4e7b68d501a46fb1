"""Which PostgreSQL keyword ranking comes closest to FTS5's BM25 (issue 24), on the LongMemEval dev split.

Per instance: every non-empty turn of the haystack is one document (exact duplicates share one, as slm stores
them), the question is the query, the evidence turns and sessions are the relevance. The **reference** is FTS5's
BM25 exactly as slm's keyword channel ranks it without its length factor: the MATCH expression from slm's own
`fts_match`, a plain FTS5 table with slm's tokenizer (`porter unicode61 remove_diacritics 2`), `-bm25()`.

The **candidates** run on a PostgreSQL the benchmark starts (pgserver) and stops, one table per configuration with
a GIN index, all asked for the same words (`keyword_terms`, the words `fts_match` quotes), each word a phrase:

- `ts_rank` and `ts_rank_cd`, normalisation 0, 1, 2, 32 and 1|32, on `to_tsvector('english' | 'simple', text)`,
  the query `phraseto_tsquery(config, word) || …` (an OR, as FTS5's);
- `bm25-sql/pystemmer`: BM25 computed in SQL (k1 1.2, b 0.75, FTS5's idf) over a `simple` tsvector of tokens made
  in Python — a unicode61 look-alike and PyStemmer's `porter`, tokens under 3 bytes left alone as FTS5 does;
- `bm25-sql/fts5-tokens`: the same SQL over tokens made in Python by SQLite's own FTS5 tokenizer, called through
  apsw (already slm's SQLite driver), so the tokens are FTS5's by construction.

Reported per candidate: NDCG@10 and R@10 against the evidence (turn and session level, as `longmemeval.py`),
agreement with the reference (mean Kendall tau-b and Spearman over the union of both top-50 lists, mean top-10
overlap, the share of questions with an identical top-10 list) and the query's p50 latency. Also a token-parity
check of both Python tokenizers against FTS5's own tokens (`fts5vocab`) for every dev turn.

    nice .venv/bin/python -m benchmarks.pg_keyword --out benchmarks/results/pg-keyword.json
    .venv/bin/python -m benchmarks.pg_keyword --limit 3      # a quick smoke run

Needs pgserver and psycopg (the `test` extra) and PyStemmer (`pip install pystemmer`, not an slm dependency).
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import time
import unicodedata
import warnings
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import apsw
from scipy import stats

from benchmarks.longmemeval import DEPTH, Instance, data_path, distinct_in_order, load_instances, score
from slm.recall.fts_query import fts_match, keyword_terms

TOKENIZE = "porter unicode61 remove_diacritics 2"  # slm's (migrations/0001_memories.sql)
K1, B = 1.2, 0.75  # FTS5's bm25() defaults
NORMS = {"0": 0, "1": 1, "2": 2, "32": 32, "1|32": 33}
CONFIGS = ("english", "simple")
TOP = 10
MAX_POS = 16383  # tsvector positions stop here; a lexeme keeps at most 256 of them
MAX_LEXEME = 2047  # bytes: a longer word is not a tsvector lexeme


# -- tokens made in Python ----------------------------------------------------------------------------------------
def fts5_tokenizer() -> Callable[[str], list[str]]:
    """SQLite's own `porter unicode61 remove_diacritics 2` tokenizer, called from Python (apsw)."""
    tokenize = apsw.Connection(":memory:").fts5_tokenizer("porter", ["unicode61", "remove_diacritics", "2"])

    def tokens(text: str) -> list[str]:
        return tokenize(
            text.encode(), apsw.FTS5_TOKENIZE_DOCUMENT, None, include_offsets=False, include_colocated=False
        )

    return tokens


def _latin(char: str) -> bool:
    code = ord(char)
    return code < 0x250 or 0x1E00 <= code <= 0x1EFF


def _fold(char: str) -> str:
    """unicode61's case folding and remove_diacritics 2: lower case; Latin letters lose their marks (`é` → `e`,
    `ǖ` → `u`), others keep them (`ά`, `ё`); a lone combining mark folds to nothing."""
    lower = char.lower()
    parts = unicodedata.normalize("NFD", lower)
    if unicodedata.category(char) == "Mn":
        return ""
    if parts and _latin(parts[0]):
        return unicodedata.normalize("NFC", "".join(p for p in parts if unicodedata.category(p) != "Mn"))
    return unicodedata.normalize("NFC", lower)


def unicode61_words(text: str) -> Iterator[str]:
    """Runs of letters, digits and private-use characters (unicode61's default token characters, plus combining
    marks, which it folds away), folded. Characters Unicode assigned after 6.1 (newer emoji) differ: FTS5 takes
    them as letters; this does not know them."""
    word: list[str] = []
    for char in text:
        category = unicodedata.category(char)
        if category[0] in "LN" or category in ("Co", "Mn"):
            word.append(_fold(char))
        elif word:
            yield "".join(word)
            word = []
    if word:
        yield "".join(word)


def pystemmer_tokenizer() -> Callable[[str], list[str]]:
    """unicode61 look-alike + PyStemmer's `porter`; tokens under 3 or over 64 bytes pass unstemmed, as in FTS5
    (PyStemmer would stem `s` to nothing and `is` to `i`)."""
    import Stemmer

    stemmer = Stemmer.Stemmer("porter")
    stem = stemmer.stemWord

    def tokens(text: str) -> list[str]:
        out = []
        for word in unicode61_words(text):
            if word:
                size = len(word.encode())
                out.append(word if size < 3 or size > 64 else stem(word))
        return out

    return tokens


def tsvector_literal(tokens: list[str]) -> str:
    """A `simple` tsvector of these tokens at their positions (1-based, as to_tsvector numbers them)."""
    positions: dict[str, list[int]] = defaultdict(list)
    for at, token in enumerate(tokens, 1):
        if len(token.encode()) <= MAX_LEXEME:
            positions[token].append(min(at, MAX_POS))
    return " ".join(f"{_quote(t)}:{','.join(map(str, p[:256]))}" for t, p in positions.items())


def _quote(lexeme: str) -> str:
    return "'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'"


# -- documents ----------------------------------------------------------------------------------------------------
@dataclass
class Haystack:
    inst: Instance
    texts: list[str]  # document i has id i + 1
    turns_of: dict[int, list[tuple[int, int]]]

    @classmethod
    def of(cls, inst: Instance) -> Haystack:
        ids: dict[str, int] = {}
        turns_of: dict[int, list[tuple[int, int]]] = defaultdict(list)
        for item, key in zip(inst.items, inst.turn_keys, strict=True):
            doc = ids.setdefault(item["text"], len(ids) + 1)
            turns_of[doc].append(key)  # exact duplicate turns share one document, as they share one memory
        return cls(inst, list(ids), turns_of)


Ranked = list[tuple[int, float]]  # (document id, score), best first


def order(hits: Ranked) -> Ranked:
    """Best first; scores compared to 9 significant digits (sums in another order differ in the last bits), ties
    by id."""
    return sorted(hits, key=lambda h: (-float(f"{h[1]:.9g}"), h[0]))


# -- the reference: FTS5 ------------------------------------------------------------------------------------------
class Fts5:
    def __init__(self) -> None:
        self.conn = apsw.Connection(":memory:")
        self.conn.execute(f"CREATE VIRTUAL TABLE docs USING fts5 (content, tokenize = '{TOKENIZE}')")
        self.conn.execute("CREATE VIRTUAL TABLE vocab USING fts5vocab (docs, 'instance')")

    def load(self, texts: list[str]) -> None:
        with self.conn:
            self.conn.execute("DELETE FROM docs")
            self.conn.executemany("INSERT INTO docs (rowid, content) VALUES (?, ?)", enumerate(texts, 1))

    def rank(self, question: str) -> Ranked:
        match = fts_match(question)
        return self.rank_match(match) if match else []

    def rank_match(self, match: str) -> Ranked:
        sql = "SELECT rowid, -bm25(docs) FROM docs WHERE docs MATCH ? ORDER BY bm25(docs)"
        return list(self.conn.execute(sql, [match]))

    def tokens(self) -> dict[int, list[str]]:
        """FTS5's tokens of every document, in order (fts5vocab)."""
        out: dict[int, list[str]] = defaultdict(list)
        for doc, term in self.conn.execute('SELECT doc, term FROM vocab ORDER BY doc, "offset"'):
            out[doc].append(term)
        return out


# -- the candidates: PostgreSQL -----------------------------------------------------------------------------------
@contextmanager
def postgres() -> Iterator[str]:
    """A throwaway PostgreSQL (as tests/pg.py starts it), stopped and deleted on the way out."""
    from benchmarks import throwaway_postgres

    server, admin = throwaway_postgres.start()
    try:
        yield admin
    finally:
        server.cleanup()


SCHEMA = """
CREATE TABLE kw_english (id int PRIMARY KEY, content text NOT NULL,
    fts tsvector GENERATED ALWAYS AS (to_tsvector('english', content)) STORED);
CREATE INDEX kw_english_fts ON kw_english USING gin (fts);
CREATE TABLE kw_simple (id int PRIMARY KEY, content text NOT NULL,
    fts tsvector GENERATED ALWAYS AS (to_tsvector('simple', content)) STORED);
CREATE INDEX kw_simple_fts ON kw_simple USING gin (fts);
"""
BM25_TABLE = """
CREATE TABLE {t} (id int PRIMARY KEY, fts tsvector NOT NULL, fts_len int NOT NULL);
CREATE INDEX {t}_fts ON {t} USING gin (fts);
CREATE TABLE {t}_stats (rows bigint NOT NULL, tokens bigint NOT NULL);
"""
# FTS5's bm25() in one statement. One row per query phrase (duplicates kept: FTS5 scores `"run" OR "running"` as
# two phrases), its idf from a GIN count; only the query's lexemes of each matching row are unnested (setweight +
# ts_filter pick them out in C, ~5x faster than unnesting every lexeme); a phrase's tf is the number of positions
# where its first lexeme starts a run of all of them.
BM25_SQL = """
WITH stats AS (SELECT rows, tokens FROM {t}_stats),
q AS MATERIALIZED (SELECT x.ord, x.lex, (SELECT count(*) FROM {t} WHERE fts @@ x.tsq::tsquery) AS n
      FROM jsonb_to_recordset(%(phrases)s::jsonb) AS x(ord int, lex text[], tsq text)),
qi AS MATERIALIZED (SELECT q.ord, q.lex, CASE WHEN v.idf > 0 THEN v.idf ELSE 1e-6 END AS idf
       FROM q, stats s, LATERAL (SELECT ln((s.rows - q.n + 0.5) / (q.n + 0.5)) AS idf) v),
pos AS (SELECT h.id, h.fts_len, u.lexeme, u.positions
        FROM {t} h, unnest(ts_filter(setweight(h.fts, 'A', %(lexemes)s::text[]), '{{a}}')) u
        WHERE h.fts @@ %(tsq)s::tsquery),
tf AS MATERIALIZED (SELECT p.id, p.fts_len, q.idf, CASE WHEN cardinality(q.lex) = 1 THEN cardinality(p.positions) ELSE (
           SELECT count(*) FROM unnest(p.positions) AS s(at) WHERE NOT EXISTS (
               SELECT 1 FROM generate_subscripts(q.lex, 1) j WHERE j > 1 AND NOT EXISTS (
                   SELECT 1 FROM pos o WHERE o.id = p.id AND o.lexeme = q.lex[j] AND s.at + j - 1 = ANY(o.positions))))
       END AS tf
       FROM qi q JOIN pos p ON p.lexeme = q.lex[1])
SELECT tf.id, sum(tf.idf * tf.tf * %(k1p1)s / (tf.tf + %(k1)s * (1 - %(b)s + %(b)s * tf.fts_len * s.rows / s.tokens)))
FROM tf, stats s WHERE tf.tf > 0 GROUP BY tf.id
"""


@dataclass
class Bm25Table:
    name: str
    tokenize: Callable[[str], list[str]]


class Postgres:
    def __init__(self, url: str, bm25: list[Bm25Table]) -> None:
        import psycopg

        self.conn = psycopg.connect(url, autocommit=True)
        self.conn.add_notice_handler(lambda _notice: None)  # "text-search query contains only stop words"
        self.bm25 = bm25
        self.conn.execute(SCHEMA)
        for table in bm25:
            self.conn.execute(BM25_TABLE.format(t=table.name))
        self.tokens: dict[str, list[list[str]]] = {}
        self.limits: Counter = Counter()  # documents whose tsvector loses something (positions, lexemes)

    def load(self, texts: list[str]) -> None:
        cur = self.conn.cursor()
        rows = list(enumerate(texts, 1))
        for table in ("kw_english", "kw_simple"):
            cur.execute(f"TRUNCATE {table}")
            with cur.copy(f"COPY {table} (id, content) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        for table in self.bm25:
            tokens = [table.tokenize(text) for text in texts]
            self.tokens[table.name] = tokens
            for toks in tokens:
                counts = Counter(toks)
                self.limits[f"{table.name}: docs over {MAX_POS} tokens"] += len(toks) > MAX_POS
                self.limits[f"{table.name}: docs with a lexeme over 256 times"] += max(counts.values(), default=0) > 256
                self.limits[f"{table.name}: docs with a token over {MAX_LEXEME} bytes"] += any(
                    len(t.encode()) > MAX_LEXEME for t in counts
                )
            cur.execute(f"TRUNCATE {table.name}; TRUNCATE {table.name}_stats")
            with cur.copy(f"COPY {table.name} (id, fts, fts_len) FROM STDIN") as copy:
                for doc, toks in enumerate(tokens, 1):
                    copy.write_row((doc, tsvector_literal(toks), len(toks)))
            cur.execute(f"INSERT INTO {table.name}_stats VALUES (%s, %s)", (len(texts), sum(len(t) for t in tokens)))
        for table in ["kw_english", "kw_simple", *(t.name for t in self.bm25)]:
            cur.execute(f"ANALYZE {table}")

    def ts_rank(self, function: str, config: str, norm: int, terms: list[str]) -> Ranked:
        if not terms:
            return []
        query = " || ".join(f"phraseto_tsquery('{config}', %s)" for _ in terms)
        sql = f"SELECT id, {function}(fts, q, {norm}) FROM kw_{config}, ({'SELECT ' + query} AS q) qq WHERE fts @@ q"
        return list(self.conn.execute(sql, terms))

    def bm25_sql(self, table: Bm25Table, terms: list[str]) -> Ranked:
        """FTS5's bm25() in one statement: idf per phrase from a GIN count, scores in SQL."""
        phrases = [toks for toks in (table.tokenize(term) for term in terms) if toks]
        if not phrases:
            return []
        tsqs = [" <-> ".join(_quote(t) for t in toks) for toks in phrases]
        params = {
            "phrases": json.dumps(
                [{"ord": i, "lex": p, "tsq": q} for i, (p, q) in enumerate(zip(phrases, tsqs, strict=True))]
            ),
            "tsq": " | ".join(f"({q})" for q in tsqs),
            "lexemes": sorted({t for p in phrases for t in p}),
            "k1": K1,
            "k1p1": K1 + 1,
            "b": B,
        }
        return list(self.conn.execute(BM25_SQL.format(t=table.name), params))

    def close(self) -> None:
        self.conn.close()


# -- agreement ----------------------------------------------------------------------------------------------------
def agreement(reference: Ranked, candidate: Ranked) -> dict[str, float]:
    """Kendall tau-b and Spearman over the union of both top-DEPTH lists (a document a list lacks ties at its
    bottom), top-10 overlap, and whether the two top-10 lists are identical."""
    ref_rank = {doc: r for r, (doc, _) in enumerate(reference)}
    cand_rank = {doc: r for r, (doc, _) in enumerate(candidate)}
    union = sorted({d for d, _ in reference[:DEPTH]} | {d for d, _ in candidate[:DEPTH]})
    ref_top = [d for d, _ in reference[:TOP]]
    cand_top = [d for d, _ in candidate[:TOP]]
    out = {
        "top10_overlap": len(set(ref_top) & set(cand_top)) / max(len(ref_top), len(cand_top), 1),
        "top10_identical": float(ref_top == cand_top),
    }
    if len(union) >= 2:
        a = [ref_rank.get(d, len(reference)) for d in union]
        b = [cand_rank.get(d, len(candidate)) for d in union]
        with warnings.catch_warnings():  # a constant list (one system matches nothing): no correlation
            warnings.simplefilter("ignore")
            tau, rho = stats.kendalltau(a, b).statistic, stats.spearmanr(a, b).statistic
        if not math.isnan(tau):
            out |= {"kendall_tau": float(tau), "spearman": float(rho)}
    return out


def evaluate(hay: Haystack, ranked: Ranked) -> dict[str, float]:
    turns = [key for doc, _ in ranked[:DEPTH] for key in hay.turns_of[doc]]
    sessions = distinct_in_order([s for s, _ in turns])
    return score(turns, sessions, hay.inst.evidence_turns, hay.inst.evidence_sessions)


# -- token parity -------------------------------------------------------------------------------------------------
@dataclass
class Parity:
    docs: int = 0
    tokens: int = 0
    docs_differing: int = 0
    tokens_differing: int = 0

    def __post_init__(self) -> None:
        self.examples: Counter = Counter()

    def add(self, fts5: list[str], python: list[str]) -> None:
        self.docs += 1
        self.tokens += len(fts5)
        if fts5 == python:
            return
        self.docs_differing += 1
        import difflib

        matcher = difflib.SequenceMatcher(a=fts5, b=python, autojunk=False)
        for op, i1, i2, j1, j2 in matcher.get_opcodes():
            if op != "equal":
                self.tokens_differing += max(i2 - i1, j2 - j1)
                self.examples[(" ".join(fts5[i1:i2]), " ".join(python[j1:j2]))] += 1

    def report(self) -> dict:
        return {
            "docs": self.docs,
            "tokens": self.tokens,
            "docs_differing": self.docs_differing,
            "tokens_differing": self.tokens_differing,
            "top_differences (fts5 -> python: count)": [
                f"{a or '∅'} -> {b or '∅'}: {n}" for (a, b), n in self.examples.most_common(15)
            ],
        }


# -- the run ------------------------------------------------------------------------------------------------------
def candidates(pg: Postgres) -> dict[str, Callable[[str], Ranked]]:
    systems: dict[str, Callable[[str], Ranked]] = {}
    for function in ("ts_rank", "ts_rank_cd"):
        for config in CONFIGS:
            for label, norm in NORMS.items():
                systems[f"{function}/{config}/{label}"] = partial(_ts_rank, pg, function, config, norm)
    for table in pg.bm25:
        systems[f"bm25-sql/{table.name.removeprefix('bm25_').replace('_', '-')}"] = partial(_bm25_sql, pg, table)
    return systems


def _ts_rank(pg: Postgres, function: str, config: str, norm: int, question: str) -> Ranked:
    return pg.ts_rank(function, config, norm, keyword_terms(question))


def _bm25_sql(pg: Postgres, table: Bm25Table, question: str) -> Ranked:
    return pg.bm25_sql(table, keyword_terms(question))


def run(instances: list[Instance], url: str) -> dict:
    fts5 = Fts5()
    tokenizers = {"pystemmer": pystemmer_tokenizer(), "fts5_tokens": fts5_tokenizer()}
    pg = Postgres(url, [Bm25Table(f"bm25_{name}", tok) for name, tok in tokenizers.items()])
    systems = candidates(pg)
    parity = {name: Parity() for name in tokenizers}
    metrics: dict[str, list[dict]] = defaultdict(list)
    latency: dict[str, list[float]] = defaultdict(list)
    questions = []
    try:
        for inst in instances:
            hay = Haystack.of(inst)
            fts5.load(hay.texts)
            pg.load(hay.texts)
            vocab = fts5.tokens()
            for name in tokenizers:
                for doc, toks in enumerate(pg.tokens[f"bm25_{name}"], 1):
                    parity[name].add(vocab.get(doc, []), toks)
            began = time.perf_counter()
            reference = order(fts5.rank(inst.question))
            latency["fts5-bm25 (reference)"].append(time.perf_counter() - began)
            metrics["fts5-bm25 (reference)"].append(evaluate(hay, reference) | agreement(reference, reference))
            row = {"qid": inst.qid, "docs": len(hay.texts), "matched": len(reference), "systems": {}}
            for name, ask in systems.items():
                began = time.perf_counter()
                ranked = order(ask(inst.question))
                latency[name].append(time.perf_counter() - began)
                values = evaluate(hay, ranked) | agreement(reference, ranked)
                metrics[name].append(values)
                row["systems"][name] = {k: round(v, 4) for k, v in values.items() if k in PER_QUESTION}
            questions.append(row)
    finally:
        pg.close()
    summary = {
        name: {
            **{key: round(statistics.fmean(r[key] for r in rows if key in r), 4) for key in _keys(rows)},
            "query_ms_p50": round(1000 * statistics.median(latency[name]), 2),
        }
        for name, rows in metrics.items()
    }
    return {
        "summary": summary,
        "token_parity": {n: p.report() for n, p in parity.items()},
        "tsvector_limits": dict(pg.limits),
        "questions": questions,
    }


PER_QUESTION = ("session_ndcg@10", "turn_ndcg@10", "kendall_tau", "top10_overlap", "top10_identical")


def _keys(rows: list[dict]) -> list[str]:
    return sorted({key for row in rows for key in row})


COLUMNS = [
    ("session_ndcg@10", "S-NDCG@10"),
    ("session_recall_any@10", "S-R@10"),
    ("turn_ndcg@10", "T-NDCG@10"),
    ("turn_recall_any@10", "T-R@10"),
    ("kendall_tau", "tau"),
    ("spearman", "rho"),
    ("top10_overlap", "top10 ovl"),
    ("top10_identical", "top10 same"),
    ("query_ms_p50", "p50 ms"),
]


def table(summary: dict) -> str:
    head = f"| {'ranking':<28} | " + " | ".join(label for _, label in COLUMNS) + " |"
    rule = "| " + "-" * 28 + " | " + " | ".join("-" * (len(label) - 1) + ":" for _, label in COLUMNS) + " |"
    lines = [head, rule]
    for name, values in summary.items():
        cells = [f"{values.get(key, float('nan')):.3f}".rjust(len(label)) for key, label in COLUMNS]
        lines.append(f"| {name:<28} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict | None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="LongMemEval dev file (default: $SLM_LME_DATA or the shared lme_dev.jsonl.gz)")
    parser.add_argument("--limit", type=int, help="only the first N scored instances")
    parser.add_argument("--out", type=Path, help="write the summary, token parity and per-question results here")
    args = parser.parse_args(argv)
    path = data_path(args.data)
    if not path.exists():
        print(f"LongMemEval data not found at {path}: set --data or SLM_LME_DATA (see ../shared/data/README.md)")
        return None
    instances = [Instance.parse(raw) for raw in load_instances(path, args.limit)]
    began = time.perf_counter()
    with postgres() as url:
        result = run(instances, url)
    print(table(result["summary"]))
    print("tsvector limits:", result["tsvector_limits"])
    for name, parity in result["token_parity"].items():
        print(
            f"token parity {name}: {parity['docs_differing']} of {parity['docs']} documents and "
            f"{parity['tokens_differing']} of {parity['tokens']} tokens differ from FTS5's"
        )
        for line in parity["top_differences (fts5 -> python: count)"][:8]:
            print(f"    {line}")
    report = {
        "data": str(path),
        "instances": len(instances),
        "depth": DEPTH,
        "wall_s": round(time.perf_counter() - began, 1),
        **result,
    }
    if args.out:
        args.out.write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n")
    return report


if __name__ == "__main__":
    main()
