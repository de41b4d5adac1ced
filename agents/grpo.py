"""Multi-turn GRPO on fbenv feedback envs: one file that reads top to bottom (CleanRL style).

Every iteration:

1. **sample** ``prompts_per_iteration`` instances and, for each, a *group* of ``group_size``
   episodes from the same reset seed (same problem, same simulator draws for the same replies),
   the policy generating every agent turn through the batched rollout engine
   (:func:`fbenv.eval.rollout`). Feedback stays in context: turn t+1 sees the problem, the
   earlier attempts and the feedback on them, exactly as the env's messages say.
2. **score** each episode by its return: the sum of the env's rewards, with UFO's turn discount
   (reward × ``turn_discount ** (t-1)``) and repetition penalty applied by the env itself
   (``gym.make`` kwargs), so the trainer and ``fbenv eval`` agree on what a return is.
3. **advantage**: return minus the group's mean (GRPO's group baseline; divided by the group's std
   with ``scale_advantages``), one value for the whole multi-turn episode. Groups whose episodes all
   got the same return teach nothing and are skipped.
4. **feedback-conditioned samples** (``refine_weight > 0``; Critique-GRPO / LeTI): when a wrong
   attempt got a critique (text or process feedback) and the next attempt was right, the right
   attempt is added as an extra sample with advantage ``refine_weight``: after the bare prompt
   (``refine_context="prompt"``: the refinement becomes a first-try target, Critique-GRPO's
   "learn from the refinement") or after the failed attempt and its critique
   (``refine_context="feedback"``: LeTI's feedback-conditioned fine-tuning).
5. **loss**: ``-A · log π(token)`` summed over the agent's own tokens only (the mask comes from
   each message's ``source``; the prompt, feedback and template headers carry no loss), divided by
   the iteration's agent-token count (token-level mean, as DAPO); plus ``kl_coef`` × the k3
   estimate of KL(π ‖ π_ref) against a frozen copy of the initial model. One optimizer step per
   iteration, so sampling is on-policy and GRPO's clipped ratio is 1 (the plain policy gradient).
6. **sync** the new weights into the generator (vLLM), **log** (CSV, TensorBoard, stdout),
   **evaluate** greedily on held-out seeds every ``eval_every`` iterations, **checkpoint**.

Run ``python -m fbenv.agents.grpo --model PATH --env fbenv/Math-v0 --feedback unary --turns 3``; every
field of :class:`GRPOArgs` is a flag (``--group-size 8``, ``--env-kwargs '{"difficulty": 1}'``).
``--resume`` continues from the newest ``OUT/checkpoint-N`` exactly where it stopped. On a GPU with
vllm installed, generation goes through vLLM (``--generator vllm``); on a CPU through transformers.
torch and transformers are imported by this module, never by ``import fbenv``.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import itertools
import json
import os
import random
import shutil
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from fbenv.agents.episode_tokens import EncodedEpisode, encode_episode
from fbenv.agents.generation import HFSampler, PolicyAgent, Sampler, VLLMSampler
from fbenv.cli import parse_json_object
from fbenv.eval.metrics import condition_metrics
from fbenv.eval.rollout import EpisodeSpec, rollout

#: Feedback kinds whose words can guide a refinement (the feedback-conditioned samples learn from these).
CRITIQUE_KINDS = ("text", "process")
#: Reset seeds of evaluation episodes start here, far from the training seeds.
EVAL_SEED = 1_000_000_000
STATE_FILE = "trainer_state.pt"


@dataclass
class GRPOArgs:
    """Everything a training run depends on; each field is also a command-line flag."""

    model: str = ""
    """A local checkpoint directory written by ``save_pretrained`` (model + tokenizer with a chat template)."""
    out: str = "runs/grpo"
    """Where checkpoints, ``metrics.csv``, TensorBoard events and ``learning_curve.png`` go."""
    seed: int = 0
    """Seeds the training problems, the sampling, torch and the data order; runs with equal args are equal."""
    # --- the env ---------------------------------------------------------------------------------------
    env: str = "fbenv/Math-v0"
    """A registered fbenv env id."""
    feedback: str = "unary"
    """The feedback kind the policy trains with: none, unary, binary, text, process."""
    turns: int = 3
    """Replies per training episode (the env's ``max_turns``); 1 is single-turn training."""
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    """More ``gym.make`` kwargs (JSON on the command line), e.g. ``{"difficulty": 1, "hint_level": 2}``."""
    reward_from: str = "verdict"
    """``"verdict"`` (ground truth) or ``"feedback"`` (what the policy was told; noisy feedback stays noisy)."""
    turn_discount: float = 1.0
    """Reward at turn t is multiplied by ``turn_discount ** (t-1)``; 0.5 is UFO's 1/2^t (fewer turns pay more)."""
    repeat_penalty: float = 0.0
    """Subtracted from the reward of an answer that repeats an earlier one of the episode (UFO uses 0.5-1)."""
    # --- sampling ----------------------------------------------------------------------------------------
    iterations: int = 20
    """Optimizer steps (one per iteration of sampling)."""
    prompts_per_iteration: int = 8
    """Problems per iteration; each gets a group of episodes."""
    group_size: int = 4
    """Episodes per problem (same reset seed); advantages are relative to the group."""
    max_new_tokens: int = 64
    """New tokens per reply."""
    temperature: float = 1.0
    """Sampling temperature during training (evaluation is greedy)."""
    system_prompt: str = ""
    """A system message before every episode (empty: none)."""
    chat_template: str = ""
    """A Jinja file that replaces the tokenizer's chat template (for templates that are not prefix-preserving)."""
    # --- the objective -----------------------------------------------------------------------------------
    learning_rate: float = 1e-5
    """AdamW's learning rate (constant after warm-up, so a resumed run follows the same schedule)."""
    warmup_iterations: int = 0
    """Linear learning-rate warm-up, in iterations."""
    weight_decay: float = 0.0
    """AdamW weight decay."""
    max_grad_norm: float = 1.0
    """Gradient clipping by global norm (0: none)."""
    scale_advantages: bool = True
    """Divide each group's advantages by the group's std (GRPO); off: return minus group mean (Dr. GRPO, RLOO-like)."""
    kl_coef: float = 0.0
    """Weight of the KL penalty to a frozen copy of the initial model (0: no reference model is loaded)."""
    refine_weight: float = 0.0
    """Feedback-conditioned variant: advantage given to each right attempt that followed a critique (0: off)."""
    refine_context: str = "prompt"
    """``"prompt"``: learn the refinement as a reply to the bare problem (Critique-GRPO); ``"feedback"``: after
    the failed attempt and its critique (LeTI)."""
    micro_batch: int = 16
    """Sequences per forward/backward pass (gradients are accumulated over the iteration)."""
    # --- evaluation, logging, checkpoints -----------------------------------------------------------------
    eval_every: int = 5
    """Evaluate every this many iterations (and before the first and after the last; 0: never)."""
    eval_episodes: int = 64
    """Held-out episodes per evaluation (greedy, reset seeds from 10^9)."""
    eval_turns: int = 0
    """Replies per evaluation episode (0: ``turns``); evaluate single-turn training on several turns with it."""
    eval_feedback: str = ""
    """The feedback kind of evaluation episodes (empty: ``feedback``)."""
    save_every: int = 10
    """Checkpoint every this many iterations (and after the last; 0: only after the last)."""
    keep_checkpoints: int = 2
    """Older checkpoints are deleted beyond this many."""
    resume: bool = False
    """Continue from the newest complete ``OUT/checkpoint-N`` (fails if the training settings differ)."""
    tensorboard: bool = True
    """Write TensorBoard events to ``OUT/tensorboard`` (needs the tensorboard package: ``fbenv[train]``)."""
    plot: bool = True
    """Write ``OUT/learning_curve.png`` after training."""
    # --- hardware ---------------------------------------------------------------------------------------
    device: str = "auto"
    """``"cpu"``, ``"cuda"`` or ``"auto"`` (CUDA when available)."""
    dtype: str = "float32"
    """The trainer's parameter dtype (``bfloat16`` on a GPU for large models)."""
    generator: str = "auto"
    """``"hf"`` (transformers generate on the training model), ``"vllm"`` (GPU) or ``"auto"`` (vllm when a GPU
    and the vllm package are there)."""
    vllm_gpu_memory_utilization: float = 0.3
    """The share of GPU memory the vLLM engine may take; the trainer needs the rest."""
    vllm_max_model_len: int = 4096
    """The longest context the vLLM engine accepts."""
    quiet: bool = False
    """Print nothing per iteration."""

    def __post_init__(self) -> None:
        if self.group_size < 2:
            raise ValueError(f"group_size must be >= 2 (advantages are relative to the group), got {self.group_size}")
        for name in ("turns", "iterations", "prompts_per_iteration", "max_new_tokens", "micro_batch"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)!r}")
        if self.refine_context not in ("prompt", "feedback"):
            raise ValueError(f"refine_context must be 'prompt' or 'feedback', got {self.refine_context!r}")
        if self.generator not in ("auto", "hf", "vllm"):
            raise ValueError(f"generator must be 'auto', 'hf' or 'vllm', got {self.generator!r}")
        if self.kl_coef < 0 or self.refine_weight < 0:
            raise ValueError("kl_coef and refine_weight must be >= 0")

    def env_kwargs_for(self, *, evaluation: bool = False) -> dict[str, Any]:
        """The ``gym.make`` kwargs of training (or evaluation) episodes."""
        kwargs = {"feedback": self.feedback, "max_turns": self.turns, "reward_from": self.reward_from,
                  "turn_discount": self.turn_discount, "repeat_penalty": self.repeat_penalty, **self.env_kwargs}
        if evaluation:
            kwargs.update(feedback=self.eval_feedback or self.feedback, max_turns=self.eval_turns or self.turns)
        return kwargs


