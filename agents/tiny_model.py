"""A tiny math chat model trained on a CPU in minutes: the agent for machines without a GPU.

The recipe (:func:`train_tiny_model`, pieces in :mod:`fbenv.agents.tiny_train`):

1. demonstrations from the real ``fbenv/Math-v0`` env (:mod:`fbenv.agents.tiny_data`): first-try
   solutions, and retries after a made-up slip and the env's own text, binary or unary feedback on it;
2. a byte-level BPE tokenizer trained on their text with ``tokenizers``, wrapped as a
   ``PreTrainedTokenizerFast`` with a Jinja chat template;
3. a small ``LlamaForCausalLM`` built from a config and trained with AdamW, the loss on the final
   assistant reply only;
4. then the model answers fresh training problems, and the last ``own_steps`` steps also train on
   retries after its *own* wrong answers and the env's feedback on them (so that feedback corrects the
   mistakes it really makes);
5. ``save_pretrained`` of model and tokenizer plus ``recipe.json`` (the recipe, data sizes, timings and
   the accuracies measured by loading the directory back through ``hf:PATH``, the ordinary backend),
   all written to a temporary directory that is renamed into place, so a killed run leaves no half
   checkpoint.

:func:`ensure_tiny_model` loads the cached checkpoint or trains it. torch and transformers are imported
inside the functions that need them, never by ``import fbenv``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import random
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fbenv.agents.tiny_data import Demo, demonstrations, held_out_prompts, own_retries
from fbenv.agents.tiny_eval import measure
from fbenv.agents.tiny_train import (
    CHAT_TEMPLATE,
    SPECIAL_TOKENS,
    Trainer,
    batches,
    build_model,
    build_tokenizer,
    encode_demos,
    greedy_replies,
    no_progress_bars,
    torch_settings,
)

#: Bumped whenever the recipe changes what is trained; a cached checkpoint of another version is retrained.
RECIPE_VERSION = 1
CACHE_NAME = f"tiny-math-v{RECIPE_VERSION}"
RECIPE_FILE = "recipe.json"
__all__ = ["CHAT_TEMPLATE", "SPECIAL_TOKENS", "Recipe", "default_path", "ensure_tiny_model", "read_recipe",
           "train_tiny_model"]


@dataclass(frozen=True)
class Recipe:
    """Everything that decides the trained model; saved in ``recipe.json`` next to it."""

    seed: int = 0
    """Seeds the demonstrations, the initial weights and the batch order."""
    demos: int = 40_000
    """Demonstrations generated (each is seen about ``steps * batch_size / demos`` times)."""
    difficulties: dict[int, float] = field(default_factory=lambda: {1: 1.0})
    """Math-v0 difficulty → share of the demonstrations."""
    retry_fraction: float = 0.4
    """Share of demonstrations that retry after a wrong attempt and the env's feedback."""
    vocab_size: int = 1024
    """BPE vocabulary, the special tokens included."""
    hidden_size: int = 128
    layers: int = 4
    heads: int = 4
    intermediate_size: int = 384
    steps: int = 1200
    """Optimizer steps in all."""
    own_steps: int = 400
    """The last steps, which train on retries after the model's own mistakes mixed with demonstrations."""
    own_rounds: int = 2
    """The own-mistake steps are split in this many rounds, each on the mistakes of the model as it is then."""
    own_problems: int = 2000
    """Fresh training problems the model answers in each round; its wrong answers become retries."""
    own_share: float = 0.8
    """Share of the retries after the model's own mistakes in the batches of those steps."""
    batch_size: int = 32
    lr: float = 1e-3
    """Peak learning rate: linear warm-up over ``warmup`` steps, then cosine decay to a tenth."""
    warmup: int = 50
    threads: int = 1
    """torch threads while training. One thread gives the same weights on any machine, and on a shared
    CPU it avoids OpenMP's spin-waiting, which made a two-thread step 15x slower beside one busy process."""
    eval_episodes: int = 100
    """Held-out episodes per feedback kind measured after training (0 skips the measurement)."""
    eval_difficulty: int = 1
    """The Math-v0 difficulty the accuracies in ``recipe.json`` are measured at."""


def default_path() -> Path:
    """Where the tiny model is cached: ``$FBENV_HOME``, else ``$XDG_CACHE_HOME/fbenv``, else ``~/.cache/fbenv``."""
    home = os.environ.get("FBENV_HOME")
    if home:
        return Path(home) / CACHE_NAME
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "fbenv" / CACHE_NAME


