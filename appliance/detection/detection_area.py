"""Where in the camera frame shots may be detected: a bounds rectangle and a 3x3 sector grid.

The sector grid divides the whole frame into three rows (0 = top) and three columns (0 = left);
a row or a single cell can be switched off, e.g. where a window or a lamp flickers. Bounds
restrict detection to a rectangle, usually the projected picture. A shot counts as inside when
its centre is; coordinates stay in full-frame pixels either way.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

GRID = 3


@dataclass(frozen=True, slots=True)
class DetectionArea:
    width: int
    height: int
    bounds: tuple[int, int, int, int] | None = None  # x, y, w, h in pixels
    cells_off: frozenset[tuple[int, int]] = frozenset()  # (row, column) of the 3x3 grid

    @classmethod
    def build(
        cls,
        width: int,
        height: int,
        bounds: tuple[int, int, int, int] | None = None,
        sectors_off: Iterable[int | tuple[int, int]] = (),
    ) -> DetectionArea:
        """Check and normalise the options; ``sectors_off`` holds rows (int) or (row, column) cells.

        Raises ValueError with a plain message for bounds outside the frame or an unknown sector.
        """
        if bounds is not None:
            x, y, w, h = (int(v) for v in bounds)
            if w <= 0 or h <= 0 or x < 0 or y < 0 or x >= width or y >= height:
                raise ValueError(f"bounds {bounds} are not a rectangle inside the {width}x{height} frame")
            bounds = (x, y, w, h)
        cells: set[tuple[int, int]] = set()
        for item in sectors_off:
            if isinstance(item, tuple):
                row, column = item
                if row not in range(GRID) or column not in range(GRID):
                    raise ValueError(f"sector {item} is not a (row, column) of the 3x3 grid")
                cells.add((row, column))
            else:
                if item not in range(GRID):
                    raise ValueError(f"sector row {item} is not 0 (top), 1 or 2 (bottom)")
                cells.update((item, column) for column in range(GRID))
        return cls(width, height, bounds, frozenset(cells))

    @property
    def is_whole_frame(self) -> bool:
        return self.bounds is None and not self.cells_off

    def contains(self, x: float, y: float) -> bool:
        """True when a shot centred at (x, y) is in the detection area."""
        if self.bounds is not None:
            bx, by, bw, bh = self.bounds
            if not (bx <= x < bx + bw and by <= y < by + bh):
                return False
        if self.cells_off:
            row = min(GRID - 1, max(0, int(y * GRID / self.height)))
            column = min(GRID - 1, max(0, int(x * GRID / self.width)))
            if (row, column) in self.cells_off:
                return False
        return True
