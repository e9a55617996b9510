"""Shared helpers of the deploy.* tests: a strict YAML-subset reader, jobgw's config keys and
metric names, PromQL metric extraction, and starting jobgw/jobsim as processes.

Standard library only. The YAML reader understands what deploy/ uses (block mappings and
sequences, plain and quoted scalars, flow sequences of scalars, `|`/`>` block scalars, comments,
`---`) and refuses anything else rather than guessing; when PyYAML happens to be installed the
tests also check that both readers agree.
"""

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time


class YamlError(Exception):
    pass


_INT = re.compile(r"^[-+]?(0|[1-9][0-9]*)$")
_FLOAT = re.compile(r"^[-+]?([0-9]+\.[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?$")
_AMBIGUOUS = {"yes", "no", "on", "off", "y", "n", "Yes", "No", "On", "Off", "YES", "NO", "ON", "OFF"}


def _strip_comment(text):
    """Drops a trailing ' # comment' that is outside quotes."""
    quote = None
    i = 0
    while i < len(text):
        c = text[i]
        if quote:
            if quote == '"' and c == "\\":
                i += 2
                continue
            if c == quote:
                if quote == "'" and i + 1 < len(text) and text[i + 1] == "'":
                    i += 2
                    continue
                quote = None
        elif c in "\"'" and (i == 0 or text[i - 1] in " \t[,:{-"):
            quote = c
        elif c == "#" and (i == 0 or text[i - 1] in " \t"):
            return text[:i].rstrip()
        i += 1
    if quote:
        raise YamlError("unterminated quote in: " + text)
    return text.rstrip()


def _unquote_double(body, where):
    out = []
    i = 0
    escapes = {'"': '"', "\\": "\\", "n": "\n", "t": "\t", "/": "/", "r": "\r", "0": "\0"}
    while i < len(body):
        c = body[i]
        if c == "\\":
            if i + 1 >= len(body) or body[i + 1] not in escapes:
                raise YamlError(where + ": unsupported escape in double-quoted string")
            out.append(escapes[body[i + 1]])
            i += 2
            continue
        out.append(c)
        i += 1
    return "".join(out)


def _split_flow(body, where):
    items, depth, quote, start = [], 0, None, 0
    i = 0
    while i < len(body):
        c = body[i]
        if quote:
            if quote == '"' and c == "\\":
                i += 2
                continue
            if c == quote:
                quote = None
        elif c in "\"'":
            quote = c
        elif c in "[{":
            raise YamlError(where + ": nested flow collections are not supported")
        elif c == ",":
            items.append(body[start:i])
            start = i + 1
        i += 1
    last = body[start:]
    if last.strip() or items:
        items.append(last)
    return [x.strip() for x in items]


def _scalar(text, where):
    text = text.strip()
    if text == "":
        return None
    if text[0] == '"':
        if len(text) < 2 or text[-1] != '"':
            raise YamlError(where + ": bad double-quoted scalar " + text)
        return _unquote_double(text[1:-1], where)
    if text[0] == "'":
        if len(text) < 2 or text[-1] != "'":
            raise YamlError(where + ": bad single-quoted scalar " + text)
        return text[1:-1].replace("''", "'")
    if text[0] == "[":
        if text[-1] != "]":
            raise YamlError(where + ": bad flow sequence " + text)
        return [_scalar(x, where) for x in _split_flow(text[1:-1], where)]
    if text[0] == "{":
        if text.replace(" ", "") != "{}":
            raise YamlError(where + ": only the empty flow mapping {} is supported")
        return {}
    if text[0] in "&*!|>%@`":
        raise YamlError(where + ": unsupported YAML construct " + text)
    if text in ("true", "True", "TRUE"):
        return True
    if text in ("false", "False", "FALSE"):
        return False
    if text in ("null", "Null", "NULL", "~"):
        return None
    if text in _AMBIGUOUS:
        raise YamlError(where + ": ambiguous YAML 1.1 boolean " + text + " (quote it)")
    if _INT.match(text):
        return int(text)
    if _FLOAT.match(text):
        return float(text)
    if ": " in text or text.endswith(":"):
        raise YamlError(where + ": a plain scalar may not contain ': ' (quote it): " + text)
    return text


