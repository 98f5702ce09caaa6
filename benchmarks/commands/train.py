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
import difflib
import json
import math
import os
import re
import shlex
import shutil
import sys
import textwrap
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from embeddings._atomic import check_writable
from embeddings.errors import InvalidParameterError, ModelFormatError

__all__ = ["register", "run", "RUN_FILE", "RUN_FORMAT"]

#: the file in ``OUT/training/`` that records a run's family and parameters
RUN_FILE = "run.json"
RUN_FORMAT = "transferkit-train-run"
RUN_FORMAT_VERSION = 1
_RUN_FIELDS: dict[str, type] = {
    "format": str,
    "format_version": int,
    "family": str,
    "params": dict,
    "corpus": str,
}

_STATUS = {
    "completed": "finished",
    "early_stopping": "finished by early stopping",
    "time_budget": "stopped by the time budget",
    "max_steps": "stopped at the step limit",
}


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


# --------------------------------------------------------------------- parsing
class _OptionParser(argparse.ArgumentParser):
    """An argument parser whose errors are ``InvalidParameterError`` (one line, exit 2)."""

    def error(self, message: str) -> Any:  # type: ignore[override]
        message = re.sub(r"^argument (\S+): \1 ", r"\1 ", message)
        raise InvalidParameterError(f"{message} (`{self.prog} --help` lists the options)")


class _SetParams(argparse.Action):
    """A shortcut flag that sets one or more parameters to fixed values (``--cbow``)."""

    def __init__(
        self, option_strings: list[str], dest: str, *, values: Mapping[str, Any], **kwargs: Any
    ) -> None:
        super().__init__(option_strings, dest, nargs=0, **kwargs)
        self.values_to_set = dict(values)

    def __call__(self, parser: Any, namespace: Any, values: Any, option: Any = None) -> None:
        for key, value in self.values_to_set.items():
            setattr(namespace, key, value)


def _value_parser(option: Any) -> Any:
    def parse(text: str) -> Any:
        try:
            return option.parse(text)
        except InvalidParameterError as err:
            raise argparse.ArgumentTypeError(str(err)) from None

    parse.__name__ = option.kind
    return parse


def _help(option: Any) -> str:
    text = option.help or option.param
    default = "none" if option.default is None else option.default
    return f"{text} (default: {default})".replace("%", "%%")


def _option_parser(family: Any) -> tuple[argparse.ArgumentParser, list[Any]]:
    spec = family.options_spec()
    p = _OptionParser(
        prog=f"transferkit train {family.name}",
        description=family.description,
        allow_abbrev=False,
    )
    g = p.add_argument_group("run")
    g.add_argument(
        _data_flag(family),
        dest="corpus",
        help=family.data_help or "text file or folder of *.txt files (stored for --resume)",
    )
    g.add_argument("--out", required=True, help="folder of the trained encoder")
    g.add_argument(
        "--max-minutes",
        type=float,
        default=None,
        metavar="M",
        help="stop after M minutes, after a checkpoint (resumable families)",
    )
    g.add_argument(
        "--resume", action="store_true", help="continue the run stored in OUT (resumable families)"
    )
    g.add_argument("--force", action="store_true", help="delete an existing OUT and start over")
    g.add_argument(
        "--checkpoint-every",
        type=int,
        default=None,
        metavar="N",
        help="steps between checkpoints (resumable families; default: the family's)",
    )
    g.add_argument("--no-progress", action="store_true", help="no progress bar")
    g.add_argument("--json", default=None, metavar="FILE", help="also write the summary as JSON")
    fam = p.add_argument_group(f"{family.name} options")
    for o in spec:
        if o.kind == "bool":
            fam.add_argument(
                o.flag,
                *o.aliases,
                dest=o.param,
                default=argparse.SUPPRESS,
                action=argparse.BooleanOptionalAction,
                help=_help(o),
            )
        else:
            fam.add_argument(
                o.flag,
                *o.aliases,
                dest=o.param,
                default=argparse.SUPPRESS,
                type=_value_parser(o),
                metavar=o.metavar,
                help=_help(o),
            )
    for name, values in family.shortcuts.items():
        shown = _shortcut_text(values, spec)
        fam.add_argument(
            f"--{name}",
            action=_SetParams,
            values=values,
            dest=argparse.SUPPRESS,
            default=argparse.SUPPRESS,
            help=f"the same as {shown}",
        )
    return p, spec


