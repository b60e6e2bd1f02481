from dataclasses import dataclass, field

import pytest

from common.config import config_from_dict, dump_config, load_config
from common.errors import ConfigError


@dataclass(frozen=True)
class Opt:
    lr: float = 1e-3
    name: str = "adam"


@dataclass(frozen=True)
class Cfg:
    epochs: int = 10
    clip_seconds: tuple[float, ...] = (0.5, 1.0)
    split: str = "clip"
    optimizer: Opt = field(default_factory=Opt)
    denoise: bool = False


def test_defaults_and_types():
    cfg = config_from_dict(Cfg, {"epochs": "12", "clip_seconds": [2]})
    assert cfg.epochs == 12 and cfg.clip_seconds == (2.0,)


def test_unknown_top_level_key_is_named():
    with pytest.raises(ConfigError, match="epoch_count"):
        config_from_dict(Cfg, {"epoch_count": 3})


def test_unknown_nested_key_is_named_with_its_path():
    with pytest.raises(ConfigError, match=r"optimizer\.momentum"):
        config_from_dict(Cfg, {"optimizer": {"momentum": 0.9}})


def test_override_sets_nested_values_and_rejects_unknown():
    cfg = config_from_dict(Cfg, {}, ["optimizer.lr=5e-4", "denoise=true", "clip_seconds=[2.0]"])
    assert cfg.optimizer.lr == 5e-4 and cfg.denoise is True and cfg.clip_seconds == (2.0,)
    with pytest.raises(ConfigError, match="optimizer.lrr"):
        config_from_dict(Cfg, {}, ["optimizer.lrr=1"])


def test_wrong_type_names_key():
    with pytest.raises(ConfigError, match="epochs"):
        config_from_dict(Cfg, {"epochs": "many"})


def test_yaml_file_errors_name_the_file(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("epochs: 3\nbogus: 1\n")
    with pytest.raises(ConfigError, match=r"c\.yaml.*bogus"):
        load_config(Cfg, p)


def test_dump_round_trip(tmp_path):
    cfg = config_from_dict(Cfg, {"epochs": 4})
    p = tmp_path / "r.yaml"
    p.write_text(dump_config(cfg))
    assert load_config(Cfg, p) == cfg