#: Fields that may change on --resume (they do not change what the first iterations computed).
RESUMABLE = {"iterations", "resume", "out", "eval_every", "save_every", "keep_checkpoints", "tensorboard", "plot",
             "quiet", "device", "generator", "vllm_gpu_memory_utilization", "vllm_max_model_len"}


@dataclass
class Sample:
    """One training sequence: its tokens, which of them are the agent's, and its advantage."""

    tokens: EncodedEpisode
    advantage: float
    kind: str = "episode"


def train(args: GRPOArgs) -> Path:
    """Train by ``args``; returns the directory of the final checkpoint."""
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    device = _device(args.device)
    seed_everything(args.seed)

    # --- the policy, its optimizer, a frozen reference (only if kl_coef > 0), resumed if asked ------------
    start = latest_checkpoint(out) if args.resume else None
    state = read_trainer_state(start, args) if start is not None else None
    tokenizer, policy = load_policy(str(start or args.model), args, device)
    reference = load_policy(args.model, args, device)[1].requires_grad_(False).eval() if args.kl_coef > 0 else None
    optimizer = torch.optim.AdamW(policy.parameters(), lr=args.learning_rate, weight_decay=args.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min(1.0, (step + 1) / args.warmup_iterations) if args.warmup_iterations else 1.0)
    first_iteration = 0
    if state is not None:
        first_iteration = restore_trainer_state(state, optimizer, scheduler)
    else:
        (out / "args.json").write_text(json.dumps(dataclasses.asdict(args), indent=2) + "\n")
    sampler = make_sampler(args, policy, tokenizer, start or args.model)
    agent = PolicyAgent(tokenizer, sampler, max_tokens=args.max_new_tokens, temperature=args.temperature,
                        system_prompt=args.system_prompt or None)
    log = MetricsLog(out, args, first_iteration)

    if first_iteration == 0 and args.eval_every:
        log.write(0, evaluate(args, agent))
    for iteration in range(first_iteration + 1, args.iterations + 1):
        metrics: dict[str, Any] = {}

        # 1. sample: a group of episodes per problem, all in flight at once, the policy generating every turn.
        tick = time.perf_counter()
        agent.start(seed=args.seed * 1_000_003 + iteration)
        agent.temperature = args.temperature
        specs = training_episodes(args, iteration)
        by_key = {record["key"]: record for record in rollout(agent, specs, concurrency=len(specs))}
        records = [by_key[spec.key] for spec in specs]  # in spec order: groups are consecutive
        metrics["sample_s"] = time.perf_counter() - tick
        metrics["generated_tokens"] = agent.generated_tokens

        # 2-3. returns (the env applied turn discount and repeat penalty) and group-relative advantages.
        returns = np.array([record["return"] for record in records], dtype=np.float64)
        advantages = group_advantages(returns, args.group_size, scale=args.scale_advantages)

        # 4. one training sample per episode, plus the refinements that followed a critique.
        samples = [Sample(encode_episode(tokenizer, *agent.episode(r["key"], r["messages"])), float(a))
                   for r, a in zip(records, advantages, strict=True)]
        if args.refine_weight > 0:
            samples += refinement_samples(records, agent, tokenizer, args)

        # 5. the policy-gradient loss over agent tokens (+ KL), one optimizer step.
        tick = time.perf_counter()
        policy.train()
        optimizer.zero_grad(set_to_none=True)
        stats = accumulate_gradients(policy, reference, samples, args, device)
        grad_norm = (torch.nn.utils.clip_grad_norm_(policy.parameters(), args.max_grad_norm)
                     if args.max_grad_norm > 0 else _grad_norm(policy))
        optimizer.step()
        scheduler.step()
        metrics["train_s"] = time.perf_counter() - tick

        # 6. new weights into the generator; log; evaluate; checkpoint.
        sampler.sync_weights(policy)
        metrics.update(stats, grad_norm=float(grad_norm), lr=scheduler.get_last_lr()[0])
        metrics.update(episode_metrics(records, returns, advantages, args.group_size))
        metrics["refinements"] = sum(sample.kind == "refinement" for sample in samples)
        metrics["episodes_per_s"] = len(records) / metrics["sample_s"]
        metrics["tokens_per_s"] = metrics["generated_tokens"] / metrics["sample_s"]
        if args.eval_every and (iteration % args.eval_every == 0 or iteration == args.iterations):
            metrics.update(evaluate(args, agent))
        log.write(iteration, metrics)
        if iteration == args.iterations or (args.save_every and iteration % args.save_every == 0):
            save_checkpoint(out, iteration, args, policy, tokenizer, optimizer, scheduler)

    log.close()
    if args.plot:
        plot_learning_curve(out / "metrics.csv", out / "learning_curve.png")
    return checkpoint_dir(out, args.iterations)


