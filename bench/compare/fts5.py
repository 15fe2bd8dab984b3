"""SQLite FTS5 over the same documents and queries as yuqing's search.

Usage: fts5.py DOCS.jsonl WORKDIR SINCE_MS UNTIL_MS QUERIES.jsonl... [--jieba]

DOCS.jsonl holds the documents yuqing imported (bench/run: the first 200,000 lines of the
CED file). Each QUERIES.jsonl is the `--queries-out` of `yuqing-bench search` over that
import: the query strings, with yuqing's hit count and latency for each.

Two FTS5 tables, the ways Chinese text is usually put into FTS5:
* `trigram`: the raw text with the built-in trigram tokenizer (SQLite >= 3.34). It finds
  substrings of 3 or more characters through the index. A query of 1 or 2 characters
  cannot use the index (MATCH finds nothing), so it has to scan the whole table. It is
  asked as instr(text, q) > 0, not LIKE '%q%': with 2 Chinese characters (6 bytes) SQLite
  3.40 takes the LIKE to the trigram index and silently finds nothing (reported below as
  `like_2char_hits`, against the scan's count).
* `jieba` (with --jieba): the text cut by Python jieba (lcut, HMM on) and joined with
  spaces, under the default unicode61 tokenizer; the query is cut the same way and asked as
  a phrase. It finds whole jieba words only (北京 is not found in 北京大学).
Each table is `fts5(text, published UNINDEXED)`, so the time filter is checked on the
matching rows; the text is stored in the table (its content), as an application that shows
results needs it. Indexing time is the INSERTs of all documents in one transaction and the
commit (JSON parsing left out; jieba's cutting reported apart); 'optimize' is timed apart;
sizes are after optimize, index alone (dbstat, everything but the content table) and the
whole file.

A search is what yuqing-bench search does: the hit count and the top 10 with their text,
with the time filter: two statements, COUNT(*) and the top 10 (by FTS5 rank, or newest
first for a scan, as yuqing orders hits it has to verify). Prints one JSON line.
"""

import json
import math
import os
import sqlite3
import sys
import time
from datetime import datetime


def pct(lat, p):
    """The same percentile as yuqing-bench: the ceil(n·p)-th smallest."""
    s = sorted(lat)
    return s[min(len(s) - 1, max(0, math.ceil(len(s) * p) - 1))] if s else 0.0


def read_docs(path):
    rows = []
    with open(path, encoding="utf-8") as f:
        for i, line in enumerate(f, 1):
            d = json.loads(line)
            p = d.get("published_at")
            ms = int(datetime.fromisoformat(p).timestamp() * 1000) if p else None
            rows.append((i, d.get("text") or "", ms))
    return rows


