"""CNN + VGGish fusion for DCASE2019 Task 5 (seed report 002, Tompkins & Nichols).

Facts: ``shared/specs/vggish_fusion.md``. Keras models (``models``, ``layers``), the loader of
the official VGGish weights (``vggish_weights``), features, training and the runner contract
(``recipe``); see README.md.
"""
