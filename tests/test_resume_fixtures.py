"""Resume checkpoints written before the trainers were rebuilt, and get exactly the old run's weights.

See ``tests/resume_cases.py``: each case's checkpoint (after ``SAVE_AT`` steps) and final parameters
(after ``SAVE_AT + MORE`` steps of the same uninterrupted run) were written by the earlier library.
Resuming with today's library must give every parameter and buffer bit for bit, on the CPU.
"""

from pathlib import Path

import pytest
import torch

from resume_cases import CASES, MORE, SAVE_AT, parameters

FOLDER = Path(__file__).parent / "data" / "resume"


@pytest.mark.parametrize("name", sorted(CASES))
def test_resume_from_an_older_checkpoint_is_bit_identical(name):
    trainer = CASES[name]()
    trainer.load(FOLDER / f"{name}.pt")
    assert trainer.step == SAVE_AT
    trainer.train(MORE, progress=False)
    expected = torch.load(FOLDER / f"{name}_final.pt", weights_only=True)
    got = parameters(trainer)
    assert sorted(got) == sorted(expected)
    different = [k for k in expected if not torch.equal(got[k], expected[k])]
    assert not different, f"{name}: {len(different)} tensors differ after resuming, e.g. {different[:3]}"


def test_the_fixtures_are_not_trivial():
    """The runs moved the weights: a resume that skipped training would fail the test above."""
    trainer = CASES["plain"]()
    trainer.load(FOLDER / "plain.pt")
    before = parameters(trainer)
    expected = torch.load(FOLDER / "plain_final.pt", weights_only=True)
    assert any(not torch.equal(before[k], expected[k]) for k in expected)
