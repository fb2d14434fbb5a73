"""`kata hint N` (`make hint STEP=N`): one more hint for a step each time you ask.

The hints live in exercises/hints.toml, next to the code they are about. How many of each
step's hints you have seen is kept in .kata/hints.json (gitignored), so each call shows one more.
"""

import argparse
import json
import sys
from pathlib import Path

from kata.config import TOMLDecodeError, read_toml, step_key
from kata.loop.progress import (
    HISTORY_NAME,
    STATE_DIR_NAME,
    STEP_KEYS,
    current_step,
    load_history,
    read_json,
    step_label,
)

HINTS_FILE = Path(__file__).resolve().parents[2] / "exercises" / "hints.toml"


def load_hints(path: Path = HINTS_FILE) -> dict[str, list[str]]:
    """Each step's hints, from the most general to the most specific, keyed "1".."9", "capstone"."""
    raw = read_toml(path)
    return {key: raw.get(step_key(key), {}).get("hints", []) for key in STEP_KEYS}


def first_hint(step: str, path: Path = HINTS_FILE) -> str | None:
    """The step's first hint for the board; a broken hints file gets a note, not a crash."""
    try:
        hints = load_hints(path)[step]
    except FileNotFoundError:  # a copy without the hints file still has a board
        return None
    except TOMLDecodeError as error:  # a learner's edit of hints.toml must not break the board
        return f"none: {path.name} does not parse ({error})"
    return hints[0] if hints else None


def reveal(step: str, hints: list[str], state_file: Path) -> list[str]:
    """The hints shown so far for `step`, one more than last time, up to all of them."""
    seen = read_json(state_file)
    seen[step] = min(seen.get(step, 0) + 1, len(hints))
    state_file.parent.mkdir(parents=True, exist_ok=True)
    state_file.write_text(json.dumps(seen) + "\n")
    return hints[:seen[step]]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="kata hint",
                                     description="Show one more hint for a step of the kata.")
    parser.add_argument("step", nargs="?", help="1..9 or capstone (default: the current step, "
                        "the first not done in your last `kata test`)")
    parser.add_argument("--hints", type=Path, default=HINTS_FILE, help=argparse.SUPPRESS)
    parser.add_argument("--state", type=Path, default=Path(STATE_DIR_NAME),
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    step = args.step or current_step(load_history(args.state / HISTORY_NAME, "exercises"))
    if step not in STEP_KEYS:
        print(f"no step {step}: choose one of {', '.join(STEP_KEYS)}", file=sys.stderr)
        return 2
    try:
        hints = load_hints(args.hints)[step]
    except TOMLDecodeError as error:
        print(f"{args.hints} does not parse: {error}", file=sys.stderr)
        return 1
    if not hints:
        print(f"{step_key(step)} has no hints")
        return 0
    shown = reveal(step, hints, args.state / "hints.json")
    for number, hint in enumerate(shown, start=1):
        print(f"hint {number}/{len(hints)} for {step_label(step)}: {hint}")
    if len(shown) == len(hints):
        print("That is every hint for this step; the docstrings in the exercise file say more.")
    else:
        print(f"Ask again (`kata hint {step}`) for a more specific one.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
