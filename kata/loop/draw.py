"""`kata draw`: draw a digit and watch your network read it (the bonus step 9).

    kata draw                        your steps (exercises/) with the model `kata demo` saved
    kata draw --impl solutions       the reference's steps
    kata draw --no-browser           print the address instead of opening the browser

A page on this machine only: the server listens on 127.0.0.1, on a free port, and answers
only requests that carry the random token of the address it prints (a page from another
site cannot guess it), that name this server as their Host (no DNS rebinding), and whose
bodies are small. The page sends the pad's grey levels; the server runs your `to_mnist` and
`read_digit` from step 9 on them, with the model the demo saved (artifacts/model.pt), and
answers with the 28x28 image your network sees and its ten probabilities. Save step 9 and
draw again: the server reads the file anew whenever it changes.

In the notebook, `%kata draw` shows the same page inline.
"""

import argparse
import base64
import binascii
import importlib
import json
import secrets
import sys
import threading
import webbrowser
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import numpy as np

from kata import KataTodo
from kata.loop.draw_page import PAGE
from kata.paths import given_path

MODEL = Path("artifacts") / "model.pt"
MAKE_A_MODEL = "kata demo --impl {impl}"
MAX_BODY = 2**20  # bytes: a 280x280 pad is 105 KB in base64
MAX_SIDE = 1024  # pixels, either side of the pad
HOST = "127.0.0.1"


class Reader:
    """The learner's step 9 and trained model: reads a drawn page, says what went wrong."""

    def __init__(self, impl: str, model, device, model_path: Path):
        self.impl, self.model, self.device, self.model_path = impl, model, device, model_path
        self.lock = threading.Lock()  # one reading at a time: the model is not thread-safe
        self.module, self.stamp = None, None

    def step9(self):
        """Step 9's module, read again when its file changed since the last reading."""
        from kata.steps import load_step

        if self.module is None:
            self.module = load_step(self.impl, 9)
        else:
            stamp = Path(self.module.__file__).stat().st_mtime_ns
            if stamp != self.stamp:
                self.module = importlib.reload(self.module)
        self.stamp = Path(self.module.__file__).stat().st_mtime_ns
        return self.module

    def read(self, page: np.ndarray) -> dict:
        """What the network sees and reads in `page` (uint8 grey levels, dark ink on white),
        or a message saying why it cannot."""
        from PIL import Image

        from kata.testing import brightness

        image = Image.fromarray(page)
        with self.lock:
            try:
                step9 = self.step9()
                digit, probabilities = step9.read_digit(self.model, image, self.device)
                seen = step9.to_mnist(image)
            except KataTodo as todo:
                return {"message": f"{todo}\nWrite step 9 (kata test 9 says what is missing), "
                                   "save it and draw again."}
            except ValueError as error:  # to_mnist found no ink, most likely
                return {"message": f"to_mnist: {error}"}
            except Exception as error:  # the learner's code is being written: say what broke
                return {"message": f"your step 9 raised {type(error).__name__}: {error}"}
        try:
            levels = (brightness(seen.detach().cpu()) * 255).round().astype(int)
            return {"digit": int(digit), "probabilities": [float(p) for p in probabilities],
                    "seen": levels.ravel().tolist()}
        except (TypeError, ValueError) as error:
            return {"message": f"read_digit or to_mnist returned something unexpected "
                               f"({error}): `kata test 9` says what"}

    def status(self) -> dict:
        about = {"status": f"your steps: {self.impl}; the model: {self.model_path}"}
        try:
            with self.lock:
                self.step9().to_mnist(np.pad(np.full((8, 3), 255, np.uint8), 4))
        except KataTodo as todo:
            about["message"] = f"{todo}\nStep 9 is still a stub: write it, then draw."
        except Exception:  # a bug in step 9 shows, with its message, once the learner draws
            return about
        return about


class DrawServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, reader: Reader, port: int = 0):
        super().__init__((HOST, port), DrawHandler)
        self.reader = reader
        self.token = secrets.token_urlsafe(24)
        port = self.server_address[1]
        self.hosts = {f"{HOST}:{port}", f"localhost:{port}"}
        self.origins = {f"http://{host}" for host in self.hosts}

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.server_address[1]}/?token={self.token}"


