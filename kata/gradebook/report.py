"""The class report: one self-contained HTML page, and its figures as PNG files beside it.

    report.html        opens from disk in any browser: no server, no script, figures inline
    figures/steps.png  how many learners finished each step
    figures/scores.png the distribution of the total scores
    figures/mistakes.png the named mistakes the most learners made

The mistakes are the failing tests of every learner whose outcomes can be trusted (not a
forged run, not changed tests), each counted once per learner, ranked by how many learners
hit it; a test's docstring says which mistake it catches ("Catches: forgetting
optimizer.zero_grad()"), and where what the test observed names the mistake the learner made
(kata/loop/diagnoses.py, as the learner's board does), that mistake is counted instead.
Everything a learner wrote (names, messages) is escaped.
"""

import base64
import html
import io
import statistics
from dataclasses import dataclass
from pathlib import Path

from kata.gradebook.book import BROKE, STEP_KEYS, Row
from kata.loop.progress import step_label, step_title

TOP_MISTAKES_IN_FIGURE = 10
SLOWEST = 10


@dataclass
class Mistake:
    step: str
    nodeid: str
    text: str  # the mistake its test catches
    learners: list[str]


def step_name(key: str) -> str:
    step = key if key == "capstone" else int(key.removeprefix("step"))
    return f"{step_label(step)}: {step_title(step)}"


def rank_mistakes(rows: list[Row]) -> list[Mistake]:
    """Every failing test of the trusted rows, with the learners who failed it, the most
    learners first (then in step order)."""
    found: dict[tuple[str, str], Mistake] = {}
    for row in rows:
        if not row.trusted_outcomes:
            continue
        for test in row.failing:
            # Grouped by the mistake the observations named, where they named one: two
            # learners failing one test may have made two different mistakes.
            mistake = found.setdefault((test.step, test.diagnosis or test.nodeid),
                                       Mistake(test.step, test.nodeid, test.mistake, []))
            if row.learner not in mistake.learners:
                mistake.learners.append(row.learner)
    order = {key: index for index, key in enumerate(STEP_KEYS)}
    return sorted(found.values(), key=lambda m: (-len(m.learners), order.get(m.step, 99),
                                                 m.nodeid))


def flagged(rows: list[Row]) -> list[Row]:
    return [row for row in rows if row.flags or row.status != "graded"]


# ---------------------------------------------------------------- figures


def figures(rows: list[Row], mistakes: list[Mistake]) -> dict[str, bytes]:
    """The report's figures, as PNG bytes by file name."""
    import matplotlib

    matplotlib.use("Agg")  # files only: never a window
    import matplotlib.pyplot as plt

    pictures = {}

    def save(name, fig):
        buffer = io.BytesIO()
        fig.tight_layout()
        fig.savefig(buffer, format="png", dpi=110)
        plt.close(fig)
        pictures[name] = buffer.getvalue()

    graded = [row for row in rows if row.status != BROKE]
    fig, ax = plt.subplots(figsize=(7.5, 3.2))
    labels = [key.replace("step", "step ") for key in STEP_KEYS]
    counts = [sum(row.finished(key) for row in graded) for key in STEP_KEYS]
    bars = ax.bar(labels, counts, color="#2b7a4b")
    ax.bar_label(bars, padding=2)
    ax.set_ylim(0, max(len(graded), 1) * 1.15)
    ax.set_ylabel("learners")
    ax.set_title(f"Learners who finished each step (of {len(graded)} graded)")
    save("steps.png", fig)

    fig, ax = plt.subplots(figsize=(7.5, 3.2))
    top = max([row.max_total for row in rows] + [100.0])
    ax.hist([row.total for row in rows], bins=10, range=(0, top), color="#3565a8",
            edgecolor="white")
    ax.set_xlabel(f"total score (of {top:g})")
    ax.set_ylabel("learners")
    ax.set_title("Distribution of scores")
    save("scores.png", fig)

    shown = mistakes[:TOP_MISTAKES_IN_FIGURE]
    fig, ax = plt.subplots(figsize=(7.5, 0.9 + 0.42 * max(len(shown), 1)))
    if shown:
        names = [shorten(f"{m.step.replace('step', 'step ')}: {m.text}", 70)
                 for m in reversed(shown)]
        bars = ax.barh(names, [len(m.learners) for m in reversed(shown)], color="#b5452f")
        ax.bar_label(bars, padding=2)
        ax.set_xlim(0, max(len(m.learners) for m in shown) * 1.15)
    else:
        ax.text(0.5, 0.5, "no failing test", ha="center", va="center")
        ax.set_yticks([])
    ax.set_xlabel("learners")
    ax.set_title("The mistakes the most learners made")
    save("mistakes.png", fig)
    return pictures


def shorten(text: str, width: int) -> str:
    return text if len(text) <= width else text[:width - 1].rstrip() + "…"


# ---------------------------------------------------------------- HTML

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto;
       max-width: 68rem; padding: 0 1rem; color: #1d2430; }
