"""Set-up shared by every test file: figures draw off-screen and are closed after each test.

Helper functions that several files share are in ``helpers.py``.
"""

import matplotlib

matplotlib.use("Agg")  # no display needed; set before any test file imports pyplot

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    """Close every figure a test left open, so that figures do not pile up over the run."""
    yield
    plt.close("all")
