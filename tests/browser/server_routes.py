"""Print, as JSON, every route of the server ``python -m jupyter_server ARGS`` would serve.

Run as ``python server_routes.py ARGS`` (the arguments after ``-m jupyter_server`` of a
``backtrack.serve`` command) with the server's environment: it builds the same
jupyter-server application (extensions loaded, handlers added; nothing listens) and
walks its tornado routers (``tornado.routing``: ``RuleRouter.rules``, ``Rule.matcher``,
``PathMatches.regex``). Each route: its regex, its handler's dotted name, the HTTP
methods the handler implements (``GET`` for a websocket), those of them that answer
without a user, and whether it is a websocket.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator

from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.serverapp import ServerApp
from tornado import routing, web, websocket


def routes(router: routing.RuleRouter) -> Iterator[dict[str, object]]:
    for rule in router.rules:
        if isinstance(rule.target, routing.RuleRouter):
            yield from routes(rule.target)
        elif isinstance(rule.matcher, routing.PathMatches):
            handler = rule.target
            methods = [
                method
                for method in handler.SUPPORTED_METHODS
                if getattr(handler, method.lower())
                is not getattr(web.RequestHandler, method.lower())
            ]
            jupyter = issubclass(handler, JupyterHandler)
            yield {
                "pattern": rule.matcher.regex.pattern,
                "handler": f"{handler.__module__}.{handler.__qualname__}",
                "methods": methods,
                # answers without a user: a method jupyter-server marks public, or any
                # method of a handler that is not jupyter-server's (Voila's static files)
                "public": [
                    method
                    for method in methods
                    if not jupyter
                    or getattr(getattr(handler, method.lower()), "__allow_unauthenticated", False)
                ],
                "websocket": issubclass(handler, websocket.WebSocketHandler),
            }


def main(argv: list[str]) -> None:
    app = ServerApp()
    app.initialize(argv=argv, new_httpserver=False)
    print(json.dumps(list(routes(app.web_app.default_router))))


if __name__ == "__main__":
    main(sys.argv[1:])
