"""deploy.observability: the Grafana dashboard and the Prometheus alert rules parse and query
only metrics (and labels) that core/metrics/ (metrics.cc, process_collector.cc),
server/server_metrics.cc and server/replica_metrics.cc export; the dashboard has a panel for
every family those files register, except the ones deploy/grafana/not-on-dashboard.txt leaves
out with a reason; the rules alert on the replicated mode's metrics too; the dashboard's panels share the data source variable and do not overlap;
the scrape configs are well formed; with promtool installed (Debian's prometheus package),
`promtool check rules` and `promtool check config` accept them.

usage: check_observability.py REPO
"""
import glob
import json
import os
import shutil
import subprocess
import sys

import deploy_common as dc

METRIC_SOURCES = (("core", "metrics", "metrics.cc"), ("core", "metrics", "process_collector.cc"),
                  ("server", "server_metrics.cc"), ("server", "replica_metrics.cc"))
# The replicated mode's series (state.redis_url): the "Replicas" row and the jobgw.replicas rules.
REPLICA_METRICS = ("jobgw_redis_up", "jobgw_replica_owned_jobs", "jobgw_replica_followed_jobs",
                   "jobgw_replica_leases_acquired_total", "jobgw_replica_leases_lost_total",
                   "jobgw_replica_fanout_lag_seconds", "jobgw_replica_appended_events_total")


def walk_exprs(node, out):
    if isinstance(node, dict):
        for k, v in node.items():
            if k in ("expr", "query", "definition") and isinstance(v, str):
                out.append(v)
            else:
                walk_exprs(v, out)
    elif isinstance(node, list):
        for v in node:
            walk_exprs(v, out)


def layout_problems(name, dash):
    """Panels query through the dashboard's data source variable and do not overlap on the 24
    column grid (Grafana would silently push overlapping ones down)."""
    problems = []
    ds_vars = ["${%s}" % v["name"] for v in dash.get("templating", {}).get("list", []) if v.get("type") == "datasource"]
    cells = {}
    for p in dash.get("panels", []):
        g = p.get("gridPos", {})
        if any(not isinstance(g.get(k), int) for k in ("x", "y", "w", "h")) or g["x"] + g["w"] > 24:
            problems.append("%s: panel %r has a bad gridPos %r" % (name, p.get("title"), g))
            continue
        mine = {(x, y) for x in range(g["x"], g["x"] + g["w"]) for y in range(g["y"], g["y"] + g["h"])}
        for other in sorted({cells[xy] for xy in mine if xy in cells}):
            problems.append("%s: panels %r and %r overlap" % (name, other, p.get("title")))
        cells.update({xy: p.get("title") for xy in mine})
        if p.get("type") == "row":
            continue
        for ds in [p.get("datasource")] + [t.get("datasource") for t in p.get("targets", [])]:
            if not isinstance(ds, dict) or ds.get("type") != "prometheus" or ds.get("uid") not in ds_vars:
                problems.append("%s: panel %r does not query through the data source variable %s"
                                % (name, p.get("title"), ds_vars))
                break
    return problems


