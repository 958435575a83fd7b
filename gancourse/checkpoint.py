"""Checkpoint files: written atomically, read without running code, checked before anything changes.

- :func:`write_atomic` writes to a temporary file in the same folder, flushes it to disk, then renames
  it over the target: a crash while saving leaves the previous checkpoint untouched, never a
  half-written one. The file gets the permissions of any other new file (``0o666`` less the umask),
  so that shared folders and containers can read it.
- :func:`read` loads with ``torch.load(..., weights_only=True)``, which rebuilds tensors, numbers,
  strings, lists and dicts but never runs code stored in the file. A file that is empty, cut short,
  not a checkpoint at all, or that holds Python objects other than plain data raises a
  :class:`CheckpointError` that names the file and says what is wrong with it.
- :func:`check_keys`, :func:`check_shapes`, :func:`check_optimizer`, :func:`check_generator_state`,
  :func:`check_history` and :func:`check_tensor` compare what a checkpoint holds with the trainer it
  is about to be loaded into and raise a :class:`CheckpointError` naming the file and every mismatch,
  *before* anything is changed: a load either restores the whole state or nothing.

:class:`gancourse.train.GANTrainer` saves and loads its whole training state with these.

Explained in the chapter "Scaling up" (checkpoints and resuming a run).
"""

from __future__ import annotations

import os
import pickle
import re
import tempfile
from pathlib import Path
from typing import Any, Iterable

import torch
from torch import nn

from gancourse import distributed as dist_utils
from gancourse.losses import get_loss
from gancourse.speed import bf16_supported

__all__ = ["CheckpointError", "write_atomic", "read", "check_keys", "check_shapes", "check_optimizer",
           "optimizer_kind", "check_generator_state", "check_history", "check_tensor", "compare_configs",
           "generator_states"]


class CheckpointError(ValueError):
    """A checkpoint file that cannot be read, or that does not fit the trainer it is loaded into.

    The message names the file, what is wrong and what was expected. When it is raised by
    :meth:`gancourse.train.GANTrainer.load`, the trainer is left exactly as it was.

    Explained in the chapter "Scaling up" (checkpoints and resuming).
    """


def _where(path) -> str:
    return f"checkpoint {os.fspath(path)!r}"


def _new_file_mode() -> int:
    """The permissions a new file gets in this process: ``0o666`` less the umask (e.g. 0o644)."""
    umask = os.umask(0)  # the only portable way to read the umask is to set it, then put it back
    os.umask(umask)
    return 0o666 & ~umask