class _Reader:
    def __init__(self, raw_lines, name):
        self.raw = raw_lines  # list of (lineno, text)
        self.name = name
        self.pos = 0
        # A '- ' item's content re-read as a line of its own: (indent, text) replacing raw[pos].
        self.override = None

    def where(self, lineno):
        return "%s:%d" % (self.name, lineno)

    def peek(self):
        """The next structural line as (indent, text, lineno), skipping blanks and comments."""
        if self.override is not None:
            return self.override
        while self.pos < len(self.raw):
            lineno, text = self.raw[self.pos]
            if "\t" in text[: len(text) - len(text.lstrip())]:
                raise YamlError(self.where(lineno) + ": tab in indentation")
            stripped = text.strip()
            if stripped == "" or stripped.startswith("#"):
                self.pos += 1
                continue
            indent = len(text) - len(text.lstrip(" "))
            return (indent, _strip_comment(text[indent:]), lineno)
        return None

    def advance(self):
        if self.override is not None:
            self.override = None
        self.pos += 1

    def block_scalar(self, parent_indent, style, lineno):
        if style not in ("|", "|-", ">", ">-"):
            raise YamlError(self.where(lineno) + ": unsupported block scalar header " + style)
        self.advance()
        lines = []
        block_indent = None
        while self.pos < len(self.raw):
            _, text = self.raw[self.pos]
            if text.strip() == "":
                lines.append("")
                self.pos += 1
                continue
            indent = len(text) - len(text.lstrip(" "))
            if indent <= parent_indent:
                break
            if block_indent is None:
                block_indent = indent
            if indent < block_indent:
                raise YamlError(self.where(self.raw[self.pos][0]) + ": block scalar under-indented")
            lines.append(text[block_indent:].rstrip("\n"))
            self.pos += 1
        while lines and lines[-1] == "":
            lines.pop()
        if style.startswith("|"):
            body = "\n".join(lines)
        else:
            parts, para = [], []
            for ln in lines:
                if ln == "":
                    parts.append(" ".join(para))
                    para = []
                else:
                    para.append(ln)
            parts.append(" ".join(para))
            body = "\n".join(parts)
        return body if style.endswith("-") else body + "\n"

    def value_after_key(self, indent, rest, lineno):
        """The value of `key: rest` at this indent; the key's line is already consumed."""
        if rest in ("|", "|-", ">", ">-") or rest[:1] in ("|", ">"):
            self.pos -= 1  # block_scalar advances past the header line itself
            return self.block_scalar(indent, rest, lineno)
        if rest != "":
            value = _scalar(rest, self.where(lineno))
            nxt = self.peek()
            if nxt is not None and nxt[0] > indent:
                raise YamlError(self.where(nxt[2]) + ": unexpected indented line after a scalar")
            return value
        nxt = self.peek()
        if nxt is None or nxt[0] < indent:
            return None
        if nxt[0] == indent:
            if nxt[1] == "-" or nxt[1].startswith("- "):
                return self.sequence(indent)
            return None
        return self.block(nxt[0])

    def block(self, indent):
        first = self.peek()
        if first[1] == "-" or first[1].startswith("- "):
            return self.sequence(indent)
        return self.mapping(indent)

    def sequence(self, indent):
        out = []
        while True:
            line = self.peek()
            if line is None or line[0] < indent:
                return out
            if line[0] > indent:
                raise YamlError(self.where(line[2]) + ": bad indentation in sequence")
            text = line[1]
            if not (text == "-" or text.startswith("- ")):
                return out
            item = text[1:].lstrip(" ")
            if item == "":
                self.advance()
                nxt = self.peek()
                if nxt is None or nxt[0] <= indent:
                    out.append(None)
                else:
                    out.append(self.block(nxt[0]))
                continue
            item_indent = indent + (len(text) - len(item))
            if item[0] in "\"'[{" or _key_split(item) is None:
                self.advance()
                out.append(_scalar(item, self.where(line[2])))
                nxt = self.peek()
                if nxt is not None and nxt[0] > indent:
                    raise YamlError(self.where(nxt[2]) + ": unexpected indented line after an item")
                continue
            self.override = (item_indent, item, line[2])
            out.append(self.mapping(item_indent))

    def mapping(self, indent):
        out = {}
        while True:
            line = self.peek()
            if line is None or line[0] < indent:
                return out
            if line[0] > indent:
                raise YamlError(self.where(line[2]) + ": bad indentation in mapping")
            if line[1] == "-" or line[1].startswith("- "):
                return out
            split = _key_split(line[1])
            if split is None:
                raise YamlError(self.where(line[2]) + ": expected 'key: value', got " + line[1])
            key, rest = split
            key = _scalar(key, self.where(line[2])) if key[:1] in "\"'" else key
            if key in out:
                raise YamlError(self.where(line[2]) + ": duplicate key " + str(key))
            self.advance()
            out[key] = self.value_after_key(indent, rest, line[2])


