"""Report 001's feature presets: the seed report's librosa MFCCs (UrbanSound8K and TUT-SED
Synthetic 2016) and the Drossos et al. paper's log-mel energies, each spelled out in full
(``common.features`` extracts them; the cache key and the run record capture every field)."""
from __future__ import annotations

from common.features import LibrosaMfccConfig, LogMelConfig

# The seed report, monophonic (UrbanSound8K): librosa.feature.mfcc(y, sr=22050, n_mfcc=40) with
# the librosa defaults *of the seed's time* (March 2021, librosa 0.8): STFT centre padding
# was 'reflect' until librosa 0.9 made zero padding ('constant') the default. Everything
# else equals the librosa 0.11 defaults.
MONO_MFCC = LibrosaMfccConfig(
    sr=22050, n_mfcc=40, n_fft=2048, hop_length=512, win_length=2048, window="hann",
    center=True, pad_mode="reflect", n_mels=128, fmin=0.0, fmax=11025.0, power=2.0, htk=False,
    mel_norm="slaney", db_ref=1.0, db_amin=1e-10, db_top_db=80.0, dct_type=2,
    dct_norm="ortho", lifter=0.0)

# The seed report, polyphonic (TUT-SED Synthetic 2016): 40 MFCC from 40 mel bands, 20 ms
# window (440 samples) and 10 ms hop (220) at 22,050 Hz; other arguments librosa (0.8) defaults.
POLY_REPORT_MFCC = LibrosaMfccConfig(
    sr=22050, n_mfcc=40, n_fft=440, hop_length=220, win_length=440, window="hann",
    center=True, pad_mode="reflect", n_mels=40, fmin=0.0, fmax=11025.0, power=2.0, htk=False,
    mel_norm="slaney", db_ref=1.0, db_amin=1e-10, db_top_db=80.0, dct_type=2,
    dct_norm="ortho", lifter=0.0)

# The Drossos et al. paper / TUT-SED official features: 40 log-mel energies at 44.1 kHz, 40 ms Hamming
# window (1764 samples), 20 ms hop (882). Given by the spec: sr, window, win_length, hop,
# n_mels. ASSUMED (not stated anywhere we could read): n_fft 2048 (next power of two),
# power spectrum, natural log with a 1e-10 offset, full band 0-22,050 Hz, librosa's Slaney
# filters, centred frames with zero padding. Compare with the official features/*.cpickle
# before trusting numbers extracted with this preset.
POLY_PAPER_LOGMEL = LogMelConfig(
    sr=44100, n_fft=2048, hop_length=882, win_length=1764, window="hamming", center=True,
    pad_mode="constant", n_mels=40, fmin=0.0, fmax=22050.0, power=2.0, htk=False,
    mel_norm="slaney", scale="log", log_offset=1e-10, db_ref=None, db_amin=None,
    db_top_db=None)
