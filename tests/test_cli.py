"""The ``convlens`` command: ``convlens demo`` runs the engine and every lens on real data."""

from __future__ import annotations

import subprocess
import sys

import pytest

from convlens.cli import main


def test_demo_reports_each_lens(capsys):
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "nan_policy='propagate': 196 NaN outputs" in out  # a 10x10 NaN block widened by the 5x5 window only
    assert "found at (110, 115)" in out  # the astronaut's face after the shift
    assert "error ~ samples^-0.5" in out
    for lens in ("spectrum:", "compress:", "diffusion:", "stochastic:", "matching:", "timeseries:"):
        assert lens in out


def test_unknown_subcommand_is_a_usage_error():
    with pytest.raises(SystemExit) as exc:
        main(["nope"])
    assert exc.value.code == 2


def test_python_dash_m_convlens_runs():
    res = subprocess.run([sys.executable, "-m", "convlens", "--help"], capture_output=True, text=True, check=True)
    assert "demo" in res.stdout
