"""PostgreSQL full-text search over the same documents and queries as yuqing's search.

Usage: pgfts.py DOCS.jsonl GRAMS.jsonl SINCE_MS UNTIL_MS QUERIES.jsonl... [--url URL]

DOCS.jsonl holds the documents yuqing imported (bench/run: the first 200,000 lines of the
CED file); GRAMS.jsonl is `yuqing-bench grams DOCS.jsonl GRAMS.jsonl`: for each line of
DOCS, the text normalised as yuqing's index normalises it and yuqing's own index tokens
(character bigrams at their positions, a lone character as a unigram) as a tsvector
literal. Each QUERIES.jsonl is the `--queries-out` of `yuqing-bench search` over that
import: the query strings, with yuqing's hit count and latency for each.

The server is URL (default postgres://postgres@127.0.0.1:5432/postgres, or $PGFTS_URL);
the script creates a scratch database `yuqing_pgfts_<pid>` there and drops it at the end.
Two tables, the two ways a multi-node deployment could search in PostgreSQL:
* `pg_jieba`: the normalised text cut by Python jieba (lcut, HMM on, the pinned version),
  the words joined with spaces and turned into `to_tsvector('simple', words)`, GIN; a
  query is cut the same way and asked as `phraseto_tsquery('simple', words)`. It finds
  whole jieba words only (北京 is not found in 北京大学), which is what its hit counts
  against yuqing's show.
* `pg_bigram`: yuqing's own tokens as an explicit tsvector (`'北京':1 '京大':2 …`), GIN; a
  query of n >= 2 characters is its n - 1 bigrams chained with `<->`, so it matches the
  texts whose normalised text contains the query, as yuqing does, within PostgreSQL's
  tsvector limits (positions above 16,383 are stored as 16,383, at most 256 positions per
  lexeme: the documents past them are counted by `yuqing-bench grams`). A query of one
  character (none in these query sets) is not answered here: a tsquery prefix `'北':*`
  finds the bigrams starting with it and its unigram but not a character that only ends a
  run, so it would need a scan of the normalised text or an extra token per run end.
Each table is (id int, published bigint, text text, tsv tsvector): the raw text is stored,
as an application that shows results needs it (FTS5's table holds it too). Loading is
timed in parts: jieba's cutting in Python (pg_jieba), COPY into the table (pg_jieba: into
a staging table, then INSERT … SELECT to_tsvector), and CREATE INDEX … USING gin with
maintenance_work_mem 256MB, then ANALYZE. Sizes: the GIN index (pg_relation_size) and the
table (pg_table_size: heap + TOAST). Write amplification: EXPLAIN (ANALYZE, WAL) of an
INSERT of 20,000 more rows (copies of the first ones under new ids) into the indexed table
against the same INSERT into a copy of the table without the index, so the WAL the GIN
index adds per document while documents arrive one batch after another (fastupdate on, the
default 4 MB pending list).

A search is what yuqing-bench search does: the hit count and the top 10 with their text,
with the time filter, as two statements, COUNT(*) and the top 10 newest first; each is
timed, and their sum is the search. The session runs with jit off (PostgreSQL 15 compiles
a costly count with LLVM, adding tens of ms) and the server's other settings as they are.
Prints one JSON line.
"""

import json
import math
import os
import sys
import time
from datetime import datetime

import psycopg


def pct(lat, p):
    """The same percentile as yuqing-bench: the ceil(n·p)-th smallest."""
    s = sorted(lat)
    return s[min(len(s) - 1, max(0, math.ceil(len(s) * p) - 1))] if s else 0.0


def read_docs(path, grams_path):
    rows = []
    with open(path, encoding="utf-8") as f, open(grams_path, encoding="utf-8") as g:
        for i, (line, gline) in enumerate(zip(f, g), 1):
            d, gr = json.loads(line), json.loads(gline)
            p = d.get("published_at")
            ms = int(datetime.fromisoformat(p).timestamp() * 1000) if p else None
            rows.append((i, ms, d.get("text") or "", gr["norm"], gr["tsv"]))
    return rows


def lat_summary(lat):
    return {"p50_ms": round(pct(lat, 0.5), 3), "p95_ms": round(pct(lat, 0.95), 3), "max_ms": round(max(lat), 3)}


FILTER = "published >= %s AND published < %s"


