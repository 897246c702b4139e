"""The calibration pattern: what the projector shows, and where its corners are in the video.

Coordinates
-----------
* **Normalised video coordinates** ``(u, v)``: ``(0, 0)`` is the top-left corner of the projected
  picture, ``(1, 1)`` its bottom-right corner, whatever the projector's resolution.
* **Video pixels**: ``x = u * width``, ``y = v * height`` measure from the picture's outer edge
  (a pixel boundary), so the square edges of a rendered pattern land on whole numbers.

The pattern
-----------
A chessboard of ``cols x rows`` *inner* corners (OpenCV's ``patternSize``) with a white quiet zone
around it, and one black dot (the orientation marker) in a white square near the top-left.

Why a plain chessboard and not ChArUco: the projected squares seen by a 640x480 webcam are only
25-40 camera pixels wide, blurred and low in contrast; a chessboard's saddle corners survive that
far better than the bits of an ArUco marker, and the same detector reads the ShootOFF pattern in
the project's real test images. Orientation is still unambiguous:

* ``cols + rows`` must be odd. Turning such a board by 180 degrees swaps its colours, so the
  colour of the squares tells a turned board from an upright one.
* The marker dot breaks the remaining mirror symmetry (the colour-preserving flip). A mirrored
  picture (a projector set to rear projection) is refused instead of being mapped back to front.

:data:`SHOOTOFF_SPEC` describes the ShootOFF pattern (9x6 inner corners filling the whole frame,
thin white outline, no marker) so the peer project's calibration images can be read too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

DEFAULT_VIDEO_SIZE = (1280, 720)
DEFAULT_ROWS = 7
DEFAULT_MARGIN = 0.06
MARKER_RADIUS = 0.22  # of the square's side
# An asymmetric set: no rotation or mirror of the picture maps it onto itself, so a wrong
# mapping cannot pass the self-check by pairing a dot with its mirror image.
SELF_CHECK_POINTS: tuple[tuple[float, float], ...] = (
    (0.15, 0.2),
    (0.85, 0.12),
    (0.78, 0.86),
    (0.22, 0.7),
    (0.52, 0.45),
)


@dataclass(frozen=True)
class PatternSpec:
    """Geometry of a chessboard pattern in normalised video coordinates."""

    cols: int
    """Inner corners across (squares across = cols + 1)."""
    rows: int
    """Inner corners down (squares down = rows + 1)."""
    board: tuple[float, float, float, float]
    """Outer edges of the chessboard (left, top, right, bottom) in normalised video coordinates."""
    video_size: tuple[int, int] = DEFAULT_VIDEO_SIZE
    """Projector picture size in pixels (for messages and pixel conversions)."""
    marker: bool = True
    """True when the pattern carries the orientation dot (see :meth:`marker_square`)."""
    name: str = "openrange"

    def __post_init__(self) -> None:
        if self.cols < 3 or self.rows < 3:
            raise ValueError("a calibration pattern needs at least 3x3 inner corners")
        if (self.cols + self.rows) % 2 == 0:
            raise ValueError(
                f"{self.cols}x{self.rows} inner corners: cols + rows must be odd so that a board "
                "turned by 180 degrees can be told from an upright one"
            )
        left, top, right, bottom = self.board
        if not (left < right and top < bottom):
            raise ValueError(f"board edges {self.board} are not left < right, top < bottom")

    @property
    def squares(self) -> tuple[int, int]:
        """Squares across and down."""
        return self.cols + 1, self.rows + 1

    @property
    def pattern_size(self) -> tuple[int, int]:
        """OpenCV's ``patternSize``: inner corners (across, down)."""
        return self.cols, self.rows

    def is_black(self, sx: int, sy: int) -> bool:
        """Colour of square ``(sx, sy)``; the top-left square is black."""
        return (sx + sy) % 2 == 0

    def marker_square(self) -> tuple[int, int]:
        """The white square holding the orientation dot (inside the inner-corner grid)."""
        return 2, 1

    def board_to_video(self, points: np.ndarray) -> np.ndarray:
        """Map board coordinates (in squares, origin at the board's top-left) to normalised video."""
        pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        left, top, right, bottom = self.board
        nx, ny = self.squares
        scale = np.array([(right - left) / nx, (bottom - top) / ny])
        return pts * scale + np.array([left, top])

    def inner_corners_board(self) -> np.ndarray:
        """Inner corners in board coordinates, row by row (x fastest), shape (rows*cols, 2)."""
        xs, ys = np.meshgrid(np.arange(1, self.cols + 1), np.arange(1, self.rows + 1))
        return np.column_stack([xs.ravel(), ys.ravel()]).astype(np.float64)

    def inner_corners(self) -> np.ndarray:
        """Inner corners in normalised video coordinates, same order as :meth:`inner_corners_board`."""
        return self.board_to_video(self.inner_corners_board())

    def inner_corners_px(self) -> np.ndarray:
        """Inner corners in video pixels (see the module docstring for the convention)."""
        return self.inner_corners() * np.array(self.video_size, dtype=np.float64)

    def render(self) -> np.ndarray:
        """Draw this pattern at :attr:`video_size`: a BGR ``uint8`` image of shape (h, w, 3)."""
        width, height = self.video_size
        image = np.full((height, width), 255, np.uint8)
        nx, ny = self.squares
        left, top, right, bottom = self.board
        xs = np.rint(np.linspace(left, right, nx + 1) * width)
        ys = np.rint(np.linspace(top, bottom, ny + 1) * height)
        for sy in range(ny):
            for sx in range(nx):
                if self.is_black(sx, sy):
                    image[int(ys[sy]) : int(ys[sy + 1]), int(xs[sx]) : int(xs[sx + 1])] = 0
        if self.marker:
            mx, my = self.marker_square()
            cx, cy = (xs[mx] + xs[mx + 1]) / 2, (ys[my] + ys[my + 1]) / 2
            side = min(xs[mx + 1] - xs[mx], ys[my + 1] - ys[my])
            # cv2.circle takes pixel-centre coordinates, 4 bits of sub-pixel precision.
            centre = (round((cx - 0.5) * 16), round((cy - 0.5) * 16))
            cv2.circle(image, centre, round(side * MARKER_RADIUS * 16), 0, -1, cv2.LINE_AA, shift=4)
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)


