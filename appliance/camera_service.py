"""The camera as the appliance runs it: calibration at start, the pre-session self-check, and
the frame analyser (detector + calibration + laser zero) installed on the capture thread.

Calibration needs the projector to show the pattern: ``projector`` is a callable that shows an
image on the screen (None: back to normal), given by the composition root. Blocking methods
(calibrate, self_check) run on an executor, never on the loop.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from appliance.detection.calibration import (
    Calibration,
    CalibrationError,
    PointOfImpactOffset,
    SelfCheckResult,
    calibrate_frames,
    locate_dots,
    self_check,
)
from appliance.detection.calibration_pattern import (
    SELF_CHECK_POINTS,
    pattern_spec,
    render_pattern,
    render_self_check,
)
from appliance.detection.hit_mapping import HitMapper
from appliance.device_worker import DeviceWorker
from appliance.errors import HardwareUnavailable
from hardware.camera.runner import CameraRunner

log = logging.getLogger(__name__)

Projector = Callable[[np.ndarray | None], None]
"""Shows a BGR picture on the screen the camera watches (None: back to normal); blocks until done."""
CALIBRATION_FILE = "calibration.json"
PROJECT_TIMEOUT_S = 5.0


def screen_projector(
    player: Any, worker: DeviceWorker, *, also: Projector | None = None, timeout_s: float = PROJECT_TIMEOUT_S
) -> Projector | None:
    """The ``projector`` for ``CameraService``: ``player.show_still`` run on the player's worker
    (in order with the other player commands, waited for), then ``also`` (the simulated camera,
    which must see what the screen shows). Returns ``also`` for a player without ``show_still``.

    Raises what ``show_still`` raises (OSError when mpv refuses, ValueError for a bad picture),
    TimeoutError when the player's worker does not get to it in ``timeout_s``, and
    HardwareUnavailable when the player (or its worker) is closed.
    """
    show = getattr(player, "show_still", None)
    if show is None:
        return also

    def project(image: np.ndarray | None) -> None:
        try:
            worker.submit(show, image).result(timeout_s)
        except RuntimeError as exc:  # the player or its worker is closed
            raise HardwareUnavailable(f"the player cannot show the picture: {exc}") from exc
        if also is not None:
            also(image)

    return project


class CameraService:
    def __init__(
        self,
        runner: CameraRunner,
        *,
        projector: Projector | None,
        data_dir: Path,
        video_size: tuple[int, int] = (1280, 720),
        display_latency_s: float = 0.0,
    ) -> None:
        self.runner = runner
        self.projector = projector
        self.path = data_dir / CALIBRATION_FILE
        self.video_size = video_size
        self.display_latency_s = display_latency_s
        self.calibration: Calibration | None = None
        self.offset: PointOfImpactOffset | None = None
        self.last_check: SelfCheckResult | None = None
        self._mapper: HitMapper | None = None

    # ---- calibration -------------------------------------------------------------------------------
    def start(self) -> str | None:
        """Load the saved calibration and laser zero, then calibrate afresh where the pattern can
        be projected; returns a warning for the health banner.

        The laser zero always survives a restart; a failed fresh calibration falls back to the
        saved one (with a warning) rather than leaving the camera unmapped."""
        saved_problem: Exception | None = None
        try:
            self._load()
        except (HardwareUnavailable, OSError, ValueError, KeyError, TypeError) as exc:
            saved_problem = exc
        if self.projector is not None:
            try:
                self.calibrate()
                return None
            except (CalibrationError, HardwareUnavailable, OSError, ValueError) as exc:
                if self.calibration is not None:
                    return f"camera calibration failed ({exc}); using the saved calibration"
                return f"camera not calibrated: {exc}"
        return None if self.calibration is not None else f"camera not calibrated: {saved_problem}"

    def calibrate(self) -> Calibration:
        """Project the pattern, find it in a few frames, install and save the mapping."""
        if self.projector is None:
            raise HardwareUnavailable("this box cannot project the calibration pattern yet")
        spec = pattern_spec(*self.video_size)
        self.runner.set_analyser(None)  # the pattern must not be taken for laser spots
        self.projector(render_pattern(*self.video_size))
        try:
            self.runner.grab(2.0)  # the first frame may predate the pattern
            frames = [f.image for f in (self.runner.grab(2.0) for _ in range(4)) if f is not None]
        finally:
            self.projector(None)
            if self.calibration is not None:
                self._install(self.calibration)
        calibration = calibrate_frames(frames, spec, wanted=2)
        self._install(calibration)
        self._save()
        log.info(
            "camera calibrated: picture at %s in the camera image, fit error %.2f px",
            calibration.bounds,
            calibration.reprojection_error_px,
        )
        return calibration

    def self_check(self) -> SelfCheckResult | None:
        """Project the check dots and confirm they map back; None when it cannot be run."""
        if self.calibration is None or self.projector is None:
            return None
        self.runner.set_analyser(None)  # the dots must not be taken for laser spots
        self.projector(render_self_check(*self.video_size, SELF_CHECK_POINTS))
        try:
            self.runner.grab(2.0)
            frame = self.runner.grab(2.0)
        finally:
            self.projector(None)
            # the same detector goes on: it never saw the dots, and its background is still good
            self.runner.set_analyser(self._mapper)
        if frame is None:
            return None
        observed = locate_dots(frame.image, self.calibration, SELF_CHECK_POINTS)
        self.last_check = self_check(self.calibration, observed, SELF_CHECK_POINTS)
        return self.last_check

    def set_offset(self, offset: PointOfImpactOffset | None) -> None:
        self.offset = offset
        if self._mapper is not None:
            self._mapper.offset = offset
        self._save()

    def status(self) -> dict[str, Any]:
        cal = self.calibration
        return {
            "calibrated": cal is not None,
            "bounds": list(cal.bounds) if cal else None,
            "fit_error_px": round(cal.reprojection_error_px, 3) if cal else None,
            "offset": self.offset.to_dict() if self.offset else None,
            "frames": self.runner.frames,
            "last_self_check": self.last_check.to_dict() if self.last_check else None,
        }

    # ---- internals -------------------------------------------------------------------------------------
    def _install(self, calibration: Calibration) -> None:
        self.calibration = calibration
        self._mapper = HitMapper(
            calibration, source=self.runner.name, display_latency_s=self.display_latency_s, offset=self.offset
        )
        self.runner.set_analyser(self._mapper)

    def _save(self) -> None:
        if self.calibration is None:
            return
        data = {
            "calibration": self.calibration.to_dict(),
            "offset": self.offset.to_dict() if self.offset else None,
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".calibration-", suffix=".tmp")
        with os.fdopen(fd, "w") as fh:
            json.dump(data, fh, indent=1)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)

    def _load(self) -> None:
        if not self.path.exists():
            raise HardwareUnavailable("no saved calibration: calibrate the camera from the admin page")
        data = json.loads(self.path.read_text())
        if data.get("offset"):
            self.offset = PointOfImpactOffset.from_dict(data["offset"])
        self._install(Calibration.from_dict(data["calibration"]))