def build(path, tokenizer, rows):
    if os.path.exists(path):
        os.remove(path)
    db = sqlite3.connect(path)
    db.execute(f"CREATE VIRTUAL TABLE docs USING fts5(text, published UNINDEXED, tokenize='{tokenizer}')")
    t0 = time.perf_counter()
    db.executemany("INSERT INTO docs(rowid, text, published) VALUES (?, ?, ?)", rows)
    db.commit()
    build_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    db.execute("INSERT INTO docs(docs) VALUES ('optimize')")
    db.commit()
    optimize_s = time.perf_counter() - t0
    db.execute("VACUUM")
    sizes = dict(db.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name").fetchall())
    content = sizes.get("docs_content", 0)
    return db, {
        "tokenizer": tokenizer,
        "documents": len(rows),
        "index_seconds": round(build_s, 2),
        "docs_per_second": round(len(rows) / build_s),
        "optimize_seconds": round(optimize_s, 2),
        "index_mb": round((sum(sizes.values()) - content) / 2**20, 1),
        "content_mb": round(content / 2**20, 1),
        "file_mb": round(os.path.getsize(path) / 2**20, 1),
    }


def run_queries(db, queries, since, until, how):
    """how(q) -> (count_sql, top_sql, param); its time (cutting the query) is counted."""
    lat, out = [], []
    for q in queries:
        t0 = time.perf_counter()
        count_sql, top_sql, param = how(q["query"])
        n = db.execute(count_sql, (param, since, until)).fetchone()[0]
        top = db.execute(top_sql, (param, since, until)).fetchall()
        lat.append((time.perf_counter() - t0) * 1000)
        assert len(top) <= 10
        out.append((q["query"], q["total"], n))
    exact = sum(y == f for _, y, f in out)
    yq, ft = sum(y for _, y, _ in out), sum(f for _, _, f in out)
    return {
        "queries": len(out),
        "p50_ms": round(pct(lat, 0.5), 3),
        "p95_ms": round(pct(lat, 0.95), 3),
        "max_ms": round(max(lat), 3),
        "mean_hits": sum(f for _, _, f in out) // max(1, len(out)),
        # Hit counts against yuqing's on the same query: how many queries agree exactly,
        # and all FTS5 hits over all yuqing hits.
        "same_count_queries": exact,
        "hits_vs_yuqing": round(ft / yq, 4) if yq else None,
        "examples": [{"query": q, "yuqing": y, "fts5": f} for q, y, f in out[:5]],
    }


FILTER = "published >= ?2 AND published < ?3"


def trigram_how(q):
    if len(q) >= 3:
        return (f"SELECT COUNT(*) FROM docs WHERE docs MATCH ?1 AND {FILTER}",
                f"SELECT rowid, text FROM docs WHERE docs MATCH ?1 AND {FILTER} ORDER BY rank LIMIT 10",
                '"' + q + '"')
    return (f"SELECT COUNT(*) FROM docs WHERE instr(text, ?1) > 0 AND {FILTER}",
            f"SELECT rowid, text FROM docs WHERE instr(text, ?1) > 0 AND {FILTER} ORDER BY published DESC LIMIT 10",
            q)


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    docs, work, since, until = args[0], args[1], int(args[2]), int(args[3])
    query_files = args[4:]
    with_jieba = "--jieba" in sys.argv
    rows = read_docs(docs)
    sets = {}
    for path in query_files:
        qs = [json.loads(line) for line in open(path, encoding="utf-8") if line.strip()]
        sets[f"{len(qs[0]['query'])}-char"] = qs

    # Python's own cost per statement, to set the latencies against.
    mem = sqlite3.connect(":memory:")
    t0 = time.perf_counter()
    for _ in range(10000):
        mem.execute("SELECT 1").fetchone()
    overhead_us = (time.perf_counter() - t0) / 10000 * 1e6

    r = {"sqlite_version": sqlite3.sqlite_version, "python": sys.version.split()[0],
         "python_statement_overhead_us": round(overhead_us, 1), "tables": {}}
    db, info = build(os.path.join(work, "fts5-trigram.db"), "trigram", rows)
    info["queries"] = {name: run_queries(db, qs, since, until, trigram_how) for name, qs in sets.items()}
    short = next((q["query"] for qs in sets.values() for q in qs if len(q["query"]) == 2), None)
    if short:
        info["like_2char_check"] = {
            "query": short,
            "like_2char_hits": db.execute("SELECT COUNT(*) FROM docs WHERE text LIKE ?", (f"%{short}%",)).fetchone()[0],
            "scan_hits": db.execute("SELECT COUNT(*) FROM docs WHERE instr(text, ?) > 0", (short,)).fetchone()[0],
        }
    r["tables"]["trigram"] = info
    db.close()

    if with_jieba:
        import jieba
        jieba.setLogLevel(60)
        jieba.initialize()
        t0 = time.perf_counter()
        cut = [(i, " ".join(jieba.lcut(t)), p) for i, t, p in rows]
        seg_s = time.perf_counter() - t0
        db, info = build(os.path.join(work, "fts5-jieba.db"), "unicode61", cut)
        info["tokenizer"] = "unicode61 over jieba.lcut words (HMM on)"
        info["jieba_seconds"] = round(seg_s, 2)

        def jieba_how(q):
            phrase = '"' + " ".join(w for w in jieba.lcut(q) if w.strip()) + '"'
            return (f"SELECT COUNT(*) FROM docs WHERE docs MATCH ?1 AND {FILTER}",
                    f"SELECT rowid, text FROM docs WHERE docs MATCH ?1 AND {FILTER} ORDER BY rank LIMIT 10",
                    phrase)
        info["queries"] = {name: run_queries(db, qs, since, until, jieba_how) for name, qs in sets.items()}
        r["tables"]["jieba"] = info
        db.close()
    print(json.dumps(r, ensure_ascii=False))


if __name__ == "__main__":
    main()
