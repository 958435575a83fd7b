"""Device choice, seeding and the quick-mode switch."""

import importlib
import random

import numpy as np
import pytest
import torch

from gancourse import config


def test_device_prefers_cuda_then_mps_then_cpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert config.device() == torch.device("cpu")
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert config.device() == torch.device("mps")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert config.device() == torch.device("cuda")


def test_seed_everything_repeats_all_generators():
    def draw():
        return random.random(), np.random.rand(), torch.rand(1).item()

    config.seed_everything(7)
    first = draw()
    config.seed_everything(7)
    assert draw() == first
    with pytest.raises(ValueError, match="seed"):
        config.seed_everything(-1)


def test_quick_is_read_from_the_environment_only(monkeypatch):
    try:
        monkeypatch.setenv("GANCOURSE_QUICK", "1")
        assert importlib.reload(config).QUICK is True
        monkeypatch.setenv("GANCOURSE_QUICK", "0")
        monkeypatch.setenv("CI", "true")
        assert importlib.reload(config).QUICK is False
    finally:
        monkeypatch.undo()
        importlib.reload(config)


def test_scaled(monkeypatch):
    monkeypatch.setattr(config, "QUICK", False)
    assert config.scaled(1000, quick=50) == 1000
    monkeypatch.setattr(config, "QUICK", True)
    assert config.scaled(1000, quick=50) == 50
    assert config.scaled(1000) == 100
    assert config.scaled(3, minimum=2) == 2
    with pytest.raises(ValueError, match="full"):
        config.scaled(-1)


def test_gpu_hint_only_in_colab_without_gpu(monkeypatch, capsys):
    import sys
    import types

    monkeypatch.setattr(config, "device", lambda: torch.device("cpu"))
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    assert config.gpu_hint() is None and capsys.readouterr().out == ""
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    assert "GPU" in config.gpu_hint() and "Change runtime type" in capsys.readouterr().out
    monkeypatch.setattr(config, "device", lambda: torch.device("cuda"))
    assert config.gpu_hint() is None