# --- the pieces, in the order train() uses them -----------------------------------------------------------
def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def _device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError("device='cuda' but no CUDA GPU is visible; use --device cpu")
    return torch.device(name)


def load_policy(path: str, args: GRPOArgs, device: torch.device) -> tuple[Any, Any]:
    """Tokenizer and causal LM from a local checkpoint directory, the chat template checked."""
    import transformers

    if not os.path.isdir(path):
        raise ValueError(f"--model {path!r} is not a directory; give a local checkpoint written by save_pretrained")
    tokenizer = transformers.AutoTokenizer.from_pretrained(path, local_files_only=True)
    if args.chat_template:
        tokenizer.chat_template = Path(args.chat_template).read_text()
    if not getattr(tokenizer, "chat_template", None):
        raise ValueError(f"the tokenizer in {path!r} has no chat template; pass --chat-template FILE.jinja")
    if tokenizer.eos_token_id is None:
        raise ValueError(f"the tokenizer in {path!r} has no eos (end-of-turn) token; set tokenizer.eos_token")
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    transformers.utils.logging.disable_progress_bar()
    model = transformers.AutoModelForCausalLM.from_pretrained(path, local_files_only=True,
                                                              dtype=getattr(torch, args.dtype))
    return tokenizer, model.to(device)


