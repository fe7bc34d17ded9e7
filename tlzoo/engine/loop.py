"""The training loop on HF Accelerate, written once for every task.

Batches are cut by :class:`LengthGroupedBatches` from a seed and the epoch alone, and each process
takes its slice of every global batch, so the data order does not depend on the number of
processes and a resumed run replays exactly the batches an uninterrupted run would see.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

import torch

from tlzoo.api import TlzooError
from tlzoo.engine import checkpoint, clipping
from tlzoo.engine.config import TrainConfig
from tlzoo.engine.data import LengthGroupedBatches, feature_lengths, model_columns
from tlzoo.engine.evaluation import EvalSet, evaluate_model
from tlzoo.engine.inference import run_forward
from tlzoo.engine.progress import JsonlLog, Progress
from tlzoo.engine.strategies import adamw, parameter_groups, unfreeze_for_epoch
from tlzoo.task import ForwardContext

STREAM_SHUFFLE_BUFFER = 10_000
"""Examples held for shuffling a streamed training set (``datasets``' buffer shuffle)."""


@dataclass
class LoopState:
    """Everything besides tensors that a resumed run needs; saved as JSON in each checkpoint."""

    step: int = 0
    epoch: int = 0
    batch_in_epoch: int = 0
    samples: int = 0
    train_seconds: float = 0.0
    best_metric: float | None = None
    best_checkpoint: str | None = None
    evals_without_improvement: int = 0
    last_eval_step: int = -1
    stopped_early: bool = False
    last_eval: dict[str, Any] = field(default_factory=dict)


class FitLoop:
    def __init__(self, task: Any, config: TrainConfig, model: Any, tokenizer: Any, state: dict,
                 train_features: Any, evaluation: EvalSet | None, output: Path, accelerator: Any) -> None:
        self.task, self.config, self.task_state = task, config, state
        self.accelerator = accelerator
        self.output = output
        self.evaluation = evaluation
        self.collator = task.collator(tokenizer, model)
        self.context = ForwardContext(tokenizer, task.options, config.max_length)
        self.best_outputs: list[Any] | None = None
        """The forward outputs of the best evaluation so far: the final pass over the validation set
        reuses them instead of forwarding it again (``None`` when the best predates a resume)."""
        self.columns = model_columns(model, train_features, task.feature_columns)
        self.train_rows = train_features.select_columns(self.columns)
        self.streaming = config.streaming
        if self.streaming:  # an IterableDataset: no length, so no length grouping and no epoch size
            self.batches = None
            self.micro_per_epoch = None
            self.steps_per_epoch = config.max_steps
        else:
            self.batches = LengthGroupedBatches(feature_lengths(train_features, task.length_column),
                                                config.batch_size, config.seed, group=config.group_by_length)
            self.micro_per_epoch = len(self.batches)
            self.steps_per_epoch = math.ceil(self.micro_per_epoch / config.grad_accum)
        self.total_steps = config.max_steps or math.ceil(config.epochs * self.steps_per_epoch)
        self.model = model
        self.loop_state = LoopState()
        optimizer = adamw(parameter_groups(model, config.learning_rate, config.weight_decay, config.llrd))
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, self._lr_factor)
        deepspeed = getattr(accelerator.state, "deepspeed_plugin", None)
        if deepspeed is not None:  # batches are cut here, not by a prepared DataLoader DeepSpeed could read
            deepspeed.deepspeed_config["train_micro_batch_size_per_gpu"] = max(
                1, config.batch_size // accelerator.num_processes)
        self.model, self.optimizer = accelerator.prepare(model, optimizer)
        self.clip_in_step = clipping.foldable(accelerator, self.optimizer)
        self.log = JsonlLog(output / "log.jsonl", enabled=accelerator.is_main_process)
        self.observers: list[Callable[[dict[str, Any]], None]] = []
        """Called with each training and evaluation record once it is logged (and the evaluation's checkpoint
        saved): the experiment tracker, ``tlzoo tune``'s pruning."""

    # -- helpers --------------------------------------------------------------------------
    def _lr_factor(self, step: int) -> float:
        """Linear warm-up then linear decay over the run, as in transformers' linear schedule.

        With a time budget (``max_minutes``) progress is the larger of the step and time
        fractions, so the rate reaches zero when the budget ends rather than at a step count
        the budget never reaches.
        """
        warmup = math.ceil(self.config.warmup_ratio * self.total_steps)
        budget = self.config.max_minutes * 60
        if budget:
            progress = max(step / self.total_steps, self.loop_state.train_seconds / budget)
            warm = self.config.warmup_ratio
            return progress / warm if progress < warm else max(0.0, (1 - progress) / max(1 - warm, 1e-9))
        if step < warmup:
            return step / max(1, warmup)
        return max(0.0, (self.total_steps - step) / max(1, self.total_steps - warmup))

    def epochs_done(self) -> float:
        """Passes over the training data so far (whole passes only when streaming: no known length)."""
        if self.streaming:
            return float(self.loop_state.epoch)
        return round(self.loop_state.step / self.steps_per_epoch, 3)

    @property
    def unwrapped(self) -> Any:
        return self.accelerator.unwrap_model(self.model)

    def _my_slice(self, rows: list[Any]) -> tuple[list[Any], float]:
        """This process's rows of a global batch, and the factor that weights their mean loss.

        Rows are split as evenly as possible, so each process gets one whenever the batch has as
        many rows as there are processes. DDP averages gradients over processes, so a mean loss
        over ``n`` of the batch's ``N`` rows is scaled by ``n * world / N``: the average is then
        the gradient of the mean over all ``N`` rows, as in one process. A process left with no
        row (a last batch smaller than the world) still runs forward and backward, on the first
        row with a factor of zero, because the gradient all-reduce needs every process.
        """
        world, rank = self.accelerator.num_processes, self.accelerator.process_index
        share, extra = divmod(len(rows), world)
        start = rank * share + min(rank, extra)
        mine = rows[start:start + share + (rank < extra)]
        if not mine:
            return rows[:1], 0.0
        return mine, len(mine) * world / len(rows)

    def _epoch_batches(self, epoch: int, start: int) -> Iterator[list[dict[str, Any]]]:
        """The global batches of ``epoch`` from batch ``start`` on, as lists of feature rows.

        Both kinds depend on the seed and epoch alone, so a resumed run replays the same batches.
        """
        size = self.config.batch_size
        if self.batches is None:
            stream = self.train_rows.shuffle(seed=self.config.seed, buffer_size=STREAM_SHUFFLE_BUFFER)
            stream.set_epoch(epoch)
            rows = iter(stream.skip(start * size))
            while batch := list(islice(rows, size)):
                yield batch
            return
        self.batches.set_epoch(epoch)
        for indices in self.batches.batches()[start:]:
            columns = self.train_rows[indices]
            yield [{c: columns[c][i] for c in self.columns} for i in range(len(indices))]

    def _batch(self, rows: list[dict[str, Any]]) -> dict[str, Any]:
        batch = self.collator(rows)
        return {k: v.to(self.accelerator.device) if hasattr(v, "to") else v for k, v in batch.items()}

    def resume(self) -> bool:
        """Restore the newest complete checkpoint, if any; True when the run resumes."""
        found = checkpoint.list_checkpoints(self.output)
        if not found:
            return False
        trainer_state = checkpoint.load_checkpoint(found[-1], self.unwrapped, self.optimizer, self.scheduler)
        self.loop_state = LoopState(**trainer_state)
        self.log.truncate_after(self.loop_state.step)
        return True

    def _save(self) -> Path | None:
        self.accelerator.wait_for_everyone()
        path = None
        model_state = self.accelerator.get_state_dict(self.model)  # gathers shards under FSDP/ZeRO-3
        if self.accelerator.is_main_process:
            from dataclasses import asdict

            path = checkpoint.save_checkpoint(self.output, self.loop_state.step, model_state,
                                              self.optimizer, self.scheduler, asdict(self.loop_state))
            best = Path(self.loop_state.best_checkpoint) if self.loop_state.best_checkpoint else None
            # While training the newest checkpoint (to resume from) and the best are kept whatever
            # --keep-checkpoints says; the run prunes to that number once the final model is written.
            checkpoint.prune(self.output, max(self.config.keep_checkpoints, 1), best)
        self.accelerator.wait_for_everyone()
        return path

    # -- evaluation -----------------------------------------------------------------------
    def evaluate(self) -> tuple[dict[str, Any], list[Any]]:
        """The metrics on the validation set, and the forward outputs they come from."""
        assert self.evaluation is not None
        outputs = run_forward(self.task, self.unwrapped, self.evaluation.features, self.collator,
                              self.config.eval_batch_size, self.context, self.accelerator)
        metrics = evaluate_model(self.task, self.unwrapped, self.evaluation, self.collator, self.context,
                                 self.task_state, self.config.eval_batch_size, self.accelerator, outputs=outputs,
                                 metrics=self.config.metric)
        return metrics, outputs

    def _evaluate_and_checkpoint(self) -> None:
        st = self.loop_state
        metrics, outputs = self.evaluate() if self.evaluation is not None else ({}, None)
        improved = False
        record: dict[str, Any] = {}
        if metrics:
            value = metrics[self.task.primary_metric]
            better = (st.best_metric is None or (value > st.best_metric if self.task.greater_is_better
                                                  else value < st.best_metric))
            improved = bool(better)
            if improved:
                st.best_metric, st.evals_without_improvement = value, 0
            else:
                st.evals_without_improvement += 1
            st.last_eval, st.last_eval_step = metrics, st.step
            record = self.log.write(event="eval", step=st.step, epoch=self.epochs_done(),
                                    **{f"eval_{k}": v for k, v in metrics.items() if isinstance(v, (int, float))})
            if not self.config.quiet and self.accelerator.is_main_process:
                shown = ", ".join(f"{k} {v:.4f}" for k, v in metrics.items() if isinstance(v, float))
                print(f"step {st.step}: {shown}", flush=True)
        if improved:
            st.best_checkpoint = str(self.output / checkpoint.CHECKPOINTS / f"step-{st.step:07d}")
            self.best_outputs = outputs
        self._save()
        patience = self.config.early_stopping_patience
        if patience and st.evals_without_improvement >= patience:
            st.stopped_early = True
        if record:
            self.notify(record)

    def notify(self, record: dict[str, Any]) -> None:
        """Pass a logged ``record`` to the observers (trackers, tune's pruner)."""
        for observer in self.observers:
            observer(record)

    # -- training -------------------------------------------------------------------------
    def fit(self) -> LoopState:
        config, st = self.config, self.loop_state
        eval_steps = int(config.eval_every) if str(config.eval_every).isdigit() else 0
        eval_epochs = config.eval_every == "epoch"
        progress = Progress(self.total_steps, "train", config.quiet or not self.accelerator.is_main_process,
                            initial=st.step)
        self.model.train()
        self._clock_start = time.perf_counter() - st.train_seconds
        budget = config.max_minutes * 60
        while st.step < self.total_steps and not st.stopped_early:
            if config.strategy == "gradual":
                unfreeze_for_epoch(self.unwrapped, st.epoch)
            batches = self._epoch_batches(st.epoch, st.batch_in_epoch)
            epoch_done = False
            while st.step < self.total_steps:
                group = list(islice(batches, config.grad_accum))
                if not group:
                    epoch_done = True
                    break
                loss_value = self._optimizer_step(group)
                st.batch_in_epoch += len(group)
                st.step += 1
                st.samples += sum(len(b) for b in group)
                st.train_seconds = time.perf_counter() - self._clock_start
                rate = st.samples / max(st.train_seconds, 1e-9)
                lr = self.scheduler.get_last_lr()[-1]
                progress.update(1, loss=f"{loss_value:.4f}", lr=f"{lr:.2e}", samples_s=f"{rate:.1f}")
                if st.step % max(config.logging_steps, 1) == 0 or st.step == self.total_steps:
                    self.notify(self.log.write(event="train", step=st.step, epoch=self.epochs_done(), loss=loss_value,
                                                learning_rate=lr, samples_per_second=round(rate, 2)))
                out_of_time = budget and st.train_seconds >= budget
                if out_of_time:
                    self.total_steps = st.step
                if eval_steps and st.step % eval_steps == 0:
                    self._timed(self._evaluate_and_checkpoint)
                elif config.save_every and st.step % config.save_every == 0:
                    self._timed(self._save)
                if self.micro_per_epoch is not None and st.batch_in_epoch >= self.micro_per_epoch:
                    epoch_done = True
                if st.stopped_early or out_of_time or epoch_done:
                    break
            if epoch_done:
                st.epoch += 1
                st.batch_in_epoch = 0
                if eval_epochs and not st.stopped_early:
                    self._timed(self._evaluate_and_checkpoint)
        progress.close()
        if self.evaluation is not None and st.last_eval_step != st.step:
            self._timed(self._evaluate_and_checkpoint)
        self._load_best()
        return st

    def _timed(self, action: Any) -> None:
        """Run an evaluation or save without counting its time as training time."""
        paused = time.perf_counter()
        action()
        self._clock_start += time.perf_counter() - paused

    def _optimizer_step(self, group: list[list[dict[str, Any]]]) -> float:
        """One optimizer step over ``group`` (global batches); returns the loss over all processes."""
        total = 0.0
        for index, rows in enumerate(group):
            mine, weight = self._my_slice(rows)
            batch = self._batch(mine)
            last = index == len(group) - 1
            with nullcontext() if last else self.accelerator.no_sync(self.model):
                with self.accelerator.autocast():
                    loss = self.task.loss(self.model, batch)
                if not torch.isfinite(loss):
                    self._stop_on_nan()
                self.accelerator.backward(loss * weight / len(group))
            total += loss.item() * weight / len(group)
        if self.accelerator.num_processes > 1:
            total = self.accelerator.reduce(torch.tensor(total, device=self.accelerator.device), "mean").item()
        if self.config.max_grad_norm:
            if self.clip_in_step:
                clipping.clip_in_step(self.optimizer, self.config.max_grad_norm)
            else:
                self.accelerator.clip_grad_norm_(self.model.parameters(), self.config.max_grad_norm)
        self.optimizer.step()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        return total

    def _stop_on_nan(self) -> None:
        found = checkpoint.list_checkpoints(self.output)
        kept = f"the last good checkpoint is {found[-1]}" if found else "no checkpoint had been written yet"
        raise TlzooError(f"training loss became NaN/inf at step {self.loop_state.step + 1}; stopped, {kept}. "
                         f"Try a lower --learning-rate or --precision fp32")

    def release_training_state(self) -> None:
        """Free what only training needs, once :meth:`fit` is done: the gradients and the optimizer's moments
        (two fp32 copies of the trained weights), then return the freed heap to the system."""
        from tlzoo.engine.memory import release_heap

        self.optimizer.zero_grad(set_to_none=True)
        inner = getattr(self.optimizer, "optimizer", self.optimizer)  # Accelerate wraps the torch optimizer
        if isinstance(inner, torch.optim.Optimizer):
            inner.state.clear()
        release_heap()

    def _load_best(self) -> None:
        best = self.loop_state.best_checkpoint
        if not best or best.endswith(f"step-{self.loop_state.step:07d}"):
            return
        if Path(best).is_dir():
            from safetensors.torch import load_file

            self.unwrapped.load_state_dict(load_file(str(Path(best) / "model.safetensors")))
        else:
            self.best_outputs = None  # the model kept is not the one these outputs came from

