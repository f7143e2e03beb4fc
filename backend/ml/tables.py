"""Reading training tables (CSV, Parquet, JSON or a DataFrame) with errors people can act on."""

from __future__ import annotations

from pathlib import Path

import pandas as pd


class TrainerError(ValueError):
    """The training input or configuration is unusable; the message says what to fix."""


def load_table(source: str | Path | pd.DataFrame) -> pd.DataFrame:
    """The table in `source`: a DataFrame, or a .csv, .parquet/.pq or .json/.jsonl file."""
    if isinstance(source, pd.DataFrame):
        frame = source
        name = "the DataFrame"
    else:
        path = Path(source)
        name = str(path)
        if not path.exists():
            raise TrainerError(f"{name}: no such file")
        if path.stat().st_size == 0:
            raise TrainerError(f"{name}: the file is empty")
        suffix = path.suffix.lower()
        try:
            if suffix == ".csv":
                frame = pd.read_csv(path)
            elif suffix in (".parquet", ".pq"):
                frame = pd.read_parquet(path)
            elif suffix == ".jsonl":
                frame = pd.read_json(path, lines=True)
            elif suffix == ".json":
                frame = _read_json(path)
            else:
                raise TrainerError(f"{name}: unknown format {suffix!r} (use .csv, .parquet, .json)")
        except TrainerError:
            raise
        except pd.errors.EmptyDataError:
            raise TrainerError(f"{name}: the file is empty") from None
        except Exception as exc:  # noqa: BLE001 - any parser failure means "unreadable"
            raise TrainerError(f"{name}: cannot read it as {suffix[1:]}: {exc}") from None
    if frame.empty or len(frame.columns) == 0:
        raise TrainerError(f"{name}: the table has no rows")
    return frame


def _read_json(path: Path) -> pd.DataFrame:
    # Records ([{...}, ...]) is the common export; fall back to JSON lines.
    try:
        return pd.read_json(path, orient="records")
    except ValueError:
        return pd.read_json(path, lines=True)


def check_targets(frame: pd.DataFrame, targets: tuple[str, ...]) -> None:
    """Refuse missing, non-numeric or empty target columns, naming them."""
    if not targets:
        raise TrainerError("no target columns configured")
    missing = [t for t in targets if t not in frame.columns]
    if missing:
        raise TrainerError(
            f"target column(s) {missing} not in the table (columns: {list(frame.columns)})"
        )
    for target in targets:
        if not pd.api.types.is_numeric_dtype(frame[target]) or pd.api.types.is_bool_dtype(
            frame[target]
        ):
            raise TrainerError(f"target column {target!r} is not numeric ({frame[target].dtype})")
        if frame[target].isna().all():
            raise TrainerError(f"target column {target!r} has no values")
