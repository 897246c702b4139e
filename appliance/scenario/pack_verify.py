"""Check a joined media file by decoding it: frame count, keyframes and each segment's first frame.

A join that shifts timestamps by a fraction of a frame (what the concat demuxer with ``-c copy``
does) still plays, but a seek to a segment start lands in the previous segment. So for every
segment this module checks that a keyframe sits at its start (within half a frame) and that the
frame shown after an exact seek to its start is the segment's first frame: a small thumbnail of it
is compared with the same frame taken from the source clip.
"""

from __future__ import annotations

import bisect
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from appliance.scenario.media_probe import (
    MediaError,
    MediaTools,
    count_frames,
    decode_thumbnail,
    keyframe_times,
    mean_abs_diff,
)
from appliance.scenario.transcode import Placement, Profile, SegmentSource, source_frame_filters

MAX_THUMB_DIFF = 12.0
"""Largest mean difference (0..255) between a segment's first frame in the source and the join."""


def verify_joined(
    joined: Path,
    sources: Sequence[SegmentSource],
    placements: Sequence[Placement],
    profile: Profile,
    tools: MediaTools,
    *,
    progress: Callable[[float], None] | None = None,
) -> list[str]:
    """Every way ``joined`` differs from the plan, as messages naming the segment; [] = all good."""
    problems: list[str] = []
    expected = placements[-1].end_frame
    frames = count_frames(joined, tools)
    if frames != expected:
        problems.append(f"{joined.name}: {frames} video frames, expected {expected}")
    keys = keyframe_times(joined, tools)
    half_frame = 0.5 / profile.fps
    for src, place in zip(sources, placements, strict=True):
        if not _near(keys, place.start_s, half_frame):
            problems.append(f"{_where(src)}: no keyframe at its start ({place.start_s:.6f} s)")

    def first_frames(job: tuple[SegmentSource, Placement]) -> float:
        src, place = job
        packed = decode_thumbnail(joined, tools, seek_s=place.start_s - half_frame)
        filters = source_frame_filters(src.clip, profile, place.source_first_frame)
        original = decode_thumbnail(src.clip.path, tools, filters=filters, stream=f"0:{src.clip.video_index}")
        return mean_abs_diff(packed, original)

    jobs = list(zip(sources, placements, strict=True))
    done = 0
    with ThreadPoolExecutor(max_workers=max(1, min(4, os.cpu_count() or 1))) as pool:
        for (src, place), diff in zip(jobs, pool.map(first_frames, jobs), strict=True):
            if diff > MAX_THUMB_DIFF:
                problems.append(
                    f"{_where(src)}: the frame at its start ({place.start_s:.6f} s) is not the segment's "
                    f"first frame (differs by {diff:.1f}/255): the join is shifted"
                )
            done += 1
            if progress is not None:
                progress(done / len(jobs))
    return problems


def check_joined(
    joined: Path,
    sources: Sequence[SegmentSource],
    placements: Sequence[Placement],
    profile: Profile,
    tools: MediaTools,
    *,
    progress: Callable[[float], None] | None = None,
) -> None:
    """Like verify_joined, but raise MediaError listing the problems."""
    problems = verify_joined(joined, sources, placements, profile, tools, progress=progress)
    if problems:
        raise MediaError(f"{joined.name}: the joined file failed its check", problems)


def _near(sorted_times: list[float], t: float, tolerance: float) -> bool:
    i = bisect.bisect_left(sorted_times, t - tolerance)
    return i < len(sorted_times) and sorted_times[i] <= t + tolerance


def _where(src: SegmentSource) -> str:
    return src.label or src.clip.path.name
