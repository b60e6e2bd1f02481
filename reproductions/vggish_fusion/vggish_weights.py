"""Official VGGish weights and PCA post-processing, from files the user gives.

No package ships the AudioSet VGGish weights (they are downloaded at install or run time, which
our machines cannot do: shared stack notes), so the suite reads the two official files when a
user provides them:

* ``VGGISH_CHECKPOINT`` — the TF1 checkpoint ``vggish_model.ckpt``. Read with
  ``tf.train.load_checkpoint`` and mapped **by variable name**: every Keras layer of
  :func:`models.vggish` takes ``<scope>/weights`` and ``<scope>/biases`` of its TF1 scope
  (:data:`models.VGGISH_CHECKPOINT_SCOPES`). slim's conv weights are (3, 3, in, out) and its
  fully-connected weights (in, out), which are Keras' kernel layouts, so nothing is transposed.
* ``VGGISH_PCA`` — ``vggish_pca_params.npz`` with ``pca_eigen_vectors`` (128, 128) and
  ``pca_means`` (128,). :func:`postprocess` is the official ``Postprocessor.postprocess`` (spec
  §2.2): subtract the means, premultiply by the eigenvector matrix, clip to [−2, 2], and with
  ``quantize`` map to [0, 255] and cast to uint8 (truncation, as ``astype(np.uint8)`` does).

Without the files, :func:`fit_pca_params` gives a whitening PCA fitted on our own embeddings:
clearly *not* the official parameters, and callers must say so.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np

from common.errors import DatasetError
from reproductions.vggish_fusion.models import (
    VGGISH_CHECKPOINT_SCOPES,
    VGGISH_DIM,
    vggish,
)

CHECKPOINT_ENV = "VGGISH_CHECKPOINT"
PCA_ENV = "VGGISH_PCA"
PCA_EIGEN_VECTORS = "pca_eigen_vectors"
PCA_MEANS = "pca_means"
QUANTIZE_MIN, QUANTIZE_MAX = -2.0, 2.0


def _given_path(path: str | Path | None, env: str) -> Path | None:
    value = str(path) if path is not None else os.environ.get(env, "").strip()
    return Path(value).expanduser() if value else None


def checkpoint_path(path: str | Path | None = None) -> Path | None:
    """The checkpoint to use: ``path``, else ``$VGGISH_CHECKPOINT``, else None (not given).
    A given path must exist (a V1 single file or a V2 prefix with its ``.index``)."""
    found = _given_path(path, CHECKPOINT_ENV)
    if found is None:
        return None
    if not (found.is_file() or Path(f"{found}.index").is_file()):
        raise DatasetError(f"{CHECKPOINT_ENV}: VGGish checkpoint {found} not found (neither the "
                           "file nor its .index)")
    return found


def pca_path(path: str | Path | None = None) -> Path | None:
    """The PCA parameters to use: ``path``, else ``$VGGISH_PCA``, else None (not given)."""
    found = _given_path(path, PCA_ENV)
    if found is not None and not found.is_file():
        raise DatasetError(f"{PCA_ENV}: VGGish PCA parameters {found} not found")
    return found


def checkpoint_variables(path: str | Path) -> dict[str, tuple[int, ...]]:
    """Variable name -> shape of a TF checkpoint (what the loader maps from)."""
    import tensorflow as tf

    try:
        reader = tf.train.load_checkpoint(str(path))
    except (ValueError, tf.errors.OpError) as err:
        raise DatasetError(f"{path}: not a readable TensorFlow checkpoint ({err})") from None
    return {name: tuple(int(d) for d in shape)
            for name, shape in reader.get_variable_to_shape_map().items()}


def load_vggish_checkpoint(model: keras.Model, path: str | Path) -> list[str]:
    """Assign the official checkpoint's variables to ``model`` (built by ``models.vggish``) by
    name; returns the variable names used. A missing variable or a shape mismatch is an error
    naming the variable and the file; nothing is assigned unless every variable is valid."""
    import tensorflow as tf

    shapes = checkpoint_variables(path)
    reader = tf.train.load_checkpoint(str(path))
    plan = []
    for layer_name, scope in VGGISH_CHECKPOINT_SCOPES.items():
        layer = model.get_layer(layer_name)
        for suffix, weight in (("weights", layer.kernel), ("biases", layer.bias)):
            plan.append((f"{scope}/{suffix}", layer_name, weight))
    # Names first (a wrong file shows as missing names), then shapes (a wrong model variant).
    for name, layer_name, _ in plan:
        if name not in shapes:
            raise DatasetError(f"{path}: checkpoint has no variable {name!r} (for layer "
                               f"{layer_name!r}); is this the official vggish_model.ckpt?")
    for name, layer_name, weight in plan:
        if shapes[name] != tuple(weight.shape):
            raise DatasetError(f"{path}: variable {name!r} has shape {shapes[name]}, layer "
                               f"{layer_name!r} expects {tuple(weight.shape)}")
    for name, _, weight in plan:
        weight.assign(reader.get_tensor(name))
    return [name for name, _, _ in plan]


def vggish_from_checkpoint(path: str | Path | None = None, **kwargs) -> keras.Model:
    """A frozen VGGish with the official weights (path or ``$VGGISH_CHECKPOINT``)."""
    found = checkpoint_path(path)
    if found is None:
        raise DatasetError(f"no VGGish checkpoint given: set {CHECKPOINT_ENV} to the official "
                           "vggish_model.ckpt")
    model = vggish(**kwargs)
    load_vggish_checkpoint(model, found)
    return model


# --------------------------------------------------------------------------------------------
# PCA post-processing


@dataclass(frozen=True)
class PCAParams:
    """``eigenvectors`` (128, 128): rows are output dims (premultiplied, as the official
    ``_pca_matrix``); ``means`` (128,). ``official`` says whether they came from the npz."""
    eigenvectors: np.ndarray
    means: np.ndarray
    official: bool


def load_pca_params(path: str | Path | None = None) -> PCAParams:
    """The official ``vggish_pca_params.npz`` (path or ``$VGGISH_PCA``), shapes checked."""
    found = pca_path(path)
    if found is None:
        raise DatasetError(f"no VGGish PCA parameters given: set {PCA_ENV} to the official "
                           "vggish_pca_params.npz")
    try:
        data = np.load(found)
    except (OSError, ValueError) as err:
        raise DatasetError(f"{found}: not a readable .npz ({err})") from None
    for key in (PCA_EIGEN_VECTORS, PCA_MEANS):
        if key not in data:
            raise DatasetError(f"{found}: missing array {key!r} (has {sorted(data.files)})")
    matrix = np.asarray(data[PCA_EIGEN_VECTORS])
    means = np.asarray(data[PCA_MEANS]).reshape(-1)
    if matrix.shape != (VGGISH_DIM, VGGISH_DIM):
        raise DatasetError(f"{found}: {PCA_EIGEN_VECTORS!r} has shape {matrix.shape}, expected "
                           f"({VGGISH_DIM}, {VGGISH_DIM})")
    if means.shape != (VGGISH_DIM,):
        raise DatasetError(f"{found}: {PCA_MEANS!r} has {means.size} values, expected "
                           f"{VGGISH_DIM}")
    return PCAParams(matrix, means, official=True)


def fit_pca_params(embeddings: np.ndarray, epsilon: float = 1e-6) -> PCAParams:
    """A whitening PCA fitted on ``embeddings`` (N, 128) — the stand-in when the official
    parameters are not given (the official matrix also whitens). Eigenvectors are ordered by
    decreasing variance, each with its largest-magnitude entry made positive (deterministic)."""
    x = np.asarray(embeddings, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != VGGISH_DIM or x.shape[0] < 2:
        raise ValueError(f"fit_pca_params needs (N ≥ 2, {VGGISH_DIM}) embeddings, got {x.shape}")
    means = x.mean(axis=0)
    values, vectors = np.linalg.eigh(np.cov(x - means, rowvar=False))
    order = np.argsort(values)[::-1]
    values, vectors = values[order], vectors[:, order]
    signs = np.sign(vectors[np.abs(vectors).argmax(axis=0), np.arange(VGGISH_DIM)])
    vectors = vectors * np.where(signs == 0, 1.0, signs)
    matrix = (vectors / np.sqrt(np.maximum(values, 0.0) + epsilon)).T
    return PCAParams(matrix, means, official=False)


def postprocess(embeddings: np.ndarray, params: PCAParams, quantize: bool = True) -> np.ndarray:
    """Official VGGish post-processing of a (N, 128) batch: PCA, clip to [−2, 2], and with
    ``quantize`` 8-bit quantisation to uint8 0..255 (else the clipped floats)."""
    batch = np.asarray(embeddings)
    if batch.ndim != 2 or batch.shape[1] != VGGISH_DIM:
        raise ValueError(f"postprocess expects (N, {VGGISH_DIM}) embeddings, got {batch.shape}")
    # Same expression as the official code (matrix · (xᵀ − means))ᵀ, for identical rounding.
    pca_applied = np.dot(params.eigenvectors, batch.T - params.means.reshape(-1, 1)).T
    clipped = np.clip(pca_applied, QUANTIZE_MIN, QUANTIZE_MAX)
    if not quantize:
        return clipped
    scaled = (clipped - QUANTIZE_MIN) * (255.0 / (QUANTIZE_MAX - QUANTIZE_MIN))
    return scaled.astype(np.uint8)