def _shortcut_text(values: Mapping[str, Any], spec: list[Any]) -> str:
    """``{"sg": False}`` -> ``--no-sg``; other values -> ``--flag value``."""
    flags = {o.param: o.flag for o in spec}
    parts = []
    for key, value in values.items():
        flag = flags.get(key, "--" + key.replace("_", "-"))
        if isinstance(value, bool):
            parts.append(flag if value else f"--no-{flag[2:]}")
        else:
            parts.append(f"{flag} {'none' if value is None else value}")
    return " ".join(parts)


def _known_flags(parser: argparse.ArgumentParser) -> list[str]:
    return sorted(s for a in parser._actions for s in a.option_strings if s.startswith("--"))


def _parse(family: Any, argv: Sequence[str]) -> tuple[argparse.Namespace, dict[str, Any]]:
    """``(run options, explicitly given family parameters)``."""
    parser, spec = _option_parser(family)
    ns, extra = parser.parse_known_args(list(argv))
    if extra:
        flags = _known_flags(parser)
        unknown = [e for e in extra if e.startswith("-")] or extra
        first = unknown[0].split("=")[0]
        close = difflib.get_close_matches(first, flags, n=2, cutoff=0.6)
        hint = f" (did you mean {' or '.join(close)}?)" if close else ""
        others = _families_with_option(first, exclude=family.name)
        if others:
            hint = f" ({first} is an option of {', '.join(others)})"
        raise InvalidParameterError(
            f"unknown option(s) for {family.name}: {' '.join(unknown)}{hint}. "
            f"Allowed: {', '.join(flags)} (`transferkit train {family.name} --help` explains them)"
        )
    params = [o.param for o in spec] + [k for v in family.shortcuts.values() for k in v]
    explicit = {k: getattr(ns, k) for k in dict.fromkeys(params) if hasattr(ns, k)}
    return ns, explicit


def _families_with_option(flag: str, *, exclude: str) -> list[str]:
    from embeddings.training.families import list_trainable

    return [
        f.name
        for f in list_trainable()
        if f.name != exclude and any(flag in (o.flag, *o.aliases) for o in f.options_spec())
    ]


# --------------------------------------------------------------------- listing
def _list(families: list[Any], as_json: bool) -> int:
    if as_json:
        print(json.dumps([f.describe() for f in families], indent=2))
        return 0
    tables = {f.name: _option_rows(f) for f in families}
    width = min(max(len(r[0]) for rows in tables.values() for r in rows), 34)
    dwidth = max(len(r[1]) for rows in tables.values() for r in rows)
    for k, family in enumerate(families):
        if k:
            print()
        how = "checkpoints, --max-minutes, --resume" if family.resumable else "one pass, no resume"
        print(f"{family.name}: {family.description}")
        print(f"  {family.target} ({how})")
        for flag, default, text in tables[family.name]:
            lead = f"    {flag.ljust(width)}  {default.ljust(dwidth)}  "
            if len(flag) > width:
                lead = f"    {flag}\n    {' ' * width}  {default.ljust(dwidth)}  "
            pad = " " * (4 + width + 2 + dwidth + 2)
            body = textwrap.wrap(text, width=max(100 - len(pad), 30)) or [""]
            print(lead + body[0] + "".join(f"\n{pad}{line}" for line in body[1:]))
    print("\n`transferkit train FAMILY --help` shows the same for one family.")
    return 0


def _option_rows(family: Any) -> list[tuple[str, str, str]]:
    """``(flag with metavar, default, help)`` of every option of ``family``."""
    spec = family.options_spec()
    rows = []
    for o in spec:
        flag = o.flag if o.kind != "bool" else f"{o.flag}/--no-{o.flag[2:]}"
        if o.metavar:
            flag += f" {o.metavar}"
        rows.append((flag, "none" if o.default is None else str(o.default), o.help))
    for name, values in family.shortcuts.items():
        rows.append((f"--{name}", "", f"the same as {_shortcut_text(values, spec)}"))
    return rows


# ----------------------------------------------------------------- run records
def _run_path(out: Path) -> Path:
    return out / "training" / RUN_FILE


