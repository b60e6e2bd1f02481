"""Reproduction of seed report 000 (Hou, Radzikowski, Farid: "Fine-Tuning Using Grid Search &
Gradient Visualization", DCASE 2020 Task 4) in Keras 3.

The report has two halves, both built on the official DCASE 2020 Task 4 baselines (facts in
the spec ``fuss_desed.md``):

* **FUSS separation** (spec §1.1, §2.1, §4.1): the STFT-masking TDCN++ separation baseline —
  :mod:`.separation_layers` (STFT, layer norms, TDCN++ block, mixture consistency),
  :mod:`.separation_models` (the 4- and 3-source networks with expected parameter counts) and
  :mod:`.separation_loss` (permutation-invariant SNR-capped log-MSE). The official evaluation
  lives in :mod:`common.metrics.fuss` and ``repro evaluate fuss``.
* **DESED sound event detection** (spec §1.2, §2.2, §4.2): the mean-teacher CRNN baseline —
  :mod:`.sed_features`, :mod:`.sed_models`, :mod:`.mean_teacher`; the metrics in
  :mod:`common.metrics.desed` and ``repro evaluate desed``.

Each half has its own modules (``separation_*``, ``sed_*``: config block, pipeline stages,
table cells, analytic numbers, report sections); ``config.py``, ``pipeline.py``, ``cells.py``,
``analytic.py``, ``sections.py`` and ``recipe.py`` combine the two.
"""
