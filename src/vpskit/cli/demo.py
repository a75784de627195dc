"""``vpskit demo``: the whole job on synthetic data, from downloads to scores."""

from __future__ import annotations

import argparse
import os
import shutil
import time
from pathlib import Path

from ..errors import VpsError
from .synth import _size

DESCRIPTION = """\
Run the whole Cityscapes-VPS job on built-in synthetic data, in DIR (default ./vpskit-demo):

  1. synth     write a synthetic download as zips, like the real ones   DIR/downloads/
               (N videos: half of them val, the split scored below, a sixth test,
               the rest train)
  2. prepare   build Cityscapes-VPS straight from the zips               DIR/cityscapes_vps/
  3. verify    check the prepared dataset
  4. predict   a "noisy model" prediction for the val split             DIR/prediction/
               (vpskit perturb: missed objects, track switches, confused categories,
               eroded boundaries, false positives; each counted in perturb.json)
  5. eval      score it with VPQ and STQ; reports into DIR/prediction/
  6. report    one self-contained HTML page on it (numbers, charts,     DIR/prediction/report.html
               where tracking breaks, the worst videos as GT | prediction
               | error thumbnails): open it in a browser

Running it again replaces an earlier demo in DIR; a DIR holding anything else is refused."""

MARKER = ".vpskit-demo"


def _prepare_dir(base: Path) -> None:
    """Make ``base`` an empty demo folder, replacing an earlier demo, refusing anything else."""
    if base.exists():
        if not base.is_dir():
            raise VpsError(base, "exists and is not a folder")
        contents = [p for p in base.iterdir()]
        if contents and not (base / MARKER).is_file():
            raise VpsError(base, "is not empty and holds no earlier vpskit demo; choose another DIR")
        for p in contents:
            if p.name != MARKER:
                shutil.rmtree(p) if p.is_dir() and not p.is_symlink() else p.unlink()
    base.mkdir(parents=True, exist_ok=True)
    (base / MARKER).write_text("made by 'vpskit demo'; safe to delete\n")


def demo_splits(videos: int) -> dict[str, int]:
    """The demo's split of ``videos`` (>= 3) videos: half val (the split it scores), a sixth test."""
    val, test = max(1, videos // 2), max(1, videos // 6)
    return {"train": videos - val - test, "val": val, "test": test}


def run_demo(base: Path, *, videos: int, size: tuple[int, int], seed: int, jobs: int | None) -> int:
    """Run the six demo steps in ``base``, printing what each made; return the exit code."""
    from ..evaluation import evaluate
    from ..evaluation.report import format_table
    from ..perturbation import NOISY, format_summary, perturb
    from ..preparation import prepare
    from ..synth import synthesize
    from ..verification import verify
    from ..visualize.page import report as write_report

    _prepare_dir(base)
    downloads, root, pred = base / "downloads", base / "cityscapes_vps", base / "prediction"
    started = time.perf_counter()

    def step(n: int, text: str) -> float:
        print(f"\n[{n}/6] {text}", flush=True)
        return time.perf_counter()

    def done(t0: float) -> None:
        print(f"      ({time.perf_counter() - t0:.1f} s)", flush=True)

    splits = demo_splits(videos)
    t = step(1, f"synth: {videos} videos ({', '.join(f'{s} {n}' for s, n in splits.items())}) "
             f"at {size[0]}x{size[1]}, seed {seed}, as zips")
    made = synthesize(downloads, videos=videos, size=size, seed=seed, as_zip=True, jobs=jobs,
                      splits=splits)
    print(made.summary())
    done(t)

    t = step(2, "prepare: fetch, merge, panoptic, video — straight from the zips")
    summary = prepare(root, downloads / "leftImg8bit_sequence_trainvaltest.zip",
                      downloads / "gtFine_trainvaltest.zip",
                      release=downloads / "cityscapes-vps-dataset-1.0.zip", jobs=jobs)
    print(summary)
    done(t)

    t = step(3, "verify the prepared dataset")
    report = verify(root, jobs=jobs)
    print(report)
    done(t)
    if not report.ok:
        raise VpsError(root, f"verify found {len(report.problems)} problems (listed above)")

    t = step(4, "predict: a noisy model's prediction for the val split (vpskit perturb)")
    record = perturb(root, pred, split="val", seed=seed, jobs=jobs, **NOISY.as_dict())
    print(format_summary(record, pred))
    done(t)

    t = step(5, "eval: VPQ and STQ of the prediction")
    results = evaluate(pred, root=root, split="val", out=pred, jobs=jobs)
    print(format_table(results))
    print(f"      reports: {pred}/vpq-{{0,5,10,15,final}}.txt, {pred}/results.json")
    done(t)

    t = step(6, "report: one HTML page on the prediction (no network needed to view it)")
    page = write_report(pred, root=root, split="val", out=pred / "report.html", jobs=jobs)
    print(f"      page: {page}")
    done(t)

    cmd = "uv run vpskit" if os.environ.get("UV_RUN_RECURSION_DEPTH") else "vpskit"  # as it was started
    print(f"\nDone in {time.perf_counter() - started:.1f} s. The report page: {page}\nTry next:\n"
          f"  {cmd} verify {root}\n"
          f"  {cmd} eval {pred} --root {root} --split val --per-video\n"
          f"  {cmd} perturb {root} --split val {base / 'switched'} --switch 0.3\n"
          f"  {cmd} report {pred} {base / 'switched'} --root {root} --out {base / 'compare.html'}\n"
          f"  {cmd} prepare --help")
    return 0


def _run(args: argparse.Namespace) -> int:
    if args.videos < 3:
        raise VpsError("--videos", f"needs at least 3 (one per split), got {args.videos}")
    return run_demo(Path(args.dir), videos=args.videos, size=args.size, seed=args.seed,
                    jobs=args.jobs)


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``demo`` parser."""
    p = sub.add_parser("demo", help="run the whole job on synthetic data "
                       "(synth, prepare, verify, predict, eval, report)",
                       description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("dir", metavar="DIR", nargs="?", default="vpskit-demo",
                   help="working folder (default ./vpskit-demo)")
    p.add_argument("--videos", type=int, default=12, metavar="N",
                   help="number of videos, at least 3 (default 12: 4 train, 6 val, 2 test)")
    p.add_argument("--size", type=_size, default=(1024, 512), metavar="WxH",
                   help="frame size (default 1024x512; the real data is 2048x1024)")
    p.add_argument("--seed", type=int, default=0, metavar="S", help="random seed (default 0)")
    p.add_argument("--jobs", type=int, default=None, metavar="N",
                   help="worker processes (default: all cores)")
    p.set_defaults(func=_run)