def make_sampler(args: GRPOArgs, policy: Any, tokenizer: Any, path: str | Path) -> Sampler:
    """The generation engine: vLLM on a GPU (weights synced every step), else transformers on the policy."""
    generator = args.generator
    if generator == "auto":
        import importlib.util

        generator = "vllm" if torch.cuda.is_available() and importlib.util.find_spec("vllm") else "hf"
    if generator == "vllm":
        # The engine gets token ids built with our tokenizer's template, so its own template never matters.
        return VLLMSampler(str(path), gpu_memory_utilization=args.vllm_gpu_memory_utilization,
                           max_model_len=args.vllm_max_model_len, seed=args.seed)
    return HFSampler(policy, tokenizer)


def training_episodes(args: GRPOArgs, iteration: int) -> list[EpisodeSpec]:
    """The episodes of one iteration: ``group_size`` per problem, a group sharing its reset seed."""
    rng = random.Random(f"{args.seed}/{iteration}")
    kwargs = args.env_kwargs_for()
    specs = []
    for prompt in range(args.prompts_per_iteration):
        seed = rng.randrange(EVAL_SEED)
        specs += [EpisodeSpec(args.env, kwargs, seed, condition=args.feedback, key=f"{iteration}/{prompt}/{member}")
                  for member in range(args.group_size)]
    return specs


