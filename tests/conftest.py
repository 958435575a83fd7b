"""Set-up shared by every test file: figures draw off-screen and are closed after each test.

Helper functions that several files share are in ``helpers.py``.
"""

import matplotlib

matplotlib.use("Agg")  # no display needed; set before any test file imports pyplot

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    """Close every figure a test left open, so that figures do not pile up over the run."""
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def one_thread():
    """One torch thread for a test file (``pytestmark = pytest.mark.usefixtures("one_thread")``): its
    tensors are tiny, and one thread is faster and steadier on a busy machine than several."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
