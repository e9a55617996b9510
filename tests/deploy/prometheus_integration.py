"""deploy.prometheus_integration: a real jobgw in front of jobsim, with credentials and tight
limits, goes through a workload that touches every metric family: submits that repeat a
request_id, refused tokens and operations, a credentials reload, a job resumed across a restart,
log paging and ListJobs paging, watches and log follows over SSE and gRPC (jobctl), streams
refused at limits.max_streams and limits.caller_max_streams. Its /metrics then has every name
that deploy/grafana/jobgw-dashboard.json and deploy/prometheus/jobgw-alerts.yml query, every
family it exports has a panel or is left out in deploy/grafana/not-on-dashboard.txt, and the
counters the workload drove moved.

A real Prometheus (Debian's prometheus package, installed with apt-get when missing) scrapes
that jobgw with a config derived from deploy/prometheus/prometheus.yml and its alert rules;
through Prometheus's HTTP API the target is up, jobgw_ series carry values, every alert rule
loads and evaluates without error and JobgwDown and JobgwJobDown stay quiet, and the
Dockerfile's HEALTHCHECK command passes against jobgw. With redis-server installed, jobgw runs
in replicated mode on a Redis of its own (with a password from a file, as deploy/kubernetes
does), so the jobgw.replicas rules evaluate real series: jobgw_redis_up is 1, the job took a
lease and appended events, and JobgwRedisDown is quiet.

Exits 77 (CTest skip) with "SKIPPED: prometheus package unavailable: ..." only when the package
cannot be installed, after the scrape checks passed. Everything listens on 127.0.0.1 and is
bounded in time.

usage: prometheus_integration.py REPO JOBGW JOBSIM [JOBCTL]
"""
import hashlib
import http.client
import json
import os
import re
import signal
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

import deploy_common as dc

SKIP = 77


