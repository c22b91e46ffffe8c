"""``make app LAN=1`` (issue 23 item 3): the form and nothing else, to a holder of the LAN
token only, on the one address it prints.

The probe walks every route of the LAN server and of the lab server (their own handler
tables: ``server_routes.py`` builds each server's jupyter-server application from the
very command ``backtrack.serve`` runs) with every method the handler implements, with
no token, the lab's token and the LAN token, against the running LAN server. Only the
form's page and its own kernel answer, and only with the LAN token; besides them only
what jupyter-server marks public (static files, the version, the login page) answers
without a user. The page's kernel runs no code sent to it, no other websocket opens, no
``?template=`` swaps the page for one that loads from CDNs, and a real browser still
opens the form and saves a day through it. The LAN address is this machine's own
(``serve.lan_address()``; 192.0.2.2 on the sandbox where this was written), so nothing
is injected: on a machine with no network it is 127.0.0.1, and the check that other
loopback addresses are not listened on then covers 127.0.0.2 only.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import socket
import ssl
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from own_loop import run_on_own_loop
from test_log_form_browser import open_form, outside, record_requests
from tornado.httpclient import HTTPClientError, HTTPRequest
from tornado.websocket import websocket_connect

from backtrack import serve
from backtrack.store import read_log

_run = run_on_own_loop


pytestmark = pytest.mark.browser

HERE = Path(__file__).resolve().parent
INSECURE = ssl.create_default_context()
INSECURE.check_hostname = False  # the certificate is self-signed (this computer's own)
INSECURE.verify_mode = ssl.CERT_NONE
FORM = f"/{serve.FORM_PATH}"
NO_KERNEL = "00000000-0000-4000-8000-000000000000"
BODY = json.dumps(  # what would create a kernel, a session or a file if it were accepted
    {
        "name": "python3",
        "type": "file",
        "format": "text",
        "content": "written through the LAN",
        "path": "probe.txt",
        "kernel": {"name": "python3"},
    }
).encode()
ATTACK = "open({path!r}, 'w').write('code ran')"
NAMED = (  # the routes issue 23 names, each matched by a route of the lab or LAN server
    "/api/contents",
    "/api/contents/x",
    "/api/kernels",
    "/api/kernels/{kernel}",
    "/api/kernels/{kernel}/restart",
    "/api/kernels/{kernel}/interrupt",
    "/api/sessions",
    "/api/terminals",
    "/api/kernelspecs",
    "/api/config/notebook",
    "/api/nbconvert",
    "/files/01-log.ipynb",
    "/lab",
    "/api/me",
    "/api/status",
    "/api/events",
    "/api/shutdown",
)


@dataclass(frozen=True)
class Route:
    pattern: str
    handler: str
    methods: tuple[str, ...]
    public: tuple[str, ...]
    websocket: bool

    def serves(self, path: str) -> bool:
        return re.match(self.pattern, path) is not None  # tornado's PathMatches


def route_table(tracker, mode: str) -> list[Route]:
    """The routes of the server ``backtrack.serve MODE`` starts for ``tracker``'s
    folders (``app`` is the LAN server), as its own jupyter-server application has them."""
    state = Path(tracker.env["BACKTRACK_STATE_DIR"])
    lan = mode == "app"
    command = serve.server_command(
        mode, port=tracker.port, root=tracker.repo / "notebooks", state=state, lan=lan
    )
    env = serve.server_environment("no-server-listens", mode, tracker.env)
    env["JUPYTER_RUNTIME_DIR"] = str(tracker.base / f"routes-{mode}")  # not the server's
    done = subprocess.run(
        [sys.executable, str(HERE / "server_routes.py"), *command[3:]],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return [
        Route(r["pattern"], r["handler"], tuple(r["methods"]), tuple(r["public"]), r["websocket"])
        for r in json.loads(done.stdout)
    ]


def _group_samples(group: str, samples: dict[str, list[str]]) -> list[str]:
    named = re.match(r"\?P<(\w+)>", group)
    if named and named[1] in samples:
        return samples[named[1]]
    body = group[named.end() :] if named else group
    if re.fullmatch(r"[\w\\.-]+(\|[\w\\.-]+)*", body):  # literal alternatives: each one
        return [word.replace("\\", "") for word in body.split("|")]
    return samples["*"]


def paths(pattern: str, samples: dict[str, list[str]]) -> list[str]:
    """Concrete paths that ``pattern`` (a route's regex) matches: each top-level group
    filled with each of its samples (by the group's name, else ``samples["*"]``)."""
    pieces: list[list[str]] = []
    literal, i = "", 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            literal, i = literal + pattern[i + 1], i + 2
        elif char == "(":
            depth, j = 1, i + 1
            while depth:
                if pattern[j] == "\\":
                    j += 2
                    continue
                depth += {"(": 1, ")": -1}.get(pattern[j], 0)
                j += 1
            filled = _group_samples(pattern[i + 1 : j - 1], samples)
            optional = pattern.startswith("?", j)  # (...)? : also left out
            pieces += [[literal], [*filled, ""] if optional else filled]
            literal, i = "", j + optional
        elif pattern.startswith(".*", i):
            literal, i = literal + "x", i + 2
        else:
            literal, i = literal + ("" if char in "^$?" else char), i + 1
    pieces.append([literal])
    found = ("".join(combo) for combo in itertools.product(*pieces))
    candidates = {p if p.startswith("/") else "/" + p for p in found}
    return sorted(p for p in candidates if re.fullmatch(pattern, p))


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


OPENER = urllib.request.build_opener(_NoRedirect, urllib.request.HTTPSHandler(context=INSECURE))


def ask(url: str, method: str, token: str | None) -> int:
    headers = {"Authorization": f"token {token}"} if token else {}
    body = BODY if method in ("POST", "PUT", "PATCH") else None
    request = urllib.request.Request(url, data=body, method=method, headers=headers)
    try:
        with OPENER.open(request, timeout=120) as answer:
            return answer.status
    except urllib.error.HTTPError as refused:
        return refused.code
    except urllib.error.URLError:
        return 0  # no answer (a server that was shut down)


async def _opens(url: str) -> bool:
    """Whether a websocket opens at ``url`` (closed again at once)."""
    try:
        opened = await websocket_connect(HTTPRequest(url, validate_cert=False, connect_timeout=30))
    except HTTPClientError as refused:
        assert refused.code in (302, 400, 403, 404, 405), refused  # an answer, not a timeout
        return False
    opened.close()
    return True


async def _channel(url: str, sends: list[tuple[str, dict]]) -> list[dict]:
    """Connect to a kernel's channels at ``url``, send the ``sends`` message types
    (an ``execute_request`` runs the :data:`ATTACK`), and the messages received until
    the reply to the last one (or 20 s of silence)."""
    socket_ = await websocket_connect(HTTPRequest(url, validate_cert=False, connect_timeout=30))
    session, sent, got = uuid.uuid4().hex, [], []
    for kind, content in sends:
        msg_id = uuid.uuid4().hex
        sent.append(msg_id)
        header = {"msg_id": msg_id, "msg_type": kind, "username": "probe"}
        header |= {"session": session, "version": "5.3", "date": ""}
        message = {"header": header, "parent_header": {}, "metadata": {}, "content": content}
        await socket_.write_message(json.dumps(message | {"channel": "shell", "buffers": []}))
    try:
        while True:
            text = await asyncio.wait_for(socket_.read_message(), 20)
            if text is None:
                break
            if isinstance(text, str):
                got.append(json.loads(text))
                if got[-1]["parent_header"].get("msg_id") == sent[-1] and got[-1]["header"][
                    "msg_type"
                ].endswith("_reply"):
                    break
    finally:
        socket_.close()
    return got


def page_kernel(lan_app) -> str:
    """Open the form's page (as the phone does) and the id of the kernel Voila started."""
    request = urllib.request.Request(f"{lan_app.url}{FORM}", headers=_auth(lan_app.token))
    with OPENER.open(request, timeout=120) as answer:
        html = answer.read().decode()
    return re.search(r'"kernelId": "([0-9a-f-]{36})"', html)[1]


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"token {token}"}


@pytest.fixture(scope="module")
def tokens(lan_app):
    """``none``, the lab's token (``make lab``'s, same state folder) and the LAN token."""
    lab = serve.read_token(Path(lan_app.env["BACKTRACK_STATE_DIR"]))
    return {"none": None, "lab": lab, "lan": lan_app.token}


def test_lan_has_its_own_token_and_binds_the_one_address_it_prints(lan_app, tokens):
    assert tokens["lab"] != tokens["lan"]
    assert f"token in {lan_app.env['BACKTRACK_STATE_DIR']}/lan-token" in lan_app.printed
    assert lan_app.host == serve.lan_address()  # the printed address is this machine's
    assert "\n".join(serve.LAN_WARNING) in lan_app.printed
    with socket.create_connection((lan_app.host, lan_app.port), timeout=10):
        pass
    others = {"127.0.0.1", "127.0.0.2"} - {lan_app.host}
    for other in sorted(others):  # every interface but the printed one: nothing listens
        with pytest.raises(OSError), socket.create_connection((other, lan_app.port), timeout=10):
            pass
    with pytest.raises(OSError):  # plain http is not served (reset or refused)
        urllib.request.urlopen(f"http://{lan_app.host}:{lan_app.port}/api/status", timeout=10)


def test_every_jupyter_route_answers_only_the_form_and_its_kernel_with_the_lan_token(
    lan_app, tokens
):
    lan_routes = route_table(lan_app, "app")
    lab_routes = route_table(lan_app, "lab")
    kernel = page_kernel(lan_app)
    samples = {
        "kernel_id": [kernel, NO_KERNEL],
        "session_id": [NO_KERNEL],
        "path": ["", "/01-log.ipynb", "/probe.txt"],
        "*": ["01-log.ipynb", "02-trends.ipynb", kernel, "1"],
    }
    table = {r.pattern: r for r in lab_routes + lan_routes}  # the lab's /lab, /tree, terminals
    for named in NAMED:  # what the issue names is among the routes walked
        assert any(re.fullmatch(p, named.format(kernel=kernel)) for p in table), named
    allowed = {
        ("GET", FORM),  # the page (Voila renders the form's notebook)
        ("GET", f"/api/kernels/{kernel}"),  # its kernel's model
        ("POST", f"/voila/api/shutdown/{kernel}"),  # Voila's shutdown of its kernel
    }
    built = {route: paths(route.pattern, samples) for route in table.values()}
    assert [r for r, found in built.items() if not found] == []  # a path for every route
    probes = []
    for route, found in built.items():
        for path in found:
            serving = next(r for r in lan_routes if r.serves(path))  # what answers it
            for method in route.methods or ("GET",):
                probes.append((method, path, serving))
    for named in ("/tree", "/tree/01-log.ipynb", "/notebooks/01-log.ipynb"):  # notebook 7's
        serving = next(r for r in lan_routes if r.serves(named))
        probes += [(method, named, serving) for method in ("GET", "POST", "PUT", "DELETE")]
    # each probe once; the shutdowns (of the page's kernel, of the server) last
    last = [("POST", f"/voila/api/shutdown/{kernel}"), ("POST", "/api/shutdown")]
    probes = sorted(set(probes), key=lambda p: last.index(p[:2]) if p[:2] in last else -1)
    answered, wrong = [], []
    for method, path, serving in probes:
        for name, token in tokens.items():
            status = ask(f"{lan_app.url}{path}", method, token)
            needed = name == "lan" and (method, path) in allowed
            if 200 <= status < 300:
                answered.append((name, method, path, serving.handler))
                if not (needed or method in serving.public):
                    wrong.append(f"{method} {path} with {name} token: {status}")
            elif needed:
                wrong.append(f"{method} {path} (the form needs it) with {name} token: {status}")
    print(f"\nPROBE {len(probes)} requests x {len(tokens)} credentials; answered:")
    for line in sorted(set(answered)):
        print("   ", *line)
    assert wrong == []
    assert not (lan_app.repo / "notebooks" / "probe.txt").exists()
    assert lan_app.git_status() == ""  # nothing written into notebooks/


def test_the_pages_kernel_runs_no_code_and_no_other_websocket_opens(lan_app, tokens, tmp_path):
    kernel = page_kernel(lan_app)
    witness = tmp_path / "code-ran"
    attack = [
        ("execute_request", {"code": ATTACK.format(path=str(witness)), "silent": False}),
        ("kernel_info_request", {}),
    ]
    base = lan_app.url.replace("https://", "wss://")
    channels = f"{base}/api/kernels/{kernel}/channels"
    got = _run(_channel(f"{channels}?token={tokens['lan']}", attack))
    kinds = [m["header"]["msg_type"] for m in got if m["parent_header"]]
    assert "kernel_info_reply" in kinds  # the channel works (the page's widgets use it)
    assert "execute_reply" not in kinds and "execute_input" not in kinds
    assert not witness.exists()
    table = route_table(lan_app, "lab") + route_table(lan_app, "app")
    sockets = {r.pattern: r for r in table if r.websocket}.values()
    samples = {"kernel_id": [kernel], "*": [kernel, "1"]}
    tried = 0
    for route in sockets:
        for path in paths(route.pattern, samples):
            for name, token in tokens.items():
                if (name, path) == ("lan", f"/api/kernels/{kernel}/channels"):
                    continue
                query = f"?token={token}" if token else ""
                tried += 1
                assert not _run(_opens(f"{base}{path}{query}")), (name, path)
    assert tried >= 3 * len(tokens) - 1  # kernel channels, events, terminals
    assert not witness.exists()


def test_the_form_opens_and_saves_through_lan_mode_in_a_browser(browser, lan_app):
    context = browser.new_context(viewport={"width": 390, "height": 844}, ignore_https_errors=True)
    page = context.new_page()
    try:
        urls = record_requests(page)
        form, _ = open_form(page, lan_app.address)
        form.get_by_label("Pain (0-10)").fill("4")
        form.get_by_role("button", name="Save", exact=True).click()
        form.locator(".bt-saved").wait_for()
        assert outside(urls, lan_app.port, lan_app.host) == []
    finally:
        context.close()
    row = read_log(lan_app.csv).entries.iloc[-1]
    assert row["date"].date() == date.today() and row["pain"] == 4


def installed_templates(env: dict[str, str]) -> list[str]:
    """The Voila page templates a ``?template=`` could name: those with an
    ``index.html.j2`` in a ``voila/templates`` folder on the server's ``JUPYTER_PATH``
    (as ``jupyter_core`` lists them); Voila's page stalls on one without."""
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import json, jupyter_core.paths as p; "
            "print(json.dumps(p.jupyter_path('voila', 'templates')))",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    folders = [Path(f) for f in json.loads(done.stdout)]
    found = (t for f in folders if f.is_dir() for t in f.iterdir())
    return sorted({t.name for t in found if (t / "index.html.j2").is_file()})


def test_no_query_parameter_swaps_the_pages_template(lan_app):
    """Voila lets ``?template=NAME`` pick another installed template; Voila's own load
    Font Awesome, jQuery, mermaid or reveal.js from CDNs: the page would make outside
    requests from the phone."""
    env = serve.server_environment("t", "app", lan_app.env)
    names = installed_templates(env)
    assert {"backtrack", "lab", "classic"} <= set(names)
    plain = urllib.request.Request(f"{lan_app.url}{FORM}", headers=_auth(lan_app.token))
    with OPENER.open(plain, timeout=120) as answer:
        page = answer.read().decode()
    assert "/voila/templates/backtrack/" in page
    named = set(re.findall(r"https?://([\w.-]+)", page))  # XML namespaces, a licence
    for name in names:
        request = urllib.request.Request(
            f"{lan_app.url}{FORM}?template={name}", headers=_auth(lan_app.token)
        )
        with OPENER.open(request, timeout=120) as answer:
            html = answer.read().decode()
        hosts = set(re.findall(r"https?://([\w.-]+)", html)) - named
        assert hosts == set(), (name, hosts)  # no host the form's own page does not name
        assert "/voila/templates/backtrack/" in html, name
