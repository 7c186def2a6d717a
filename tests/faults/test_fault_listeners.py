"""``--executor ray --address`` at a port where something other than Ray listens: one line
within seconds, instead of ``ray.init`` hanging for minutes."""

import socket
import socketserver
import threading
import time

import pytest

from sparsernn.cli import main


class _Silent(socketserver.BaseRequestHandler):
    def handle(self):
        time.sleep(8)  # accepts, then says nothing


class _Http(socketserver.StreamRequestHandler):
    def handle(self):
        self.rfile.readline()
        self.wfile.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")


@pytest.fixture(params=[_Silent, _Http], ids=["silent", "http"])
def listener(request):
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), request.param)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.fault("--address at a port where a non-Ray service listens (silent, or HTTP)",
                   outcome="one line within 5 s, nothing stored", exit=2, section="Ray")
def test_a_non_ray_listener_is_refused_within_seconds(listener, tmp_path, capsys):
    started = time.monotonic()
    code = main(["run", "--executor", "ray", "--address", listener, "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert time.monotonic() - started < 15
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert f"{listener!r} is not a Ray cluster's head" in err
    assert not (tmp_path / "out").exists()


def test_the_probe_accepts_an_http2_server():
    """The probe's reference: a server that answers the preface with a SETTINGS frame."""
    from sparsernn.studies.executors import _reachable

    def serve(sock):
        conn, _ = sock.accept()
        conn.recv(100)
        conn.sendall(bytes([0, 0, 0, 4, 0, 0, 0, 0, 0]))
        conn.close()

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        threading.Thread(target=serve, args=(sock,), daemon=True).start()
        assert _reachable(f"127.0.0.1:{sock.getsockname()[1]}") == "127.0.0.1"
