"""Puts the comparison results together: reads the JSON lines of the yuqing and Python sides
(as bench/run passes them), writes OUT/comparisons.json and prints the Markdown section
"yuqing vs the tools people use today".

Usage: report.py OUT KEY=JSON...   (keys: seg_on_yq, seg_on_py, seg_off_yq, seg_off_py,
senti_yq, senti_py, search2, search3, fts5, import, reindex, indexer, grams, pgfts,
load_start, load_end; grams and pgfts may be absent)
"""

import json
import sys


def ratio(a, b):
    return round(a / b, 2) if b else None


def build(v):
    seg = {}
    for hmm in ("on", "off"):
        yq, py = v[f"seg_{hmm}_yq"], v[f"seg_{hmm}_py"]
        seg[f"hmm_{hmm}"] = {
            "yuqing": yq, "jieba": py,
            "ratio_chars_per_second": ratio(yq["chars_per_second"], py["chars_per_second"]),
        }
    sy, sp = v["senti_yq"], v["senti_py"]
    senti = {
        "yuqing": sy, "snownlp": sp,
        "ratio_ced_texts_per_second": ratio(sy["texts_per_second"], sp["snownlp_ced_texts_per_second"]),
        "ratio_dev_texts_per_second_whole_command": ratio(sp["yuqing_command_dev_texts_per_second"], sp["snownlp_dev_texts_per_second"]),
    }
    fts, s2, s3, imp, rei, idx = v["fts5"], v["search2"], v["search3"], v["import"], v["reindex"], v["indexer"]
    tri = fts["tables"]["trigram"]
    search = {
        "documents": imp["read"],
        "yuqing": {"import": imp, "reindex": rei, "indexer": idx, "queries": {"2-char": s2, "3-char": s3}},
        "fts5": fts,
        "ratio_index_seconds_fts5_trigram_vs_yuqing_indexer": ratio(tri["index_seconds"] + tri["optimize_seconds"], idx["seconds"]),
        "ratio_index_seconds_fts5_trigram_vs_yuqing_reindex": ratio(tri["index_seconds"] + tri["optimize_seconds"], rei["seconds"]),
        "ratio_p50_fts5_trigram_vs_yuqing": {
            k: ratio(tri["queries"][k]["p50_ms"], s["p50_ms"]) for k, s in (("2-char", s2), ("3-char", s3))},
    }
    if "pgfts" in v:
        pg = v["pgfts"]
        search["postgres"] = {"grams": v.get("grams"), **pg}
        search["ratio_p50_postgres_vs_yuqing"] = {
            t: {k: ratio(pg["tables"][t]["queries"][k]["p50_ms"], s["p50_ms"]) for k, s in (("2-char", s2), ("3-char", s3))}
            for t in pg["tables"]}
        search["ratio_p95_postgres_vs_yuqing"] = {
            t: {k: ratio(pg["tables"][t]["queries"][k]["p95_ms"], s["p95_ms"]) for k, s in (("2-char", s2), ("3-char", s3))}
            for t in pg["tables"]}
    return {"segmentation": seg, "sentiment": senti, "search": search,
            "load_average": {"start": v["load_start"], "end": v["load_end"]}}


def f0(x):
    return f"{x:,.0f}"