def read_recipe(path: str | Path) -> dict[str, Any] | None:
    """The ``recipe.json`` of a complete checkpoint of this recipe version at ``path``, else None."""
    path = Path(path)
    try:
        recipe = json.loads((path / RECIPE_FILE).read_text())
    except (OSError, ValueError):
        return None
    complete = all((path / name).is_file() for name in ("config.json", "model.safetensors", "tokenizer.json"))
    return recipe if complete and recipe.get("version") == RECIPE_VERSION else None


def ensure_tiny_model(path: str | Path | None = None, *, retrain: bool = False,
                      recipe: Recipe | None = None, log: Callable[[str], None] | None = None) -> Path:
    """The directory of a trained tiny model: loaded from ``path`` if complete, else trained there first.

    ``path`` defaults to :func:`default_path`. With ``retrain`` (or when the checkpoint there is of
    another recipe version) it is trained again and replaces the old one. Training writes to a temporary
    sibling directory that is renamed into place only when complete.

    Raises:
        ValueError: ``path`` exists but is not a tiny-model checkpoint (it is never overwritten).
    """
    target = Path(path) if path is not None else default_path()
    if not retrain and read_recipe(target) is not None:
        return target
    if target.exists() and not (target / RECIPE_FILE).is_file():
        raise ValueError(f"{target} exists and is not a tiny-model checkpoint; give an empty or new directory")
    return train_tiny_model(target, recipe or Recipe(), log=log)


