"""The sample quiz bank that the quiz tests share, and edits that break it.

Import them as ``from quiz_sample import ...``: pytest puts this folder on ``sys.path`` (``tests/`` has no
``__init__.py``).
"""

from __future__ import annotations

import copy

# A small bank with one question of each kind, used by most quiz tests.
SAMPLE = {
    "title": "Sample chapter",
    "questions": [
        {
            "id": "tf",
            "kind": "true_false",
            "prompt": "True or false: the sky is green.",
            "choices": [
                {"text": "True", "correct": False, "explanation": "It is blue."},
                {"text": "False", "correct": True, "explanation": "Right, it is blue."},
            ],
        },
        {
            "id": "one",
            "kind": "single",
            "prompt": "Pick the even number.",
            "choices": [
                {"text": "3", "correct": False, "explanation": "3 is odd."},
                {"text": "4", "correct": True, "explanation": "4 = 2 x 2."},
                {"text": "5", "correct": False, "explanation": "5 is odd."},
            ],
        },
        {
            "id": "many",
            "kind": "multiple",
            "prompt": "Pick the primes.",
            "choices": [
                {"text": "2", "correct": True, "explanation": "2 is the even prime."},
                {"text": "4", "correct": False, "explanation": "4 = 2 x 2."},
                {"text": "5", "correct": True, "explanation": "5 has no divisors but 1 and 5."},
                {"text": "9", "correct": False, "explanation": "9 = 3 x 3."},
            ],
        },
        {
            "id": "num",
            "kind": "numeric",
            "prompt": "Accuracy of a fooled discriminator?",
            "answer": 0.5,
            "tolerance": 0.01,
            "explanation": {"right": "It can only guess.", "wrong": "Half real, half fake: 0.5."},
        },
    ],
}


def broken(edit) -> dict:
    """A copy of SAMPLE changed by ``edit(data)``."""
    data = copy.deepcopy(SAMPLE)
    edit(data)
    return data


def set_at(path, value):
    """An edit for :func:`broken`: set the field at ``path`` (keys and list indices) to ``value``."""

    def edit(data):
        target = data
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return edit


def drop_at(path):
    """An edit for :func:`broken`: delete the field at ``path``."""

    def edit(data):
        target = data
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]

    return edit
