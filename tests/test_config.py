"""The trial configuration: another file than the shipped one must have every setting it has."""

import pytest
import yaml

from pipeline import config


def _shipped() -> dict:
    return yaml.safe_load(config.DEFAULT_CONFIG_PATH.read_text(encoding="utf-8"))


def test_an_older_copy_is_refused_with_every_missing_setting_named(tmp_path):
    cfg = _shipped()
    del cfg["qa"]
    del cfg["ops"]["killed_loads_check_seconds"]
    del cfg["reports"]["dpi"]
    path = tmp_path / "old_copy.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False), encoding="utf-8")
    with pytest.raises(config.ConfigError) as refused:
        config.trial_config(path)
    assert str(refused.value) == (
        f"{path} lacks qa, reports.dpi, ops.killed_loads_check_seconds, which {config.DEFAULT_CONFIG_PATH} has: "
        "copy them into it, with this trial's values")


def test_a_complete_copy_with_its_own_data_loads(tmp_path):
    cfg = _shipped()
    cfg["trial"]["drugs"] = {"DOXORUBICIN": {"days": [1], "levels": [75, 60]}}  # data keys, not settings
    cfg["trial"]["studyid"] = "NCT00000000"
    path = tmp_path / "other_trial.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False), encoding="utf-8")
    loaded = config.trial_config(path)
    assert loaded["trial"]["studyid"] == "NCT00000000" and list(loaded["trial"]["drugs"]) == ["DOXORUBICIN"]
    assert config.missing_settings(loaded, _shipped()) == []


def test_trialwh_says_what_to_mend_and_exits_2(tmp_path, monkeypatch, capsys):
    from pipeline.cli import main

    cfg = _shipped()
    del cfg["ops"]["killed_loads_check_seconds"]
    path = tmp_path / "old_copy.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False), encoding="utf-8")
    monkeypatch.setenv("TRIALWH_CONFIG", str(path))
    assert main(["load", "--home", str(tmp_path / "wh")]) == 2
    err = capsys.readouterr().err
    assert err == f"trialwh: {path} lacks ops.killed_loads_check_seconds, which {config.DEFAULT_CONFIG_PATH} has: " \
                  "copy them into it, with this trial's values\n"
    assert not (tmp_path / "wh" / "build").exists()