def run_queries(db, table, queries, since, until, tsquery_sql, param_of):
    """tsquery_sql: SQL for the tsquery with one %s; param_of(q) -> its parameter (its time,
    such as cutting the query, is counted in both the count and the search)."""
    count_sql = f"SELECT COUNT(*) FROM {table} WHERE tsv @@ {tsquery_sql} AND {FILTER}"
    top_sql = (f"SELECT id, text FROM {table} WHERE tsv @@ {tsquery_sql} AND {FILTER} "
               "ORDER BY published DESC LIMIT 10")
    lat, lat_count, lat_top, out = [], [], [], []
    for q in queries:
        t0 = time.perf_counter()
        param = param_of(q["query"])
        n = db.execute(count_sql, (param, since, until)).fetchone()[0]
        t1 = time.perf_counter()
        top = db.execute(top_sql, (param, since, until)).fetchall()
        t2 = time.perf_counter()
        lat.append((t2 - t0) * 1000)
        lat_count.append((t1 - t0) * 1000)
        lat_top.append((t2 - t1) * 1000)
        assert len(top) <= 10
        out.append((q["query"], q["total"], n))
    exact = sum(y == f for _, y, f in out)
    yq, pg = sum(y for _, y, _ in out), sum(f for _, _, f in out)
    differ = [{"query": q, "yuqing": y, "postgres": f} for q, y, f in out if y != f]
    return {
        "queries": len(out),
        **lat_summary(lat),
        "count": lat_summary(lat_count),
        "top10": lat_summary(lat_top),
        "mean_hits": pg // max(1, len(out)),
        # Hit counts against yuqing's on the same query: how many queries agree exactly,
        # the share that differ, and all PostgreSQL hits over all yuqing hits.
        "same_count_queries": exact,
        "differing_share": round(1 - exact / max(1, len(out)), 4),
        "hits_vs_yuqing": round(pg / yq, 4) if yq else None,
        "examples": [{"query": q, "yuqing": y, "postgres": f} for q, y, f in out[:5]],
        "first_differing": differ[:5],
    }


def sizes(db, table):
    r = db.execute(
        f"SELECT pg_relation_size('{table}_tsv'), pg_table_size('{table}'), pg_relation_size('{table}')").fetchone()
    return {"gin_mb": round(r[0] / 2**20, 1), "table_mb": round(r[1] / 2**20, 1), "heap_mb": round(r[2] / 2**20, 1)}


def explain_wal(db, sql, params=()):
    """WAL records, bytes and full-page images of one statement, and its wall time."""
    t0 = time.perf_counter()
    plan = db.execute(f"EXPLAIN (ANALYZE, WAL, FORMAT JSON) {sql}", params).fetchone()[0]
    top = plan[0]["Plan"]
    return {"wal_bytes": top.get("WAL Bytes", 0), "wal_records": top.get("WAL Records", 0),
            "wal_fpi": top.get("WAL FPI", 0), "seconds": time.perf_counter() - t0}


def wal_probe(db, table, n=20000):
    """WAL bytes and time of inserting n more rows (copies of the first n under new ids)
    into the indexed table and into a copy without the index; the difference is what GIN
    adds. With fastupdate on (the default) an insert goes to the pending list, merged into
    the index when the list passes gin_pending_list_limit or by (auto)vacuum: that merge
    is done here with gin_clean_pending_list and counted. Then the same with fastupdate
    off (every insert updates the index at once)."""
    n = db.execute(f"SELECT COUNT(*) FROM {table} WHERE id <= %s", (n,)).fetchone()[0]
    copy = f"INSERT INTO {{}} SELECT id + {{}}, published, text, tsv FROM {table} WHERE id <= %s"
    db.execute(f"CREATE TABLE {table}_plain (LIKE {table})")
    db.execute(f"INSERT INTO {table}_plain SELECT * FROM {table}")
    heap = explain_wal(db, copy.format(f"{table}_plain", 10_000_000), (n,))
    db.execute(f"DROP TABLE {table}_plain")
    ins = explain_wal(db, copy.format(table, 10_000_000), (n,))
    clean = explain_wal(db, f"SELECT gin_clean_pending_list('{table}_tsv')")
    on = {k: ins[k] + clean[k] for k in ins}
    db.execute(f"ALTER INDEX {table}_tsv SET (fastupdate = off)")
    off = explain_wal(db, copy.format(table, 20_000_000), (n,))

    def per(x):
        gin = x["wal_bytes"] - heap["wal_bytes"]
        return {"wal_bytes": x["wal_bytes"], "wal_fpi": x["wal_fpi"], "seconds": round(x["seconds"], 2),
                "gin_wal_bytes_per_doc": round(gin / n), "gin_wal_gb_per_million_docs": round(gin / n * 1e6 / 2**30, 2),
                "docs_per_second": round(n / x["seconds"])}
    return {"rows": n,
            "heap_only": {"wal_bytes": heap["wal_bytes"], "wal_fpi": heap["wal_fpi"], "seconds": round(heap["seconds"], 2),
                          "docs_per_second": round(n / heap["seconds"])},
            "heap_wal_bytes_per_doc": round(heap["wal_bytes"] / n),
            "fastupdate_on": {**per(on), "pending_list_merge_wal_bytes": clean["wal_bytes"]},
            "fastupdate_off": per(off)}


