"""Make ``data/news.csv``: a small labelled corpus of news headlines for the
text-classification example (``python -m jupyter_mllab.templates.make_news``).

Generated, not downloaded: 4 topics x 100 headlines, each composed from its topic's words,
words every topic shares, and now and then a word of another topic, so that a linear model
scores high on it but not perfectly. Seeded: the same file every time.
"""

from __future__ import annotations

import csv
import io
import random
import sys
from pathlib import Path

TOPICS = {
    "sport": "match team goal league coach season striker final championship score "
    "tournament player injury stadium transfer keeper referee medal race victory",
    "business": "market shares profit bank investors earnings merger startup inflation "
    "stocks revenue quarter economy trade prices deal ceo growth funding tariff",
    "science": "researchers study space telescope planet species climate cells genome "
    "physics discovery experiment fossil quantum vaccine ocean mission laboratory data energy",
    "politics": "election minister parliament vote president campaign policy senate law "
    "government party debate reform coalition opposition budget court treaty mayor rally",
}
SHARED = "new report says after week year first big plan announces amid record latest "
SHARED += "could over top record talks city national world faces"
VERBS = ["wins", "loses", "sees", "hits", "beats", "plans", "faces", "reveals", "backs", "warns"]
VERBS += ["rises", "falls"]
PER_TOPIC = 100
SEED = 16
OUT = Path(__file__).parent / "data" / "news.csv"


def headlines(seed: int = SEED) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    words = {topic: text.split() for topic, text in TOPICS.items()}
    shared = SHARED.split()
    rows = []
    for topic in TOPICS:
        others = [t for t in TOPICS if t != topic]
        for _ in range(PER_TOPIC):
            picked = rng.sample(words[topic], rng.randint(2, 3))
            if rng.random() < 0.35:  # a word of another topic blurs the line
                picked.append(rng.choice(words[rng.choice(others)]))
            picked += [*rng.sample(shared, rng.randint(1, 3)), rng.choice(VERBS)]
            rng.shuffle(picked)
            rows.append((" ".join(picked).capitalize(), topic))
    rng.shuffle(rows)
    return rows


def render(seed: int = SEED) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["text", "label"])
    writer.writerows(headlines(seed))
    return out.getvalue()


if __name__ == "__main__":
    OUT.write_text(render(), encoding="utf-8")
    print(f"wrote {OUT}", file=sys.stderr)
