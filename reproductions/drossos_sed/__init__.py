"""Reproduction of seed report 001 (Prinzivalle, "Implementation of SED with Depthwise
Separable and Dilated Convolutions", after Drossos et al. 2020, DnD-SED) in Keras 3.

Models live in :mod:`reproductions.drossos_sed.models`; the research facts they follow are in
``/work/shared/specs/drossos_sed.md``.
"""