def group_advantages(returns: np.ndarray, group_size: int, *, scale: bool = True, eps: float = 1e-6) -> np.ndarray:
    """Return minus its group's mean (divided by the group's std with ``scale``); groups are consecutive.

    A group whose returns are all equal gets advantage 0 everywhere: it carries no learning signal.
    """
    if len(returns) % group_size:
        raise ValueError(f"{len(returns)} returns do not split into groups of {group_size}")
    grouped = np.asarray(returns, dtype=np.float64).reshape(-1, group_size)
    centred = grouped - grouped.mean(axis=1, keepdims=True)
    if scale:
        std = grouped.std(axis=1, keepdims=True)
        centred = np.where(std > eps, centred / np.maximum(std, eps), 0.0)
    return centred.reshape(-1)


def refinement_samples(records: Sequence[dict[str, Any]], agent: PolicyAgent, tokenizer: Any,
                       args: GRPOArgs) -> list[Sample]:
    """The right attempts that followed a critique on a wrong one, as extra samples (Critique-GRPO / LeTI).

    With ``refine_context="prompt"`` the sample is (problem → refined reply): the model is taught to give
    the refined answer at once. With ``"feedback"`` it is the episode up to and including the refined
    reply, failed attempt and critique in context (LeTI's feedback-conditioned objective). The refined
    reply's sampled token ids are reused in both cases.
    """
    samples = []
    for record in records:
        messages, sampled = agent.episode(record["key"], record["messages"])
        agent_indices = [i for i, m in enumerate(messages) if m.get("source") == "agent"]
        answers = [(i, step) for i, step in zip(agent_indices, record["steps"], strict=True)]
        for (_, before), (index, after) in itertools.pairwise(answers):
            if before["verdict"] is None or after["verdict"] is None:
                continue
            critique = (before.get("feedback") or {}).get("kind") in CRITIQUE_KINDS
            if critique and not before["verdict"]["correct"] and after["verdict"]["correct"]:
                if args.refine_context == "feedback":
                    context, ids = messages[: index + 1], {index: sampled[index]}
                    ids.update({i: sampled[i] for i in agent_indices if i < index})
                else:
                    head = len(messages) - len(record["messages"])  # the system prompt, if any
                    context = [*messages[: head + 1], messages[index]]
                    ids = {head + 1: sampled[index]}
                samples.append(Sample(encode_episode(tokenizer, context, ids), args.refine_weight, "refinement"))
    return samples


