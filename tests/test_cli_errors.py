"""CLI errors: impossible numbers stop at argparse naming the flag; bad files end in one line and exit 1."""

import argparse

import pytest

from pose_regressor_node.__main__ import main
from pose_regressor_node.cli_args import int_between, non_negative_float, non_negative_int, positive_float, positive_int


@pytest.mark.parametrize("parse, text, value", [
    (positive_int, "3", 3), (non_negative_int, "0", 0), (positive_float, "0.5", 0.5),
    (non_negative_float, "0", 0.0), (int_between(1, 6), "6", 6),
])
def test_accepts_values_in_range(parse, text, value):
    assert parse(text) == value


@pytest.mark.parametrize("parse, text, says", [
    (positive_int, "0", "an integer > 0, got 0"), (positive_int, "1.5", "an integer > 0, got '1.5'"),
    (non_negative_int, "-1", "an integer >= 0, got -1"), (positive_float, "-2", "> 0, got -2"),
    (positive_float, "nan", "got 'nan'"), (positive_float, "inf", "got 'inf'"),
    (non_negative_float, "-0.1", ">= 0, got -0.1"), (int_between(1, 6), "7", "from 1 to 6, got 7"),
])
def test_refuses_values_out_of_range(parse, text, says):
    with pytest.raises(argparse.ArgumentTypeError, match="must be") as err:
        parse(text)
    assert says in str(err.value)


@pytest.mark.parametrize("argv, flag", [
    (["sim", "--out", "x", "--camera-rate", "0"], "--camera-rate"),  # divided by zero in the renderer
    (["sim", "--out", "x", "--duration", "-1"], "--duration"),
    (["bench", "m.pt", "--iterations", "0"], "--iterations"),  # an empty percentile
    (["demo", "--rate", "0"], "--rate"),
    (["replay", "bag", "--model", "m.pt", "--batch", "0"], "--batch"),
    (["extract", "bag", "--out", "x", "--every", "0"], "--every"),
    (["train", "--dataroot", "x", "--lr", "0"], "--lr"),
    (["distill", "--dataroot", "x", "--T_path", "t.pt", "--CSmodule", "3", "7"], "--CSmodule"),
])
def test_commands_name_the_bad_flag_and_exit_2(argv, flag, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # nothing may be written even if a command ran
    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 2
    assert f"argument {flag}: must be" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("argv, says", [
    (["sim", "--out", "taken"], "File exists: 'taken'"),  # an output folder that is a file: the OS's error
    (["extract", "notes.txt", "--out", "x"], "notes.txt is not a bag"),
    (["extract", "empty", "--out", "x"], "empty is not a bag"),  # a folder without metadata.yaml
])
def test_unusable_paths_are_one_line_and_exit_1(argv, says, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "taken").write_text("a file")
    (tmp_path / "notes.txt").write_text("not a bag")
    (tmp_path / "empty").mkdir()
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and says in err and "Traceback" not in err
