"""Tests of `dgp.settings`: one home per setting, flags and checks derived from the fields."""

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest

from dgp.cli import build_parser
from dgp.reconstruction import ReconstructionConfig
from dgp.settings import SettingError, check_settings, flag_name, settings_table
from image_priors.fit import ImageFitConfig


def _flags(parser, command):
    sub = next(a for a in parser._actions if a.dest == "command").choices[command]
    return {opt: action for action in sub._actions for opt in action.option_strings}


def test_every_setting_has_help_and_a_flag_with_its_default():
    flags = _flags(build_parser(), "reconstruct")
    for f in dataclasses.fields(ReconstructionConfig):
        assert f.metadata.get("help"), f"{f.name} has no help text"
        if f.metadata["cli"]:
            action = flags[flag_name(f.name)]
            # argparse's help is %-format text: a literal % is doubled there
            assert action.default == f.default and f.metadata["help"].replace("%", "%%") in action.help


def test_export_takes_the_output_settings_defaulting_to_the_saved_ones():
    flags = _flags(build_parser(), "export")
    output = [f.name for f in dataclasses.fields(ReconstructionConfig) if f.metadata.get("group") == "output"]
    assert output and all(flags[flag_name(n)].default is None for n in output)
    assert "--local-steps" not in flags


def test_the_fitting_settings_are_inherited_not_copied():
    from dgp.fit import ChartFitConfig

    names = [f.name for f in dataclasses.fields(ChartFitConfig)]
    cfg = ReconstructionConfig(local_steps=7, lr=0.01, matching="lsa", normal_weight=0.0, lr_schedule="constant")
    fit = cfg.fit_config()
    assert isinstance(cfg, ChartFitConfig) and [f.name for f in dataclasses.fields(fit)] == names
    assert fit.local_steps == 7 and fit.matching == "lsa"


@pytest.mark.parametrize(
    "changes, setting",
    [
        ({"radius": -1.0}, "radius"),
        ({"matching": "hungarian"}, "matching"),
        ({"widths": (3, 8, 3)}, "widths"),
        ({"min_density": 1.0}, "min_density"),
        ({"min_points": 30, "max_points": 10}, "max_points"),
    ],
)
def test_library_errors_name_the_setting_not_a_flag(changes, setting):
    with pytest.raises(SettingError) as err:
        ReconstructionConfig(**changes).validate()
    assert err.value.setting == setting and "--" not in str(err.value)
    assert err.value.as_flag().startswith(flag_name(setting))


def test_image_fit_settings_are_checked():
    with pytest.raises(SettingError, match="stop must be"):
        check_settings(ImageFitConfig(stop="never"))
    assert check_settings(ImageFitConfig()).steps == 2000


def test_the_cli_names_the_flag(tmp_path):
    scan = Path(__file__).resolve().parents[2] / "data" / "bunny_noisy.ply"
    proc = subprocess.run(
        [sys.executable, "-m", "dgp.cli", "reconstruct", scan, "-o", tmp_path / "x.ply", "--tau", "0"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2 and "--tau must be positive, got 0.0" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_settings_table_lists_every_field():
    table = settings_table(ReconstructionConfig)
    assert all(f"`{f.name}`" in table for f in dataclasses.fields(ReconstructionConfig))


def test_radius_auto_is_the_default_and_a_flag_value():
    import argparse

    from dgp.reconstruction import ReconstructionConfig
    from dgp.settings import add_arguments

    ap = argparse.ArgumentParser()
    add_arguments(ap, ReconstructionConfig)
    assert ap.parse_args([]).radius == 0 == ReconstructionConfig().radius
    assert ap.parse_args(["--radius", "auto"]).radius == 0
    assert ap.parse_args(["--radius", "0.02"]).radius == 0.02