def markdown(c):
    seg, senti, search = c["segmentation"], c["sentiment"], c["search"]
    rows = []
    for hmm in ("on", "off"):
        s = seg[f"hmm_{hmm}"]
        yq, py = s["yuqing"], s["jieba"]
        a = py["agreement"]
        use = ("jieba's default; yuqing's optional whole-word ranking field" if hmm == "on"
               else "what yuqing's hot words and event clustering use")
        rows.append(f"| word segmentation, precise mode, HMM {hmm} ({use}); {yq['texts']:,} CED texts, 1 thread | "
                    f"{f0(yq['chars_per_second'])} chars/s, {f0(yq['texts_per_second'])} texts/s; dictionary {yq['load_seconds']:.2f} s | "
                    f"{f0(py['chars_per_second'])} chars/s, {f0(py['texts_per_second'])} texts/s; dictionary {py['load_seconds']:.2f} s | "
                    f"**{s['ratio_chars_per_second']:.1f}×** | same tokens {a['f1']:.2%} (F1), identical segmentation {a['texts_identical']:.2%} "
                    f"of {a['texts_compared']:,} texts (every 10th) |")
    sy, sp = senti["yuqing"], senti["snownlp"]
    rows.append(f"| sentiment speed, {sy['texts']:,} CED texts, 1 thread, in process | {f0(sy['texts_per_second'])} texts/s | "
                f"{sp['snownlp_ced_texts_per_second']:,.0f} texts/s (model load {sp['snownlp_load_seconds']:.1f} s) | **{senti['ratio_ced_texts_per_second']:,.0f}×** | |")
    rows.append(f"| sentiment speed, {sp['dev_texts']:,} dev texts: `yuqing sentiment --binary` whole command vs SnowNLP in process | "
                f"{f0(sp['yuqing_command_dev_texts_per_second'])} texts/s | {sp['snownlp_dev_texts_per_second']:,.0f} texts/s | "
                f"**{senti['ratio_dev_texts_per_second_whole_command']:,.0f}×** | |")
    for name, s in sp["sets"].items():
        note = "SnowNLP was partly trained on these texts" if s["snownlp_partly_trained_on_it"] else ""
        rows.append(f"| sentiment accuracy, `{name}` dev ({s['texts']:,}) | {s['yuqing_accuracy']:.1%} | {s['snownlp_accuracy']:.1%} | "
                    f"{(s['yuqing_accuracy'] - s['snownlp_accuracy']) * 100:+.1f} points | {note} |")
    y, f = search["yuqing"], search["fts5"]
    tri = f["tables"]["trigram"]
    jb = f["tables"].get("jieba")
    n = search["documents"]
    jb_build = f"; jieba + unicode61: {jb['jieba_seconds'] + jb['index_seconds'] + jb['optimize_seconds']:.1f} s (jieba {jb['jieba_seconds']:.1f} s), {jb['index_mb']:.0f} MB" if jb else ""
    fts_build = tri["index_seconds"] + tri["optimize_seconds"]
    rows.append(f"| search: build the index of {n:,} CED documents, 1 thread (yuqing: normalise + n-grams + tantivy, commit and merge; "
                f"FTS5: INSERTs in one transaction + optimize; JSON parsing left out on both sides) | "
                f"{y['indexer']['seconds']:.1f} s, index {y['indexer']['index_mb']:.0f} MB | trigram: {fts_build:.1f} s, "
                f"index {tri['index_mb']:.0f} MB (+ {tri['content_mb']:.0f} MB of text in the table){jb_build} | "
                f"{search['ratio_index_seconds_fts5_trigram_vs_yuqing_indexer']:.2f}× | "
                f"`yuqing reindex`, whole command from the store: {y['reindex']['seconds']:.1f} s, index {y['reindex']['index_mb']:.0f} MB |")
    for k in ("2-char", "3-char"):
        s = y["queries"][k]
        t = tri["queries"][k]
        how = "trigram cannot answer 2 characters: full scan (instr)" if k == "2-char" else "trigram index (MATCH)"
        like = ""
        if k == "2-char" and "like_2char_check" in tri:
            lc = tri["like_2char_check"]
            like = f"; `LIKE '%{lc['query']}%'` on the trigram table finds {lc['like_2char_hits']:,} (the scan: {lc['scan_hits']:,})"
        jtxt = ""
        if jb:
            j = jb["queries"][k]
            jtxt = f"; jieba + unicode61: {j['p50_ms']:.2f} / {j['p95_ms']:.2f} ms, hits {j['hits_vs_yuqing']:.0%} of yuqing's"
        rows.append(f"| search p50 / p95, the {s['queries']} most frequent {k} queries, time filter, top 10 + count | "
                    f"{s['p50_ms']:.2f} / {s['p95_ms']:.2f} ms | {how}: {t['p50_ms']:.2f} / {t['p95_ms']:.2f} ms{jtxt} | "
                    f"**{search['ratio_p50_fts5_trigram_vs_yuqing'][k]:,.1f}×** (p50, FTS5 trigram / yuqing) | "
                    f"trigram hit counts: {t['same_count_queries']}/{t['queries']} queries equal, {t['hits_vs_yuqing']:.2%} of yuqing's hits{like} |")
    if "postgres" in search:
        rows += postgres_rows(search, y)
    ex = []
    for k in ("2-char", "3-char"):
        jq = {e["query"]: e["fts5"] for e in jb["queries"][k]["examples"]} if jb else {}
        for e in tri["queries"][k]["examples"][:3]:
            j = f", FTS5 jieba {jq[e['query']]:,}" if e["query"] in jq else ""
            ex.append(f"{e['query']}: yuqing {e['yuqing']:,}, FTS5 trigram {e['fts5']:,}{j}")
    la = c["load_average"]
    return ("## yuqing vs the tools people use today\n\n"
            "Same texts, same machine, same run; one thread on each side; Python startup and model or dictionary loading left out of "
            "the rates. Ratio > 1 means yuqing is faster (or, for accuracy, better).\n\n"
            "| job | yuqing | the usual tool | ratio | agreement / note |\n|---|---|---|---|---|\n" + "\n".join(rows) +
            "\n\nHit counts of the first queries: " + "; ".join(ex) + "." +
            pg_note(search) +
            f"\n\nTools: {seg['hmm_on']['jieba']['tool']}, {sp['tool']}, SQLite FTS5 {f['sqlite_version']} through Python {f['python']} sqlite3. "
            f"Load average (1, 5, 15 min) at the start: {la['start']}; at the end: {la['end']}.\n\n"
            "What is not equal between the two sides: Python calls cost per text (they are what a Python user pays); "
            "with HMM on, jieba-rs keeps ASCII runs such as `a_b`, `x-y`, `010-62063650` whole where Python jieba splits them "
            "(see the agreement with HMM off); yuqing's sentiment model was trained on the train parts of these same "
            "sets, SnowNLP on its own product reviews (in-domain against out-of-domain, except where SnowNLP saw the texts); "
            "yuqing searches its normalised text (NFKC, lower case, traditional → simplified: 轉發微博 counts as 转发微博) "
            "and FTS5 the raw text, which is most of the hit-count difference; the FTS5 table also stores the text, "
            "yuqing's index does not (its store does); SQLite here is the system's "
            f"{f['sqlite_version']} through Python's sqlite3 ({f['python_statement_overhead_us']} µs per statement), "
            "yuqing bundles its own SQLite for its store.\n")


