"""Python jieba word segmentation over the same texts as `yuqing-bench segment`.

Usage: segment.py FILE N [--no-hmm] [--rust-tokens PATH]

jieba.lcut(text, HMM=...) in precise ("accurate") mode, one thread, over the first N
non-empty texts of FILE. The import and dictionary load (jieba.initialize(), which reads
jieba's cache in the temp directory when it exists) are timed apart and left out of the
rate. With --rust-tokens (the dump of `yuqing-bench segment --dump`: the tokens of every
tenth text), the agreement of the two segmentations on those texts, after the timed run:
a token agrees when both cut the same span of the same text.
Prints one JSON line.
"""

import json
import os
import sys
import tempfile
import time

from ced import sample


def spans(tokens):
    out, pos = set(), 0
    for t in tokens:
        out.add((pos, pos + len(t)))
        pos += len(t)
    return out


def main():
    args = sys.argv[1:]
    path, n = args[0], int(args[1])
    hmm = "--no-hmm" not in args
    rust = args[args.index("--rust-tokens") + 1] if "--rust-tokens" in args else None
    texts = sample(path, n)
    chars = sum(len(t) for t in texts)

    cached = os.path.exists(os.path.join(tempfile.gettempdir(), "jieba.cache"))
    t0 = time.perf_counter()
    import jieba

    jieba.setLogLevel(60)
    jieba.initialize()
    load = time.perf_counter() - t0

    lcut = jieba.lcut
    tokens = 0
    t0 = time.perf_counter()
    for t in texts:
        tokens += len(lcut(t, HMM=hmm))
    secs = time.perf_counter() - t0

    r = {
        "tool": f"Python jieba {jieba.__version__} (jieba.lcut, precise mode)",
        "python": sys.version.split()[0],
        "hmm": hmm,
        "texts": len(texts),
        "chars": chars,
        "tokens": tokens,
        "load_seconds": load,
        "load_from_cache": cached,
        "seconds": secs,
        "texts_per_second": round(len(texts) / secs),
        "chars_per_second": round(chars / secs),
    }
    if rust:
        same = py_n = rs_n = identical = compared = 0
        with open(rust, encoding="utf-8") as f:
            for t, line in zip(texts[::10], f):
                theirs = json.loads(line)
                if "".join(theirs) != t:
                    raise SystemExit("segment.py: the Rust dump is not of the same texts")
                ours = lcut(t, HMM=hmm)
                a, b = spans(ours), spans(theirs)
                same += len(a & b)
                py_n += len(a)
                rs_n += len(b)
                identical += a == b
                compared += 1
        r["agreement"] = {
            "texts_compared": compared,
            # Tokens cut identically, over the tokens of each side and as an F1.
            "of_jieba_tokens": round(same / py_n, 4),
            "of_yuqing_tokens": round(same / rs_n, 4),
            "f1": round(2 * same / (py_n + rs_n), 4),
            "texts_identical": round(identical / compared, 4),
        }
    print(json.dumps(r, ensure_ascii=False))


if __name__ == "__main__":
    main()
