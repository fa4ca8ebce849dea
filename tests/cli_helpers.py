"""Helpers shared by the CLI tests."""

import pytest

from graphae.cli import main


def user_error(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    """Run ``argv``, check it failed as a user error, return its one stderr line."""
    capsys.readouterr()
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("graphae: error: ")
    return lines[0]
