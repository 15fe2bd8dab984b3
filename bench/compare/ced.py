"""The texts the comparisons share with yuqing-bench: the first N non-empty texts of a CED
JSONL file (gzip), in file order, as `sample_n` in bench/src/main.rs reads them."""

import gzip
import json


def sample(path, n):
    out = []
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as f:
        for line in f:
            if len(out) >= n:
                break
            t = json.loads(line).get("text") or ""
            if t.strip():
                out.append(t)
    return out
