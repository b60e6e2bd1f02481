"""Reproduction of seed report 003 (Lee, Choi, Byun, Chang; HYU, DCASE 2022 Task 1):
BC-Res2Net with frequency-channel attention (MFA) and a feature pyramid module (FPM) for
low-complexity acoustic scene classification, with device-aware data-random-drop fine-tuning.

Building blocks live in :mod:`reproductions.bcres2net_asc.layers`, the networks and their
variant registry (expected parameter counts) in :mod:`reproductions.bcres2net_asc.models`,
the complexity figures under the published rules in
:mod:`reproductions.bcres2net_asc.complexity`. Facts: ``/work/shared/specs/bcres2net_asc.md``.
"""
