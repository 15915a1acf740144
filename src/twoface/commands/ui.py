"""Serve the workflow to a browser: sources and extract, the face grid, live training,
convert previews and runs, evaluation reports.

WORKSPACE (default: the current folder) holds sources/, faces/, models/ and outputs/; every
path the browser sends stays inside it. Bound to 127.0.0.1 by default; bound to any other
address a random token is printed with the URL and required on every request. From another
machine, tunnel instead of opening the port:  ssh -L 7860:127.0.0.1:7860 HOST

examples:
  twoface ui                      # the current folder, http://127.0.0.1:7860/
  twoface ui work/ --port 8080
  twoface ui work/ --host 0.0.0.0   # prints http://HOST:7860/?token=...
"""
from __future__ import annotations

import argparse
import os


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("workspace", nargs="?", default=".", help="the workspace folder (default: the current folder)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1, this machine only)")
    p.add_argument("--port", type=int, default=7860, help="port (default: 7860)")
    p.add_argument("--token", default=None,
                   help="the access token (default: random when --host is not a loopback address; "
                        "also read from TWOFACE_UI_TOKEN)")
    p.add_argument("--max-upload-mb", type=int, default=2048, help="largest upload accepted (default: 2048)")


def run(args: argparse.Namespace) -> int:
    from ..errors import TwofaceError

    try:
        import uvicorn

        from ..ui.app import create_app
        from ..ui.security import is_loopback, new_token
    except ModuleNotFoundError as err:
        raise TwofaceError(f"the UI needs its optional dependencies ({err.name} is missing): "
                           "pip install 'twoface[ui]'") from None
    token = args.token or os.environ.get("TWOFACE_UI_TOKEN") or (None if is_loopback(args.host) else new_token())
    app = create_app(args.workspace, host=args.host, token=token, max_upload_mb=args.max_upload_mb)
    shown = "127.0.0.1" if args.host in ("0.0.0.0", "::") else args.host
    url = f"http://{shown}:{args.port}/" + (f"?token={token}" if token else "")
    print(f"twoface ui: serving {app.state.ui.ws.root}", flush=True)
    print(f"twoface ui: open {url}", flush=True)
    if is_loopback(args.host):
        print(f"twoface ui: from another machine: ssh -L {args.port}:127.0.0.1:{args.port} THIS_HOST, "
              f"then open http://127.0.0.1:{args.port}/", flush=True)
    # open live views (server-sent events) would hold a graceful shutdown forever; give them 5 s
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", timeout_graceful_shutdown=5)
    return 0
