"""Entry point of the lab's TensorBoard processes: TensorBoard's own ``main``, with every
request required to carry a secret that the server writes to its stdin, so that it is on
no command line (``ps``) and in no environment: another local user who finds the port on
127.0.0.1 gets 403. Run as ``python -m jupyter_mllab.tracking.tensorboard_main <flags>``;
imports only the standard library until it runs (the server imports the constants)."""

from __future__ import annotations

import hmac
import sys
from collections.abc import Callable, Iterable
from typing import Any

SECRET_HEADER = "X-MLLab-TensorBoard-Secret"
_ENVIRON_KEY = "HTTP_" + SECRET_HEADER.upper().replace("-", "_")
MIN_SECRET = 32

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def require_secret(app: WSGIApp, secret: str) -> WSGIApp:
    """The WSGI app, answering 403 to a request without the secret header."""
    expected = secret.encode()

    def guarded(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        given = str(environ.get(_ENVIRON_KEY, "")).encode()
        if not hmac.compare_digest(given, expected):
            start_response("403 Forbidden", [("Content-Type", "text/plain")])
            return [b"Forbidden: this TensorBoard answers only through the ML Lab's proxy.\n"]
        return app(environ, start_response)

    return guarded


def main() -> None:
    from jupyter_mllab._procs import watch_lifeline  # stdlib only

    watch_lifeline()  # dies with the server that started it, however that ends
    secret = sys.stdin.readline().strip()
    sys.stdin.close()
    if len(secret) < MIN_SECRET:
        sys.exit("jupyter_mllab: no secret on stdin; this TensorBoard is started by the lab.")
    from absl import app
    from tensorboard import default, main_lib, program
    from tensorboard.plugins import base_plugin

    def server(wsgi_app: WSGIApp, flags: Any) -> Any:
        return program.WerkzeugServer(require_secret(wsgi_app, secret), flags)

    main_lib.global_init()
    board = program.TensorBoard(plugins=default.get_plugins(), server_class=server)
    try:
        app.run(board.main, flags_parser=board.configure)
    except base_plugin.FlagsError as e:
        print(f"Error: {e}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