def postgres_rows(search, y):
    """The PostgreSQL full-text rows (bench/compare/pgfts.py) of the comparison table."""
    pg = search["postgres"]
    bi, jb = pg["tables"]["pg_bigram"], pg["tables"]["pg_jieba"]
    n = pg["documents"]
    rei = y["reindex"]
    rows = [f"| search in PostgreSQL {pg['postgres_version'].split()[0]}: load {n:,} documents and build the GIN index "
            f"(COPY + CREATE INDEX; pg_jieba adds Python jieba and to_tsvector) | "
            f"`yuqing reindex` from the store: {rei['seconds']:.1f} s, index {rei['index_mb']:.0f} MB"
            + (f", {rei['written_mb']:.0f} MB written" if "written_mb" in rei else "") + " | "
            f"pg_bigram (yuqing's bigrams as tsvector): COPY {bi['copy_seconds']:.1f} s + GIN {bi['index_seconds']:.1f} s, "
            f"GIN {bi['gin_mb']:.0f} MB, table {bi['table_mb']:.0f} MB; pg_jieba: jieba {jb['jieba_seconds']:.1f} s + COPY and to_tsvector "
            f"{jb['copy_seconds']:.1f} s + GIN {jb['index_seconds']:.1f} s, GIN {jb['gin_mb']:.0f} MB, table {jb['table_mb']:.0f} MB | "
            f"{(bi['copy_seconds'] + bi['index_seconds']) / rei['seconds']:.2f}× (pg_bigram load / reindex) | "
            f"GIN size per yuqing index size: pg_bigram {bi['gin_mb'] / rei['index_mb']:.1f}×, pg_jieba {jb['gin_mb'] / rei['index_mb']:.1f}× |"]
    for k in ("2-char", "3-char"):
        s = y["queries"][k]
        b, j = bi["queries"][k], jb["queries"][k]
        rows.append(f"| search in PostgreSQL p50 / p95 / max, the {s['queries']} most frequent {k} queries, time filter, count + top 10 newest | "
                    f"{s['p50_ms']:.2f} / {s['p95_ms']:.2f} / {s['max_ms']:.2f} ms | "
                    f"pg_bigram: {b['p50_ms']:.1f} / {b['p95_ms']:.1f} / {b['max_ms']:.1f} ms (count p50 {b['count']['p50_ms']:.1f}, top 10 p50 {b['top10']['p50_ms']:.1f}); "
                    f"pg_jieba: {j['p50_ms']:.1f} / {j['p95_ms']:.1f} / {j['max_ms']:.1f} ms | "
                    f"**{search['ratio_p50_postgres_vs_yuqing']['pg_bigram'][k]:,.1f}×** / {search['ratio_p50_postgres_vs_yuqing']['pg_jieba'][k]:,.1f}× "
                    f"(p50, pg_bigram / pg_jieba vs yuqing) | "
                    f"hit counts: pg_bigram {b['same_count_queries']}/{b['queries']} queries equal to yuqing's ({b['hits_vs_yuqing']:.2%} of its hits); "
                    f"pg_jieba {j['same_count_queries']}/{j['queries']} equal, {j['differing_share']:.0%} differ, {j['hits_vs_yuqing']:.0%} of yuqing's hits |")
    wb, wj = bi["wal"], jb["wal"]
    per_doc = f"{rei['written_mb'] * 2**20 / n:,.0f} bytes/document written by `yuqing reindex`" if "written_mb" in rei else ""
    bo, jo = wb["fastupdate_on"], wj["fastupdate_on"]
    rows.append(f"| write amplification: WAL per document the GIN index adds, {wb['rows']:,} more documents inserted into the indexed table "
                f"and the pending list merged (EXPLAIN (ANALYZE, WAL), against the same INSERT without the index) | {per_doc} (local disk, once per node) | "
                f"pg_bigram {bo['gin_wal_bytes_per_doc']:,} bytes/document (heap {wb['heap_wal_bytes_per_doc']:,}; fastupdate off "
                f"{wb['fastupdate_off']['gin_wal_bytes_per_doc']:,}), {bo['docs_per_second']:,} vs {wb['heap_only']['docs_per_second']:,} documents/s "
                f"with / without GIN; pg_jieba {jo['gin_wal_bytes_per_doc']:,} (heap {wj['heap_wal_bytes_per_doc']:,}; fastupdate off "
                f"{wj['fastupdate_off']['gin_wal_bytes_per_doc']:,}) | | "
                f"GIN WAL per 1 M documents: pg_bigram {bo['gin_wal_gb_per_million_docs']:.2f} GB, pg_jieba {jo['gin_wal_gb_per_million_docs']:.2f} GB |")
    return rows