def accumulate_gradients(policy: Any, reference: Any, samples: Sequence[Sample], args: GRPOArgs,
                         device: torch.device) -> dict[str, float]:
    """Backpropagate ``-A · log π`` over agent tokens (+ KL), token-mean over the iteration; return statistics.

    Samples with advantage 0 are skipped when there is no KL term (their gradient is 0). The sum is
    divided by the agent tokens of *all* samples, so the step size does not depend on how many groups
    happened to carry signal.
    """
    total_tokens = max(1, sum(sample.tokens.agent_tokens for sample in samples))
    active = [s for s in samples if s.advantage != 0 or reference is not None]
    pg_sum = kl_sum = logp_sum = 0.0
    for start in range(0, len(active), args.micro_batch):
        chunk = active[start:start + args.micro_batch]
        input_ids, attention, mask = _pad(chunk, device)
        logps = token_logprobs(policy, input_ids, attention, args.temperature)
        advantages = torch.tensor([s.advantage for s in chunk], dtype=logps.dtype, device=device)[:, None]
        pg = -(advantages * logps * mask).sum()
        loss = pg
        if reference is not None:
            with torch.no_grad():
                ref_logps = token_logprobs(reference, input_ids, attention, args.temperature)
            delta = ref_logps - logps
            kl = ((torch.exp(delta) - delta - 1) * mask).sum()  # k3: unbiased, always >= 0
            loss = loss + args.kl_coef * kl
            kl_sum += float(kl.detach())
        (loss / total_tokens).backward()
        pg_sum += float(pg.detach())
        logp_sum += float((logps.detach() * mask).sum())
    return {"loss": (pg_sum + args.kl_coef * kl_sum) / total_tokens, "kl": kl_sum / total_tokens,
            "agent_tokens": total_tokens, "mean_logprob": logp_sum / total_tokens if active else 0.0,
            "trained_sequences": len(active)}


