"""The small programs ``zdverify replay`` runs inside its namespaces (``python -c``), and
haproxy's configuration. Each keeps the run's clock: schedule instant t happens at real time
``t0 + t * scale``."""
from __future__ import annotations

# A node's health-check port (kube-proxy's healthz under Local): the code in a state file.
HEALTH = r"""
import http.server, sys
path = sys.argv[1]
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        try:
            code = int(open(path).read().strip() or 503)
        except (OSError, ValueError):
            code = 503
        self.send_response(code); self.send_header("Content-Length", "0"); self.end_headers()
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer(("0.0.0.0", int(sys.argv[2])), H).serve_forever()
"""

HAPROXY = """global
  maxconn 2000
defaults
  mode tcp
  timeout connect 1s
  timeout client 5s
  timeout server 5s
frontend fe
  bind 127.0.0.1:8080
  default_backend nodes
backend nodes
  balance roundrobin
  option httpchk GET /healthz
  timeout check {timeout}ms
  default-server inter {interval}ms fall {fall} rise {rise} port {port}
{servers}
"""

# A pod: listens from `listen`, answers HTTP/1.1 with its name, keeps connections alive;
# stops accepting at `close`; with idle "close-idle" closes its idle connections then (Go's
# Shutdown), with "connection-close" answers "Connection: close" from SIGTERM on; exits at
# `leave` (the kernel closes what is left).
POD = r"""
import socket, sys, threading, time
t0, scale, listen, close, leave, port, sigterm = map(float, sys.argv[1:8])
name, idle = sys.argv[8].encode(), sys.argv[9]
def now():
    return (time.time() - t0) / scale
def wait(t):
    d = t0 + t * scale - time.time()
    if d > 0:
        time.sleep(d)
wait(listen)
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("0.0.0.0", int(port))); srv.listen(128); srv.settimeout(0.02)
state = {"open": True, "idle_closed": False}
def handle(c):
    c.settimeout(0.01)
    buf = b""
    while True:
        if state["idle_closed"] and not buf:
            break
        try:
            data = c.recv(4096)
        except socket.timeout:
            continue
        except OSError:
            break
        if not data:
            break
        buf += data
        while b"\r\n\r\n" in buf:
            req, buf = buf.split(b"\r\n\r\n", 1)
            bye = b"HTTP/1.0" in req.split(b"\r\n")[0] or (idle == "connection-close" and now() >= sigterm)
            head = b"HTTP/1.1 200 OK\r\n" + (b"Connection: close\r\n" if bye else b"")
            try:
                c.sendall(head + b"Content-Length: %d\r\n\r\n" % len(name) + name)
            except OSError:
                bye = True
            if bye:
                c.close()
                return
    c.close()
def serve():
    while state["open"]:
        try:
            c, _ = srv.accept()
        except (socket.timeout, OSError):
            continue
        threading.Thread(target=handle, args=(c,), daemon=True).start()
threading.Thread(target=serve, daemon=True).start()
wait(close); state["open"] = False; time.sleep(0.03); srv.close()
if idle == "close-idle":
    state["idle_closed"] = True
wait(leave)
"""

# The client: `new` opens a new connection every `period` seconds; `pooled` first opens
# connections until one reaches each pod named in `want` (at most 16), then sends a request
# on each every `period`, replacing one that fails or is told "Connection: close".
# Prints "instant kind" per request: ok, refused, reset, closed (the peer closed it),
# timeout, error.
CLIENT = r"""
import socket, sys, time
t0, scale, start, end, period = map(float, sys.argv[1:6])
host, port, mode, want = sys.argv[6], int(sys.argv[7]), sys.argv[8], set(filter(None, sys.argv[9].split(",")))
def sched():
    return (time.time() - t0) / scale
def read(s):
    buf = b""
    while b"\r\n\r\n" not in buf:
        data = s.recv(4096)
        if not data:
            raise EOFError
        buf += data
    head, body = buf.split(b"\r\n\r\n", 1)
    size = int(next((h.split(b":")[1] for h in head.split(b"\r\n") if h.lower().startswith(b"content-length")), b"0"))
    while len(body) < size:
        data = s.recv(4096)
        if not data:
            raise EOFError
        body += data
    return head.split(b"\r\n")[0], b"connection: close" in head.lower(), body.decode()
def ask(s, version):
    try:
        s.sendall(b"GET / HTTP/" + version + b"\r\nHost: web\r\n\r\n")
        status, bye, name = read(s)
        return ("ok" if b" 200 " in status + b" " else "reset"), bye, name
    except ConnectionRefusedError:
        return "refused", True, ""
    except (ConnectionResetError, BrokenPipeError):
        return "reset", True, ""
    except EOFError:
        return "closed", True, ""
    except (socket.timeout, TimeoutError):
        return "timeout", True, ""
    except OSError:
        return "error", True, ""
def connect():
    s = socket.socket(); s.settimeout(1.0)
    try:
        s.connect((host, port))
    except ConnectionRefusedError:
        return s, "refused"
    except (socket.timeout, TimeoutError):
        return s, "timeout"
    except OSError:
        return s, "error"
    return s, ""
while time.time() < t0 + start * scale:
    time.sleep(0.001)
pool = []
if mode == "pooled":
    seen = set()
    for _ in range(64):
        if want <= seen or len(pool) >= 16:
            break
        s, failed = connect()
        kind, bye, name = ask(s, b"1.1") if not failed else (failed, True, "")
        if kind == "ok" and not bye:
            pool.append(s); seen.add(name)
        else:
            s.close()
while sched() < end:
    t = sched()
    if mode == "pooled":
        for k, s in enumerate(pool):
            if s is None:  # replaced: a new connection
                s, failed = connect()
                if failed:
                    s.close()
                    print(f"{sched():.4f} {failed}", flush=True)
                    continue
                pool[k] = s
            kind, bye, _ = ask(s, b"1.1")
            print(f"{sched():.4f} {kind}", flush=True)
            if bye:
                s.close()
                pool[k] = None
    else:
        s, failed = connect()
        kind = failed or ask(s, b"1.0")[0]
        s.close()
        print(f"{t:.4f} {kind}", flush=True)
    time.sleep(max(0.0, period - (sched() - t) * scale))
"""
