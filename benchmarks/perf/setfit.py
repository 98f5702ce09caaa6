"""Contrastive fine-tuning against SetFit: wall time ratio and accuracy, same samples.

Each sample (task, k labelled examples a class, seed) is trained by
``fine_tune(objective="contrastive")`` and, right after, by SetFit itself in its own
virtualenv (:mod:`benchmarks.peers.setfit_peer`), with the same base folder, pairs,
batch, learning rate and logistic-regression head (see :mod:`benchmarks.fewshot`).
Alternating the two keeps a busy machine's load the same for both.  Prints the
accuracy table and the median ratio of wall times (below 1: transferkit is faster).

Example:
    $ python -m benchmarks.perf.setfit --setfit-python .venv-setfit/bin/python
"""

from __future__ import annotations

import sys

from benchmarks import fewshot


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    defaults = ["--tasks", "SST2", "TREC", "--shots", "8", "--seeds", "3", "--rows",
                "contrastive", "setfit", "--models", "minilm-l6", "--interleave",
                "--out", "results/perf_setfit.json"]  # fmt: skip
    given = {a for a in args if a.startswith("--")}
    merged = list(args)
    i = 0
    while i < len(defaults):  # a default applies unless its option is given
        j = i + 1
        while j < len(defaults) and not defaults[j].startswith("--"):
            j += 1
        if defaults[i] not in given:
            merged += defaults[i:j]
        i = j
    return fewshot.main(merged)


if __name__ == "__main__":
    raise SystemExit(main())