def _pad(samples: Sequence[Sample], device: torch.device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Right-padded ids, attention mask, and the loss mask aligned with next-token log-probs."""
    width = max(len(s.tokens.input_ids) for s in samples)
    ids = torch.zeros((len(samples), width), dtype=torch.long)
    attention = torch.zeros((len(samples), width), dtype=torch.long)
    mask = torch.zeros((len(samples), width), dtype=torch.float32)
    for row, sample in enumerate(samples):
        n = len(sample.tokens.input_ids)
        ids[row, :n] = torch.tensor(sample.tokens.input_ids)
        attention[row, :n] = 1
        mask[row, :n] = torch.tensor(sample.tokens.agent_mask, dtype=torch.float32)
    return ids.to(device), attention.to(device), mask[:, 1:].to(device)


def token_logprobs(model: Any, input_ids: torch.Tensor, attention: torch.Tensor, temperature: float) -> torch.Tensor:
    """log π(token t | tokens < t) for t = 1..n-1, under the sampling temperature; shape (batch, n-1)."""
    logits = model(input_ids=input_ids, attention_mask=attention).logits[:, :-1].float()
    if temperature > 0 and temperature != 1.0:
        logits = logits / temperature
    targets = input_ids[:, 1:]
    return logits.gather(-1, targets[..., None]).squeeze(-1) - torch.logsumexp(logits, dim=-1)


def _grad_norm(model: Any) -> float:
    norms = [p.grad.detach().norm() for p in model.parameters() if p.grad is not None]
    return float(torch.linalg.vector_norm(torch.stack(norms))) if norms else 0.0


def episode_metrics(records: Sequence[dict[str, Any]], returns: np.ndarray, advantages: np.ndarray,
                    group_size: int) -> dict[str, float]:
    """Training-batch statistics: return, success, first try, turns, repetition, groups without signal."""
    first = [bool(r["steps"]) and bool((r["steps"][0].get("verdict") or {}).get("correct")) for r in records]
    attempts = [s for r in records for s in r["steps"] if s.get("verdict") is not None]
    grouped = advantages.reshape(-1, group_size)
    return {
        "return": float(returns.mean()),
        "solved": float(np.mean([r["solved"] for r in records])),
        "first_try": float(np.mean(first)),
        "turns": float(np.mean([r["turns"] for r in records])),
        "repetition": sum(s.get("repeated", False) for s in attempts) / max(1, len(attempts)),
        "zero_signal_groups": float(np.mean(np.all(grouped == 0, axis=1))),
    }


def evaluate(args: GRPOArgs, agent: PolicyAgent) -> dict[str, float]:
    """Greedy episodes on held-out seeds: ``eval_first_try``, ``eval_success@k``, ``eval_succ_given_fail@k``..."""
    tick = time.perf_counter()
    records = evaluation_records(args, agent, args.eval_episodes)
    found = condition_metrics(records, max_turns=args.eval_turns or args.turns)
    found.pop("episodes", None)
    metrics = {f"eval_{name}": estimate.value for name, estimate in found.items() if estimate.value is not None}
    metrics["eval_s"] = time.perf_counter() - tick
    return metrics


def evaluation_records(args: GRPOArgs, agent: PolicyAgent, episodes: int) -> list[dict[str, Any]]:
    """The records of ``episodes`` greedy held-out episodes (reset seeds ``EVAL_SEED + i``), in seed order."""
    kwargs = args.env_kwargs_for(evaluation=True)
    specs = [EpisodeSpec(args.env, kwargs, EVAL_SEED + i, condition=kwargs["feedback"], key=f"eval/{i}")
             for i in range(episodes)]
    temperature, agent.temperature = agent.temperature, 0.0
    agent.start(seed=EVAL_SEED)
    try:
        by_key = {record["key"]: record for record in rollout(agent, specs, concurrency=len(specs))}
    finally:
        agent.temperature = temperature
    return [by_key[spec.key] for spec in specs]


class MetricsLog:
    """One row per iteration in ``OUT/metrics.csv`` (rewritten to add columns), TensorBoard, stdout."""

    def __init__(self, out: Path, args: GRPOArgs, first_iteration: int) -> None:
        self.path = out / "metrics.csv"
        self.quiet = args.quiet
        self.shown = ("return", "solved", "first_try", "loss", "kl", "eval_first_try",
                      f"eval_success@{args.eval_turns or args.turns}", "episodes_per_s", "tokens_per_s")
        self.rows: list[dict[str, Any]] = []
        if first_iteration and self.path.exists():  # resumed: keep the rows up to the checkpoint
            with self.path.open() as handle:
                self.rows = [row for row in csv.DictReader(handle) if int(row["iteration"]) <= first_iteration]
        self.writer = None
        if args.tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError as error:
                raise RuntimeError("tensorboard is not installed: pip install 'fbenv[train]', or pass "
                                   "--no-tensorboard") from error
            purge = first_iteration + 1 if first_iteration else None  # drop events of iterations to be redone
            self.writer = SummaryWriter(str(out / "tensorboard"), purge_step=purge)
        self._save()

    def write(self, iteration: int, metrics: dict[str, Any]) -> None:
        """Record one iteration's metrics everywhere."""
        row = {"iteration": iteration, **{k: round(v, 6) if isinstance(v, float) else v for k, v in metrics.items()}}
        self.rows.append(row)
        self._save()
        if self.writer is not None:
            for name, value in metrics.items():
                self.writer.add_scalar(name.replace("@", "_at_"), value, iteration)
            self.writer.flush()
        if not self.quiet:
            parts = [f"{name}={metrics[name]:.3g}" for name in self.shown if name in metrics]
            print(f"iteration {iteration}: " + " ".join(parts), flush=True)

    def _save(self) -> None:
        columns = list(dict.fromkeys(key for row in self.rows for key in row)) or ["iteration"]
        tmp = self.path.with_suffix(".csv.tmp")
        with tmp.open("w", newline="") as handle:
            writer = csv.DictWriter(handle, columns)
            writer.writeheader()
            writer.writerows(self.rows)
        os.replace(tmp, self.path)

    def close(self) -> None:
        """Flush and close TensorBoard."""
        if self.writer is not None:
            self.writer.close()


def checkpoint_dir(out: Path, iteration: int) -> Path:
    """``OUT/checkpoint-N``: the state after N iterations."""
    return out / f"checkpoint-{iteration}"


def save_checkpoint(out: Path, iteration: int, args: GRPOArgs, policy: Any, tokenizer: Any, optimizer: Any,
                    scheduler: Any) -> Path:
    """Model, tokenizer, optimizer, scheduler and RNG states, written to a temporary directory then renamed."""
    target = checkpoint_dir(out, iteration)
    tmp = out / f".checkpoint-{iteration}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    policy.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    state = {"iteration": iteration, "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
             "rng": {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state(),
                     "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None},
             "args": dataclasses.asdict(args)}
    torch.save(state, tmp / STATE_FILE)
    shutil.rmtree(target, ignore_errors=True)
    os.replace(tmp, target)
    kept = sorted(_checkpoints(out), key=lambda path: int(path.name.split("-")[1]))
    for old in kept[: -args.keep_checkpoints] if args.keep_checkpoints > 0 else []:
        shutil.rmtree(old, ignore_errors=True)
    return target


def _checkpoints(out: Path) -> list[Path]:
    return [p for p in out.glob("checkpoint-*") if p.name.split("-")[1].isdigit() and (p / STATE_FILE).is_file()]


def latest_checkpoint(out: Path) -> Path | None:
    """The newest complete checkpoint in ``out``, or None when there is none (training starts fresh)."""
    found = _checkpoints(out)
    return max(found, key=lambda path: int(path.name.split("-")[1])) if found else None


def read_trainer_state(path: Path, args: GRPOArgs) -> dict[str, Any]:
    """The trainer state saved in checkpoint ``path``, checked against ``args``.

    Raises:
        ValueError: the checkpoint was trained with other settings (the fields that differ are named).
    """
    state = torch.load(path / STATE_FILE, weights_only=False)
    saved, current = state["args"], dataclasses.asdict(args)
    differ = sorted(k for k in current if k not in RESUMABLE and saved.get(k) != current[k])
    if differ:
        raise ValueError(f"cannot resume from {path}: it was trained with other {', '.join(differ)} "
                         f"({', '.join(f'{k}={saved.get(k)!r}' for k in differ)}); use another --out or the same args")
    return state


def restore_trainer_state(state: dict[str, Any], optimizer: Any, scheduler: Any) -> int:
    """Restore optimizer, scheduler and RNG states; return the iterations already done."""
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    random.setstate(state["rng"]["python"])
    np.random.set_state(state["rng"]["numpy"])
    torch.set_rng_state(state["rng"]["torch"])
    if state["rng"]["cuda"] is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["rng"]["cuda"])
    return int(state["iteration"])