def write_atomic(state: dict, path: str | os.PathLike) -> Path:
    """Save ``state`` with ``torch.save`` to ``path`` atomically (temporary file, fsync, rename).

    The temporary file is created private (mode 0600); before the rename it gets the mode of any other
    new file of this process (``0o666`` less the umask), so the checkpoint is as readable as the
    pictures and logs written next to it.

    Explained in the chapter "Scaling up" (checkpoints and resuming).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(state, f)
            f.flush()
            os.fsync(f.fileno())
        try:
            os.chmod(tmp, _new_file_mode())
        except OSError:  # a file system without Unix permissions: the checkpoint matters more than its mode
            pass
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def read(path: str | os.PathLike, device) -> Any:
    """Load a checkpoint onto ``device`` with ``weights_only=True`` (no code in the file is run).

    A missing or unreadable file raises the operating system's own error (``FileNotFoundError``,
    ``PermissionError``); a file that is not a readable checkpoint raises :class:`CheckpointError`.

    Explained in the chapter "Scaling up" (checkpoints and resuming).
    """
    path = Path(path)
    try:
        return torch.load(path, map_location=device, weights_only=True)
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError):
        raise
    except Exception as err:  # by file: EOFError, OSError, RuntimeError, UnpicklingError, KeyError, ...
        why = _why_unreadable(path, err)
    raise CheckpointError(f"{_where(path)} cannot be read: {why}; expected a file written by GANTrainer.save")


def _why_unreadable(path: Path, err: Exception) -> str:
    size = path.stat().st_size
    if size == 0:
        return "the file is empty (0 bytes)"
    with open(path, "rb") as f:
        head = f.read(16)
    if head.startswith(b"PK\x03\x04"):  # torch.save writes a zip archive
        if isinstance(err, pickle.UnpicklingError):
            found = re.search(r"GLOBAL ([\w.]+)", str(err))
            what = f" ({found.group(1)})" if found else ""
            return (f"it holds Python objects other than tensors, numbers, strings, lists and dicts{what}, which a "
                    "safe load does not rebuild (was it written with torch.save(model) instead of a state_dict?)")
        return f"the file is damaged or cut short ({size} bytes)"
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return f"it is not a PyTorch file (those are zip archives; this one starts with the bytes {head[:8]!r})"
    if all(c.isprintable() or c in "\r\n\t" for c in text):
        return f"it is a text file, not a PyTorch file (it starts with {text!r})"
    return f"it is not a PyTorch file (those are zip archives; this one starts with the bytes {head[:8]!r})"


def check_keys(state: Any, keys: Iterable[str], path, what: str = "a training checkpoint") -> None:
    """Raise a :class:`CheckpointError` unless ``state`` is a dict holding every one of ``keys``.

    A dict of tensors only (one network's ``state_dict``) is named as such.

    Explained in the chapter "Scaling up" (checkpoints and resuming).
    """
    keys = list(keys)
    if not isinstance(state, dict):
        raise CheckpointError(f"{_where(path)} holds a {type(state).__name__}, not {what} (a dict with the keys "
                              f"{', '.join(keys)})")
    missing = [k for k in keys if k not in state]
    if not missing:
        return
    if state and all(isinstance(v, torch.Tensor) for v in state.values()):
        first = ", ".join(repr(k) for k in list(state)[:3])
        raise CheckpointError(f"{_where(path)} holds one network's weights (a state_dict with keys {first}, ...), "
                              f"not {what}: give it to that network's load_state_dict, or resume from a file written "
                              "by GANTrainer.save")
    raise CheckpointError(f"{_where(path)} is not {what}: it lacks {', '.join(repr(k) for k in missing)} "
                          f"(it holds {', '.join(repr(k) for k in list(state)[:8]) or 'nothing'})")


def check_shapes(model: nn.Module, saved: Any, name: str, path) -> None:
    """Raise a :class:`CheckpointError` naming the checkpoint unless ``saved`` fits ``model``'s parameters and buffers.

    Explained in the chapter "Scaling up" (checkpoints and resuming).
    """
    if not isinstance(saved, dict) or not all(isinstance(v, torch.Tensor) for v in saved.values()):
        raise CheckpointError(f"{_where(path)}: its {name} is not a network's state_dict (a dict of tensors)")
    own = model.state_dict()
    problems = [f"{k}: checkpoint {tuple(v.shape)} vs model {tuple(own[k].shape)}"
                for k, v in saved.items() if k in own and own[k].shape != v.shape]
    missing, extra = sorted(set(own) - set(saved)), sorted(set(saved) - set(own))
    if problems or missing or extra:
        details = "; ".join(problems[:3] + [f"missing {m}" for m in missing[:3]]
                            + [f"unexpected {e}" for e in extra[:3]])
        raise CheckpointError(f"{_where(path)} holds a {name} of another shape than this trainer's: {details}")


#: A key that only one optimiser's parameter groups have, so a saved state names its optimiser.
_KIND_KEYS = {"adam": "betas", "rmsprop": "alpha", "sgd": "nesterov"}


def optimizer_kind(group: Any) -> str | None:
    """``"adam"``, ``"rmsprop"`` or ``"sgd"``: the optimiser a parameter group (saved or live) belongs to.

    Explained in the chapter "Scaling up" (checkpoints and resuming).
    """
    if isinstance(group, dict):
        for kind, key in _KIND_KEYS.items():
            if key in group:
                return kind
    return None


def check_optimizer(optimizer: torch.optim.Optimizer, saved: Any, name: str, path) -> None:
    """Raise a :class:`CheckpointError` unless ``saved`` is a state of the same kind of optimiser, for
    the same parameters (groups, counts and the shapes of its running averages).

    Explained in the chapter "Scaling up" (checkpoints and resuming).
    """
    where = f"{_where(path)}: {name}"
    if not (isinstance(saved, dict) and isinstance(saved.get("state"), dict)
            and isinstance(saved.get("param_groups"), list)
            and all(isinstance(g, dict) and isinstance(g.get("params"), list) for g in saved["param_groups"])):
        raise CheckpointError(f"{where} is not an optimiser's state_dict (a dict with 'state' and 'param_groups')")
    own_kind = optimizer_kind(optimizer.param_groups[0])
    kinds = {optimizer_kind(g) for g in saved["param_groups"]}
    if kinds != {own_kind}:
        names = {"adam": "Adam", "rmsprop": "RMSprop", "sgd": "SGD", None: "unknown"}
        saved_kind = " and ".join(sorted(names[k] for k in kinds))
        raise CheckpointError(f"{where} holds the state of an {saved_kind} optimiser and this trainer's is "
                              f"{names[own_kind]} (TrainConfig.optimizer): one optimiser's state cannot continue "
                              "another's")
    counts = [len(g["params"]) for g in saved["param_groups"]]
    own_counts = [len(g["params"]) for g in optimizer.param_groups]
    if counts != own_counts:
        raise CheckpointError(f"{where} is for {counts} parameters (per group), this trainer's optimiser has "
                              f"{own_counts}")
    params = {index: p for g, own in zip(saved["param_groups"], optimizer.param_groups)
              for index, p in zip(g["params"], own["params"])}
    for index, entry in saved["state"].items():
        if index not in params or not isinstance(entry, dict):
            raise CheckpointError(f"{where} holds a state for parameter {index!r}, which none of its groups lists")
        for key, value in entry.items():
            if isinstance(value, torch.Tensor) and key != "step" and value.shape != params[index].shape:
                raise CheckpointError(f"{where}: {key} of parameter {index} has shape {tuple(value.shape)}, the "
                                      f"parameter {tuple(params[index].shape)}")


def check_generator_state(state: Any, device: torch.device, path, what: str) -> None:
    """Raise a :class:`CheckpointError` unless ``state`` can be given to a random-number generator on ``device``.

    The state is tried on a scratch generator, so nothing the trainer holds changes.

    Explained in the chapter "Scaling up" (checkpoints and resuming).
    """
    if not isinstance(state, torch.Tensor) or state.dtype != torch.uint8 or state.dim() != 1:
        got = (f"{state.dtype} tensor of shape {tuple(state.shape)}" if isinstance(state, torch.Tensor)
               else type(state).__name__)
        raise CheckpointError(f"{_where(path)}: {what} is not a random-number state (a 1-D uint8 tensor), got {got}")
    try:
        torch.Generator(device=device).set_state(state.cpu())
    except (RuntimeError, ValueError) as err:
        raise CheckpointError(f"{_where(path)}: {what} does not fit a {torch.device(device).type} random-number "
                              f"generator ({err})") from None


def check_tensor(value: Any, what: str, path, *, shape: tuple | None = None, dim: int | None = None) -> None:
    """Raise a :class:`CheckpointError` unless ``value`` is a tensor (of ``dim`` dimensions, or of
    ``shape``, where ``None`` entries match any size).

    Explained in the chapter "Scaling up" (checkpoints and resuming).
    """
    if not isinstance(value, torch.Tensor):
        raise CheckpointError(f"{_where(path)}: {what} should be a tensor, got {type(value).__name__}")
    if shape is not None and (value.dim() != len(shape) or
                              any(s is not None and s != v for s, v in zip(shape, value.shape))):
        wanted = "(" + ", ".join("N" if s is None else str(s) for s in shape) + ")"
        raise CheckpointError(f"{_where(path)}: {what} has shape {tuple(value.shape)}, expected {wanted}")
    if dim is not None and value.dim() != dim:
        raise CheckpointError(f"{_where(path)}: {what} has {value.dim()} dimensions, expected {dim}")


def check_history(history: Any, columns: Iterable[str], path) -> None:
    """Raise a :class:`CheckpointError` unless ``history`` holds a list of step numbers and, for each of
    ``columns``, one number per step.

    Explained in the chapter "Scaling up" (checkpoints and resuming).
    """
    columns = ["step", *columns]
    if not isinstance(history, dict):
        raise CheckpointError(f"{_where(path)}: its history should be a dict of lists, got {type(history).__name__}")
    missing = [c for c in columns if c not in history]
    if missing:
        raise CheckpointError(f"{_where(path)}: its history lacks the column(s) {', '.join(missing)} that this "
                              "trainer records (was it written by another kind of trainer?)")
    for key, values in history.items():
        if not isinstance(values, (list, tuple)) or not all(isinstance(v, (int, float)) for v in values):
            raise CheckpointError(f"{_where(path)}: history[{key!r}] should be a list of numbers")
        if len(values) != len(history["step"]):
            raise CheckpointError(f"{_where(path)}: history[{key!r}] holds {len(values)} values for "
                                  f"{len(history['step'])} steps")


def compare_configs(saved: Any, config, fields: Iterable[str], device: torch.device, saved_device: str | None,
                    path) -> list[str]:
    """Raise a :class:`CheckpointError` when the checkpoint's config (a dict) differs from ``config`` (a
    :class:`gancourse.train_config.TrainConfig`) in one of ``fields``; return what only deserves a warning.

    Two names of one loss agree. A precision may differ after a move to another kind of device, or
    from bf16 to fp32 where this device has no bf16 arithmetic: the run continues in this trainer's.

    Explained in the chapter "Scaling up" (checkpoints and resuming).
    """
    if not isinstance(saved, dict):
        raise CheckpointError(f"{_where(path)}: its config should be a dict, got {type(saved).__name__}")
    own = {f: getattr(config, f) for f in fields}
    wrong, notes = [], []
    for name in fields:
        if name not in saved or saved[name] == own[name]:  # an older checkpoint may lack a field
            continue
        if name == "loss" and _same_loss(saved[name], own[name]):
            continue
        if name == "precision" and saved[name] == "bf16" and not bf16_supported(device):
            notes.append(f"it was trained in bf16 and this {device.type} has no bfloat16 arithmetic: the run "
                         "continues in fp32")
        elif name == "precision" and saved_device not in (None, device.type):
            notes.append(f"it was trained in {saved[name]} on {saved_device}; the run continues in {own[name]} on "
                         f"{device.type}")
        else:
            wrong.append(f"{name}={saved[name]!r} in the checkpoint, {own[name]!r} in this trainer")
    if wrong:
        raise CheckpointError(f"{_where(path)} was written by a run with another config: {'; '.join(wrong)}. Build "
                              "the trainer with the checkpoint's settings (its 'config'); to change them during the "
                              "run afterwards, use GANTrainer.fork")
    return notes


def _same_loss(a: Any, b: str) -> bool:
    """Whether ``a`` and ``b`` name one loss (``"modified_minimax"`` is ``"nonsaturating"``)."""
    try:
        return get_loss(a) is get_loss(b)
    except (ValueError, TypeError):  # an unknown name, or not a name at all
        return False


def generator_states(state: dict, path, *, device: torch.device, rank: int, world: int, seed: int,
                     sampling_offset: int) -> tuple[torch.Tensor, torch.Tensor, str | None]:
    """The states a checkpoint gives a trainer's training and sampling random-number generators in
    process ``rank`` of ``world``, and why they were derived from the seed and the step instead (None
    when they were not). Raises a :class:`CheckpointError` for a state no generator on ``device`` takes.

    Random-number states differ between kinds of device (a CPU generator's is 5056 bytes, a CUDA
    generator's 16), so a checkpoint saved on another kind of device (its ``device_type``; for older
    checkpoints, a state of another size) cannot continue its streams. Then, as for a process the
    checkpoint holds no state for, the streams restart from ``rank_seed(seed, rank) + step`` (the
    sampling stream from that plus ``sampling_offset``), with the checkpoint's own seed.

    Explained in the chapter "Scaling up" (checkpoints and resuming).
    """
    per_rank = state.get("rng_per_rank")
    if isinstance(per_rank, list) and len(per_rank) == world:
        rng, why = per_rank[rank], None
    elif rank == 0:
        rng, why = state["rng"], None
    else:
        rng, why = None, f"it holds no random-number state for process {rank} of {world}"
    saved_device = state.get("device_type")
    own_size = torch.Generator(device=device).get_state().numel()
    if saved_device is None and isinstance(rng, torch.Tensor) and rng.dim() == 1 and rng.numel() != own_size:
        saved_device = "another kind of device"  # a checkpoint from before device_type was saved
    moved = saved_device is not None and saved_device != device.type
    if moved:
        rng, why = None, (f"it was saved on {saved_device} and this trainer runs on {device.type}, whose "
                          "random-number states are of another kind")
    if rng is not None:
        check_generator_state(rng, device, path, "rng (the training random-number state)")
    sample_rng = None if moved else state.get("sample_rng")
    if sample_rng is not None:
        check_generator_state(sample_rng, device, path, "sample_rng (the sampling random-number state)")
    seed = state["config"].get("seed", seed)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise CheckpointError(f"{_where(path)}: its config's seed should be an int >= 0, got {seed!r}")
    seed = dist_utils.rank_seed(seed, rank) + state["step"]
    if rng is None:
        rng = torch.Generator(device=device).manual_seed(seed).get_state()
    if sample_rng is None:  # a checkpoint from before the sampling stream, or from another device
        sample_rng = torch.Generator(device=device).manual_seed(seed + sampling_offset).get_state()
    if why:
        why += (": the random-number streams restart from the seed and the step, so the run continues, but not with "
                "the batches an uninterrupted run would have drawn")
    return rng.cpu(), sample_rng.cpu(), why