def main():
    repo = sys.argv[1]
    problems = []
    metrics, labels = dc.metric_types(*(os.path.join(repo, *parts) for parts in METRIC_SOURCES))
    for n in REPLICA_METRICS:
        if n not in metrics:
            problems.append("%s is registered in none of %s" % (n, ", ".join("/".join(p) for p in METRIC_SOURCES)))
    if "kind" not in labels:
        problems.append("no metric sets the label kind (jobgw_replica_leases_*)")

    # Grafana.
    left_out = dc.dashboard_left_out(repo)
    for n in sorted(set(left_out) - set(metrics)):
        problems.append("not-on-dashboard.txt leaves out %s, which jobgw does not export" % n)
    dashboards = sorted(glob.glob(os.path.join(repo, "deploy", "grafana", "*.json")))
    if not dashboards:
        problems.append("no dashboard JSON in deploy/grafana")
    used = set()
    for path in dashboards:
        with open(path, encoding="utf-8") as f:
            try:
                dash = json.load(f)
            except json.JSONDecodeError as e:
                problems.append("%s: %s" % (path, e))
                continue
        name = os.path.basename(path)
        if not dash.get("title") or not dash.get("uid"):
            problems.append("%s: dashboard needs a title and a uid" % name)
        ids = [p.get("id") for p in dash.get("panels", [])]
        if len(ids) != len(set(ids)):
            problems.append("%s: duplicate panel ids" % name)
        exprs = []
        walk_exprs(dash, exprs)
        for p in dash.get("panels", []):
            if p.get("type") != "row" and not p.get("targets"):
                problems.append("%s: panel %r queries nothing" % (name, p.get("title")))
        for e in exprs:
            for prob in dc.promql_problems(e, metrics, labels):
                problems.append("%s: %s in %s" % (name, prob, e))
            used |= {m for m in metrics if m in e}
        for topic, names in (("RPC", ["jobgw_rpc_requests_total", "jobgw_rpc_duration_seconds"]),
                             ("JOB calls", ["jobgw_job_http_attempts_total", "jobgw_job_call_duration_seconds"]),
                             ("watching", ["jobgw_watched_jobs", "jobgw_subscribers"]),
                             ("job outcomes", ["jobgw_jobs_finished_total"]),
                             ("replicas", list(REPLICA_METRICS))):
            for n in names:
                if n in metrics and n not in used:
                    problems.append("%s: no panel shows %s (%s)" % (name, n, topic))
        problems += layout_problems(name, dash)
        shown = dc.dashboard_families(dash, metrics)
        for n in sorted(set(metrics) - shown - set(left_out)):
            problems.append("%s: no panel shows %s, and not-on-dashboard.txt does not leave it out"
                            % (name, n))
        for n in sorted(set(left_out) & shown):
            problems.append("%s: shows %s, which not-on-dashboard.txt leaves out" % (name, n))

    # Prometheus rules.
    pdir = os.path.join(repo, "deploy", "prometheus")
    config_path = os.path.join(pdir, "prometheus.yml")
    config = dc.load_yaml_file(config_path)[0]
    rule_files = [os.path.join(pdir, r) for r in config.get("rule_files", [])]
    if not rule_files:
        problems.append("prometheus.yml loads no rule_files")
    alerts = set()
    for rf in rule_files:
        if not os.path.exists(rf):
            problems.append("prometheus.yml names missing rule file %s" % rf)
            continue
        doc = dc.load_yaml_file(rf)[0]
        for g in doc.get("groups", []):
            for r in g.get("rules", []):
                name = r.get("alert") or r.get("record")
                if not name or not r.get("expr"):
                    problems.append("%s: a rule without alert/record name or expr" % rf)
                    continue
                alerts.add(name)
                for prob in dc.promql_problems(r["expr"], metrics, labels):
                    problems.append("%s: %s: %s" % (os.path.basename(rf), name, prob))
                if "alert" in r and not r.get("annotations", {}).get("summary"):
                    problems.append("%s: %s has no summary annotation" % (os.path.basename(rf), name))
                if "alert" in r and r.get("labels", {}).get("severity") not in ("critical", "warning", "info"):
                    problems.append("%s: %s has no severity label" % (os.path.basename(rf), name))
    # The alerts deploy/README.md promises (JOB errors and latency, token bucket, backlog).
    all_rules_text = "".join(open(rf, encoding="utf-8").read() for rf in rule_files if os.path.exists(rf))
    for topic, metric in (("JOB error ratio", "jobgw_job_http_attempts_total"),
                          ("JOB latency", "jobgw_job_call_duration_seconds_bucket"),
                          ("token-bucket saturation", "jobgw_token_bucket_wait_seconds"),
                          ("watch backlog", "jobgw_watched_jobs"),
                          ("Redis down", "jobgw_redis_up"),
                          ("lease churn", "jobgw_replica_leases_lost_total"),
                          ("cross-replica fan-out lag", "jobgw_replica_fanout_lag_seconds_bucket"),
                          ("JOB down", "jobgw_job_up"),
                          ("admission rejections", "jobgw_admission_rejections_total"),
                          ("auth refusal spikes", "jobgw_auth_refusals_total"),
                          ("watch give-ups", "jobgw_watch_ends_total")):
        if metric not in all_rules_text:
            problems.append("no alert rule over %s (%s)" % (metric, topic))
    jobs = [s.get("job_name") for s in config.get("scrape_configs", [])]
    if "jobgw" not in jobs:
        problems.append("prometheus.yml has no scrape job named jobgw (the alerts use job=\"jobgw\")")
    k8s = dc.load_yaml_file(os.path.join(pdir, "scrape-kubernetes.yml"))[0]
    if [s.get("job_name") for s in k8s.get("scrape_configs", [])] != ["jobgw"]:
        problems.append("scrape-kubernetes.yml must hold one scrape job named jobgw")

    promtool = shutil.which("promtool")
    if promtool:
        for argv in ([promtool, "check", "rules"] + rule_files,
                     [promtool, "check", "config", config_path]):
            r = subprocess.run(argv, capture_output=True, text=True, timeout=60)
            if r.returncode != 0:
                problems.append("%s failed:\n%s%s" % (" ".join(argv), r.stdout, r.stderr))
        # scrape-kubernetes.yml is not given to promtool: Debian builds Prometheus without
        # kubernetes_sd_configs, so its promtool rejects that job however correct it is.
        checked = "; promtool accepts the rules and prometheus.yml"
    else:
        checked = "; promtool not installed, so rules were checked structurally only"
    dc.report(problems, "%d dashboard(s), %d alert rules, metrics all exported by jobgw%s"
              % (len(dashboards), len(alerts), checked))


if __name__ == "__main__":
    main()
