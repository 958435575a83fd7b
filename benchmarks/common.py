"""What the benchmark scripts share: the machine's description, the cases, timing and result files."""

from __future__ import annotations

import copy
import json
import os
import platform
import statistics
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import torch
from baseline import BaselineLoop  # the scripts run from this folder, so it is on the path

from gancourse import data
from gancourse.recipes import RECIPES, make_trainer, mlp_gan
from gancourse.speed import bf16_supported
from gancourse.train import GANTrainer
from gancourse.train_config import TrainConfig

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"


def machine() -> dict:
    """The machine and software the numbers were measured on, and how busy the machine was."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info = {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "processor": model,
        "cpu_cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "bf16_native": bf16_supported("cpu"),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }
    if hasattr(os, "getloadavg"):
        info["load_average_1min"] = round(os.getloadavg()[0], 2)
    return info


def machine_markdown(info: dict) -> str:
    rows = [f"- {k.replace('_', ' ')}: {v}" for k, v in info.items()]
    return "\n".join(rows)


def write_results(name: str, payload: dict, markdown: str) -> tuple[Path, Path]:
    """Write ``results/NAME.json`` and ``results/NAME.md``."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    json_path, md_path = RESULTS / f"{name}.json", RESULTS / f"{name}.md"
    json_path.write_text(json.dumps(payload, indent=2) + "\n")
    md_path.write_text(markdown.rstrip() + "\n")
    return json_path, md_path


def table(header: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def median(values) -> float:
    return float(statistics.median(values))


# ---------------------------------------------------------------------------------------------
# The cases: a model and its data, trained by the baseline loop and by the gancourse trainer
# ---------------------------------------------------------------------------------------------

def speed_options(kind: str) -> dict:
    """The speed paths of ``python -m gancourse train --fast`` on this CPU."""
    if kind == "images":
        return dict(precision="bf16" if bf16_supported("cpu") else "fp32", channels_last=True, fused_optimizer=True)
    return dict(fused_optimizer=True)  # bf16 does not pay off for tiny MLPs (the overhead is per operation)


@dataclass
class Case:
    """A model and data set: ``build(seed, **options)`` gives a trainer whose data is ``tensor``."""

    name: str
    description: str
    kind: str
    tensor: torch.Tensor
    build: Callable[..., GANTrainer]
    lr: tuple[float, float]
    latent_dim: int
    batch_size: int

    def trainer(self, seed: int, **options) -> GANTrainer:
        torch.manual_seed(seed)
        t = self.build(seed, **options)
        t.real = data.TensorSampler(self.tensor, device="cpu")  # the same tensor the baseline loads
        return t

    def baseline(self, seed: int) -> BaselineLoop:
        plain = self.trainer(seed)  # the same initial weights as the trainers built with this seed
        return BaselineLoop(copy.deepcopy(plain.generator), copy.deepcopy(plain.discriminator), self.tensor,
                            latent_dim=self.latent_dim, batch_size=self.batch_size, lr_g=self.lr[0], lr_d=self.lr[1],
                            betas=plain.config.betas, seed=seed)


def _recipe_case(name: str, recipe: str, tensor: torch.Tensor) -> Case:
    r = RECIPES[recipe]
    cfg = r.config

    def build(seed, **options):
        return make_trainer(recipe, device="cpu", distributed=False, seed=seed, **options)

    return Case(name, f"recipe {recipe}: {r.description}", r.kind, tensor, build, (cfg.lr_g, cfg.lr_d),
                cfg.latent_dim, cfg.batch_size)


def ring_points(n: int = 100_000, seed: int = 0) -> torch.Tensor:
    """A fixed sample of the ring, the data tensor both loops draw their batches from."""
    return data.ring().sample(n, torch.Generator().manual_seed(seed))


def cases() -> dict[str, Case]:
    images, _ = data.mnist_digits()
    points = ring_points()

    def small_mlp(seed, **options):
        cfg = TrainConfig(latent_dim=2, batch_size=64, seed=seed, **options)
        return mlp_gan(data.ring(), cfg, device="cpu", distributed=False)

    return {
        "mnist-dcgan": _recipe_case("mnist-dcgan", "mnist-dcgan", images),
        "ring": _recipe_case("ring", "ring", points),
        "ring-small": Case("ring-small",
                           "MLP GAN with the library's defaults: 2x128 hidden units, batch 64, on the ring",
                           "points", points, small_mlp, (2e-4, 2e-4), 2, 64),
    }


class Clock:
    """Wall-clock and CPU (this process) seconds of a block."""

    def __enter__(self):
        self.wall0, self.cpu0 = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall = time.perf_counter() - self.wall0
        self.cpu = time.process_time() - self.cpu0
