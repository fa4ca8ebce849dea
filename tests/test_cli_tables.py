"""The CLI's table writer: numpy columns written in blocks read exactly as rows written one by one."""

import csv
import io
from pathlib import Path

import numpy as np
import pytest

import graphae.cli.common as common
from graphae.cli.common import UserError, write_columns, write_table

Z = np.array(
    [[0.1, -0.0, 1e-5], [np.nan, np.inf, -np.inf], [3.4028235e38, 1e-45, 123456.79], [1.0, 2.0, -3.5]],
    dtype=np.float32,
)
IDS = [
    np.array(["a", "b,c", 'say "hi"', "é"], dtype=object),
    np.array([10, -2, 0, 7], dtype=np.int64),
    np.array([0.5, 1e20, -1.0, 2.0]),
]
HEADER = ["id", "z0", "z1", "z2"]


def _rows_as_before(ids: np.ndarray, z: np.ndarray) -> list[list]:
    """The rows ``graphae embed`` built one node at a time before columns."""
    return [[node, *map(float, vec)] for node, vec in zip(ids.tolist(), z, strict=True)]


def _reference_csv(rows: list[list], delimiter: str) -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    writer.writerow(HEADER)
    writer.writerows(rows)
    return out.getvalue()


def _columns(ids: np.ndarray) -> list:
    return [ids, *np.ascontiguousarray(Z.T, dtype=np.float64)]


@pytest.mark.parametrize("ids", IDS, ids=["str", "int", "float"])
@pytest.mark.parametrize(("name", "delimiter"), [("t.csv", ","), ("t.tsv", "\t"), ("t.txt", ",")])
@pytest.mark.parametrize("block", [3, 65536])
def test_csv_columns_match_rows_written_one_by_one(
    tmp_path, monkeypatch, ids, name, delimiter, block
) -> None:
    monkeypatch.setattr(common, "_BLOCK", block)  # 3: blocks end inside the table
    path = tmp_path / name
    write_columns(str(path), HEADER, _columns(ids))
    assert path.read_text() == _reference_csv(_rows_as_before(ids, Z), delimiter)


def test_stdout_columns_match_rows(capsys, monkeypatch) -> None:
    monkeypatch.setattr(common, "_BLOCK", 2)
    write_columns(None, HEADER, _columns(IDS[0]))
    assert capsys.readouterr().out == _reference_csv(_rows_as_before(IDS[0], Z), ",")


@pytest.mark.parametrize("ids", IDS, ids=["str", "int", "float"])
def test_parquet_columns_match_rows(tmp_path, ids) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    write_columns(str(tmp_path / "cols.parquet"), HEADER, _columns(ids))
    write_table(str(tmp_path / "rows.parquet"), HEADER, _rows_as_before(ids, Z))
    cols, rows = (pq.read_table(tmp_path / f"{n}.parquet") for n in ("cols", "rows"))
    assert cols.schema.equals(rows.schema)
    assert cols.schema.field("z0").type == pa.float64()
    assert cols.to_pydict().keys() == rows.to_pydict().keys()
    for name in HEADER:
        np.testing.assert_array_equal(cols.column(name).to_numpy(), rows.column(name).to_numpy())


def test_rows_and_an_empty_table(tmp_path) -> None:
    path = tmp_path / "p.csv"
    write_table(str(path), ["source", "target", "probability"], [["a", 1, 0.25]])
    assert path.read_text() == "source,target,probability\na,1,0.25\n"
    write_table(str(path), ["source", "target"], [])
    assert path.read_text() == "source,target\n"


def test_unknown_extension(tmp_path) -> None:
    with pytest.raises(UserError, match=r"expected a \.csv, \.tsv or \.parquet file name"):
        write_columns(str(tmp_path / "t.json"), ["id"], [np.arange(2)])
    assert list(Path(tmp_path).iterdir()) == []