def train_tiny_model(out: str | Path, recipe: Recipe, *, log: Callable[[str], None] | None = None) -> Path:
    """Train the tiny model by ``recipe`` and save it at ``out`` atomically (replacing what is there)."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_temporaries(out)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-{os.getpid()}-", dir=out.parent))
    umask = os.umask(0)
    os.umask(umask)
    tmp.chmod(0o777 & ~umask)  # mkdtemp makes it private; the checkpoint gets the usual permissions
    try:
        record = _train_into(tmp, recipe, log or (lambda _: None))
        (tmp / RECIPE_FILE).write_text(json.dumps(record, indent=2) + "\n")
        _replace_dir(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def _train_into(directory: Path, recipe: Recipe, log: Callable[[str], None]) -> dict[str, Any]:
    import torch

    start = time.perf_counter()
    held_out = held_out_prompts(sorted({*recipe.difficulties, recipe.eval_difficulty}))
    demos = demonstrations(recipe.demos, seed=recipe.seed, difficulties=recipe.difficulties,
                           retry_fraction=recipe.retry_fraction, exclude=held_out)
    tokenizer = build_tokenizer([m["content"] for d in demos for m in d.messages], recipe.vocab_size)
    examples = encode_demos(tokenizer, demos)
    log(f"{len(demos)} demonstrations, {sum(len(ids) for ids, _ in examples)} tokens, "
        f"vocabulary {len(tokenizer)} ({time.perf_counter() - start:.1f}s)")
    with torch_settings(recipe.threads):
        torch.manual_seed(recipe.seed)
        model = build_model(tokenizer, hidden_size=recipe.hidden_size, layers=recipe.layers, heads=recipe.heads,
                            intermediate_size=recipe.intermediate_size)
        log(f"model: {model.num_parameters()} parameters")
        train_start = time.perf_counter()
        trainer = Trainer(model, lr=recipe.lr, warmup=recipe.warmup, total_steps=recipe.steps, log=log)
        first = max(0, recipe.steps - recipe.own_steps)
        trainer.run(batches(examples, steps=first, batch_size=recipe.batch_size, pad_id=tokenizer.pad_token_id,
                            seed=f"fbenv-tiny-batches/{recipe.seed}"))
        own: list[Demo] = []
        start_index = demos[-1].index + 1
        for round_ in range(recipe.own_rounds if recipe.steps > first else 0):
            problems = demonstrations(recipe.own_problems, seed=recipe.seed, difficulties=recipe.difficulties,
                                      retry_fraction=0.0, exclude=held_out, start=start_index)
            start_index = problems[-1].index + 1
            fresh = own_retries(problems, lambda chats: greedy_replies(model, tokenizer, chats), seed=recipe.seed)
            own += fresh
            again = sum(d.feedback != "none" and len(d.messages) == 6 for d in fresh)
            log(f"own mistakes, round {round_ + 1}: {len(fresh)} of {len(problems)} fresh problems answered wrong, "
                f"{again} of them wrong again after the feedback")
            mixed = encode_demos(tokenizer, own) + _share(examples, len(own), recipe.own_share, recipe.seed + round_)
            mixed = mixed or list(examples)  # a model that made no mistake goes on with the demonstrations
            steps = (recipe.steps - first) // recipe.own_rounds + (round_ < (recipe.steps - first) % recipe.own_rounds)
            trainer.run(batches(mixed, steps=steps, batch_size=recipe.batch_size, pad_id=tokenizer.pad_token_id,
                                seed=f"fbenv-tiny-own-batches/{recipe.seed}/{round_}"))
        train_s = time.perf_counter() - train_start
    with no_progress_bars():
        model.save_pretrained(directory)
        tokenizer.save_pretrained(directory)
    record: dict[str, Any] = {
        "version": RECIPE_VERSION,
        "recipe": dataclasses.asdict(recipe),
        "data": {"demonstrations": len(demos), "tokens": sum(len(ids) for ids, _ in examples),
                 "target_tokens": sum(len(ids) - n for ids, n in examples),
                 "retries": sum(d.feedback is not None for d in demos), "own_mistakes": len(own)},
        "model": {"parameters": model.num_parameters(), "vocabulary": len(tokenizer)},
        "losses_every_100_steps": trainer.losses,
        "final_loss": round(trainer.last_loss, 4),
        "train_seconds": round(train_s, 1),
        "torch": torch.__version__,
        "transformers": _version("transformers"),
    }
    if recipe.eval_episodes:
        from fbenv.backends import make_backend

        eval_start = time.perf_counter()
        with no_progress_bars():
            backend = make_backend(f"hf:{directory}")
        with torch_settings(recipe.threads):
            measured = measure(backend, episodes=recipe.eval_episodes, difficulty=recipe.eval_difficulty)
        measured["seen_in_training"] = _overlap([*demos, *own], measured.pop("prompts"))
        record["accuracy"] = measured
        record["eval_seconds"] = round(time.perf_counter() - eval_start, 1)
    record["total_seconds"] = round(time.perf_counter() - start, 1)
    return record


def _version(package: str) -> str:
    from importlib.metadata import version

    return version(package)


def _share(examples: Sequence[Any], count: int, share: float, seed: int) -> list[Any]:
    """A seeded sample of ``examples`` so that ``count`` other examples make up ``share`` of the whole."""
    wanted = min(len(examples), round(count * (1 - share) / share)) if share > 0 else len(examples)
    return random.Random(f"fbenv-tiny-share/{seed}").sample(list(examples), wanted)


def _overlap(demos: Sequence[Demo], prompts: Sequence[str]) -> float:
    """The share of evaluation prompts that also occur among the training demonstrations."""
    seen = {d.prompt for d in demos}
    return round(sum(p in seen for p in prompts) / max(1, len(prompts)), 3)


def _replace_dir(new: Path, target: Path) -> None:
    """Move ``new`` to ``target``; an old ``target`` is renamed aside first and removed after."""
    old = None
    if target.exists():
        old = target.with_name(f".{target.name}.old-{os.getpid()}")
        os.rename(target, old)
    os.rename(new, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _remove_stale_temporaries(target: Path) -> None:
    """Remove temporary directories left next to ``target`` by runs whose process is gone."""
    for sibling in target.parent.glob(f".{target.name}.*-*"):
        pid = sibling.name.split("-")[-2] if ".tmp-" in sibling.name else sibling.name.rsplit("-", 1)[-1]
        if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
            shutil.rmtree(sibling, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m fbenv.agents.tiny_model --out DIR [--steps N] [--seed S]``: train, save, print accuracies."""
    parser = argparse.ArgumentParser(prog="python -m fbenv.agents.tiny_model", description=main.__doc__)
    parser.add_argument("--out", required=True, help="directory to save the model in (replaced if it exists)")
    parser.add_argument("--steps", type=int, default=Recipe.steps, help="optimizer steps")
    parser.add_argument("--seed", type=int, default=Recipe.seed, help="seed of data, weights and batches")
    parser.add_argument("--demos", type=int, default=Recipe.demos, help="demonstrations to generate")
    parser.add_argument("--own-problems", type=int, default=Recipe.own_problems,
                        help="fresh problems per round on which the model's own mistakes are collected")
    parser.add_argument("--eval-episodes", type=int, default=Recipe.eval_episodes,
                        help="held-out episodes per feedback kind (0: skip the measurement)")
    args = parser.parse_args(argv)
    recipe = Recipe(seed=args.seed, steps=args.steps, demos=args.demos, own_problems=args.own_problems,
                    eval_episodes=args.eval_episodes)
    out = train_tiny_model(args.out, recipe, log=lambda line: print(line, flush=True))
    record = json.loads((out / RECIPE_FILE).read_text())
    print(json.dumps({k: record[k] for k in ("train_seconds", "total_seconds", "accuracy") if k in record},
                     indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