def _key_split(text):
    """('key', 'rest') for 'key: rest' / 'key:', None when text is no mapping entry."""
    if text[:1] in "\"'":
        q = text[0]
        end = text.find(q, 1)
        if end < 0 or not text[end + 1 :].startswith(":"):
            return None
        after = text[end + 2 :]
        if after and not after.startswith(" "):
            return None
        return text[: end + 1], after.strip()
    m = re.match(r"^([^\s:#\[\]{},][^:#]*?)\s*:(\s+(.*))?$", text)
    if not m:
        return None
    return m.group(1), (m.group(3) or "").strip()


def load_yaml_documents(text, name="<yaml>"):
    """Every document of a YAML stream in the supported subset, as Python values."""
    docs, current = [], []
    for lineno, line in enumerate(text.split("\n"), 1):
        if line.rstrip() == "---":
            docs.append(current)
            current = []
        elif line.startswith("..."):
            raise YamlError("%s:%d: document end markers are not supported" % (name, lineno))
        else:
            current.append((lineno, line))
    docs.append(current)
    out = []
    for raw in docs:
        r = _Reader(raw, name)
        first = r.peek()
        if first is None:
            continue
        if first[0] != 0:
            raise YamlError(r.where(first[2]) + ": a document must start at column 0")
        value = r.block(0)
        rest = r.peek()
        if rest is not None:
            raise YamlError(r.where(rest[2]) + ": unexpected line: " + rest[1])
        out.append(value)
    return out


def load_yaml_file(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    docs = load_yaml_documents(text, path)
    try:
        import yaml  # optional cross-check only
    except ImportError:
        return docs
    theirs = [d for d in yaml.safe_load_all(text) if d is not None]
    if theirs != docs:
        raise YamlError(path + ": the subset reader and PyYAML disagree:\n  ours:   %r\n  PyYAML: %r"
                        % (docs, theirs))
    return docs


# ---- jobgw's own facts -------------------------------------------------------------------------

def jobgw_help(jobgw):
    out = subprocess.run([jobgw, "--help"], capture_output=True, text=True, timeout=30)
    if out.returncode != 0:
        raise RuntimeError("%s --help exited %d: %s" % (jobgw, out.returncode, out.stderr))
    return out.stdout


def jobgw_env_keys(jobgw):
    """{env name: default text} for every config key `jobgw --help` lists."""
    keys = {}
    for m in re.finditer(r"--([a-z0-9_.]+)\s+\(env (JOBGW_[A-Z0-9_]+), default (.*)\)", jobgw_help(jobgw)):
        keys[m.group(2)] = m.group(3)
    if len(keys) < 10:
        raise RuntimeError("jobgw --help lists only %d keys; its format changed?" % len(keys))
    return keys


def metric_types(*metrics_cc):
    """{metric name: 'counter'|'gauge'|'histogram'} from the Build*().Name(...) calls of the files
    that register jobgw's metrics (core/metrics/metrics.cc, server/server_metrics.cc,
    server/replica_metrics.cc)."""
    src = ""
    for path in metrics_cc:
        with open(path, encoding="utf-8") as f:
            src += f.read()
    found = {}
    for m in re.finditer(r"Build(Counter|Gauge|Histogram|Summary)\(\)\s*\.Name\(\"([a-z0-9_]+)\"\)", src):
        found[m.group(2)] = m.group(1).lower()
    # Families a prometheus::Collectable builds itself (core/metrics/process_collector.cc).
    for m in re.finditer(r"family\(\s*\"([a-z0-9_]+)\",[^;]*?MetricType::(Counter|Gauge)", src):
        found[m.group(1)] = m.group(2).lower()
    if not found:
        raise RuntimeError(", ".join(metrics_cc) + ": no metrics found; has the registration style changed?")
    labels = set(re.findall(r"\{\"([a-z_]+)\",", src))
    return found, labels


def dashboard_left_out(repo):
    """{family: why} from deploy/grafana/not-on-dashboard.txt: the families the dashboard shows
    no panel for, on purpose. A line without a reason is an error."""
    left_out = {}
    path = os.path.join(repo, "deploy", "grafana", "not-on-dashboard.txt")
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            name, _, why = line.partition(" ")
            if not why.strip():
                raise RuntimeError("%s:%d: %s is left out without a reason" % (path, n, name))
            left_out[name] = why.strip()
    return left_out


def dashboard_exprs(dash):
    """Every query of a Grafana dashboard: panel targets, variables and annotations."""
    exprs = []

    def walk(node):
        if isinstance(node, dict):
            for k, v in node.items():
                if k in ("expr", "query", "definition") and isinstance(v, str):
                    exprs.append(v)
                else:
                    walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)
    walk(dash)
    return exprs