def _read_run(out: Path, family: Any) -> dict[str, Any]:
    """The stored run of ``out``, every field checked against the family's options."""
    path = _run_path(out)
    if not path.is_file():
        raise InvalidParameterError(
            f"--resume: {out} holds no run to continue ({path} is missing); "
            "start a run without --resume"
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ModelFormatError(f"{path}: cannot read the stored run: {err}") from err
    if not isinstance(data, dict):
        raise ModelFormatError(f"{path}: expected a JSON object, got {type(data).__name__}")
    for key, typ in _RUN_FIELDS.items():
        if not isinstance(data.get(key), typ) or isinstance(data.get(key), bool):
            raise ModelFormatError(
                f"{path}: field {key!r} must be a {typ.__name__}, got {data.get(key)!r:.60}"
            )
    if data["format"] != RUN_FORMAT or data["format_version"] != RUN_FORMAT_VERSION:
        raise ModelFormatError(
            f"{path}: format {data['format']!r} version {data['format_version']} is not "
            f"{RUN_FORMAT!r} version {RUN_FORMAT_VERSION}"
        )
    if data["family"] != family.name:
        raise InvalidParameterError(
            f"--resume: {out} holds a {data['family']!r} run, not {family.name!r}; continue it "
            f"with: transferkit train {data['family']} --out {shlex.quote(str(out))} --resume"
        )
    options = {o.param: o for o in family.options_spec()}
    for key, value in data["params"].items():
        if key in options:
            if not options[key].check(value):
                raise ModelFormatError(
                    f"{path}: params.{key} = {value!r:.60} is not a valid value of "
                    f"{options[key].flag} ({options[key].metavar})"
                )
        elif key in family.params:
            if value != family.params[key]:
                raise ModelFormatError(
                    f"{path}: params.{key} = {value!r:.60}, but {family.name} fixes "
                    f"{key}={family.params[key]!r}"
                )
        else:
            raise ModelFormatError(
                f"{path}: params.{key} is not a parameter of {family.name}; "
                f"allowed: {sorted([*options, *family.params])}"
            )
    return data


def _write_run(out: Path, family: Any, params: Mapping[str, Any], corpus: str) -> None:
    from embeddings._atomic import atomic_write_text

    record = {
        "format": RUN_FORMAT,
        "format_version": RUN_FORMAT_VERSION,
        "family": family.name,
        "class": family.target,
        "params": dict(params),
        "corpus": str(corpus),
    }
    path = _run_path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(record, indent=2, ensure_ascii=False) + "\n")


def _out_folder(given: str) -> Path:
    """``--out`` as a path, checked to be writable before any training.

    An ``--out`` that is itself a symbolic link names the folder it points to (the
    caller chose it); links inside ``OUT`` are refused (:func:`_refuse_links`).
    """
    out = Path(given)
    if out.is_symlink():
        out = Path(os.path.realpath(out))
    return check_writable(out, what="--out", folder=True)


def _refuse_links(out: Path) -> None:
    """Refuse an ``OUT/training`` that holds a symbolic link or a special file.

    A resumed run reads and writes only inside ``OUT``: a link there could make it
    overwrite, or read checkpoints from, files elsewhere; a FIFO would block a read.
    """
    training = out / "training"
    found: Path | None = training if training.is_symlink() else None
    if found is None and training.is_dir():
        for folder, dirs, files in os.walk(training):  # never descends into links
            for name in [*dirs, *files]:
                path = Path(folder) / name
                if path.is_symlink() or not (path.is_dir() or path.is_file()):
                    found = path
                    break
            if found is not None:
                break
    if found is not None:
        kind = "a symbolic link" if found.is_symlink() else "not a regular file or folder"
        raise InvalidParameterError(
            f"--resume: {found} is {kind}; a run reads and writes only regular files inside "
            f"--out {out}: remove it, or start over with --force"
        )


def _prepare_out(out: Path, force: bool) -> None:
    """Refuse a non-empty ``out`` unless ``force``; with ``force``, delete it."""
    if not out.exists():
        return
    if not out.is_dir():
        raise InvalidParameterError(f"--out {out} exists and is not a folder")
    if not any(out.iterdir()):
        return
    if not force:
        raise InvalidParameterError(
            f"--out {out} exists and is not empty; pass --resume to continue the run stored "
            "there, or --force to delete it and start over"
        )
    if not ((out / "config.json").is_file() or (out / "training").is_dir()):
        raise InvalidParameterError(
            f"--force: {out} does not look like the output of transferkit train (no "
            "config.json, no training/), so it is left untouched; remove it yourself or "
            "choose another --out"
        )
    shutil.rmtree(out)


# -------------------------------------------------------------------- training
def _fit_resumable(encoder: Any, corpus: str, out: Path, ns: argparse.Namespace) -> None:
    encoder.fit(
        corpus,
        workdir=out / "training",
        resume=bool(ns.resume),
        max_minutes=ns.max_minutes,
        show_progress=not ns.no_progress,
        checkpoint_every=ns.checkpoint_every,
    )


