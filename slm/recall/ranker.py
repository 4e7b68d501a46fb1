"""The learned ranker: a linear listwise model over the candidate features, shipped as `ranker.json` and trained
by `python -m benchmarks.ranker_training` on both development sets (docs/benchmarks.md, "Conversational recall")."""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from slm.errors import ModelError
from slm.recall.features import FEATURES

SHIPPED = Path(__file__).with_name("ranker.json")
FUSION = "rrf"  # SLM_RANKER=rrf: rank by reciprocal rank fusion of the channels instead
_HINT = f"reinstall slm, point SLM_RANKER at a ranker file, or set SLM_RANKER={FUSION} to rank by channel fusion"


@dataclass(frozen=True)
class Ranker:
    weights: np.ndarray  # one per feature, in units of the feature's spread in training
    scale: np.ndarray
    source: str = ""

    def contributions(self, features: np.ndarray) -> np.ndarray:
        """Each feature's share of each candidate's score, (candidates, features): 0 where the feature is 0 (an
        absent feature adds nothing; the ranking within a question does not depend on the baseline)."""
        return features / self.scale * self.weights

    def scores(self, features: np.ndarray) -> np.ndarray:
        return self.contributions(features).sum(axis=1)

    def to_dict(self, **about: object) -> dict:
        return {
            "format": 1,
            "features": list(FEATURES),
            "weights": self.weights.round(6).tolist(),
            "scale": self.scale.round(6).tolist(),
            **about,
        }


def load(path: Path) -> Ranker:
    """The ranker in `path`; ModelError saying what is wrong and what to do if it is missing or not one."""
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError(f"the recall ranker {path} is missing", _HINT) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ModelError(f"the recall ranker {path} cannot be read: {err}", _HINT) from None
    if not isinstance(raw, dict) or raw.get("format") != 1 or raw.get("features") != list(FEATURES):
        raise ModelError(f"the recall ranker {path} was not made for this version of slm's features", _HINT)
    columns = []
    for key in ("weights", "scale"):
        values = raw.get(key)
        if (
            not isinstance(values, list)
            or len(values) != len(FEATURES)
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in values)
        ):
            raise ModelError(f"the recall ranker {path} has no valid {key!r}", _HINT)
        columns.append(np.array(values, dtype=np.float64))
    if (columns[1] <= 0).any():
        raise ModelError(f"the recall ranker {path} has a scale that is not positive", _HINT)
    return Ranker(*columns, source=str(path))


def configured() -> Ranker | None:
    """The ranker recall uses: SLM_RANKER's file, None for SLM_RANKER=rrf, else the shipped one."""
    chosen = os.environ.get("SLM_RANKER", "").strip()
    if chosen == FUSION:
        return None
    return _load_cached(Path(chosen) if chosen else SHIPPED)


@cache
def _load_cached(path: Path) -> Ranker:
    return load(path)
