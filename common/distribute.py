"""Data-parallel training with ``tf.distribute``: the ``train.strategy`` setting.

Three strategies (``STRATEGIES``):

- ``default``: no strategy object at all (``make_strategy`` returns ``None``). Training runs
  exactly as it did before this module existed — same ops, same random streams, bit-identical
  numbers and the same run ids (the default value is left out of the run identity, see
  :func:`strategy_field`).
- ``mirrored``: ``tf.distribute.MirroredStrategy`` over the visible GPUs, or over the logical
  CPU devices when there is no GPU (tests split the CPU with :func:`split_cpu`).
- ``multi_worker``: ``tf.distribute.MultiWorkerMirroredStrategy``; the cluster comes from the
  ``TF_CONFIG`` environment variable, checked first so a missing or malformed one is a
  ConfigError that says what to set, not a TensorFlow traceback. Keras 3.15's ``Model.fit``
  does not work under this strategy (``MULTI_WORKER_FIT_ISSUE``; reproduced here with two
  localhost workers), so for ``common.training.fit`` the setting stops with a ConfigError; own
  training loops (``strategy.run``) can ask for the strategy with ``for_keras_fit=False``.

The configured batch size is **per replica**: one optimiser step consumes
``global_batch(per_replica, strategy) = per_replica × replicas`` examples. With N replicas an
epoch therefore has about N times fewer steps, so a mirrored run is a different experiment
(different global batch, per-replica BatchNorm statistics) and gets its own run id.

TensorFlow is imported lazily: config modules import this one for :func:`strategy_field`.
"""
from __future__ import annotations

import contextlib
import json
import os
from typing import TYPE_CHECKING, Any, Literal

from common.config import added_setting
from common.errors import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    import tensorflow as tf

StrategyName = Literal["default", "mirrored", "multi_worker"]
STRATEGIES: tuple[str, ...] = ("default", "mirrored", "multi_worker")
DEFAULT_STRATEGY = "default"

# Keras 3 + MultiWorkerMirroredStrategy: Model.fit fails first in _maybe_symbolic_build
# (strategy.reduce of the (x, y) batch: "Attempt to convert a value (PerReplica ...) to a
# Tensor"), and, with that bypassed, in the cross-worker metric reduction
MULTI_WORKER_FIT_ISSUE = "keras-team/keras#20585"

# one strategy object per name and process: MultiWorkerMirroredStrategy must be created once,
# before other TensorFlow ops, and every model of a run must share the strategy it was built in
_CACHE: dict[str, Any] = {}


def strategy_field(default: str = DEFAULT_STRATEGY) -> Any:
    """A config dataclass field for ``train.strategy``: typed ``StrategyName`` in the class
    annotation, left out of the run identity while it holds the default (see module doc)."""
    return added_setting(default)


def check_strategy_name(name: str, key: str = "train.strategy") -> str:
    if name not in STRATEGIES:
        raise ConfigError(f"{key}: unknown strategy {name!r} (allowed: {', '.join(STRATEGIES)})")
    return name


