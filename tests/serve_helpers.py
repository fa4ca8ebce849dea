"""The real ``graphae serve`` in a subprocess, for the tests that call it over HTTP."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

import graphae
from graphae.cli import main

SRC = Path(graphae.__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """``python -m graphae serve`` in a subprocess, on a free port of 127.0.0.1."""

    def __init__(self, folder: Path, log: Path) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]))
        argv = [sys.executable, "-m", "graphae", "serve", "--model", str(folder), "--port", str(self.port)]
        with open(log, "wb") as out:
            self.proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env)
        self.client = httpx.Client(base_url=self.url, timeout=60)
        for _ in range(600):  # at most a minute
            if self.proc.poll() is not None:
                raise AssertionError(f"the server exited with {self.proc.returncode}:\n{log.read_text()}")
            try:
                if self.client.get("/health").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self.stop()
        raise AssertionError(f"the server did not answer /health within a minute:\n{log.read_text()}")

    def stop(self) -> int:
        self.client.close()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise


def serve_fixtures(name: str) -> tuple:
    """The module fixtures ``run_folder``, ``server`` and ``model`` of a test module of ``graphae serve``.

    ``run_folder``: a GAE trained 2 epochs (seed 0) on the default data set; ``server``: that
    folder served by :class:`Server`; ``model``: the folder loaded. Use it as
    ``run_folder, server, model = serve_fixtures("serve")`` (``name`` names the temporary folders).
    """

    @pytest.fixture(scope="module")
    def run_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
        folder = tmp_path_factory.mktemp(name) / "run"
        assert main(["train", "--epochs", "2", "--seed", "0", "--quiet", "--out", str(folder)]) == 0
        return folder

    @pytest.fixture(scope="module")
    def server(run_folder: Path, tmp_path_factory: pytest.TempPathFactory):
        srv = Server(run_folder, tmp_path_factory.mktemp(f"{name}-log") / "server.log")
        yield srv
        srv.stop()

    @pytest.fixture(scope="module")
    def model(run_folder: Path):
        return graphae.load(run_folder)

    return run_folder, server, model
