"""The suite's promise: bad input gets a clear error naming the file or key (issue 2, 'Done when')."""
import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from common.audio_io import load_audio
from common.config import config_from_dict
from common.errors import AudioError, ConfigError, DatasetError
from data_prep import datasets
from reproductions.swishnet.config import SwishNetConfig


def _wav(path, y, sr=16000, subtype="FLOAT"):
    sf.write(path, y, sr, subtype=subtype)
    return path


def test_corrupt_wav_names_the_file(tmp_path):
    p = tmp_path / "corrupt.wav"
    p.write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt garbage that is not audio")
    with pytest.raises(AudioError, match="corrupt.wav.*cannot"):
        load_audio(p)


def test_empty_wav_names_the_file(tmp_path):
    p = tmp_path / "empty.wav"
    p.write_bytes(b"")
    with pytest.raises(AudioError, match="empty.wav.*empty"):
        load_audio(p)
    q = _wav(tmp_path / "nosamples.wav", np.zeros(0, np.float32))
    with pytest.raises(AudioError, match="nosamples.wav.*no samples"):
        load_audio(q)


def test_nan_samples_name_the_file(tmp_path):
    y = np.random.default_rng(0).normal(size=1600).astype(np.float32)
    y[10] = np.nan
    p = _wav(tmp_path / "nan.wav", y)
    with pytest.raises(AudioError, match="nan.wav.*NaN"):
        load_audio(p)


def test_wrong_sample_rate_names_file_and_rates(tmp_path):
    y = np.random.default_rng(0).normal(size=800).astype(np.float32) * 0.1
    p = _wav(tmp_path / "rate.wav", y, sr=8000)
    with pytest.raises(AudioError, match=r"rate.wav.*8000 Hz, expected 16000"):
        load_audio(p, expected_sr=16000)


def test_missing_dataset_root_names_the_variable(monkeypatch, tmp_path):
    monkeypatch.delenv("MUSAN_ROOT", raising=False)
    musan = datasets.get("musan")
    with pytest.raises(DatasetError, match="MUSAN_ROOT"):
        musan.root(None, mini_if_unset=False)
    monkeypatch.setenv("MUSAN_ROOT", str(tmp_path / "nowhere"))
    with pytest.raises(DatasetError, match="nowhere"):
        musan.validate()


def test_missing_metadata_column_names_file_and_column(tmp_path):
    us8k = datasets.get("urbansound8k")
    (tmp_path / "metadata").mkdir()
    (tmp_path / "audio" / "fold1").mkdir(parents=True)
    pd.DataFrame({"slice_file_name": ["1-0-0-0.wav"], "fsID": [1], "start": [0.0],
                  "end": [1.0], "salience": [1], "fold": [1], "classID": [0]}
                 ).to_csv(tmp_path / "metadata" / "UrbanSound8K.csv", index=False)
    with pytest.raises(DatasetError, match=r"UrbanSound8K.csv.*class"):
        us8k.validate(tmp_path)


def test_unknown_config_key_is_named():
    with pytest.raises(ConfigError, match=r"train\.epochz"):
        config_from_dict(SwishNetConfig, {}, ["train.epochz=3"])