def create_index(db, table):
    t0 = time.perf_counter()
    db.execute(f"CREATE INDEX {table}_tsv ON {table} USING gin (tsv)")
    index_s = time.perf_counter() - t0
    db.execute(f"ANALYZE {table}")
    return round(index_s, 2)


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    docs, grams, since, until = args[0], args[1], int(args[2]), int(args[3])
    query_files = args[4:]
    url = os.environ.get("PGFTS_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    if "--url" in sys.argv:
        url = sys.argv[sys.argv.index("--url") + 1]
        query_files = [a for a in query_files if a != url]
    rows = read_docs(docs, grams)
    sets = {}
    for path in query_files:
        qs = [json.loads(line) for line in open(path, encoding="utf-8") if line.strip()]
        sets[f"{len(qs[0]['query'])}-char"] = qs

    name = f"yuqing_pgfts_{os.getpid()}"
    admin = psycopg.connect(url, autocommit=True)
    admin.execute(f"DROP DATABASE IF EXISTS {name}")
    admin.execute(f"CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'")
    try:
        scratch = psycopg.conninfo.make_conninfo(url, dbname=name)
        with psycopg.connect(scratch, autocommit=True) as db:
            r = measure(db, rows, sets, since, until)
        r["database"] = "scratch database created and dropped by the script"
    finally:
        admin.execute(f"DROP DATABASE IF EXISTS {name}")
        admin.close()
    print(json.dumps(r, ensure_ascii=False))


def measure(db, rows, sets, since, until):
    db.execute("SET jit = off")
    db.execute("SET maintenance_work_mem = '256MB'")
    t0 = time.perf_counter()
    for _ in range(2000):
        db.execute("SELECT 1").fetchone()
    overhead_us = (time.perf_counter() - t0) / 2000 * 1e6
    settings = {k: db.execute(f"SHOW {k}").fetchone()[0] for k in (
        "shared_buffers", "work_mem", "maintenance_work_mem", "max_parallel_workers_per_gather", "jit",
        "synchronous_commit", "gin_pending_list_limit")}
    r = {"postgres_version": db.execute("SHOW server_version").fetchone()[0], "psycopg": psycopg.__version__,
         "python": sys.version.split()[0], "roundtrip_us": round(overhead_us, 1), "settings": settings,
         "documents": len(rows), "tables": {}}

    # pg_bigram: yuqing's grams as an explicit tsvector.
    db.execute("CREATE TABLE pg_bigram (id int NOT NULL, published bigint, text text NOT NULL, tsv tsvector NOT NULL)")
    t0 = time.perf_counter()
    with db.cursor().copy("COPY pg_bigram (id, published, text, tsv) FROM STDIN") as cp:
        for i, ms, text, _norm, tsv in rows:
            cp.write_row((i, ms, text, tsv))
    copy_s = time.perf_counter() - t0
    info = {"how": "yuqing's grams (normalised text, bigrams at their positions, lone characters as unigrams) "
                   "as an explicit tsvector; query: bigrams chained with <->",
            "copy_seconds": round(copy_s, 2), "index_seconds": create_index(db, "pg_bigram")}
    info.update(sizes(db, "pg_bigram"))

    def bigram_query(q):
        # The bench queries are normalised ideograph strings of 2 or 3 characters.
        assert len(q) >= 2, "a one-character query is not answered by pg_bigram"
        return " <-> ".join(f"'{q[k:k + 2]}'" for k in range(len(q) - 1))
    info["queries"] = {k: run_queries(db, "pg_bigram", qs, since, until, "%s::tsquery", bigram_query)
                       for k, qs in sets.items()}
    info["wal"] = wal_probe(db, "pg_bigram")
    r["tables"]["pg_bigram"] = info
    db.execute("DROP TABLE pg_bigram")

    # pg_jieba: normalised text cut by Python jieba, to_tsvector('simple', words).
    import jieba
    jieba.setLogLevel(60)
    jieba.initialize()
    t0 = time.perf_counter()
    cut = [(i, ms, text, " ".join(w for w in jieba.lcut(norm) if w.strip())) for i, ms, text, norm, _ in rows]
    seg_s = time.perf_counter() - t0
    db.execute("CREATE UNLOGGED TABLE stage (id int, published bigint, text text, words text)")
    db.execute("CREATE TABLE pg_jieba (id int NOT NULL, published bigint, text text NOT NULL, tsv tsvector NOT NULL)")
    t0 = time.perf_counter()
    with db.cursor().copy("COPY stage (id, published, text, words) FROM STDIN") as cp:
        for row in cut:
            cp.write_row(row)
    copy_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    db.execute("INSERT INTO pg_jieba SELECT id, published, text, to_tsvector('simple', words) FROM stage")
    tsv_s = time.perf_counter() - t0
    db.execute("DROP TABLE stage")
    info = {"how": "normalised text cut by Python jieba (lcut, HMM on), to_tsvector('simple', words); "
                   "query: phraseto_tsquery('simple', the query cut the same way)",
            "jieba_seconds": round(seg_s, 2), "copy_seconds": round(copy_s + tsv_s, 2),
            "copy_detail": {"copy_words_seconds": round(copy_s, 2), "to_tsvector_insert_seconds": round(tsv_s, 2)},
            "index_seconds": create_index(db, "pg_jieba")}
    info.update(sizes(db, "pg_jieba"))

    def jieba_query(q):
        return " ".join(w for w in jieba.lcut(q) if w.strip())
    info["queries"] = {k: run_queries(db, "pg_jieba", qs, since, until, "phraseto_tsquery('simple', %s)", jieba_query)
                       for k, qs in sets.items()}
    info["wal"] = wal_probe(db, "pg_jieba")
    r["tables"]["pg_jieba"] = info
    return r


if __name__ == "__main__":
    main()
