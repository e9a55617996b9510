"""deploy.prometheus_integration: a real Prometheus (Debian's prometheus package, installed with
apt-get when missing) scrapes a real jobgw in front of jobsim, with a config derived from
deploy/prometheus/prometheus.yml and its alert rules; through Prometheus's HTTP API the target
is up, jobgw_ series carry values, every alert rule loads and evaluates without error, and, when
jobctl is built, a job run through jobgw shows up in jobgw_rpc_requests_total and
jobgw_jobs_finished_total, and the Dockerfile's HEALTHCHECK command passes against jobgw.
With redis-server installed, jobgw runs in replicated mode on a Redis of its own (with a
password from a file, as deploy/kubernetes does), so the jobgw.replicas rules evaluate real
series: jobgw_redis_up is 1, the job took a lease and appended events, and JobgwRedisDown is
quiet.

Exits 77 (CTest skip) with "SKIPPED: prometheus package unavailable: ..." only when the package
cannot be installed. Everything listens on 127.0.0.1 and is bounded in time.

usage: prometheus_integration.py REPO JOBGW JOBSIM [JOBCTL]
"""
import json
import os
import re
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


def main():
    repo, jobgw, jobsim = sys.argv[1:4]
    jobctl = sys.argv[4] if len(sys.argv) > 4 and sys.argv[4] else None
    why = ensure_prometheus()
    if why:
        print("SKIPPED: prometheus package unavailable: " + why)
        sys.exit(SKIP)
    prometheus = shutil.which("prometheus") or "/usr/bin/prometheus"

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

        ports_file = os.path.join(tmp, "jobgw.ports")
        gw = procs.start("jobgw", [jobgw, "--grpc.listen=127.0.0.1:0", "--metrics.listen=127.0.0.1:0",
                                   "--job.base_url=http://127.0.0.1:%d" % sim_port,
                                   "--watch.poll_floor_ms=50", "--ports_file=" + ports_file,
                                   "--state.path=" + os.path.join(tmp, "jobgw-state.db"),
                                   "--insecure-dev"] + redis_args,
                         env=env, log_dir=tmp)
        ports = dc.wait_for_json_file(ports_file, gw, 15, "jobgw")
        metrics_target = "127.0.0.1:%d" % ports["metrics"]

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

        prom_port = free_port()
        prom = "127.0.0.1:%d" % prom_port
        pp = procs.start("prometheus", [prometheus, "--config.file=" + prom_config,
                                        "--storage.tsdb.path=" + os.path.join(tmp, "tsdb"),
                                        "--web.listen-address=" + prom, "--log.level=warn"],
                         env=env, log_dir=tmp)

        def ready():
            if pp.poll() is not None:
                raise SystemExit("FAIL: prometheus exited %d\n%s" % (pp.returncode, procs.tail(pp)))
            return urllib.request.urlopen("http://%s/-/ready" % prom, timeout=2).status == 200
        wait_until("prometheus /-/ready", ready, 30)

        up = wait_until('up{job="jobgw"} == 1',
                        lambda: [r for r in query(prom, 'up{job="jobgw"}') if r["value"][1] == "1"], 60)
        print("up:", up[0]["metric"])
        targets = get_json("http://%s/api/v1/targets" % prom)["data"]["activeTargets"]
        if [t["scrapeUrl"] for t in targets] != ["http://%s/metrics" % metrics_target]:
            problems.append("unexpected targets: %s" % [t["scrapeUrl"] for t in targets])

        series = ["jobgw_watched_jobs", "jobgw_subscribers", "jobgw_subscriber_overflows_total"]
        if replicated:
            series += ["jobgw_redis_up"]
        if jobctl:
            env_ctl = dict(env, JOBGW_ADDR="127.0.0.1:%d" % ports["grpc"])
            # A job that runs a second, so its changes reach the watching stream through Redis
            # (jobgw_replica_fanout_lag_seconds) rather than only in the state it loads.
            r = subprocess.run([jobctl, "--addr", "127.0.0.1:%d" % ports["grpc"], "exec",
                                "--host-ids", "101", "-c", "sleep 1; echo hi", "--watch", "--plain"],
                               capture_output=True, text=True, env=env_ctl, timeout=60)
            print("jobctl exec:", r.returncode, r.stdout.strip()[-300:], r.stderr.strip()[-300:])
            if r.returncode != 0:
                problems.append("jobctl exec --watch exited %d: %s %s" % (r.returncode, r.stdout, r.stderr))
            series += ['jobgw_rpc_requests_total{code="OK"}', "jobgw_job_http_attempts_total",
                       "jobgw_job_call_duration_seconds_count", 'jobgw_jobs_finished_total{status="success"}']
            if replicated:
                series += ['jobgw_replica_leases_acquired_total{kind="submit"}',
                           "jobgw_replica_appended_events_total", "jobgw_replica_fanout_lag_seconds_count"]

            # The image's HEALTHCHECK, run as Docker would (/bin/sh -c), against this jobgw.
            hc = healthcheck_command(repo)
            if hc is None:
                problems.append("Dockerfile has no HEALTHCHECK CMD")
            else:
                hc_env = dict(env, PATH=os.path.dirname(os.path.abspath(jobctl)) + ":" + env.get("PATH", ""),
                              JOBGW_GRPC_LISTEN="0.0.0.0:%d" % ports["grpc"])
                r = subprocess.run(["/bin/sh", "-c", hc], capture_output=True, text=True, env=hc_env, timeout=30)
                if r.returncode != 0:
                    problems.append("HEALTHCHECK %r exited %d: %s%s" % (hc, r.returncode, r.stdout, r.stderr))
                else:
                    print("HEALTHCHECK passes:", hc)
        else:
            print("NOTE: jobctl is not built; checking only the series jobgw exports without RPCs")

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
        firing = [r["name"] for r in rules if r.get("state") == "firing"]
        if "JobgwDown" in firing:
            problems.append("JobgwDown fires while jobgw is up")
        active = [r["name"] for r in rules if r.get("state") in ("pending", "firing")]
        if replicated and "JobgwRedisDown" in active:
            problems.append("JobgwRedisDown is pending or firing while jobgw reaches its Redis")
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
    dc.report(problems, "Prometheus scraped jobgw with the shipped config and rules")


if __name__ == "__main__":
    main()
