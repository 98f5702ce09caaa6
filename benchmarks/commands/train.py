"""``transferkit train FAMILY``: train an encoder family on a corpus and save it.

The families and their options come from :data:`embeddings.training.families.TRAINABLE`
(``transferkit train --list`` shows them).  The corpus is a text file or a folder of
``*.txt`` files (``raw/`` sub-folders are skipped), read as a stream.  The result is a
saved encoder folder that ``embeddings.load(OUT)`` and ``transferkit encode`` read.

Families that train through the shared trainer (``quick-thought``) keep their
checkpoints, ``log.jsonl`` and ``loss.png`` in ``OUT/training/``: ``--max-minutes``
stops a run after a checkpoint, and ``--resume`` continues it, with the parameters
stored in ``OUT/training/run.json``.  An existing, non-empty ``OUT`` is refused unless
``--resume`` (continue) or ``--force`` (delete it and start over) is given.

Example:
    $ transferkit train --list
    $ transferkit train word2vec --corpus data/unlabeled --out models/w2v --epochs 5
    $ transferkit train quick-thought --corpus data/unlabeled --out models/qt --max-minutes 30
    $ transferkit train quick-thought --corpus data/unlabeled --out models/qt --resume
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.commands._options import family_defaults, options_spec
from benchmarks.commands._train_options import data_flag, list_families, parse_options
from benchmarks.commands._train_report import continue_command, print_summary, summarize
from benchmarks.commands._train_runs import (
    RUN_FILE,
    RUN_FORMAT,
    check_data,
    out_folder,
    prepare_out,
    read_run,
    refuse_links,
    write_run,
)
from embeddings._atomic import check_writable
from embeddings.errors import InvalidParameterError

__all__ = ["register", "run", "RUN_FILE", "RUN_FORMAT"]


def register(subparsers: Any) -> None:
    """Add the ``train`` subcommand."""
    from embeddings.training.families import TRAINABLE  # plain data, imports nothing heavy

    p = subparsers.add_parser(
        "train",
        help=f"train an encoder family ({', '.join(TRAINABLE)}) on a corpus",
        usage=(
            "transferkit train --list [--json]\n"
            "       transferkit train FAMILY --corpus PATH --out DIR [--max-minutes M] [--resume]\n"
            "       transferkit train infersent --nli PATH_OR_TASK[,...] --out DIR [...]\n"
            "                         [--force] [--checkpoint-every N] [--no-progress] "
            "[--json FILE] [--OPTION VALUE ...]"
        ),
        description=(
            "Train an encoder family on a corpus (a text file or a folder of *.txt files) and "
            "save it to a folder that embeddings.load(DIR) and transferkit encode read. "
            "Resumable families keep checkpoints in DIR/training: --max-minutes stops after a "
            "checkpoint and --resume continues with the stored parameters."
        ),
        epilog="`transferkit train FAMILY --help` shows the options of one family.",
    )
    p.add_argument("family", nargs="?", metavar="FAMILY", help="the family to train")
    p.add_argument(
        "--list", action="store_true", help="list the trainable families and their options"
    )
    p.add_argument(
        "--json",
        nargs="?",
        const="-",
        default=None,
        metavar="FILE",
        help="with --list: print JSON; when training: also write the summary as JSON to FILE",
    )
    p.add_argument("options", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    p.set_defaults(func=run)


def _fit_resumable(encoder: Any, corpus: str, out: Path, ns: argparse.Namespace) -> None:
    encoder.fit(
        corpus,
        workdir=out / "training",
        resume=bool(ns.resume),
        max_minutes=ns.max_minutes,
        show_progress=not ns.no_progress,
        checkpoint_every=ns.checkpoint_every,
    )


def run(args: argparse.Namespace) -> int:
    """List the families, or train one, save it and print a summary."""
    from embeddings.training.families import get_trainable, list_trainable

    if args.list or "--list" in args.options:
        families = list_trainable() if args.family is None else [get_trainable(args.family)]
        extra = [o for o in args.options if o not in ("--list", "--json")]
        if extra:
            raise InvalidParameterError(f"--list takes no option but --json, got {' '.join(extra)}")
        return list_families(families, as_json=args.json is not None or "--json" in args.options)
    if args.family is None:
        names = ", ".join(f.name for f in list_trainable())
        raise InvalidParameterError(
            f"name the family to train, one of: {names} (`transferkit train --list` shows "
            "their options)"
        )
    family = get_trainable(args.family)
    ns, explicit = parse_options(family, args.options)
    if ns.json is None and args.json not in (None, "-"):
        ns.json = args.json
    _check_run_options(family, ns)
    out = out_folder(ns.out)
    if ns.json not in (None, "-"):
        check_writable(ns.json, what="--json")

    if ns.resume:
        refuse_links(out)
        stored = read_run(out, family)
        params = {**family_defaults(family), **stored["params"]}
        changed = {k: v for k, v in explicit.items() if k in params and params[k] != v}
        if changed:
            spec = {o.param: o.flag for o in options_spec(family)}
            diffs = "; ".join(
                f"{spec.get(k, k)} {v!r} differs from the stored {params[k]!r}"
                for k, v in changed.items()
            )
            raise InvalidParameterError(
                f"--resume continues the run in {out} with its stored parameters: {diffs}. "
                "Drop the option(s), or start over with --force"
            )
        corpus = stored["corpus"]
        flag = data_flag(family)
        if ns.corpus is not None and check_data(family, ns.corpus, check=False) != corpus:
            raise InvalidParameterError(
                f"--resume: {flag} {ns.corpus} differs from the stored corpus {corpus} of the "
                f"run in {out}; drop {flag}, or start over with --force"
            )
        corpus_shown = ns.corpus if ns.corpus is not None else str(corpus)
        encoder = family.build(params)
    else:
        if ns.corpus is None:
            what = family.data_help or "a text file or a folder of *.txt files"
            raise InvalidParameterError(f"{data_flag(family)} is required: {what}")
        corpus = check_data(family, ns.corpus)
        corpus_shown = ns.corpus
        params = {**family_defaults(family), **explicit}
        encoder = family.build(params)
        prepare_out(out, bool(ns.force))

    verb = "resuming" if ns.resume else "training"
    print(f"{verb} {family.name} on {corpus_shown} -> {out}", file=sys.stderr)
    start = time.perf_counter()
    if family.resumable:
        write_run(out, family, params, corpus)
        try:
            _fit_resumable(encoder, corpus, out, ns)
        except KeyboardInterrupt:
            hint = continue_command(family, corpus_shown, str(out), ns.max_minutes)
            print(
                f"transferkit train: interrupted; the last checkpoint is kept: continue with: "
                f"{hint}",
                file=sys.stderr,
            )
            return 130
        encoder.save(out)
    else:
        encoder.fit(corpus, show_progress=not ns.no_progress)
        encoder.save(out)
        write_run(out, family, params, corpus)
    wall = time.perf_counter() - start
    summary = summarize(family, encoder, params, ns, corpus_shown, wall)
    print_summary(summary)
    if ns.json:
        from embeddings._atomic import atomic_write_text

        text = json.dumps(summary, indent=2, default=str) + "\n"
        if ns.json == "-":
            print(text, end="")
        else:
            atomic_write_text(Path(ns.json), text)
    return 0


def _check_run_options(family: Any, ns: argparse.Namespace) -> None:
    if ns.resume and ns.force:
        raise InvalidParameterError(
            "--resume and --force exclude each other: --resume continues the run in OUT, "
            "--force deletes it"
        )
    if not family.resumable:
        given = [
            flag
            for flag, value in (
                ("--resume", ns.resume),
                ("--max-minutes", ns.max_minutes is not None),
                ("--checkpoint-every", ns.checkpoint_every is not None),
            )
            if value
        ]
        if given:
            from embeddings.training.families import list_trainable

            resumable = [f.name for f in list_trainable() if f.resumable]
            raise InvalidParameterError(
                f"{family.name} trains in one pass (gensim) and has no checkpoints, so "
                f"{', '.join(given)} cannot be used with it; families that can: "
                f"{', '.join(resumable)}"
            )
    if ns.max_minutes is not None and not (math.isfinite(ns.max_minutes) and ns.max_minutes > 0):
        raise InvalidParameterError(f"--max-minutes must be a number > 0, got {ns.max_minutes}")
    if ns.checkpoint_every is not None and ns.checkpoint_every < 1:
        raise InvalidParameterError(
            f"--checkpoint-every must be an integer >= 1, got {ns.checkpoint_every}"
        )
