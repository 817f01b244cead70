"""Where the genuine samples are: `../shared/realdata` next to the checkout, or `$DEVO_SQS_REALDATA`.

They are never copied into the repository. A test that needs them is marked `needs_realdata`; when they are
missing, the test is skipped with MISSING in its reason, and the run's summary says loudly how many were.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CHECKOUT = Path(__file__).resolve().parents[2]
REALDATA = Path(os.environ.get("DEVO_SQS_REALDATA") or CHECKOUT.parent / "shared" / "realdata")
MISSING = "genuine samples not found"
SKIP_REASON = f"{MISSING} at {REALDATA} (set DEVO_SQS_REALDATA)"

needs_realdata = pytest.mark.skipif(not REALDATA.is_dir(), reason=SKIP_REASON)


def realdata(relative: str) -> Path:
    return REALDATA / relative


def skip_if_missing(path: Path) -> None:
    """Inside a test: skip it (as wanting the genuine samples) when `path` is not there."""
    if not path.exists():
        pytest.skip(SKIP_REASON)