def pg_note(search):
    if "postgres" not in search:
        return ""
    pg = search["postgres"]
    g = pg.get("grams") or {}
    st = pg["settings"]
    return (f"\n\nPostgreSQL {pg['postgres_version']} on this machine through psycopg {pg['psycopg']} "
            f"({pg['roundtrip_us']} µs per round trip; a search is two statements), a scratch database; "
            f"shared_buffers {st['shared_buffers']}, work_mem {st['work_mem']}, maintenance_work_mem {st['maintenance_work_mem']}, "
            f"parallel workers per gather {st['max_parallel_workers_per_gather']}, jit {st['jit']}. "
            f"pg_bigram holds yuqing's own tokens (`yuqing-bench grams`: {g.get('grams', 0):,} grams; documents past "
            f"PostgreSQL's tsvector limits, where a phrase can be missed: {g.get('docs_past_position_16383', 0)} past position 16,383, "
            f"{g.get('docs_past_256_positions_per_lexeme', 0)} with a bigram more than 256 times); pg_jieba cuts the same normalised "
            "text with Python jieba, so its missing hits are the word-vs-substring difference alone.")


def main():
    out = sys.argv[1]
    v = {}
    for a in sys.argv[2:]:
        k, _, j = a.partition("=")
        v[k] = j if k.startswith("load_") else json.loads(j)
    c = build(v)
    json.dump(c, open(f"{out}/comparisons.json", "w"), indent=2, ensure_ascii=False)
    md = markdown(c)
    open(f"{out}/comparisons.md", "w").write(md)
    print(md)


if __name__ == "__main__":
    main()