def parse_tf_config(text: str | None = None, key: str = "TF_CONFIG") -> dict:
    """The cluster spec MultiWorkerMirroredStrategy reads, checked: JSON with
    ``cluster.worker`` (a non-empty list of ``host:port``) and ``task`` = ``{"type": "worker"
    or "chief", "index": i}`` pointing into that list. ``text`` defaults to ``$TF_CONFIG``."""
    if text is None:
        text = os.environ.get(key)
    example = ('e.g. TF_CONFIG=\'{"cluster": {"worker": ["host1:12345", "host2:12345"]}, '
               '"task": {"type": "worker", "index": 0}}\'')
    if not text:
        raise ConfigError(f"train.strategy=multi_worker needs the {key} environment variable "
                          f"(the cluster and this machine's place in it); {example}")
    try:
        spec = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{key} is not valid JSON ({exc}); {example}") from exc
    if not isinstance(spec, dict):
        raise ConfigError(f"{key} must be a JSON object; {example}")
    cluster = spec.get("cluster")
    if not isinstance(cluster, dict) or not cluster.get("worker") and not cluster.get("chief"):
        raise ConfigError(f"{key}: 'cluster' must map 'worker' (and optionally 'chief') to "
                          f"lists of host:port; {example}")
    for role, hosts in cluster.items():
        if (not isinstance(hosts, list) or not hosts
                or not all(isinstance(h, str) and ":" in h for h in hosts)):
            raise ConfigError(f"{key}: cluster.{role} must be a non-empty list of 'host:port' "
                              f"strings, got {hosts!r}")
    task = spec.get("task")
    if not isinstance(task, dict) or "type" not in task or "index" not in task:
        raise ConfigError(f"{key}: 'task' must be {{\"type\": ..., \"index\": ...}}; {example}")
    role, index = task["type"], task["index"]
    if role not in cluster:
        raise ConfigError(f"{key}: task.type {role!r} is not a role of the cluster "
                          f"({', '.join(cluster)})")
    if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < len(cluster[role]):
        raise ConfigError(f"{key}: task.index {index!r} is not an index into cluster.{role} "
                          f"(0..{len(cluster[role]) - 1})")
    return spec


def make_strategy(name: str, key: str = "train.strategy",
                  for_keras_fit: bool = True) -> tf.distribute.Strategy | None:
    """The strategy for ``name`` (see module doc); ``None`` for ``default``. Cached per process.
    ``for_keras_fit``: the caller trains with ``Model.fit`` (``common.training.fit``), which
    Keras 3.15 cannot run under ``multi_worker``: say so now, before any data is read."""
    check_strategy_name(name, key)
    if name == "default":
        return None
    if name == "multi_worker":
        parse_tf_config()  # before TensorFlow: a clear error instead of a hang or a traceback
        if for_keras_fit:
            raise ConfigError(f"{key}=multi_worker: Keras {_keras_version()} Model.fit does not "
                              f"run under MultiWorkerMirroredStrategy ({MULTI_WORKER_FIT_ISSUE}); "
                              "use train.strategy=mirrored on each machine's GPUs instead")
    if name not in _CACHE:
        import tensorflow as tf
        if name == "mirrored":
            devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
            _CACHE[name] = tf.distribute.MirroredStrategy([d.name for d in devices])
        else:
            _CACHE[name] = tf.distribute.MultiWorkerMirroredStrategy()
    return _CACHE[name]


def _keras_version() -> str:
    from importlib.metadata import version
    return version("keras")


def is_multi_worker(strategy) -> bool:
    import tensorflow as tf
    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)


def replicas(strategy: tf.distribute.Strategy | None) -> int:
    """Replicas that each take one slice of a global batch (1 without a strategy)."""
    return 1 if strategy is None else int(strategy.num_replicas_in_sync)


def global_batch(per_replica: int, strategy: tf.distribute.Strategy | None) -> int:
    """Examples per optimiser step: the configured per-replica batch times the replicas."""
    if per_replica < 1:
        raise ConfigError(f"batch size must be >= 1, got {per_replica}")
    return per_replica * replicas(strategy)


def scope(strategy: tf.distribute.Strategy | None):
    """``strategy.scope()``, or a context that does nothing for the default path (so the
    default builds its model exactly as before). Build AND compile the model inside it."""
    return contextlib.nullcontext() if strategy is None else strategy.scope()


def split_cpu(n: int) -> None:
    """Split the first physical CPU into ``n`` logical devices, so MirroredStrategy has ``n``
    replicas on a machine without GPUs. Must run before TensorFlow initialises its devices
    (before any op or device listing), hence tests call it at the top of a fresh subprocess."""
    import tensorflow as tf
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(n)])
    except RuntimeError as exc:
        raise RuntimeError("split_cpu must be called before TensorFlow initialises its devices "
                           "(run it first thing in a fresh process)") from exc
