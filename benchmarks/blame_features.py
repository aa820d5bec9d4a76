"""How many lines counted by ``line_count.py`` are attributed (``git blame``) to feature commits of other issues.

Information for issue 9's line criterion, which compares the package with b673acf "with every
behaviour kept": ``line_count.py`` leaves out whole files that only other issues' features need,
but features of other issues also live inside counted files. This script blames every counted
file at ``--rev`` (whitespace ignored; with ``--moves``, lines moved or copied between files are
followed to the commit that wrote them, ``git blame -M -C``) and sorts the lines by the commit
that last wrote them.

How a commit is classified (first rule that applies):

1. Lines from b673acf or before: "base" (existed at the baseline).
2. A commit that reached main through a merge ``Merge branch 'X'`` (reachable from the merge's
   second parent, not its first) belongs to branch X: ``arch`` -> issue 9, ``robust`` -> issue 10,
   ``model`` -> issue 11 (model and data), ``speed`` -> issue 11 (batch-engine throughput),
   ``bayes`` -> issue 12, ``explore`` -> issue 13, ``structure`` -> issue 14.
3. Two commits listed in :data:`OVERRIDES` (the lead's commits of other issues' features).
4. Otherwise (a branch fast-forwarded onto main, or the lead's own commit), the subject decides:
   "Issue N" at its start or "(issue N" names the issue (11: model/data); a subject starting with
   "Batch engine" or "cse:" -> issue 11 (speed); "Bayes", "calibrate --method bayes" or
   "--posterior" -> issue 12; "explore" -> issue 13; "loops", "structure", "views", "sketch" or
   "Diagrams" -> issue 14; "Model 2.0" or "data:" -> issue 11 (model); anything else -> issue 9
   (the run-core refactor and its clean-ups).

A line is attributed to the last commit that changed it, so a feature commit that rewrote a line
existing at b673acf owns it here; the figure is what other issues' commits wrote into counted
files, not the size of their features. Merge commits own only the lines of their conflict fixes.

The last line printed is the like-for-like figure for issue 9: counted lines owned by "base" and
"issue 9" (the behaviours of b673acf and issue 9's refactor of them) against ``line_count.py``'s
total at b673acf. ``line_count.py``'s raw figure is unchanged by this.

Run::

    python benchmarks/blame_features.py [--rev HEAD] [--moves] [--commits]
"""
from __future__ import annotations

import argparse
import collections
import re
import sys

from line_count import BASE, _git, counts

BRANCH_ISSUE = {"arch": "9", "robust": "10", "model": "11 (model/data)", "data": "11 (model/data)",
                "speed": "11 (speed)", "bayes": "12",
                "explore": "13", "structure": "14"}
#: Commits the rules would misfile, with the reason: lead's commits of other issues' features.
OVERRIDES = {"04360f4": "11 (model/data)",  # model equations: no NaN when deposits run out
             "1a01ee8": "10"}  # interrupts: Ctrl-C wrapped in another error is an interrupt
SUBJECT_RULES = ((r"^Issue (\d+)|\([Ii]ssue (\d+)[,)]", None), (r"^(Batch engine|cse:)", "11 (speed)"),
                 (r"^([Bb]ayes|calibrate --method bayes|--posterior)", "12"), (r"^(sd-model )?explore", "13"),
                 (r"^([Ll]oops?|[Ss]tructure|[Vv]iews|[Ss]ketch|Diagrams)\b", "14"),
                 (r"^(Model 2\.0|data:)", "11 (model/data)"))


def branch_of(rev: str) -> dict[str, str]:
    """Commit -> branch, for each commit that reached ``rev`` through a ``Merge branch 'X'`` (the first such)."""
    out: dict[str, str] = {}
    for line in _git("log", "--merges", "--reverse", "--format=%H %P|%s", f"{BASE}..{rev}").splitlines():
        head, subject = line.split("|", 1)
        match = re.search(r"Merge branch '([^']+)'", subject)
        parents = head.split()[1:]
        if match is None or len(parents) < 2:
            continue
        for commit in _git("rev-list", f"{parents[0]}..{parents[1]}").split():
            out.setdefault(commit, match.group(1))
    return out


def classify(commit: str, subject: str, base: set[str], branches: dict[str, str]) -> str:
    """The issue a commit belongs to (see the module docstring)."""
    if commit in base:
        return "base"
    if commit[:7] in OVERRIDES:
        return OVERRIDES[commit[:7]]
    if commit in branches:
        return BRANCH_ISSUE.get(branches[commit], f"branch {branches[commit]}")
    for pattern, issue in SUBJECT_RULES:
        match = re.search(pattern, subject)
        if match:
            number = issue or next(g for g in match.groups() if g)
            return {"11": "11 (model/data)"}.get(number, number)
    return "9"


def main(argv: list[str] | None = None) -> int:
    """Print counted lines per issue (and with ``--commits``, per commit) at ``--rev``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rev", default="HEAD")
    parser.add_argument("--moves", action="store_true", help="follow moved and copied lines (git blame -M -C)")
    parser.add_argument("--commits", action="store_true", help="also list every commit's lines")
    args = parser.parse_args(argv)
    base = set(_git("rev-list", BASE).split())
    branches = branch_of(args.rev)
    lines: collections.Counter[str] = collections.Counter()
    for path in counts(args.rev):
        blame = _git("blame", "--porcelain", "-w", *(["-M", "-C"] if args.moves else []), args.rev, "--", path)
        for line in blame.splitlines():
            fields = line.split()
            if len(fields) >= 3 and re.fullmatch(r"[0-9a-f]{40}", fields[0]) and not line.startswith("\t"):
                lines[fields[0]] += int(fields[3]) if len(fields) == 4 else 0  # group header: count of lines
    subjects = {c: _git("log", "-1", "--format=%s", c).strip() for c in lines}
    by_issue: collections.Counter[str] = collections.Counter()
    for commit, n in lines.items():
        by_issue[classify(commit, subjects[commit], base, branches)] += n
    total = sum(lines.values())
    print(f"counted lines at {args.rev}: {total:,}" + (" (moves followed)" if args.moves else ""))
    for issue, n in sorted(by_issue.items(), key=lambda kv: -kv[1]):
        print(f"  {'issue ' + issue if issue != 'base' else 'base (b673acf or before)':32} {n:>6,}")
    kept, baseline = by_issue["base"] + by_issue["9"], sum(counts(BASE).values())
    print(f"lines carrying {BASE}'s behaviours (base + issue 9): {kept:,} against {baseline:,} at {BASE}"
          f" ({kept - baseline:+,}, {(kept - baseline) / baseline:+.1%})")
    print("  caveat: blame gives each line to its last writer, so a line of b673acf that another issue's commit"
          " rewrote\n  counts for that issue, and an issue-9 rewrite of another issue's line counts for issue 9")
    if args.commits:
        for commit, n in lines.most_common():
            issue = classify(commit, subjects[commit], base, branches)
            print(f"{n:>6} {commit[:9]} [{issue}] {subjects[commit][:90]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
