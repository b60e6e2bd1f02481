"""CNN + VGGish fusion for DCASE2019 Task 5 (seed report 002, Tompkins & Nichols).

Facts: ``shared/specs/vggish_fusion.md``. This package holds the Keras models
(``models``, ``layers``) and the loader of the official VGGish weights
(``vggish_weights``); it has no ``recipe`` yet, so the paper counts as not implemented.
"""
