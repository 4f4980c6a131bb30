"""pandas in, pandas out: the forecast index continues the series' index as statsmodels' does."""

from __future__ import annotations

import sys

import numpy as np


def forecast_index(series, steps: int):
    """(index of the ``steps`` forecasts, series name) for a pandas Series; (None, 'y') otherwise."""
    pd = sys.modules.get("pandas")  # a Series can only come from an imported pandas
    if pd is None or not isinstance(series, pd.Series):
        return None, "y"
    name = "y" if series.name is None else str(series.name)
    idx = series.index
    if isinstance(idx, (pd.DatetimeIndex, pd.PeriodIndex)):
        freq = idx.freq or (pd.infer_freq(idx) if idx.size >= 3 else None)
        if freq is not None:
            if isinstance(idx, pd.PeriodIndex):
                return pd.period_range(idx[-1], periods=steps + 1, freq=freq)[1:], name
            return pd.date_range(idx[-1], periods=steps + 1, freq=freq)[1:], name
    if isinstance(idx, pd.RangeIndex):
        return pd.RangeIndex(idx.stop, idx.stop + steps * idx.step, idx.step), name
    # statsmodels refuses other indexes at forecast time; positions are the honest continuation
    return pd.RangeIndex(idx.size, idx.size + steps), name


def wrap(values: np.ndarray, index, name: str):
    """``values`` as a Series on ``index`` (or as they are when there is no index)."""
    if index is None:
        return values
    import pandas as pd

    return pd.Series(values, index=index, name=name)