def ensure_prometheus():
    if shutil.which("prometheus") or os.path.exists("/usr/bin/prometheus"):
        return None
    if os.geteuid() != 0:
        return "not root, cannot apt-get install prometheus"
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    try:
        r = subprocess.run(["apt-get", "install", "-y", "-q", "--no-install-recommends", "prometheus"],
                           capture_output=True, text=True, env=env, timeout=600)
        if r.returncode != 0:
            subprocess.run(["apt-get", "update", "-q"], capture_output=True, env=env, timeout=600)
            r = subprocess.run(["apt-get", "install", "-y", "-q", "--no-install-recommends", "prometheus"],
                               capture_output=True, text=True, env=env, timeout=600)
    except (OSError, subprocess.TimeoutExpired) as e:
        return "apt-get: %s" % e
    if r.returncode != 0:
        return "apt-get install prometheus exited %d: %s" % (r.returncode, (r.stderr or r.stdout)[-400:].strip())
    return None if os.path.exists("/usr/bin/prometheus") else "installed, but /usr/bin/prometheus is missing"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get_json(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return json.loads(r.read().decode())


def query(prom, expr):
    data = get_json("http://%s/api/v1/query?%s" % (prom, urllib.parse.urlencode({"query": expr})))
    if data.get("status") != "success":
        raise RuntimeError("query %s: %s" % (expr, data))
    return data["data"]["result"]


def wait_until(what, fn, timeout):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            value = fn()
            if value:
                return value
        except Exception as e:  # noqa: BLE001 - reported if it never succeeds
            last = e
        time.sleep(0.5)
    raise RuntimeError("timed out after %ss waiting for %s (last error: %s)" % (timeout, what, last))


def healthcheck_command(repo):
    text = open(os.path.join(repo, "Dockerfile"), encoding="utf-8").read().replace("\\\n", " ")
    m = re.search(r"^HEALTHCHECK\b.*?\bCMD\s+(.*)$", text, re.M)
    return m.group(1).strip() if m else None


OPS_TOKEN = "ops-token-0123456789abcdef"
READER_TOKEN = "reader-token-0123456789abcdef"
AUDITOR_TOKEN = "auditor-token-0123456789abcdef"


def credentials(with_auditor=False):
    """ops may execute, read and terminate everywhere; reader may read biz:1. The reload adds
    auditor."""
    def entry(name, token, scopes, operations):
        return {"name": name, "token_sha256": hashlib.sha256(token.encode()).hexdigest(),
                "scopes": scopes, "operations": operations}
    callers = [entry("ops", OPS_TOKEN, ["biz:*"], ["execute", "read", "terminate"]),
               entry("reader", READER_TOKEN, ["biz:1"], ["read"])]
    if with_auditor:
        callers.append(entry("auditor", AUDITOR_TOKEN, ["biz:1"], ["read"]))
    return {"callers": callers}


class Face:
    """jobgw's HTTP face (http.listen): JSON calls and SSE streams."""

    def __init__(self, port):
        self.port = port

    def call(self, method, path, body=None, token=OPS_TOKEN, timeout=30):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = "Bearer " + token
        conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
        r = conn.getresponse()
        text = r.read().decode("utf-8", "replace")
        conn.close()
        try:
            return r.status, json.loads(text) if text else {}
        except ValueError:
            return r.status, {"raw": text}

    def ok(self, method, path, body=None, token=OPS_TOKEN):
        status, data = self.call(method, path, body, token)
        if status != 200:
            raise RuntimeError("%s %s answered %d: %s" % (method, path, status, data))
        return data

    def submit(self, script, hosts=(101,), request_id=None, name="metrics-workload"):
        body = {"scope": {"type": "biz", "id": "1"}, "scriptContent": script,
                "scriptLanguage": "SCRIPT_LANGUAGE_SHELL", "taskName": name,
                "targets": {"hostIds": [str(h) for h in hosts]}}
        if request_id:
            body["requestId"] = request_id
        return self.ok("POST", "/v1/scripts:execute", body)["jobInstanceId"]

    def open_stream(self, path, token=OPS_TOKEN):
        """An SSE stream, open until read to its end or closed: (status, response, conn)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        conn.request("GET", path, headers={"Authorization": "Bearer " + token,
                                           "Accept": "text/event-stream"})
        r = conn.getresponse()
        if r.status != 200:
            r.read()
            conn.close()
        return r.status, r, conn

    @staticmethod
    def read_to_end(response, conn):
        """Events until `event: end`; returns (event names, the end's data)."""
        events = []
        name = None
        try:
            while True:
                line = response.readline()
                if not line:
                    raise RuntimeError("stream closed without event: end after %s" % events[-5:])
                line = line.decode("utf-8", "replace").rstrip("\r\n")
                if line.startswith("event: "):
                    name = line[len("event: "):]
                    events.append(name)
                elif line.startswith("data: ") and name == "end":
                    return events, json.loads(line[len("data: "):])
        finally:
            conn.close()


def job_path(job):
    return "/v1/scopes/biz/1/jobs/%s" % job


def scrape(port):
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=10) as r:
        return r.read().decode()


def samples(text):
    """{series as exported: value} and {family: type} of a Prometheus text page."""
    values, types = {}, {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            types[name] = kind
        elif line and not line.startswith("#"):
            series, _, value = line.rpartition(" ")
            values[series] = float(value)
    return values, types


def total(values, prefix):
    """Sum of every sample whose series starts with prefix (a name, or a name and labels)."""
    return sum(v for k, v in values.items() if k.startswith(prefix))


def start_jobgw(procs, jobgw, args, env, tmp, name):
    ports_file = os.path.join(tmp, name + ".ports")
    if os.path.exists(ports_file):
        os.unlink(ports_file)
    p = procs.start(name, [jobgw, "--ports_file=" + ports_file] + args, env=env, log_dir=tmp)
    return p, dc.wait_for_json_file(ports_file, p, 15, name)


def query_names(texts):
    """Metric names (jobgw_ and process_) the PromQL texts query, histogram suffixes kept."""
    names = set()
    for t in texts:
        names |= set(re.findall(r"\b((?:jobgw|process)_[a-zA-Z0-9_]+)", t))
    return names


def rule_and_dashboard_exprs(repo):
    dash = json.load(open(os.path.join(repo, "deploy", "grafana", "jobgw-dashboard.json"), encoding="utf-8"))
    exprs = dc.dashboard_exprs(dash)
    rules = dc.load_yaml_file(os.path.join(repo, "deploy", "prometheus", "jobgw-alerts.yml"))[0]
    rule_exprs = [r["expr"] for g in rules.get("groups", []) for r in g.get("rules", [])]
    return dash, exprs, rule_exprs


def workload(face, problems, metrics_port, jobctl, grpc_port, env, repo, creds_path):
    """Drives every family; returns what it ran, for the log."""
    # Idempotent submits: the same request_id twice is one job.
    first = face.submit("echo once", request_id="metrics-workload-0001")
    again = face.submit("echo once", request_id="metrics-workload-0001")
    if first != again:
        problems.append("a repeated request_id made a second job (%s, %s)" % (first, again))
    # Authentication and authorization refusals.
    for token, want, what in ((None, 401, "no token"), ("wrong-token-0123456789", 401, "a bad token")):
        status, _ = face.call("GET", "/v1/jobs", token=token)
        if status != want:
            problems.append("ListJobs with %s answered %d, not %d" % (what, status, want))
    status, _ = face.call("POST", "/v1/scripts:execute",
                          {"scope": {"type": "biz", "id": "1"}, "scriptContent": "echo no",
                           "scriptLanguage": "SCRIPT_LANGUAGE_SHELL", "targets": {"hostIds": ["101"]}},
                          token=READER_TOKEN)
    if status != 403:
        problems.append("reader's submit answered %d, not 403" % status)

    # A watch and a log follow over SSE, each to its end.
    short = face.submit("echo watched; sleep 1; echo done", hosts=(101, 102))
    for path in (job_path(short) + "/events", job_path(short) + "/logs/follow?host_ids=101"):
        status, r, conn = face.open_stream(path)
        if status != 200:
            problems.append("GET %s answered %d" % (path, status))
            continue
        events, end = Face.read_to_end(r, conn)
        if end.get("code") != "OK":
            problems.append("GET %s ended %s after %s" % (path, end, events))

    # Log paging: three hosts' logs of ~3 KB each, at most 4 KiB a page.
    paged = face.submit("seq 1 700", hosts=(101, 102, 103))
    wait_until("job %s finished" % paged, lambda: face.ok("GET", job_path(paged)).get("finished"), 30)
    pages, token = 0, ""
    while True:
        q = "?host_ids=101&host_ids=102&host_ids=103&max_response_bytes=4096"
        page = face.ok("GET", job_path(paged) + "/logs" + q + ("&page_token=" + urllib.parse.quote(token) if token else ""))
        pages += 1
        token = page.get("nextPageToken", "")
        if not token or pages > 10:
            break
    if pages < 2:
        problems.append("GetIpLogs of 3 hosts at 4 KiB a page came back in %d page(s)" % pages)
    # ListJobs, one job a page.
    listed = face.ok("GET", "/v1/jobs?page_size=1")
    if not listed.get("nextPageToken"):
        problems.append("ListJobs with page_size=1 gave no next page: %s" % listed)
    else:
        face.ok("GET", "/v1/jobs?page_size=1&page_token=" + urllib.parse.quote(listed["nextPageToken"]))

    # Streams at the limits (limits.max_streams=3, limits.caller_max_streams=2): ops holds two,
    # its third is refused at its own limit; reader takes the last slot, its second is refused
    # at limits.max_streams. Terminating the job ends the held streams.
    long_job = face.submit("sleep 60", hosts=(101,))
    held = []
    for token in (OPS_TOKEN, OPS_TOKEN):
        status, r, conn = face.open_stream(job_path(long_job) + "/events", token)
        if status != 200:
            problems.append("stream within the limits answered %d" % status)
        else:
            held.append((r, conn))
    status, _, _ = face.open_stream(job_path(long_job) + "/events", OPS_TOKEN)
    if status != 429:
        problems.append("ops's third stream (limits.caller_max_streams=2) answered %d, not 429" % status)
    status, r, conn = face.open_stream(job_path(long_job) + "/events", READER_TOKEN)
    if status != 200:
        problems.append("reader's stream (the last slot) answered %d" % status)
    else:
        held.append((r, conn))
    status, _, _ = face.open_stream(job_path(long_job) + "/events", READER_TOKEN)
    if status != 429:
        problems.append("a stream past limits.max_streams=3 answered %d, not 429" % status)
    values, _ = samples(scrape(metrics_port))
    if total(values, "jobgw_http_streams") < 3:
        problems.append("jobgw_http_streams is %s with three SSE streams open" % total(values, "jobgw_http_streams"))
    if total(values, 'jobgw_admission_in_use{limit="limits.max_streams"}') < 3:
        problems.append("jobgw_admission_in_use for limits.max_streams is below 3 with three streams open")
    face.ok("POST", job_path(long_job) + ":terminate", {})
    for r, conn in held:
        Face.read_to_end(r, conn)
    face.ok("GET", job_path(long_job))

    # A credentials reload: a caller added to the file is let in.
    with open(creds_path + ".new", "w") as f:
        json.dump(credentials(with_auditor=True), f)
    os.replace(creds_path + ".new", creds_path)
    wait_until("the auditor caller after the reload",
               lambda: face.call("GET", "/v1/jobs", token=AUDITOR_TOKEN)[0] == 200, 30)

    # gRPC: a watched exec through jobctl, the HEALTHCHECK.
    if jobctl:
        env_ctl = dict(env, JOBGW_ADDR="127.0.0.1:%d" % grpc_port, JOBGW_TOKEN=OPS_TOKEN)
        # A job that runs a second, so its changes reach the watching stream through Redis
        # (jobgw_replica_fanout_lag_seconds) rather than only in the state it loads.
        r = subprocess.run([jobctl, "exec", "--host-ids", "101", "-c", "sleep 1; echo hi", "--watch", "--plain"],
                           capture_output=True, text=True, env=env_ctl, timeout=60)
        print("jobctl exec:", r.returncode, r.stdout.strip()[-300:], r.stderr.strip()[-300:])
        if r.returncode != 0:
            problems.append("jobctl exec --watch exited %d: %s %s" % (r.returncode, r.stdout, r.stderr))
        hc = healthcheck_command(repo)
        if hc is None:
            problems.append("Dockerfile has no HEALTHCHECK CMD")
        else:
            hc_env = dict(env, PATH=os.path.dirname(os.path.abspath(jobctl)) + ":" + env.get("PATH", ""),
                          JOBGW_GRPC_LISTEN="0.0.0.0:%d" % grpc_port)
            r = subprocess.run(["/bin/sh", "-c", hc], capture_output=True, text=True, env=hc_env, timeout=30)
            if r.returncode != 0:
                problems.append("HEALTHCHECK %r exited %d: %s%s" % (hc, r.returncode, r.stdout, r.stderr))
            else:
                print("HEALTHCHECK passes:", hc)
    else:
        print("NOTE: jobctl is not built; no gRPC watch or HEALTHCHECK")


# What the workload must have moved, as series prefixes of the scrape (each > 0).
MOVED = (
    'jobgw_idempotent_submits_total{outcome="submitted"}',
    'jobgw_idempotent_submits_total{outcome="replayed"}',
    'jobgw_auth_refusals_total{reason="missing_token"}',
    'jobgw_auth_refusals_total{reason="bad_token"}',
    'jobgw_auth_refusals_total{reason="operation"}',
    'jobgw_admission_rejections_total{limit="limits.max_streams"}',
    'jobgw_caller_limit_rejections_total{limit="streams"}',
    'jobgw_credentials_reloads_total{outcome="ok"}',
    "jobgw_resumed_jobs_total",
    'jobgw_rpc_requests_total{code="OK",method="GetIpLogs"}',
    'jobgw_rpc_requests_total{code="OK",method="ListJobs"}',
    'jobgw_rpc_requests_total{code="OK",method="TerminateJob"}',
    'jobgw_rpc_requests_total{code="OK",method="GetJobStatus"}',
    'jobgw_rpc_duration_seconds_count{code="OK",method="ExecuteScript"}',
    'jobgw_stream_duration_seconds_count{method="WatchStatus"}',
    'jobgw_stream_duration_seconds_count{method="FollowLogs"}',
    'jobgw_job_http_attempts_total{api="fast_execute_script",outcome="2xx"}',
    'jobgw_job_http_attempts_total{api="get_job_instance_status",outcome="2xx"}',
    'jobgw_job_http_attempts_total{api="batch_get_job_instance_ip_log",outcome="2xx"}',
    'jobgw_job_http_attempts_total{api="operate_job_instance",outcome="2xx"}',
    "jobgw_job_call_duration_seconds_count",
    'jobgw_events_total{kind="job_changed"}',
    'jobgw_events_total{kind="finished"}',
    'jobgw_jobs_finished_total{status="success"}',
    "jobgw_poll_interval_seconds_count",
    "jobgw_token_bucket_wait_seconds_count",
    'jobgw_log_reads_total{outcome="ok"}',
    "jobgw_build_info",
    "process_cpu_seconds_total",
    "process_resident_memory_bytes",
    "process_open_fds",
    "process_max_fds",
    "process_start_time_seconds",
)
REPLICA_MOVED = ("jobgw_redis_up", 'jobgw_replica_leases_acquired_total{kind="submit"}',
                 "jobgw_replica_appended_events_total")


def scrape_problems(repo, text, replicated):
    """The scrape against the dashboard, the alerts and not-on-dashboard.txt."""
    problems = []
    values, types = samples(text)
    families = set(types)
    dash, dash_exprs, rule_exprs = rule_and_dashboard_exprs(repo)

    def exported(name):
        if name in families:
            return True
        return any(name == f + suffix and types[f] in ("histogram", "summary")
                   for f in families for suffix in ("_bucket", "_sum", "_count"))
    replica_only = set(dc.metric_types(os.path.join(repo, "server", "replica_metrics.cc"))[0]) | {"jobgw_redis_up"}
    for what, exprs in (("the dashboard", dash_exprs), ("the alerts", rule_exprs)):
        for name in sorted(query_names(exprs)):
            if exported(name):
                continue
            base = re.sub(r"_(bucket|sum|count)$", "", name)
            if not replicated and (name in replica_only or base in replica_only):
                continue
            problems.append("%s queries %s, which jobgw's /metrics does not have" % (what, name))
    shown = dc.dashboard_families(dash, families)
    left_out = dc.dashboard_left_out(repo)
    for f in sorted(families - shown - set(left_out)):
        problems.append("/metrics has %s, which no dashboard panel shows and not-on-dashboard.txt "
                        "does not leave out" % f)
    moved = MOVED + (REPLICA_MOVED if replicated else ())
    for prefix in moved:
        if total(values, prefix) <= 0:
            problems.append("the workload did not move %s" % prefix)
    print("scrape: %d families, %d series; %d queried by the dashboard and alerts" %
          (len(families), len(values), len(query_names(dash_exprs + rule_exprs))))
    return problems


def main():
    repo, jobgw, jobsim = sys.argv[1:4]
    jobctl = sys.argv[4] if len(sys.argv) > 4 and sys.argv[4] else None
    prometheus_missing = ensure_prometheus()
    prometheus = None if prometheus_missing else (shutil.which("prometheus") or "/usr/bin/prometheus")

    problems = []
    procs = dc.Processes()
    tmp = tempfile.mkdtemp(prefix="jobgw-prom-")
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith("JOBGW_")}
        sim = procs.start("jobsim", [jobsim, "--hosts", "3", "--listen", "127.0.0.1:0",
                                     "--port-file", os.path.join(tmp, "jobsim.port")], env=env, log_dir=tmp)
        deadline = time.monotonic() + 15
        sim_port = None
        while time.monotonic() < deadline and sim_port is None:
            if sim.poll() is not None:
                raise RuntimeError("jobsim exited %d\n%s" % (sim.returncode, procs.tail(sim)))
            try:
                sim_port = int(open(os.path.join(tmp, "jobsim.port")).read().strip())
            except (FileNotFoundError, ValueError):
                time.sleep(0.05)
        if sim_port is None:
            raise RuntimeError("jobsim wrote no port file within 15 s\n" + procs.tail(sim))

        # A Redis of its own, password required, for the replicated mode's series.
        replicated = bool(shutil.which("redis-server"))
        redis_args = []
        if replicated:
            redis_port = free_port()
            password_file = os.path.join(tmp, "redis-password")
            with open(password_file, "w") as f:
                f.write(dc.STAND_IN_REDIS_PASSWORD + "\n")
            procs.start("redis", ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1",
                                  "--save", "", "--appendonly", "no", "--dir", tmp,
                                  "--requirepass", dc.STAND_IN_REDIS_PASSWORD], env=env, log_dir=tmp)
            redis_args = ["--state.redis_url=redis://127.0.0.1:%d/0" % redis_port,
                          "--state.redis_password_file=" + password_file,
                          "--state.replica_id=prometheus-integration-0", "--state.replicas=1"]
        else:
            print("NOTE: redis-server is not installed; jobgw runs without state.redis_url")

        creds_path = os.path.join(tmp, "credentials.json")
        with open(creds_path, "w") as f:
            json.dump(credentials(), f)
        args = ["--grpc.listen=127.0.0.1:0", "--metrics.listen=127.0.0.1:0", "--http.listen=127.0.0.1:0",
                "--job.base_url=http://127.0.0.1:%d" % sim_port, "--watch.poll_floor_ms=50",
                "--follow.interval_ms=200", "--state.path=" + os.path.join(tmp, "jobgw-state.db"),
                "--auth.credentials_file=" + creds_path, "--auth.reload_interval_ms=200",
                "--limits.max_streams=3", "--limits.caller_max_streams=2"] + redis_args

        # A job submitted before a restart is watched again after it (jobgw_resumed_jobs_total).
        first, ports = start_jobgw(procs, jobgw, args, env, tmp, "jobgw-before-restart")
        resumed = Face(ports["http"]).submit("sleep 3; echo resumed", name="resumed")
        os.killpg(first.pid, signal.SIGTERM)
        first.wait(timeout=30)
        gw, ports = start_jobgw(procs, jobgw, args, env, tmp, "jobgw")
        face = Face(ports["http"])
        metrics_target = "127.0.0.1:%d" % ports["metrics"]

        prom = None
        if prometheus:
            # The shipped config, pointed at this jobgw, scraping every second, rules by absolute path.
            pdir = os.path.join(repo, "deploy", "prometheus")
            config = dc.load_yaml_file(os.path.join(pdir, "prometheus.yml"))[0]
            config["global"]["scrape_interval"] = "1s"
            config["global"]["evaluation_interval"] = "1s"
            config["rule_files"] = [os.path.join(pdir, r) for r in config.get("rule_files", [])]
            jobs = [s for s in config["scrape_configs"] if s.get("job_name") == "jobgw"]
            if len(jobs) != 1 or len(jobs[0].get("static_configs", [])) != 1:
                raise RuntimeError("deploy/prometheus/prometheus.yml: want one jobgw job with one static_configs")
            jobs[0]["static_configs"][0]["targets"] = [metrics_target]
            prom_config = os.path.join(tmp, "prometheus.yml")
            with open(prom_config, "w") as f:
                json.dump(config, f, indent=2)  # JSON is YAML
            prom = "127.0.0.1:%d" % free_port()
            pp = procs.start("prometheus", [prometheus, "--config.file=" + prom_config,
                                            "--storage.tsdb.path=" + os.path.join(tmp, "tsdb"),
                                            "--web.listen-address=" + prom, "--log.level=warn"],
                             env=env, log_dir=tmp)

            def ready():
                if pp.poll() is not None:
                    raise SystemExit("FAIL: prometheus exited %d\n%s" % (pp.returncode, procs.tail(pp)))
                return urllib.request.urlopen("http://%s/-/ready" % prom, timeout=2).status == 200
            wait_until("prometheus /-/ready", ready, 30)

        workload(face, problems, ports["metrics"], jobctl, ports["grpc"], env, repo, creds_path)
        wait_until("the resumed job %s finished" % resumed,
                   lambda: face.ok("GET", job_path(resumed)).get("finished"), 30)
        # Every change of the workload has reached the metrics once the watched jobs finished.
        problems += scrape_problems(repo, scrape(ports["metrics"]), replicated)

        if prom:
            up = wait_until('up{job="jobgw"} == 1',
                            lambda: [r for r in query(prom, 'up{job="jobgw"}') if r["value"][1] == "1"], 60)
            print("up:", up[0]["metric"])
            targets = get_json("http://%s/api/v1/targets" % prom)["data"]["activeTargets"]
            if [t["scrapeUrl"] for t in targets] != ["http://%s/metrics" % metrics_target]:
                problems.append("unexpected targets: %s" % [t["scrapeUrl"] for t in targets])
            series = ["jobgw_watched_jobs", "jobgw_subscribers", "jobgw_subscriber_overflows_total",
                      'jobgw_rpc_requests_total{code="OK"}', "jobgw_job_http_attempts_total",
                      "jobgw_job_call_duration_seconds_count", 'jobgw_jobs_finished_total{status="success"}',
                      "jobgw_stream_duration_seconds_count", "jobgw_build_info", "process_cpu_seconds_total"]
            if replicated:
                series += ["jobgw_redis_up", 'jobgw_replica_leases_acquired_total{kind="submit"}',
                           "jobgw_replica_appended_events_total", "jobgw_replica_fanout_lag_seconds_count"]
            for expr in series:
                res = wait_until("%s in Prometheus" % expr,
                                 lambda e=expr: [r for r in query(prom, "sum(%s)" % e) if r["value"][1] not in ("0", "NaN")]
                                 or (e in ("jobgw_watched_jobs", "jobgw_subscribers", "jobgw_subscriber_overflows_total")
                                     and query(prom, e)), 60)
                print("%s = %s" % (expr, res[0]["value"][1]))

            # Every rule of deploy/prometheus loads and evaluates.
            def rules_ok():
                groups = get_json("http://%s/api/v1/rules" % prom)["data"]["groups"]
                rules = [r for g in groups for r in g["rules"]]
                return rules if rules and all(r.get("lastEvaluation", "").startswith("2") and
                                              not r["lastEvaluation"].startswith("0001") for r in rules) else None
            rules = wait_until("every rule evaluated once", rules_ok, 30)
            for r in rules:
                if r.get("health") != "ok":
                    problems.append("rule %s: health %s: %s" % (r["name"], r.get("health"), r.get("lastError")))
            print("%d rules loaded and evaluated" % len(rules))
            active = [r["name"] for r in rules if r.get("state") in ("pending", "firing")]
            for quiet in ("JobgwDown", "JobgwJobDown") + (("JobgwRedisDown",) if replicated else ()):
                if quiet in active:
                    problems.append("%s is pending or firing while jobgw, JOB and Redis answer" % quiet)
            if replicated and not [r for r in rules if r["name"] == "JobgwRedisDown"]:
                problems.append("no JobgwRedisDown rule was loaded")
    except SystemExit:
        raise
    except Exception as e:  # noqa: BLE001
        problems.append("%s: %s" % (type(e).__name__, e))
        for p in procs.children:
            print("---- %s log (tail) ----\n%s" % (p.jobgw_name, procs.tail(p)))
    finally:
        procs.close()
        shutil.rmtree(tmp, ignore_errors=True)
    if prometheus_missing and not problems:
        print("SKIPPED: prometheus package unavailable: %s (the scrape checks passed)" % prometheus_missing)
        sys.exit(SKIP)
    dc.report(problems, "a workload over every family; the scrape has every name the dashboard "
              "and alerts query and a panel for every family; Prometheus scraped jobgw with "
              "the shipped config and rules")


if __name__ == "__main__":
    main()