h1 { margin-bottom: 0.2rem; } .sub { color: #5a6270; margin-top: 0; }
.cards { display: flex; gap: 1rem; flex-wrap: wrap; margin: 1.2rem 0; }
.card { border: 1px solid #d6dbe3; border-radius: 8px; padding: 0.7rem 1.1rem; min-width: 9rem; }
.card b { display: block; font-size: 1.6rem; }
table { border-collapse: collapse; width: 100%; margin: 0.6rem 0 1.6rem; font-size: 0.92rem; }
th, td { border-bottom: 1px solid #e3e7ee; padding: 0.35rem 0.5rem; text-align: left;
         vertical-align: top; }
th { background: #f3f5f8; } .n { text-align: right; font-variant-numeric: tabular-nums; }
code { font-size: 0.85em; color: #45506a; word-break: break-all; } img { max-width: 100%; }
.flag { color: #a12a1a; font-weight: 600; } .ok { color: #2b7a4b; }
.muted { color: #6b7280; }
"""


def shown(points: float) -> str:
    """Points for people: one decimal at most (the gradebook keeps them exact)."""
    return f"{round(points, 1):g}"


def e(value) -> str:
    return html.escape(str(value), quote=True)


def image(name: str, pictures: dict[str, bytes], alt: str) -> str:
    data = base64.b64encode(pictures[name]).decode()
    return f'<img src="data:image/png;base64,{data}" alt="{e(alt)}">'


def table(headers: list[str], body: list[list[str]], numeric: set[int] = frozenset()) -> str:
    """A table of cells that are already HTML."""
    head = "".join(f'<th class="n">{e(h)}</th>' if i in numeric else f"<th>{e(h)}</th>"
                   for i, h in enumerate(headers))
    lines = ["".join(f'<td class="n">{c}</td>' if i in numeric else f"<td>{c}</td>"
                     for i, c in enumerate(cells)) for cells in body]
    rows = "".join(f"<tr>{line}</tr>" for line in lines)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def names(learners: list[str], limit: int = 12) -> str:
    shown = ", ".join(e(name) for name in learners[:limit])
    return shown + (f" <span class=muted>and {len(learners) - limit} more</span>"
                    if len(learners) > limit else "")


def page(rows: list[Row], mistakes: list[Mistake], pictures: dict[str, bytes],
         title: str, notes: list[str]) -> str:
    totals = [row.total for row in rows]
    graded = [row for row in rows if row.status != BROKE]
    complete = sum(1 for row in rows if row.max_total and row.total >= row.max_total)
    cards = [("learners", len(rows)), ("graded", len(graded)),
             ("median score", shown(statistics.median(totals)) if totals else "none"),
             ("full marks", complete), ("flagged", len(flagged(rows)))]
    parts = [f"<h1>{e(title)}</h1>",
             f'<p class="sub">{len(rows)} learners; scores out of '
             f'{max([r.max_total for r in rows] + [0]):g}. Sources: '
             f'{e(", ".join(sorted({r.source for r in rows})) or "none")}.</p>',
             '<div class="cards">' + "".join(f"<div class=card><b>{e(v)}</b>{e(k)}</div>"
                                            for k, v in cards) + "</div>"]
    parts += [f"<p class=muted>{e(note)}</p>" for note in notes]
    parts += ["<h2>Steps finished</h2>", image("steps.png", pictures, "learners per step"),
              table(["step", "finished", "of graded"],
                    [[e(step_name(key)), str(sum(r.finished(key) for r in graded)),
                      str(len(graded))] for key in STEP_KEYS], {1, 2}),
              "<h2>Scores</h2>", image("scores.png", pictures, "distribution of scores"),
              "<h2>Mistakes, by how many learners made them</h2>",
              image("mistakes.png", pictures, "the most common mistakes")]
    if mistakes:
        parts.append(table(
            ["#", "learners", "step", "mistake (what the test saw, or what it catches)", "test",
             "who"],
            [[str(rank), str(len(m.learners)),
              f'<span title="{e(step_name(m.step))}">{e(m.step.replace("step", "step "))}</span>',
              e(m.text),
              f"<code>{e(m.nodeid)}</code>", names(m.learners)]
             for rank, m in enumerate(mistakes, 1)], {0, 1}))
    else:
        parts.append("<p>No trusted run has a failing test.</p>")
    timed = sorted((r for r in rows if r.seconds is not None), key=lambda r: -r.seconds)
    parts += ["<h2>Slowest submissions</h2>",
              table(["learner", "seconds", "peak memory (MB)", "score", "status"],
                    [[e(r.learner), f"{r.seconds:.1f}",
                      "" if r.peak_memory_mb is None else f"{r.peak_memory_mb:.0f}",
                      shown(r.total), e(r.status)] for r in timed[:SLOWEST]], {1, 2, 3})
              if timed else "<p>No submission has a grading time.</p>"]
    flags = flagged(rows)
    parts += ["<h2>Flagged</h2>",
              table(["learner", "status", "flags", "why"],
                    [[e(r.learner), e(r.status), f'<span class="flag">{e("; ".join(r.flags))}'
                      "</span>", e(shorten(" | ".join(r.details), 600))] for r in flags])
              if flags else '<p class="ok">No submission was flagged.</p>']
    parts += ["<h2>Gradebook</h2>",
              table(["learner", "source", *[k.replace("step", "") for k in STEP_KEYS],
                     "total", "status"],
                    [[e(r.learner), e(r.source),
                      *(shown(r.points.get(k, 0)) for k in STEP_KEYS),
                      f"<b>{shown(r.total)}</b>", e(r.status)] for r in rows],
                    set(range(2, len(STEP_KEYS) + 3)))]
    return ("<!doctype html><html lang=en><head><meta charset=utf-8>"
            f"<meta name=viewport content='width=device-width'><title>{e(title)}</title>"
            f"<style>{STYLE}</style></head><body>{''.join(parts)}</body></html>\n")


def write(rows: list[Row], out: Path, title: str = "MNIST kata: class report",
          notes: list[str] = ()) -> Path:
    """report.html and figures/*.png into `out`; the page's path."""
    mistakes = rank_mistakes(rows)
    pictures = figures(rows, mistakes)
    (out / "figures").mkdir(parents=True, exist_ok=True)
    for name, data in pictures.items():
        (out / "figures" / name).write_bytes(data)
    path = out / "report.html"
    path.write_text(page(rows, mistakes, pictures, title, list(notes)), encoding="utf-8")
    return path
