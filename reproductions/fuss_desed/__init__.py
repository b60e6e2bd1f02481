"""Reproduction of seed report 000 (Hou, Radzikowski, Farid, DCASE 2020 Task 4) in Keras 3.

Two halves share this package (facts in ``/work/shared/specs/fuss_desed.md``):

- FUSS universal sound separation (TDCN++ masking baseline, ``separation_*`` modules);
- DESED sound event detection (mean-teacher CRNN baseline, ``sed_*`` and
  :mod:`reproductions.fuss_desed.mean_teacher`).
"""