def plot_learning_curve(metrics_csv: Path, png: Path) -> Path:
    """Training return and success, and evaluation success@k, against iteration."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with metrics_csv.open() as handle:
        rows = list(csv.DictReader(handle))
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6))
    for name in ("return", "solved", "first_try"):
        points = [(int(r["iteration"]), float(r[name])) for r in rows if r.get(name) not in (None, "")]
        if points:
            left.plot(*zip(*points, strict=True), label=name)
    left.set(title="training episodes", xlabel="iteration")
    evals = sorted({k for r in rows for k in r if k.startswith("eval_success@") or k == "eval_first_try"},
                   key=lambda k: (k != "eval_first_try", k))
    for name in evals:
        points = [(int(r["iteration"]), float(r[name])) for r in rows if r.get(name) not in (None, "")]
        if points:
            right.plot(*zip(*points, strict=True), marker="o", label=name.removeprefix("eval_"))
    right.set(title="held-out episodes (greedy)", xlabel="iteration", ylim=(0, 1))
    for axes in (left, right):
        axes.grid(alpha=0.3)
        if axes.get_legend_handles_labels()[0]:
            axes.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(png, dpi=120)
    plt.close(figure)
    return png


# --- the command line: one flag per GRPOArgs field --------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    """``--field-name VALUE`` for every field (``--flag`` / ``--no-flag`` for booleans, JSON for dicts)."""
    parser = argparse.ArgumentParser(prog="python -m fbenv.agents.grpo", description=__doc__.split("\n\n")[0])
    defaults = GRPOArgs()
    for item in dataclasses.fields(GRPOArgs):
        flag = "--" + item.name.replace("_", "-")
        default = getattr(defaults, item.name)
        if isinstance(default, bool):
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=default)
        elif isinstance(default, dict):
            parser.add_argument(flag, type=parse_json_object, default=default, metavar="JSON")
        else:
            parser.add_argument(flag, type=type(default), default=default, required=item.name == "model")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse flags into :class:`GRPOArgs` and train."""
    namespace = build_parser().parse_args(argv)
    try:
        args = GRPOArgs(**vars(namespace))
        final = train(args)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"final checkpoint: {final}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
