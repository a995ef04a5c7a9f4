"""Words and BM25: ranking passages against a question, with no model.

Okapi BM25 is a dozen lines; a library for it would bring numpy for nothing.
Words are lower-cased, folded to a few shared meanings (``wrote`` and
``author``, ``cost`` and ``price``) and stripped of common English endings, so
that "caching" meets "cache" and "teas" meets "Tea".
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

STOPWORDS = frozenset(
    """a about above after again all also am an and any are aren't as at be because been
    before being below between both but by can could did do does doing done down during each
    few for from further had has have having he her here hers him his how i if in into is it
    it's its itself just let me more most my no nor not now of off on once only or other our
    ours out over own please same she should so some such than that that's the their theirs
    them then there there's these they this those through to too under until up us very was
    we were what what's whats when where which while who whom whose why will with would you
    your yours many much tell know find show give get let's say says said find out look
    listed shown mentioned displayed named called currently count come comes came go goes
    went gets got make makes made use uses used using take takes took need needs want
    wants""".split()
)  # fmt: skip

# Words that mean the same thing to a reader of a web page.
_SAME = {
    "wrote": "author", "writes": "author", "writer": "author", "authored": "author",
    "authors": "author", "written": "author",
    "cost": "price", "costs": "price", "priced": "price", "prices": "price", "pay": "price",
    "charge": "price", "fee": "price", "fees": "price",
    "set": "configure", "setup": "configure", "settings": "configure", "setting": "configure",
    "config": "configure", "configuration": "configure",
    "contact": "contact", "email": "contact", "phone": "contact",
}  # fmt: skip

_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)?")


def stem(word: str) -> str:
    """A light suffix stripper: enough for plurals and -ing/-ed forms to meet."""
    w = _SAME.get(word, word)
    w = re.sub(r"['’]s$", "", w)
    if len(w) <= 3 or w.isdigit():
        return w
    if w.endswith("ies") and len(w) > 4:
        w = w[:-3] + "y"
    elif w.endswith("sses"):
        w = w[:-2]
    elif w.endswith("s") and not w.endswith(("ss", "us", "is")):
        w = w[:-1]
    for suffix in ("ation", "ing", "ed"):
        if w.endswith(suffix) and len(w) - len(suffix) >= 3:
            w = w[: -len(suffix)]
            break
    if w.endswith("e") and len(w) > 3:
        w = w[:-1]
    return w


def words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


def tokens(text: str) -> list[str]:
    """Stems of the words of ``text`` that carry meaning."""
    # "who's", "what's": the question word, not a word of its own.
    return [stem(w) for w in words(text) if w not in STOPWORDS and _bare(w) not in STOPWORDS]


def _bare(word: str) -> str:
    return re.sub(r"['’]s$", "", word)


class BM25:
    """Okapi BM25 over tokenised documents (k1 = 1.5, b = 0.75, as usual)."""

    def __init__(self, docs: Sequence[Sequence[str]], k1: float = 1.5, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        self.docs = [Counter(d) for d in docs]
        self.lengths = [len(d) for d in docs]
        self.avg = (sum(self.lengths) / len(docs)) if docs else 0.0
        frequency: Counter[str] = Counter()
        for d in self.docs:
            frequency.update(d.keys())
        n = len(docs)
        self.idf = {t: math.log(1 + (n - f + 0.5) / (f + 0.5)) for t, f in frequency.items()}

    def score(self, query: Sequence[str], i: int) -> float:
        doc, length = self.docs[i], self.lengths[i]
        total = 0.0
        for term in set(query):
            tf = doc.get(term, 0)
            if tf:
                norm = tf + self.k1 * (1 - self.b + self.b * length / (self.avg or 1))
                total += self.idf[term] * tf * (self.k1 + 1) / norm
        return total
