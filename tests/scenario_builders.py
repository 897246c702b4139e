"""A small branching test scenario exercising every transition type, written as a folder package."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

TEST_SCENARIO: dict[str, Any] = {
    "format": "openrange-scenario/1",
    "id": "triage-desk",
    "title": "Triage desk (test)",
    "version": "1",
    "summary": "A small scenario exercising every transition type.",
    "audience": ["healthcare"],
    "objectives": ["Keep distance", "Offer options"],
    "duration_s": 30,
    "start": "intro",
    "rubric": [{"id": "communication", "label": "Communication"}],
    "scenes": {
        "intro": {
            "title": "Visitor at the desk",
            "media": "media/all.mp4",
            "start_s": 0,
            "end_s": 5,
            "choices": [
                {"id": "calms", "label": "Calms down", "kind": "de-escalate", "hotkey": "1", "goto": "calm"},
                {"id": "escalates", "label": "Escalates", "kind": "escalate", "hotkey": "2", "goto": "angry"},
            ],
            "timeout": {"after_s": 20, "goto": "angry"},
            "zones": [
                {
                    "id": "torso",
                    "kind": "threat",
                    "area": {"shape": "rect", "x": 0.4, "y": 0.3, "w": 0.2, "h": 0.4},
                    "from_s": 1,
                    "to_s": 4,
                },
                {
                    "id": "bystander",
                    "kind": "no-shoot",
                    "area": {"shape": "circle", "cx": 0.1, "cy": 0.5, "r": 0.05},
                },
            ],
            "on_hit": [{"kind": "threat", "goto": "down"}],
            "on_input": [{"input": "trigger", "goto": "angry"}],
        },
        "calm": {
            "title": "Calmer",
            "media": "media/all.mp4",
            "start_s": 5,
            "end_s": 8,
            "outcome": "resolved",
        },
        "angry": {
            "title": "Shouting",
            "media": "media/all.mp4",
            "start_s": 8,
            "end_s": 12,
            "choices": [{"id": "calms", "label": "Calms down", "kind": "de-escalate", "goto": "calm"}],
            "on_end": "assault",
        },
        "assault": {
            "title": "Assault",
            "media": "media/all.mp4",
            "start_s": 12,
            "end_s": 14,
            "outcome": "assault",
        },
        "down": {
            "title": "Subject down",
            "media": "media/all.mp4",
            "start_s": 14,
            "end_s": 16,
            "outcome": "subject down",
        },
    },
}


def write_scenario(root: Path, manifest: dict[str, Any] | None = None, media: bytes = b"\0" * 64) -> Path:
    """Write a folder package (placeholder media unless given) and return its path."""
    manifest = copy.deepcopy(manifest or TEST_SCENARIO)
    root.mkdir(parents=True, exist_ok=True)
    (root / "manifest.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False))
    for scene in manifest["scenes"].values():
        path = root / scene["media"]
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            path.write_bytes(media)
    return root