def dashboard_families(dash, families):
    """The families of `families` that the dashboard's queries name (a histogram by any of its
    series)."""
    used = set()
    for e in dashboard_exprs(dash):
        for name in re.findall(r"\b([a-zA-Z_:][a-zA-Z0-9_:]*)\b", e):
            for fam in families:
                if name == fam or (name.startswith(fam) and name[len(fam):] in ("_bucket", "_sum", "_count")):
                    used.add(fam)
    return used


_SERIES_SUFFIXES = {"histogram": ("_bucket", "_sum", "_count"), "summary": ("_sum", "_count")}


def promql_problems(expr, metrics, labels):
    """Names in a PromQL expression that jobgw does not export, and selector labels it never sets."""
    problems = []
    extra_labels = {"job", "instance", "le", "namespace", "pod", "service", "container", "endpoint"}
    for m in re.finditer(r"\b(jobgw_[a-zA-Z0-9_]+)(\{[^}]*\})?", expr):
        name, selector = m.group(1), m.group(2)
        ok = name in metrics and metrics[name] in ("counter", "gauge")
        if not ok:
            for base, kind in metrics.items():
                if name.startswith(base) and name[len(base):] in _SERIES_SUFFIXES.get(kind, ()):
                    ok = True
        if not ok:
            problems.append("unknown metric %s (jobgw exports %s)" % (name, ", ".join(sorted(metrics))))
        if selector:
            for lm in re.finditer(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)", selector):
                if lm.group(1) not in labels and lm.group(1) not in extra_labels:
                    problems.append("%s: label %s is never set by jobgw" % (name, lm.group(1)))
    return problems


# ---- processes ---------------------------------------------------------------------------------

class Processes:
    """Child processes that are all stopped on close(), whatever happened."""

    def __init__(self):
        self.children = []

    def start(self, name, argv, env=None, log_dir=None):
        log = open(os.path.join(log_dir, name + ".log"), "wb") if log_dir else subprocess.DEVNULL
        p = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL, start_new_session=True)
        p.jobgw_name = name
        p.jobgw_log = log.name if log_dir else None
        self.children.append(p)
        return p

    def close(self):
        for p in reversed(self.children):
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + 20
        for p in reversed(self.children):
            try:
                p.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                p.wait()

    def tail(self, p, lines=30):
        if not p.jobgw_log:
            return ""
        with open(p.jobgw_log, "rb") as f:
            return b"\n".join(f.read().splitlines()[-lines:]).decode("utf-8", "replace")


