"""Keep-alive HTTP on the playground: one client, one connection, REQUESTS small GETs.

Starts the real ``mlp playground`` command on 127.0.0.1 (any free port), sends REQUESTS GETs of
``/status`` over one ``http.client.HTTPConnection`` (each waits for the last answer, as a page
does), and prints the requests per second. A server whose sockets lack TCP_NODELAY answers
about 23 a second here (each answer waits for the client's delayed acknowledgement).

    python bench/playground_http.py [REQUESTS]
"""

from __future__ import annotations

import http.client
import re
import signal
import subprocess
import sys
import time

REQUESTS = 2000


def main(requests: int = REQUESTS) -> float:
    proc = subprocess.Popen([sys.executable, "-m", "mlp", "playground", "--no-browser",
                             "--port", "0"], stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        host, port = re.search(r"http://([\d.]+):(\d+)/", line).groups()
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        conn.request("GET", "/status")  # the first request opens the connection
        conn.getresponse().read()
        start = time.perf_counter()
        for _ in range(requests):
            conn.request("GET", "/status")
            response = conn.getresponse()
            response.read()
            assert response.status == 200, response.status
        rate = requests / (time.perf_counter() - start)
        conn.close()
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=15)
    print(f"{requests} keep-alive GET /status on one connection: {rate:.0f} requests/s")
    return rate


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else REQUESTS)