class DrawHandler(BaseHTTPRequestHandler):
    server: DrawServer
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        """Quiet: the terminal is for the address and errors, not for every stroke."""

    def answer(self, status: int, body: bytes, kind: str = "text/plain; charset=utf-8"):
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")  # the token stays in this page
        if status >= 400:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(body)

    def refuse(self, status: HTTPStatus, why: str) -> None:
        self.answer(status, f"{status.value} {status.phrase}: {why}\n".encode())

    def admitted(self) -> str | None:
        """The request's path once it passed the checks; None after refusing it."""
        if self.headers.get("Host", "") not in self.server.hosts:
            self.refuse(HTTPStatus.MISDIRECTED_REQUEST, "this server answers only to "
                        f"{HOST} and localhost on its port")
            return None
        origin = self.headers.get("Origin")
        if origin is not None and origin not in self.server.origins:
            self.refuse(HTTPStatus.FORBIDDEN, "requests from other sites are refused")
            return None
        address = urlsplit(self.path)
        token = parse_qs(address.query).get("token", [""])[0]
        if not secrets.compare_digest(token.encode(), self.server.token.encode()):
            self.refuse(HTTPStatus.FORBIDDEN, "open the address `kata draw` printed, with its "
                        "token")
            return None
        return address.path

    def do_GET(self):
        path = self.admitted()
        if path == "/":
            self.answer(HTTPStatus.OK, PAGE.encode(), "text/html; charset=utf-8")
        elif path == "/about":
            self.answer(HTTPStatus.OK, json.dumps(self.server.reader.status()).encode(),
                        "application/json")
        elif path is not None:
            self.refuse(HTTPStatus.NOT_FOUND, "no such page")

    def do_POST(self):
        path = self.admitted()
        if path is None:
            return
        if path != "/read":
            self.refuse(HTTPStatus.NOT_FOUND, "no such page")
            return
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            self.refuse(HTTPStatus.LENGTH_REQUIRED, "say how long the body is")
            return
        if not 0 < length <= MAX_BODY:
            self.refuse(HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                        f"a drawing is at most {MAX_BODY} bytes")
            return
        try:
            page = pad_pixels(json.loads(self.rfile.read(length)))
        except (ValueError, KeyError, TypeError, binascii.Error) as error:
            self.refuse(HTTPStatus.BAD_REQUEST, f"not a drawing: {error}")
            return
        self.answer(HTTPStatus.OK, json.dumps(self.server.reader.read(page)).encode(),
                    "application/json")


def pad_pixels(request: dict) -> np.ndarray:
    """The pad's grey levels from the page's request: {"width", "height", "pixels"}, the
    pixels as base64 bytes, row by row."""
    width, height = int(request["width"]), int(request["height"])
    if not (0 < width <= MAX_SIDE and 0 < height <= MAX_SIDE):
        raise ValueError(f"a pad of {width}x{height} pixels")
    pixels = base64.b64decode(request["pixels"], validate=True)
    if len(pixels) != width * height:
        raise ValueError(f"{len(pixels)} pixels for a pad of {width}x{height}")
    return np.frombuffer(pixels, dtype=np.uint8).reshape(height, width)


def load_model(impl: str, path: Path, device):
    """The package's network (its step 4's build_model) with the weights the demo saved; the
    model.pt of `kata demo --ensemble N` gives its N networks, voting as in the demo."""
    from kata.demo.checkpoint import load_weights, networks_in_file
    from kata.demo.run import Ensemble
    from kata.steps import load_step

    build_model = load_step(impl, 4).build_model
    count = networks_in_file(path)
    model = build_model(device) if count == 1 else \
        Ensemble([build_model(device) for _ in range(count)])
    return load_weights(model, path, device).eval()


def train_first(impl: str, path: Path) -> bool:
    """No model yet: ask whether to train one now (in a terminal); say how otherwise."""
    how = MAKE_A_MODEL.format(impl=impl)
    if not sys.stdin.isatty():
        print(f"kata draw: no model at {path}. Train one first: `{how}` (a minute or two on "
              "a laptop; it saves the model there)", file=sys.stderr)
        return False
    reply = input(f"kata draw: no model at {path}. Train one now with your steps "
                  f"(`{how}`, a minute or two)? [y/N] ")
    if reply.strip().lower() not in ("y", "yes"):
        print(f"kata draw: then train one when you like: `{how}`")
        return False
    from kata.demo.run import main as demo

    # Absolute: the demo takes a relative --out from the folder `kata draw` was typed in.
    return demo(["--impl", impl, "--out", str(path.parent.absolute())]) == 0 and path.is_file()


def serve_in_background(reader: Reader, port: int = 0) -> DrawServer:
    """A server on a thread of its own (for the notebook); `server.url` is its page."""
    server = DrawServer(reader, port)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="kata draw", description="Draw digits with the mouse, a finger or a pen, and "
        "watch your network read them (step 9: your to_mnist and read_digit).")
    parser.add_argument("--impl", default="exercises", help="package of the steps "
                        "(default: exercises)")
    parser.add_argument("--model", type=given_path, default=MODEL,
                        help="the weights `kata demo` saved (default: artifacts/model.pt)")
    parser.add_argument("--device", default="cpu", help="cpu (default), cuda or mps")
    parser.add_argument("--port", type=int, default=0, help="default: a free port")
    parser.add_argument("--no-browser", action="store_true", help="print the address only")
    args = parser.parse_args(argv)

    from kata.device import resolve_device

    try:
        device = resolve_device(args.device)
    except ValueError as error:
        parser.error(f"--device: {error}")
    if not args.model.is_file() and not train_first(args.impl, args.model):
        return 1
    try:
        model = load_model(args.impl, args.model, device)
    except KataTodo as todo:
        print(f"kata draw: {todo} (the model needs your steps 3 and 4)", file=sys.stderr)
        return 2
    except ValueError as error:  # weights of another network, or not a state dict
        print(f"kata draw: {error}", file=sys.stderr)
        return 1
    reader = Reader(args.impl, model, device, args.model)
    server = DrawServer(reader, args.port)
    status = reader.status()
    if "message" in status:
        print(f"kata draw: {status['message']}", file=sys.stderr)
    print(f"kata draw: draw at {server.url}\n(Ctrl-C stops it)", flush=True)
    if not args.no_browser:
        webbrowser.open(server.url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
