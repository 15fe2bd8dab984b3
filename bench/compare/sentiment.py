"""SnowNLP sentiment against `yuqing sentiment --binary`, on the dev sets
../shared/tools/contract-check scores, and SnowNLP's speed on the CED sample.

Usage: sentiment.py CED_FILE N SENTIMENT_DIR YUQING_BINARY

* Accuracy: every text of the five dev sets. SnowNLP: SnowNLP(text).sentiments >= 0.5 is
  positive. yuqing: the binary's `sentiment --binary` over the set on stdin, one line per
  text, the first field `positive` or `negative`, as contract-check computes it.
* Speed: SnowNLP in this process, one thread, over the first N non-empty CED texts (the
  same texts `yuqing-bench sentiment CED_FILE N` classifies) and over the dev texts. The
  import of snownlp and the load of its model (done at import) are timed apart. The yuqing
  binary's dev-set time is the whole command (process start and model load included).
Prints one JSON line.
"""

import csv
import gzip
import json
import os
import subprocess
import sys
import time

from ced import sample

# The five sets of contract-check, with its targets for yuqing.
SETS = ["chnsenticorp_htl_all", "waimai_10k", "online_shopping_10_cats",
        "covid19_weibo_binary", "weibo_senti_100k_sample2400"]
# SnowNLP's shipped model was trained on texts that are partly in these dev sets
# (../shared/data/README.md): its accuracy there is flattered.
CONTAMINATED = {"chnsenticorp_htl_all", "online_shopping_10_cats"}


def main():
    ced, n, root, binary = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    t0 = time.perf_counter()
    from snownlp import SnowNLP
    SnowNLP("好").sentiments
    load = time.perf_counter() - t0

    texts = sample(ced, n)
    t0 = time.perf_counter()
    for t in texts:
        SnowNLP(t).sentiments
    ced_secs = time.perf_counter() - t0

    sets = {}
    snow_secs = yq_secs = 0.0
    total = 0
    for name in SETS:
        with gzip.open(os.path.join(root, name, "dev.csv.gz"), "rt", encoding="utf-8", newline="") as f:
            rows = [(int(x["label"]), x["text"]) for x in csv.DictReader(f)]
        t0 = time.perf_counter()
        snow = [SnowNLP(t).sentiments >= 0.5 for _, t in rows]
        s_secs = time.perf_counter() - t0
        t0 = time.perf_counter()
        p = subprocess.run([binary, "sentiment", "--binary"], input="".join(t + "\n" for _, t in rows),
                           capture_output=True, text=True, timeout=600, check=True)
        y_secs = time.perf_counter() - t0
        lines = [line for line in p.stdout.splitlines() if line.strip()]
        if len(lines) != len(rows):
            raise SystemExit(f"sentiment.py: {len(lines)} lines from yuqing for {len(rows)} texts of {name}")
        yq = [line.split("\t")[0] == "positive" for line in lines]
        sets[name] = {
            "texts": len(rows),
            "snownlp_accuracy": round(sum(s == bool(y) for s, (y, _) in zip(snow, rows)) / len(rows), 4),
            "yuqing_accuracy": round(sum(q == bool(y) for q, (y, _) in zip(yq, rows)) / len(rows), 4),
            "snownlp_seconds": round(s_secs, 3),
            "yuqing_command_seconds": round(y_secs, 3),
            "snownlp_partly_trained_on_it": name in CONTAMINATED,
        }
        snow_secs += s_secs
        yq_secs += y_secs
        total += len(rows)
    import snownlp
    print(json.dumps({
        "tool": f"SnowNLP {getattr(snownlp, '__version__', '0.12.3')} (SnowNLP(text).sentiments >= 0.5)",
        "python": sys.version.split()[0],
        "snownlp_load_seconds": round(load, 3),
        "ced_texts": len(texts),
        "snownlp_ced_texts_per_second": round(len(texts) / ced_secs, 1),
        "dev_texts": total,
        "snownlp_dev_texts_per_second": round(total / snow_secs, 1),
        "yuqing_command_dev_texts_per_second": round(total / yq_secs, 1),
        "sets": sets,
    }, ensure_ascii=False))


if __name__ == "__main__":
    main()