def default_cols(width: int, height: int, rows: int = DEFAULT_ROWS, margin: float = DEFAULT_MARGIN) -> int:
    """Inner corners across that keep the squares roughly square on a ``width x height`` picture."""
    quiet = 2 * margin * min(width, height)
    across = round((width - quiet) / (height - quiet) * (rows + 1)) - 1
    if (across + rows) % 2 == 0:
        across -= 1
    return max(across, 3)


def pattern_spec(
    width: int,
    height: int,
    *,
    rows: int = DEFAULT_ROWS,
    cols: int | None = None,
    margin: float = DEFAULT_MARGIN,
) -> PatternSpec:
    """Geometry of :func:`render_pattern` with the same arguments.

    ``rows`` and ``cols`` count *inner* corners; ``cols=None`` picks square-ish squares for the
    picture's aspect ratio. ``margin`` is the quiet zone as a fraction of the picture's shorter side
    (at least that much white on every side; the board is centred).
    """
    if width < 64 or height < 64:
        raise ValueError(f"picture {width}x{height} is too small for a calibration pattern")
    if not 0.0 <= margin < 0.3:
        raise ValueError(f"margin {margin} must be between 0 and 0.3 of the picture's shorter side")
    cols = default_cols(width, height, rows, margin) if cols is None else cols
    quiet = margin * min(width, height)
    side = int(min((width - 2 * quiet) / (cols + 1), (height - 2 * quiet) / (rows + 1)))
    if side < 8:
        raise ValueError(f"{cols}x{rows} inner corners do not fit a {width}x{height} picture")
    left = (width - side * (cols + 1)) // 2
    top = (height - side * (rows + 1)) // 2
    board = (
        left / width,
        top / height,
        (left + side * (cols + 1)) / width,
        (top + side * (rows + 1)) / height,
    )
    return PatternSpec(cols=cols, rows=rows, board=board, video_size=(width, height))


def render_pattern(
    width: int,
    height: int,
    *,
    rows: int = DEFAULT_ROWS,
    cols: int | None = None,
    margin: float = DEFAULT_MARGIN,
) -> np.ndarray:
    """The picture the projector shows for calibration (BGR ``uint8``, shape (height, width, 3)).

    Its inner-corner positions are ``pattern_spec(width, height, rows=..., cols=..., margin=...)``
    ``.inner_corners_px()``.
    """
    return pattern_spec(width, height, rows=rows, cols=cols, margin=margin).render()


DEFAULT_SPEC = pattern_spec(*DEFAULT_VIDEO_SIZE)

# ShootOFF's pattern fills the whole frame: 10x7 squares inside a thin white outline whose width
# (0.07 of a square on every side) was measured on the peer's synthetic tight-calibration-pattern.png.
_SHOOTOFF_OUTLINE = 0.07
SHOOTOFF_SPEC = PatternSpec(
    cols=9,
    rows=6,
    board=(
        _SHOOTOFF_OUTLINE / (10 + 2 * _SHOOTOFF_OUTLINE),
        _SHOOTOFF_OUTLINE / (7 + 2 * _SHOOTOFF_OUTLINE),
        1 - _SHOOTOFF_OUTLINE / (10 + 2 * _SHOOTOFF_OUTLINE),
        1 - _SHOOTOFF_OUTLINE / (7 + 2 * _SHOOTOFF_OUTLINE),
    ),
    video_size=(640, 480),
    marker=False,
    name="shootoff",
)


def render_self_check(
    width: int,
    height: int,
    points: Sequence[tuple[float, float]] = SELF_CHECK_POINTS,
    *,
    radius: float = 0.012,
) -> np.ndarray:
    """White dots on black at normalised ``points`` (BGR ``uint8``), for the pre-session self-check.

    ``radius`` is a fraction of the picture width. Dots are anti-aliased and centred exactly on
    the requested positions, so their camera-image centroids map back to those positions.
    """
    image = np.zeros((height, width), np.uint8)
    r = max(radius * width, 2.0)
    for u, v in points:
        if not (0.0 <= u <= 1.0 and 0.0 <= v <= 1.0):
            raise ValueError(f"self-check point ({u}, {v}) lies outside the picture")
        centre = (round((u * width - 0.5) * 16), round((v * height - 0.5) * 16))
        cv2.circle(image, centre, round(r * 16), 255, -1, cv2.LINE_AA, shift=4)
    return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