def wait_for_json_file(path, proc, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("%s exited with %d before writing %s" % (what, proc.returncode, path))
        try:
            with open(path, encoding="utf-8") as f:
                return json.load(f)
        except (FileNotFoundError, json.JSONDecodeError):
            time.sleep(0.05)
    raise RuntimeError("%s wrote no %s within %ss" % (what, path, timeout))


# Keys naming files jobgw reads at startup (certificates, keys, the credentials file, the
# callback key and the Redis password): deploy/ points them at mounted Secrets.
SECRET_FILE_KEYS = ("JOBGW_TLS_CERT_FILE", "JOBGW_TLS_KEY_FILE", "JOBGW_TLS_CLIENT_CA_FILE",
                    "JOBGW_METRICS_TLS_CERT_FILE", "JOBGW_METRICS_TLS_KEY_FILE",
                    "JOBGW_CALLBACK_TLS_CERT_FILE", "JOBGW_CALLBACK_TLS_KEY_FILE",
                    "JOBGW_AUTH_CREDENTIALS_FILE", "JOBGW_CALLBACK_SECRET_FILE",
                    "JOBGW_STATE_REDIS_PASSWORD_FILE", "JOBGW_STATE_REDIS_CA_FILE")

# What the stand-in for JOBGW_STATE_REDIS_PASSWORD_FILE holds: a test that starts a Redis for the
# shipped environment requires this password.
STAND_IN_REDIS_PASSWORD = "0123456789abcdef0123456789abcdef"


def stand_in_files(env, tmp):
    """Replaces the shipped paths of SECRET_FILE_KEYS (which do not exist here) with real files
    of the same kind in tmp: a self-signed certificate and key made with the openssl CLI, a
    credentials file with no callers, a callback key path jobgw creates itself and a Redis
    password file holding STAND_IN_REDIS_PASSWORD."""
    if not any(env.get(k) for k in SECRET_FILE_KEYS):
        return
    cert, key = os.path.join(tmp, "tls.crt"), os.path.join(tmp, "tls.key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", cert, "-days", "1",
                    "-subj", "/CN=jobgw", "-addext", "subjectAltName=DNS:jobgw,IP:127.0.0.1"],
                   check=True, capture_output=True)
    credentials = os.path.join(tmp, "credentials.json")
    with open(credentials, "w") as f:
        f.write('{"callers": []}\n')
    for k in SECRET_FILE_KEYS:
        if not env.get(k):
            continue
        if k.endswith("_KEY_FILE"):
            env[k] = key
        elif k == "JOBGW_AUTH_CREDENTIALS_FILE":
            env[k] = credentials
        elif k == "JOBGW_CALLBACK_SECRET_FILE":
            env[k] = os.path.join(tmp, "callback.key")
        elif k == "JOBGW_STATE_REDIS_PASSWORD_FILE":
            env[k] = os.path.join(tmp, "redis-password")
            with open(env[k], "w") as f:
                f.write(STAND_IN_REDIS_PASSWORD + "\n")
        else:
            env[k] = cert


def start_and_stop_jobgw(jobgw, env_vars, what, while_up=None, after_stop=None):
    """Runs jobgw with exactly env_vars (plus loopback listen flags, a state file and a
    credentials file in a temp dir, which win over the environment, and stand-in files for the
    Secrets: the shipped paths need not exist here) until it has bound its ports, then stops it
    with SIGTERM. while_up(ports) runs in between and after_stop(log) after it; both return
    problems of their own. Returns a list of problems: empty when jobgw accepted the
    configuration and shut down cleanly."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("JOBGW_")}
    env.update(env_vars)
    with tempfile.TemporaryDirectory(prefix="jobgw-deploy-") as tmp:
        stand_in_files(env, tmp)
        ports = os.path.join(tmp, "ports.json")
        argv = [jobgw, "--grpc.listen=127.0.0.1:0", "--metrics.listen=127.0.0.1:0",
                "--ports_file=" + ports, "--state.path=" + os.path.join(tmp, "state.db")]
        if env_vars.get("JOBGW_CALLBACK_LISTEN"):
            argv.append("--callback.listen=127.0.0.1:0")
        procs = Processes()
        try:
            p = procs.start("jobgw", argv, env=env, log_dir=tmp)
            try:
                bound = wait_for_json_file(ports, p, 15, "jobgw")
            except RuntimeError as e:
                p.wait(timeout=5) if p.poll() is not None else None
                return ["%s: jobgw refused the configuration: %s\n%s" % (what, e, procs.tail(p))]
            problems = ["%s: %s" % (what, x) for x in (while_up(bound) if while_up else [])]
            os.killpg(p.pid, signal.SIGTERM)
            try:
                rc = p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                return ["%s: jobgw did not stop within 30 s of SIGTERM" % what]
            log = procs.tail(p, 200)
            if after_stop:
                problems += ["%s: %s" % (what, x) for x in after_stop(log)]
            if rc != 0:
                problems.append("%s: jobgw exited %d after SIGTERM\n%s" % (what, rc, log))
            if "ignoring unknown environment variable" in log:
                problems.append("%s: jobgw warned about an unknown variable:\n%s" % (what, log))
            return problems
        finally:
            procs.close()


def report(problems, ok_message):
    if problems:
        for p in problems:
            print("FAIL: " + p)
        sys.exit(1)
    print("OK: " + ok_message)
