"""``vpskit show``: the ground truth or a prediction of one video drawn on its frames, as a
contact sheet (.png), an animation of the whole snippet (.gif, .mp4), or the GT | prediction |
error-map panels the report page shows (:func:`error_panels`)."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from PIL import Image

from .. import naming
from ..errors import VpsError
from ..evaluation.metrics.vpq import SPANS
from ..pngio import atomic_write_bytes, encode_png, writing
from ..profiles import Profile, detect_benchmark
from .overlay import ERROR_KINDS, NEUTRAL, draw_labels, error_image, paint
from .sheets import BACKGROUND, captioned, grid, legend
from .videos import VideoPictures, animation_frames, frame_rgbs, load_video

OUTPUTS = (".png", ".gif", ".mp4")
SHEET_COLUMNS = 2
"""Columns of the contact sheet without ``errors`` (with it, one row per frame)."""
FRAMES_PER_SECOND = 10
"""Speed of the animations (the camera's is 17: slower, so that the annotated frames can be seen)."""
MP4_HINT = ("writing .mp4 needs the ffmpeg that the package imageio-ffmpeg ships: "
            "pip install 'vpskit[video]' (or write a .gif)")


def _check_options(pred: object, errors: bool, span: int | None, profile: Profile | None = None) -> int | None:
    """``span``, checked to be one of the benchmark's window spans (None stays None)."""
    if errors and pred is None:
        raise VpsError("--errors", "needs a prediction: vpskit show PRED --root ROOT … --errors")
    spans = profile.vpq_spans if profile is not None else SPANS
    if span is None:
        return None
    if span not in spans:
        title = f"{profile.title}'s " if profile is not None else ""
        raise VpsError("--span", f"expected one of {', '.join(map(str, spans))} ({title}VPQ window spans), got {span}")
    return span


def video_span(pictures: VideoPictures, span: int | None, profile: Profile) -> int:
    """The span whose windows judge the errors of ``pictures``: ``span``, or (None) the longest
    whose window the video holds. A benchmark whose every frame is annotated has no window
    longer than its video (VPQ scores none there): such a ``span`` is refused."""
    frames = dict(zip(profile.vpq_spans, profile.vpq_window_frames, strict=True))
    if pictures.names is None:
        return profile.vpq_spans[-1] if span is None else span
    count = len(pictures.names)
    if span is None:
        fits = [k for k in profile.vpq_spans if frames[k] <= count]
        return fits[-1] if fits else profile.vpq_spans[0]
    if frames[span] > count:
        raise VpsError("--span", f"video {pictures.video} has {count} frames, fewer than the {frames[span]} of a "
                       f"k = {span} window: VPQ scores no such window there (give a shorter --span)")
    return span


def open_pictures(root: str | os.PathLike, split: str, video: str | int, pred: str | os.PathLike | None,
                  scale: float, benchmark: str | None, frames: list[int] | None, default: str,
                  vpq_windows: str | None = None) -> VideoPictures:
    """One video for pictures, of the benchmark ``benchmark`` (None: found from ``root``) with
    its VPQ window set ``vpq_windows`` (None: the default); ``frames``/``default``: which frames
    of a benchmark whose every frame is annotated (see
    :func:`vpskit.visualize.bench_videos.load_bench_video`)."""
    profile = detect_benchmark(root, benchmark)
    if profile.layout == "panoptic-json":
        if frames is not None:
            raise VpsError("--frames", f"{profile.title} shows its annotated frames; --frames is for the benchmarks "
                           "whose every frame is annotated (kitti-step, vipseg)")
        return load_video(root, split, video, pred, scale)
    from .bench_videos import load_bench_video
    from .scoring import open_benchmark

    bench = open_benchmark(root, split, benchmark=profile.name, command="show", vpq_windows=vpq_windows)
    return load_bench_video(bench, video, pred, scale, frames, default)


def _check_output(out: Path) -> str:
    """The extension of ``out`` (lower case), a picture type show writes with what is installed."""
    ext = out.suffix.lower()
    if ext not in OUTPUTS:
        raise VpsError(out, f"unknown picture type {out.suffix or '(none)'!r}: give a file ending in "
                       + ", ".join(OUTPUTS))
    if ext == ".mp4":
        try:
            import imageio_ffmpeg  # noqa: F401
        except ImportError:
            raise VpsError(out, MP4_HINT) from None
    return ext


def show(out: str | os.PathLike, *, root: str | os.PathLike, split: str = "val", video: str | int,
         pred: str | os.PathLike | None = None, errors: bool = False, labels: bool = False,
         span: int | None = None, scale: float = 1.0, benchmark: str | None = None,
         frames: list[int] | None = None) -> Path:
    """Draw the ground truth of ``video`` (or, with ``pred``, its prediction) on its frames into ``out``.

    ``root``: a prepared Cityscapes-VPS folder or a zip of it; ``pred``: a prediction folder,
    zip or submission.zip. ``out`` ending in ``.png``: a contact sheet of the annotated frames;
    ``.gif`` or ``.mp4``: every frame of the snippet (``{split}/img_all``; the annotated
    frames only, said on stdout, where the split has none, as train), the annotated ones drawn
    on. ``errors`` (needs ``pred``): each picture is GT | prediction | error map, the errors
    of frame i judged in the VPQ window of span ``span`` (n = span/5 + 1 annotated frames)
    starting at min(i, T - n), T the annotated frames of the video (all of them when T < n).
    ``labels``: write "car 3" (category and track number) or the stuff name on each segment.
    ``scale`` (0 < scale <= 1) shrinks the pictures (ids by nearest neighbour, frames by area)
    before they are drawn. Colours follow :mod:`vpskit.visualize.colours`. The file is written
    atomically; the same call gives the same bytes. Returns ``out``.

    ``benchmark`` (None: found from ``root``): for KITTI-STEP (``root`` the folder holding
    ``panoptic_maps/`` and ``images/``) and VIPSeg (a prepared VIPSeg_720P folder) every frame is
    annotated: ``video`` is a sequence number (KITTI-STEP) or a video name or the number it starts
    with (VIPSeg); ``frames`` are the 0-based positions of the frames to draw (default: 6 spread
    over the video for a .png, every frame for an animation); ``span`` is one of the benchmark's
    window spans (default: its longest), the errors of a frame judged in that window of the whole
    video that starts at it (or the last one).
    """
    out = Path(out)
    profile = detect_benchmark(root, benchmark)
    span = _check_options(pred, errors, span, profile)
    ext = _check_output(out)
    pictures = open_pictures(root, split, video, pred, scale, benchmark, frames,
                             "spread" if ext == ".png" else "all")
    try:
        span = video_span(pictures, span, profile)
        if ext == ".png":
            atomic_write_bytes(out, encode_png(contact_sheet(pictures, pred is not None, errors, labels, span)))
            return out
        shown, whole = animation_frames(pictures)
        if not whole:
            print(f"{split} has no img_all frames: the animation shows the {len(shown)} annotated frames only")
        frames = _animation(pictures, shown, whole, pred is not None, errors, labels, span)
        if ext == ".gif":
            _write_gif(out, frames)
        else:
            _write_mp4(out, frames)
    finally:
        pictures.images.close()
    return out


def error_panels(pred: str | os.PathLike, *, root: str | os.PathLike, split: str, video: str | int,
                 span: int | None = None, scale: float = 0.25, benchmark: str | None = None,
                 vpq_windows: str | None = None) -> list[np.ndarray]:
    """Per annotated frame of ``video`` (a benchmark whose every frame is annotated: 6 frames
    spread over it), the (h, 3w, 3) uint8 picture GT | prediction | error map (as :func:`show`
    draws them with ``errors``, without captions), at ``scale``; ``span`` None: the longest the
    video holds (:func:`video_span`) among the window set ``vpq_windows`` (None: the default)."""
    profile = detect_benchmark(root, benchmark).with_windows(vpq_windows)
    span = _check_options(pred, True, span, profile)
    pictures = open_pictures(root, split, video, pred, scale, benchmark, None, "spread", vpq_windows)
    try:
        span = video_span(pictures, span, profile)
        return [_triptych(pictures, i, span, False) for i in range(len(pictures.frames))]
    finally:
        pictures.images.close()


# --------------------------------------------------------------------------- pictures


def _overlay(pictures: VideoPictures, index: int, predicted: bool, labels: bool) -> np.ndarray:
    frame = pictures.frames[index]
    palette = pictures.pred_palette if predicted else pictures.gt_palette
    pos = frame.pred if predicted else frame.gt
    assert palette is not None and pos is not None
    img = paint(frame.rgb, pos, palette.colours)
    return draw_labels(img, pos, palette.labels) if labels else img


def _triptych(pictures: VideoPictures, index: int, span: int, labels: bool) -> np.ndarray:
    _, kinds = pictures.errors(index, span)
    return np.concatenate([_overlay(pictures, index, False, labels), _overlay(pictures, index, True, labels),
                           error_image(kinds)], axis=1)


def _errors_caption(pictures: VideoPictures, index: int, span: int) -> str:
    window = pictures.window(index, span)
    first, last = (pictures.label(i) for i in (window.start, window.stop - 1))
    return (f"frame {pictures.label(pictures.position(index))}: ground truth | prediction | "
            f"errors in the window of frames {first}-{last} (k = {span})")


def contact_sheet(pictures: VideoPictures, predicted: bool, errors: bool, labels: bool, span: int) -> np.ndarray:
    """The contact sheet of the annotated frames: captioned overlays in :data:`SHEET_COLUMNS`
    columns, or with ``errors`` one GT | prediction | error map row per frame and the legend."""
    cells = []
    side = "prediction" if predicted else "ground truth"
    for i, frame in enumerate(pictures.frames):
        if errors:
            cells.append(captioned(_triptych(pictures, i, span, labels), _errors_caption(pictures, i, span)))
        else:
            text = f"{side}, frame {pictures.label(pictures.position(i))}: {frame.image_id}"
            if pictures.names is not None:
                text = f"{side}, {pictures.video} frame {frame.image_id}"
            cells.append(captioned(_overlay(pictures, i, predicted, labels), text))
    if not errors:
        return grid(cells, SHEET_COLUMNS)
    return grid(cells, 1, legend(cells[0].shape[1], pictures.size[1]))


def _animation(pictures: VideoPictures, shown: list[tuple[str, int | None]], whole: bool, predicted: bool,
               errors: bool, labels: bool, span: int) -> Iterator[np.ndarray]:
    """Each frame of the animation, captioned; computed one at a time."""
    total = naming.FRAMES_PER_SNIPPET if pictures.names is None else len(pictures.names)
    for (name, index), rgb in zip(shown, frame_rgbs(pictures, shown), strict=True):
        number = (pictures.label(pictures.position(index)) if index is not None else _raw_number(name, pictures))
        text = f"frame {number}/{total}" + (": annotated" if index is not None and whole else "")
        if pictures.names is not None:
            text = f"frame {name} ({pictures.position(index or 0) + 1}/{total})"
        if errors:
            if index is not None:
                picture = _triptych(pictures, index, span, labels)
                text = _errors_caption(pictures, index, span)
            else:
                blank = np.empty_like(rgb)
                blank[...] = ERROR_KINDS[NEUTRAL][1]
                picture = np.concatenate([rgb, rgb, blank], axis=1)
        elif index is not None:
            picture = _overlay(pictures, index, predicted, labels)
        else:
            picture = rgb
        yield captioned(picture, text)


def _raw_number(name: str, pictures: VideoPictures) -> int:
    """1-based number of a raw frame in the video's snippet."""
    key = naming.parse_frame_file(name)
    first = naming.parse_image_id(pictures.frames[0].image_id).first_frame
    return key.frame - first + 1


# --------------------------------------------------------------------------- files


def _gif_frame(picture: np.ndarray) -> Image.Image:
    """A picture reduced to 256 colours (Pillow's fast octree, no dithering: deterministic)."""
    return Image.fromarray(picture).quantize(256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)


def _write_gif(out: Path, frames: Iterator[np.ndarray]) -> None:
    """An endlessly looping GIF, each frame with its own 256-colour palette (no time stamps)."""
    first = _gif_frame(next(frames))
    buf = io.BytesIO()
    first.save(buf, format="GIF", save_all=True, append_images=(_gif_frame(f) for f in frames),
               duration=1000 // FRAMES_PER_SECOND, loop=0)
    atomic_write_bytes(out, buf.getvalue())


def _write_mp4(out: Path, frames: Iterator[np.ndarray]) -> None:
    """An H.264 MP4 (yuv420p, so any player shows it; frames padded to even sizes), encoded by
    imageio-ffmpeg's ffmpeg with x264's veryfast preset on a fixed 2 threads (x264's output
    depends on the thread count only), bit-exact flags and no metadata."""
    import imageio_ffmpeg

    first = next(frames)
    h, w = first.shape[:2]
    size = (w + w % 2, h + h % 2)
    with writing(out) as tmp:
        writer = imageio_ffmpeg.write_frames(
            str(tmp), size, fps=FRAMES_PER_SECOND, codec="libx264", macro_block_size=1,
            ffmpeg_log_level="error",
            output_params=["-preset", "veryfast", "-threads", "2", "-map_metadata", "-1", "-fflags", "+bitexact",
                           "-flags:v", "+bitexact", "-f", "mp4"])
        writer.send(None)
        try:
            for frame in _chain(first, frames):
                padded = np.empty((size[1], size[0], 3), dtype=np.uint8)
                padded[...] = BACKGROUND
                padded[:h, :w] = frame
                writer.send(padded)
        finally:
            writer.close()


def _chain(first: np.ndarray, rest: Iterator[np.ndarray]) -> Iterator[np.ndarray]:
    yield first
    yield from rest
