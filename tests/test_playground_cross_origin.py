"""Another site's page, in a real browser, against the playground (issue 21): Debian's headless
Chromium opens a page served from a second local origin whose script tries to open the
playground's WebSocket; the playground refuses it, while its own page still works."""

import http.server
import re
import signal
import subprocess
import sys
import threading

import pytest

playwright = pytest.importorskip("playwright.sync_api")

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]

EVIL = """<!doctype html><title>evil</title><script>
window.result = new Promise((resolve) => {{
  const ws = new WebSocket("ws://127.0.0.1:{port}/ws");
  ws.onopen = () => resolve("opened");
  ws.onmessage = () => resolve("message");
  ws.onerror = () => resolve("error");
  ws.onclose = () => resolve("closed");
}});
</script>"""


@pytest.fixture(scope="module")
def playground():
    proc = subprocess.Popen([sys.executable, "-m", "mlp", "playground", "--no-browser",
                             "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    match = re.search(r"serving on http://127\.0\.0\.1:(\d+)/", proc.stdout.readline())
    assert match, proc.stderr.read()
    yield int(match.group(1))
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=15)
    assert "Traceback" not in err, err


@pytest.fixture(scope="module")
def evil_site(playground):
    """A page of another origin (127.0.0.2 is this machine too, but another site)."""
    page = EVIL.format(port=playground).encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802  (http.server's name)
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.2", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.2:{httpd.server_port}/"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def browser():
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def test_another_sites_page_cannot_open_the_playground(browser, playground, evil_site):
    context = browser.new_context()
    page = context.new_page()
    page.goto(evil_site)
    assert page.evaluate("window.result") in ("error", "closed")
    context.close()


def test_the_playgrounds_own_page_still_connects(browser, playground):
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"http://127.0.0.1:{playground}/")
    page.wait_for_function("window.playground && window.playground.frame !== null",
                           timeout=30_000)
    context.close()