def _data_flag(family: Any) -> str:
    """The family's training-data option: ``--corpus``, or e.g. ``--nli`` for InferSent."""
    return "--" + str(family.data_option).replace("_", "-")


def _check_data(family: Any, given: str, *, check: bool = True) -> str:
    """The data argument as stored in ``run.json``; a bad one fails before ``OUT`` is touched."""
    if family.data_check is None:
        if check:
            from embeddings.training.corpus import corpus_files

            corpus_files(given)  # a missing or empty corpus fails here
        return str(Path(given).resolve())
    import importlib

    module, _, name = family.data_check.partition(":")
    resolve = getattr(importlib.import_module(module), name)
    return str(resolve(given))


def _continue_command(family: Any, corpus: str, out: str, max_minutes: float | None) -> str:
    flag = _data_flag(family)
    cmd = ["transferkit", "train", family.name, flag, corpus, "--out", out, "--resume"]
    if max_minutes is not None:
        cmd += ["--max-minutes", f"{max_minutes:g}"]
    return " ".join(shlex.quote(c) for c in cmd)


def _summary(
    family: Any,
    encoder: Any,
    params: Mapping[str, Any],
    ns: argparse.Namespace,
    corpus_shown: str,
    wall: float,
) -> dict[str, Any]:
    out = Path(ns.out)
    info = dict(encoder.__dict__.get("training_info_") or {})
    summary: dict[str, Any] = {
        "family": family.name,
        "class": family.target,
        "corpus": corpus_shown,
        "out": str(out),
        "params": dict(params),
        "wall_seconds": round(wall, 3),
        "dim": int(encoder.dim),
    }
    result = encoder.__dict__.get("training_result_")
    if result is not None:
        workdir = out / "training"
        history = list(result.history)
        summary.update(
            steps=int(result.steps),
            epochs_done=int(result.epochs_done),
            epochs=int(params["epochs"]),
            finished=bool(result.finished),
            stop_reason=str(result.stop_reason),
            resumed_from=result.resumed_from,
            training_seconds=round(float(result.seconds), 3),
            sentences_per_second=round(float(result.items_per_second), 1),
            final_epoch_loss=history[-1]["train_loss"] if history else None,
            log=str(workdir / "log.jsonl") if (workdir / "log.jsonl").is_file() else None,
            loss_curve=str(workdir / "loss.png") if (workdir / "loss.png").is_file() else None,
            corpus_stats={
                k: info[k] for k in ("sentences", "documents", "vocabulary") if k in info
            },
        )
    else:
        seconds = float(info.get("seconds") or wall)
        lines, epochs = int(info.get("corpus_lines", 0)), int(info.get("epochs", 0))
        summary.update(
            steps=None,
            epochs_done=epochs,
            epochs=epochs,
            finished=True,
            stop_reason="completed",
            resumed_from=None,
            training_seconds=round(seconds, 3),
            sentences_per_second=round(lines * epochs / max(seconds, 1e-9), 1),
            final_epoch_loss=None,
            log=None,
            loss_curve=None,
            corpus_stats={
                "sentences": lines,
                "words": info.get("corpus_words"),
                "vocabulary": info.get("vocabulary"),
            },
        )
    summary["continue_command"] = (
        None
        if summary["finished"]
        else _continue_command(family, corpus_shown, str(ns.out), ns.max_minutes)
    )
    return summary


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, sec = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {sec:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def _print_summary(s: Mapping[str, Any]) -> None:
    def row(label: str, text: str) -> None:
        print(f"  {label:<14}{text}")

    print(f"trained {s['family']} -> {s['out']} (dim {s['dim']})")
    row("class", s["class"])
    stats = s["corpus_stats"]
    parts = [f"{stats[k]:,} {k}" for k in ("sentences", "documents", "words") if stats.get(k)]
    if stats.get("vocabulary"):
        parts.append(f"vocabulary {stats['vocabulary']:,}")
    row("corpus", s["corpus"] + (f" ({', '.join(parts)})" if parts else ""))
    wall = _duration(s["wall_seconds"])
    if s["steps"] is not None and s["training_seconds"] > s["wall_seconds"]:
        wall += f" (training time over all runs: {_duration(s['training_seconds'])})"
    row("wall time", wall)
    nothing_left = s["resumed_from"] is not None and s["resumed_from"] == s["steps"]
    rate = s["sentences_per_second"]
    row("speed", "- (nothing left to train)" if nothing_left else f"{rate:,.0f} sentences/s")
    progress = f"{s['epochs_done']} of {s['epochs']} epochs"
    if s["steps"] is not None:
        progress = f"{s['steps']:,} step{'' if s['steps'] == 1 else 's'}, {progress}"
    if s["resumed_from"] is not None:
        progress += f", resumed from step {s['resumed_from']:,}"
    row("progress", progress)
    if s["final_epoch_loss"] is not None:
        row("loss", f"{s['final_epoch_loss']:.4f} (mean of the last epoch)")
    status = _STATUS.get(s["stop_reason"], s["stop_reason"] or "stopped")
    if nothing_left and s["finished"]:
        status += " (already before this run)"
    row("status", status)
    if s["continue_command"]:
        row("continue with:", "")
        print(f"    {s['continue_command']}")
    if s["loss_curve"]:
        row("loss curve", s["loss_curve"])
    if s["log"]:
        row("log", s["log"])
    row("load with", f"embeddings.load({json.dumps(s['out'])})")


def run(args: argparse.Namespace) -> int:
    """List the families, or train one, save it and print a summary."""
    from embeddings.training.families import get_trainable, list_trainable

    if args.list or "--list" in args.options:
        families = list_trainable() if args.family is None else [get_trainable(args.family)]
        extra = [o for o in args.options if o not in ("--list", "--json")]
        if extra:
            raise InvalidParameterError(f"--list takes no option but --json, got {' '.join(extra)}")
        return _list(families, as_json=args.json is not None or "--json" in args.options)
    if args.family is None:
        names = ", ".join(f.name for f in list_trainable())
        raise InvalidParameterError(
            f"name the family to train, one of: {names} (`transferkit train --list` shows "
            "their options)"
        )
    family = get_trainable(args.family)
    ns, explicit = _parse(family, args.options)
    if ns.json is None and args.json not in (None, "-"):
        ns.json = args.json
    _check_run_options(family, ns)
    out = _out_folder(ns.out)
    if ns.json not in (None, "-"):
        check_writable(ns.json, what="--json")

    if ns.resume:
        _refuse_links(out)
        stored = _read_run(out, family)
        params = {**family.defaults(), **stored["params"]}
        changed = {k: v for k, v in explicit.items() if k in params and params[k] != v}
        if changed:
            spec = {o.param: o.flag for o in family.options_spec()}
            diffs = "; ".join(
                f"{spec.get(k, k)} {v!r} differs from the stored {params[k]!r}"
                for k, v in changed.items()
            )
            raise InvalidParameterError(
                f"--resume continues the run in {out} with its stored parameters: {diffs}. "
                "Drop the option(s), or start over with --force"
            )
        corpus = stored["corpus"]
        flag = _data_flag(family)
        if ns.corpus is not None and _check_data(family, ns.corpus, check=False) != corpus:
            raise InvalidParameterError(
                f"--resume: {flag} {ns.corpus} differs from the stored corpus {corpus} of the "
                f"run in {out}; drop {flag}, or start over with --force"
            )
        corpus_shown = ns.corpus if ns.corpus is not None else str(corpus)
        encoder = family.build(params)
    else:
        if ns.corpus is None:
            what = family.data_help or "a text file or a folder of *.txt files"
            raise InvalidParameterError(f"{_data_flag(family)} is required: {what}")
        corpus = _check_data(family, ns.corpus)
        corpus_shown = ns.corpus
        params = {**family.defaults(), **explicit}
        encoder = family.build(params)
        _prepare_out(out, bool(ns.force))

    verb = "resuming" if ns.resume else "training"
    print(f"{verb} {family.name} on {corpus_shown} -> {out}", file=sys.stderr)
    start = time.perf_counter()
    if family.resumable:
        _write_run(out, family, params, corpus)
        try:
            _fit_resumable(encoder, corpus, out, ns)
        except KeyboardInterrupt:
            hint = _continue_command(family, corpus_shown, str(out), ns.max_minutes)
            print(
                f"transferkit train: interrupted; the last checkpoint is kept: continue with: "
                f"{hint}",
                file=sys.stderr,
            )
            return 130
        encoder.save(out)
    else:
        encoder.fit_corpus(corpus, show_progress=not ns.no_progress)
        encoder.save(out)
        _write_run(out, family, params, corpus)
    wall = time.perf_counter() - start
    summary = _summary(family, encoder, params, ns, corpus_shown, wall)
    _print_summary(summary)
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
