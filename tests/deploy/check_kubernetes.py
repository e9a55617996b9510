"""deploy.kubernetes: the manifests in deploy/kubernetes parse, hold the required kinds, wire
ports, labels and probes consistently, give jobgw more time to stop than it takes, set only real
JOBGW_ keys, run three jobgw replicas on the bundled Redis (a StatefulSet with AOF on and its
password from a Secret, never in a URL or an env value), and jobgw accepts the resulting
configuration. With redis-server installed, the StatefulSet's own command and redis.conf start a
Redis here and jobgw, given the pod's environment, must reach it (jobgw_redis_up 1).

usage: check_kubernetes.py REPO JOBGW_BINARY
"""
import glob
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

import deploy_common as dc

POD_IP = "10.1.2.3"
POD_NAME = "jobgw-5d8f7c9b4-x2x7q"
REPLICAS = 3
# The official Redis 7 image on Debian (redis:7 is Debian-based; -bookworm names Debian 12).
REDIS_IMAGE = re.compile(r"^(docker\.io/(library/)?)?redis:7(\.[0-9]+){0,2}(-bookworm)?$")
PASSWORD_IN_URL = re.compile(r"rediss?://[^\s/@\"']*:[^\s/@\"']+@")
LITERAL_REQUIREPASS = re.compile(r"requirepass\s+(?![\"']?(%s|\$))\S+")


def pod_matches(selector, labels):
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def redis_conf(text):
    """{directive: [args]} of a redis.conf (the last occurrence wins, as in Redis)."""
    out = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            parts = line.split()
            out[parts[0].lower()] = [a.strip("\"'") for a in parts[1:]]
    return out


def main():
    repo, jobgw = sys.argv[1], sys.argv[2]
    kdir = os.path.join(repo, "deploy", "kubernetes")
    problems = []
    env_keys = dc.jobgw_env_keys(jobgw)

    objects = []
    for path in sorted(glob.glob(os.path.join(kdir, "*.yaml"))):
        for doc in dc.load_yaml_file(path):
            if not isinstance(doc, dict) or "kind" not in doc or "apiVersion" not in doc:
                problems.append("%s: a document without kind/apiVersion" % path)
                continue
            doc["__file"] = os.path.basename(path)
            objects.append(doc)

    def of_kind(kind):
        return [o for o in objects if o["kind"] == kind]

    for kind in ("Deployment", "Service", "ConfigMap", "Secret", "PodDisruptionBudget"):
        if not of_kind(kind):
            problems.append("no %s in deploy/kubernetes" % kind)
    if not of_kind("ServiceMonitor"):
        problems.append("no ServiceMonitor in deploy/kubernetes")
    if problems:
        dc.report(problems, "")

    kust = [o for o in objects if o["kind"] == "Kustomization"]
    if kust:
        listed = set(kust[0].get("resources", []))
        for o in objects:
            if o["kind"] in ("Kustomization", "ServiceMonitor"):
                continue
            if o["__file"] not in listed:
                problems.append("kustomization.yaml does not list %s" % o["__file"])
        for name in listed:
            if not os.path.exists(os.path.join(kdir, name)):
                problems.append("kustomization.yaml lists missing %s" % name)

    dep = of_kind("Deployment")[0]
    spec = dep["spec"]
    pod = spec["template"]["spec"]
    pod_labels = spec["template"]["metadata"]["labels"]
    replicas = spec.get("replicas")
    if replicas != REPLICAS:
        problems.append("Deployment replicas is %r, want %d (one gateway on Redis)" % (replicas, REPLICAS))
    sel = spec["selector"]["matchLabels"]
    if any(pod_labels.get(k) != v for k, v in sel.items()):
        problems.append("Deployment selector %r does not match its pod labels %r" % (sel, pod_labels))
    sc = pod.get("securityContext", {})
    if sc.get("runAsNonRoot") is not True or sc.get("runAsUser", 0) == 0:
        problems.append("pod must run as a non-root user")

    containers = [c for c in pod["containers"] if c["name"] == "jobgw"]
    if not containers:
        dc.report(problems + ["no container named jobgw"], "")
    c = containers[0]
    ports = {p["name"]: p["containerPort"] for p in c.get("ports", [])}
    for name in ("grpc", "metrics", "callback"):
        if name not in ports:
            problems.append("container has no port named %s" % name)

    # Files the pod reads from Secrets: mount path -> the Secret's keys.
    secret_volumes = {v["name"]: v["secret"]["secretName"] for v in pod.get("volumes", [])
                      if "secret" in v}
    secret_files = {}
    for m in c.get("volumeMounts", []):
        if m["name"] in secret_volumes:
            ss = [o for o in of_kind("Secret") if o["metadata"]["name"] == secret_volumes[m["name"]]]
            if not ss:
                problems.append("volume %s names missing Secret %s" % (m["name"], secret_volumes[m["name"]]))
                continue
            if m.get("readOnly") is not True:
                problems.append("Secret volume %s must be mounted readOnly" % m["name"])
            for key in set(ss[0].get("stringData", {})) | set(ss[0].get("data", {})):
                secret_files[m["mountPath"].rstrip("/") + "/" + key] = ss[0]["metadata"]["name"]

    # grpc.health.v1 on the grpc port: the kubelet's grpc probe, or (over TLS, which that probe
    # cannot speak) `jobctl ... health` with --addr 127.0.0.1:<grpc port> and a mounted CA file.
    def probe_problem(name, pr):
        if "grpc" in pr:
            if pr["grpc"].get("port") != ports.get("grpc"):
                return "%s port %r is not the grpc containerPort %r" % (name, pr["grpc"].get("port"), ports.get("grpc"))
            return None
        cmd = pr.get("exec", {}).get("command", [])
        if not cmd or os.path.basename(cmd[0]) != "jobctl" or cmd[-1] != "health":
            return "%s must be a gRPC probe (grpc: port:) or exec `jobctl ... health`" % name
        flags = dict(zip(cmd[1:-1:2], cmd[2:-1:2]))
        if flags.get("--addr") != "127.0.0.1:%s" % ports.get("grpc"):
            return "%s --addr %r is not 127.0.0.1:<grpc containerPort>" % (name, flags.get("--addr"))
        if "--ca-file" in flags and flags["--ca-file"] not in secret_files:
            return "%s --ca-file %s is not a file of a mounted Secret" % (name, flags["--ca-file"])
        return None

    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        pr = c.get(probe)
        if not pr:
            if probe != "startupProbe":
                problems.append("%s is missing" % probe)
            continue
        p = probe_problem(probe, pr)
        if p:
            problems.append(p)

    res = c.get("resources", {})
    for part in ("requests", "limits"):
        for r in ("cpu", "memory"):
            if r not in res.get(part, {}):
                problems.append("resources.%s.%s is missing" % (part, r))

    # The environment the container gets: ConfigMap and Secret (envFrom), then env (wins).
    env = {}
    for src in c.get("envFrom", []):
        if "configMapRef" in src:
            cms = [o for o in of_kind("ConfigMap") if o["metadata"]["name"] == src["configMapRef"]["name"]]
            if not cms:
                problems.append("envFrom names missing ConfigMap %s" % src["configMapRef"]["name"])
            for cm in cms:
                env.update({k: str(v) for k, v in cm.get("data", {}).items()})
        if "secretRef" in src:
            ss = [o for o in of_kind("Secret") if o["metadata"]["name"] == src["secretRef"]["name"]]
            if not ss:
                problems.append("envFrom names missing Secret %s" % src["secretRef"]["name"])
            for s in ss:
                env.update({k: str(v) for k, v in s.get("stringData", {}).items()})
                if "data" in s:
                    problems.append("Secret %s: use stringData for the example values" % s["metadata"]["name"])
    for e in c.get("env", []):
        if "value" in e:
            # The kubelet expands $(VAR) from variables defined before; do the same.
            env[e["name"]] = re.sub(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)",
                                    lambda m: env.get(m.group(1), m.group(0)), str(e["value"]))
        elif e.get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") == "status.podIP":
            env[e["name"]] = POD_IP
        elif e.get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") == "metadata.name":
            env[e["name"]] = POD_NAME

    # Every file jobgw is configured to read from a Secret is one the pod has mounted.
    for key, value in env.items():
        if key in dc.SECRET_FILE_KEYS and value not in secret_files:
            problems.append("%s=%s is not a file of a mounted Secret" % (key, value))
    if env.get("JOBGW_TLS_CERT_FILE") and not any(
            "--ca-file" in c.get(p, {}).get("exec", {}).get("command", [])
            for p in ("readinessProbe", "livenessProbe")):
        problems.append("gRPC serves TLS but the probes do not verify it (exec jobctl --ca-file)")

    secret_keys = set()
    for s in of_kind("Secret"):
        secret_keys |= set(s.get("stringData", {})) | set(s.get("data", {}))
    for k in ("JOBGW_JOB_APP_CODE", "JOBGW_JOB_APP_SECRET"):
        if k not in secret_keys:
            problems.append("the Secret does not hold %s" % k)
    for cm in of_kind("ConfigMap"):
        for k in cm.get("data", {}):
            if "SECRET" in k and not k.endswith("_FILE"):
                problems.append("ConfigMap %s holds %s; it belongs in the Secret" % (cm["metadata"]["name"], k))

    # Every JOBGW_ name anywhere in the manifests is a key jobgw knows.
    for path in sorted(glob.glob(os.path.join(kdir, "*.yaml"))):
        with open(path, encoding="utf-8") as f:
            for name in sorted(set(re.findall(r"JOBGW_[A-Z0-9_]+", f.read()))):
                if name not in env_keys:
                    problems.append("%s names %s, which is no jobgw config key (jobgw --help)"
                                    % (os.path.basename(path), name))

    # Listen addresses: all interfaces, on the declared container ports.
    for key, port_name in (("JOBGW_GRPC_LISTEN", "grpc"), ("JOBGW_METRICS_LISTEN", "metrics"),
                           ("JOBGW_CALLBACK_LISTEN", "callback")):
        value = env.get(key)
        if value is None:
            problems.append("%s is not set: jobgw would listen on its loopback default" % key)
            continue
        host, _, port = value.rpartition(":")
        if host not in ("0.0.0.0", "[::]"):
            problems.append("%s=%s does not listen on all interfaces" % (key, value))
        if not port.isdigit() or int(port) != ports.get(port_name):
            problems.append("%s=%s does not match containerPort %s=%r" % (key, value, port_name, ports.get(port_name)))
    if not env.get("JOBGW_CALLBACK_PUBLIC_URL", "").startswith("http"):
        problems.append("JOBGW_CALLBACK_PUBLIC_URL is not set: JOB would be told an unroutable 0.0.0.0 URL")

    # Termination: preStop + jobgw's grace + its 5 s watchdog margin must fit in the pod's grace.
    grace_ms = int(env.get("JOBGW_SHUTDOWN_GRACE_MS", env_keys["JOBGW_SHUTDOWN_GRACE_MS"]))
    pre_stop = 0
    cmd = c.get("lifecycle", {}).get("preStop", {}).get("exec", {}).get("command", [])
    if cmd[:1] == ["sleep"] and len(cmd) == 2:
        pre_stop = int(cmd[1])
    elif cmd:
        problems.append("preStop %r is not understood by this test" % cmd)
    tgps = pod.get("terminationGracePeriodSeconds")
    if tgps is None:
        problems.append("terminationGracePeriodSeconds is not set")
    elif tgps * 1000 <= pre_stop * 1000 + grace_ms + 5000:
        problems.append("terminationGracePeriodSeconds %d s <= preStop %d s + shutdown_grace_ms %d ms "
                        "+ jobgw's 5 s watchdog" % (tgps, pre_stop, grace_ms))

    # Every Service selects the pods of one workload (jobgw's Deployment or the Redis
    # StatefulSet) and targets ports its containers declare.
    workloads = [w for w in objects if w["kind"] in ("Deployment", "StatefulSet")]
    for svc in of_kind("Service"):
        s = svc["spec"]
        chosen = [w for w in workloads
                  if pod_matches(s.get("selector", {}), w["spec"]["template"]["metadata"]["labels"])]
        if len(chosen) != 1:
            problems.append("Service %s selects the pods of %d workloads, want exactly 1"
                            % (svc["metadata"]["name"], len(chosen)))
            continue
        wports = {p["name"]: p["containerPort"] for wc in chosen[0]["spec"]["template"]["spec"]["containers"]
                  for p in wc.get("ports", [])}
        for p in s.get("ports", []):
            t = p.get("targetPort", p.get("port"))
            if (isinstance(t, str) and t not in wports) or (isinstance(t, int) and t not in wports.values()):
                problems.append("Service %s port %s targets %r, not a container port of %s"
                                % (svc["metadata"]["name"], p.get("name"), t, chosen[0]["metadata"]["name"]))
    jobgw_services = [svc for svc in of_kind("Service") if pod_matches(svc["spec"].get("selector", {}), pod_labels)]
    if not jobgw_services:
        problems.append("no Service selects the jobgw pods")

    # The budget lets a drain take one jobgw pod at a time and keeps at least two serving.
    pdbs = [b for b in of_kind("PodDisruptionBudget") if pod_matches(b["spec"]["selector"]["matchLabels"], pod_labels)]
    if len(pdbs) != 1:
        problems.append("%d PodDisruptionBudgets select the jobgw pods, want 1" % len(pdbs))
    for pdb in pdbs:
        b = pdb["spec"]
        if ("minAvailable" in b) == ("maxUnavailable" in b):
            problems.append("PodDisruptionBudget must set one of minAvailable and maxUnavailable")
            continue
        if not isinstance(b.get("minAvailable", b.get("maxUnavailable")), int) or not isinstance(replicas, int):
            problems.append("PodDisruptionBudget: this test understands integer budgets only")
            continue
        allowed = b["maxUnavailable"] if "maxUnavailable" in b else replicas - b["minAvailable"]
        if allowed < 1 or replicas - allowed < 2:
            problems.append("PodDisruptionBudget allows %d of %d replicas down; want drains to proceed "
                            "(>= 1) and two replicas to stay (<= %d)" % (allowed, replicas, replicas - 2))
    for s in of_kind("StatefulSet"):
        if any(pod_matches(b["spec"]["selector"]["matchLabels"], s["spec"]["template"]["metadata"]["labels"])
               for b in of_kind("PodDisruptionBudget")) and s["spec"].get("replicas", 1) < 2:
            problems.append("a PodDisruptionBudget covers single-replica %s: it would block every drain "
                            "of its node" % s["metadata"]["name"])

    # One gateway on Redis: every replica shares request_ids, leases and job logs there.
    url = env.get("JOBGW_STATE_REDIS_URL", "")
    url_m = re.match(r"^(rediss?)://(?:([^@/]*)@)?([^:/@]+)(?::([0-9]+))?(?:/([0-9]+))?$", url)
    if not url:
        problems.append("JOBGW_STATE_REDIS_URL is not set: the replicas would be independent gateways")
    elif not url_m:
        problems.append("JOBGW_STATE_REDIS_URL=%s is not redis[s]://host[:port][/db]" % url)
    elif url_m.group(2) and ":" in url_m.group(2):
        problems.append("JOBGW_STATE_REDIS_URL carries a password; use JOBGW_STATE_REDIS_PASSWORD_FILE")
    if url and not env.get("JOBGW_STATE_REDIS_PASSWORD_FILE"):
        problems.append("JOBGW_STATE_REDIS_PASSWORD_FILE is not set (the bundled Redis requires a password)")
    if env.get("JOBGW_STATE_REPLICAS") != str(replicas):
        problems.append("JOBGW_STATE_REPLICAS=%r is not the Deployment's replicas %r: while Redis is down the "
                        "replicas would read JOB at more or less than watch.reads_per_second"
                        % (env.get("JOBGW_STATE_REPLICAS"), replicas))
    rid = [e for e in c.get("env", []) if e["name"] == "JOBGW_STATE_REPLICA_ID"]
    if not rid or rid[-1].get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") != "metadata.name":
        problems.append("JOBGW_STATE_REPLICA_ID must come from the pod name (fieldRef metadata.name)")

    pw_file = env.get("JOBGW_STATE_REDIS_PASSWORD_FILE", "")
    jobgw_password = (secret_files[pw_file], os.path.basename(pw_file)) if pw_file in secret_files else None
    redis_problems, redis_run = check_redis_statefulset(of_kind, url_m, jobgw_password)
    problems += redis_problems
    problems += password_problems(objects, kdir)

    # Scraping: annotations on the pods and the ServiceMonitor point at the metrics port.
    ann = spec["template"]["metadata"].get("annotations", {})
    if ann.get("prometheus.io/scrape") != "true" or str(ann.get("prometheus.io/port")) != str(ports.get("metrics")):
        problems.append("pod scrape annotations do not point at the metrics port %r" % ports.get("metrics"))
    for sm in of_kind("ServiceMonitor"):
        sm_sel = sm["spec"]["selector"]["matchLabels"]
        matched = [svc for svc in of_kind("Service")
                   if all(svc["metadata"].get("labels", {}).get(k) == v for k, v in sm_sel.items())]
        if len(matched) != 1:
            problems.append("ServiceMonitor selects %d Services, want exactly 1" % len(matched))
        for ep in sm["spec"]["endpoints"]:
            for svc in matched:
                names = [p["name"] for p in svc["spec"]["ports"]]
                if ep.get("port") not in names:
                    problems.append("ServiceMonitor endpoint port %r is not a port of Service %s"
                                    % (ep.get("port"), svc["metadata"]["name"]))

    note = ""
    if not problems:
        jobgw_env = {k: v for k, v in env.items() if k.startswith("JOBGW_")}
        if redis_run and shutil.which("redis-server") and shutil.which("redis-cli"):
            problems += run_with_redis(jobgw, jobgw_env, redis_run)
            note = "; the StatefulSet's Redis runs here with AOF and the password, and jobgw reaches it"
        else:
            problems += dc.start_and_stop_jobgw(jobgw, jobgw_env, "Kubernetes pod environment")
            note = "; redis-server not installed, so jobgw ran without its Redis"
    dc.report(problems, "%d Kubernetes objects consistent; jobgw accepts the pod environment%s"
              % (len(objects), note))


def check_redis_statefulset(of_kind, url_m, jobgw_password):
    """The Redis StatefulSet behind JOBGW_STATE_REDIS_URL: official Debian redis:7 image, AOF on
    (appendonly yes, appendfsync everysec) in the redis.conf it runs, data on a
    volumeClaimTemplate, the password from the Secret jobgw reads it from, the same security
    posture as jobgw, a headless Service and the ClusterIP Service jobgw dials. Returns
    (problems, what run_with_redis needs or None)."""
    problems = []
    sets = of_kind("StatefulSet")
    if len(sets) != 1:
        return ["want one Redis StatefulSet, found %d" % len(sets)], None
    ss = sets[0]
    spec = ss["spec"]
    pod = spec["template"]["spec"]
    labels = spec["template"]["metadata"]["labels"]
    name = ss["metadata"]["name"]
    if labels.get("app.kubernetes.io/name") == "jobgw":
        problems.append("%s pods are labelled app.kubernetes.io/name=jobgw: the jobgw Services, PDB "
                        "and scrape job would take them for gateways" % name)
    if spec.get("replicas", 1) != 1:
        problems.append("%s replicas is %r; jobgw dials one Redis" % (name, spec.get("replicas")))
    containers = pod.get("containers", [])
    if len(containers) != 1:
        return problems + ["%s: want one container" % name], None
    rc = containers[0]
    if not REDIS_IMAGE.match(rc.get("image", "")):
        problems.append("%s image %r is not the official Debian-based redis:7" % (name, rc.get("image")))
    rports = {p["name"]: p["containerPort"] for p in rc.get("ports", [])}

    # Services: a headless one named by serviceName, and the one JOBGW_STATE_REDIS_URL names.
    def selects(svc):
        return pod_matches(svc["spec"].get("selector", {}), labels)
    headless = [s for s in of_kind("Service") if s["metadata"]["name"] == spec.get("serviceName")]
    if not headless or headless[0]["spec"].get("clusterIP") != "None" or not selects(headless[0]):
        problems.append("%s serviceName %r is no headless Service selecting its pods" % (name, spec.get("serviceName")))
    target = None
    if url_m:
        host, port = url_m.group(3), int(url_m.group(4) or 6379)
        dialed = [s for s in of_kind("Service") if s["metadata"]["name"] == host]
        if not dialed or not selects(dialed[0]) or dialed[0]["spec"].get("clusterIP") == "None":
            problems.append("JOBGW_STATE_REDIS_URL host %s is no ClusterIP Service selecting %s" % (host, name))
        else:
            sp = [p for p in dialed[0]["spec"]["ports"] if p["port"] == port]
            if not sp:
                problems.append("Service %s has no port %d (JOBGW_STATE_REDIS_URL)" % (host, port))
            else:
                t = sp[0].get("targetPort", port)
                target = rports.get(t) if isinstance(t, str) else t
                if target not in rports.values():
                    problems.append("Service %s port %d does not reach a Redis container port" % (host, port))

    # Security posture: as jobgw's.
    sc = pod.get("securityContext", {})
    if sc.get("runAsNonRoot") is not True or sc.get("runAsUser", 0) == 0:
        problems.append("%s must run as a non-root user" % name)
    if sc.get("seccompProfile", {}).get("type") != "RuntimeDefault":
        problems.append("%s: seccompProfile RuntimeDefault is missing" % name)
    csc = rc.get("securityContext", {})
    if (csc.get("readOnlyRootFilesystem") is not True or csc.get("allowPrivilegeEscalation") is not False
            or csc.get("capabilities", {}).get("drop") != ["ALL"]):
        problems.append("%s: want readOnlyRootFilesystem, no privilege escalation, all capabilities dropped" % name)
    if pod.get("automountServiceAccountToken") is not False:
        problems.append("%s: automountServiceAccountToken must be false" % name)
    for part in ("requests", "limits"):
        for r in ("cpu", "memory"):
            if r not in rc.get("resources", {}).get(part, {}):
                problems.append("%s: resources.%s.%s is missing" % (name, part, r))
    for probe in ("readinessProbe", "livenessProbe"):
        if not rc.get(probe):
            problems.append("%s: %s is missing" % (name, probe))

    # Volumes: data from a volumeClaimTemplate, redis.conf from a ConfigMap, the password from
    # the Secret jobgw's JOBGW_STATE_REDIS_PASSWORD_FILE comes from.
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    claims = {t["metadata"]["name"] for t in spec.get("volumeClaimTemplates", [])}
    if not claims:
        problems.append("%s has no volumeClaimTemplates: its AOF would not outlive the pod" % name)
    mounts = {}
    for m in rc.get("volumeMounts", []):
        mounts[m["mountPath"].rstrip("/")] = m["name"]
        if m["name"] in volumes and ("secret" in volumes[m["name"]] or "configMap" in volumes[m["name"]]) \
                and m.get("readOnly") is not True:
            problems.append("%s: volume %s must be mounted readOnly" % (name, m["name"]))

    argv = list(rc.get("command", [])) + list(rc.get("args", []))
    script = argv[2] if argv[:2] == ["sh", "-c"] and len(argv) == 3 else " ".join(argv)
    conf_m = re.search(r"redis-server\s+(\S+\.conf)", script)
    conf = {}
    conf_text = None
    if not conf_m:
        problems.append("%s does not run redis-server with a config file" % name)
    else:
        conf_path = conf_m.group(1)
        mp, vol = next(((mp, v) for mp, v in mounts.items() if conf_path.startswith(mp + "/")), (None, None))
        cm_name = volumes.get(vol, {}).get("configMap", {}).get("name")
        cms = [o for o in of_kind("ConfigMap") if o["metadata"]["name"] == cm_name]
        key = conf_path[len(mp) + 1:] if mp else None
        if not cms or key not in cms[0].get("data", {}):
            problems.append("%s: %s is not a key of a mounted ConfigMap" % (name, conf_path))
        else:
            conf_text = cms[0]["data"][key]
            conf = redis_conf(conf_text)
    # Command-line options follow the file and win, as in redis-server.
    for opt in re.finditer(r"--([a-z-]+)\s+(\S+)", script):
        conf[opt.group(1)] = [opt.group(2).strip("\"'")]
    if conf.get("appendonly") != ["yes"]:
        problems.append("%s: AOF is off (want appendonly yes): a restart would forget request_ids and leases" % name)
    if conf.get("appendfsync") != ["everysec"]:
        problems.append("%s: want appendfsync everysec, got %r" % (name, conf.get("appendfsync")))
    if conf.get("maxmemory-policy", ["noeviction"]) != ["noeviction"]:
        problems.append("%s: maxmemory-policy %r would evict request_ids and leases; want noeviction"
                        % (name, conf.get("maxmemory-policy")))
    data_dir = (conf.get("dir") or ["/data"])[0].rstrip("/")
    if mounts.get(data_dir) not in claims:
        problems.append("%s: dir %s is not a volumeClaimTemplate mount" % (name, data_dir))
    port = int((conf.get("port") or ["6379"])[0])
    if target is not None and port != target:
        problems.append("%s listens on %d, the Service targets %r" % (name, port, target))

    # The password: read from a mounted Secret, the same one (and key) jobgw reads.
    secret_reads = []
    for mp, vol in mounts.items():
        if "secret" in volumes.get(vol, {}):
            for f in re.findall(re.escape(mp) + r"/([A-Za-z0-9._-]+)", script):
                secret_reads.append((volumes[vol]["secret"]["secretName"], f, mp + "/" + f))
    # requirepass is set in the config, or written by the command into a file the config includes.
    included = [inc[0] for inc in [conf.get("include")] if inc]
    if "requirepass" not in conf and not any(
            re.search(r"requirepass[^;&|]*>\s*%s(\s|$|;|&)" % re.escape(inc), script) for inc in included):
        problems.append("%s sets no requirepass: anyone reaching it could rewrite leases and request_ids" % name)
    if not secret_reads:
        problems.append("%s does not read its password from a mounted Secret" % name)
    elif jobgw_password and jobgw_password not in [(s, f) for s, f, _ in secret_reads]:
        problems.append("%s reads its password from %s, jobgw from Secret %s key %s"
                        % (name, ", ".join("Secret %s key %s" % (s, f) for s, f, _ in secret_reads),
                           jobgw_password[0], jobgw_password[1]))
    return problems, {"name": name, "script": script, "conf_text": conf_text, "mounts": mounts,
                      "secret_reads": secret_reads,
                      "probe": rc.get("readinessProbe", {}).get("exec", {}).get("command"),
                      "url_host": url_m.group(3) if url_m else None}


def password_problems(objects, kdir):
    """Places a Redis password must never be: a URL, a ConfigMap, a container's env (a value or
    a Secret reference alike: both end up in /proc/PID/environ and crash reports) or a command
    line (every process listing of the node shows it). The password belongs in a mounted
    Secret file."""
    problems = []
    for path in sorted(glob.glob(os.path.join(kdir, "*.yaml"))):
        with open(path, encoding="utf-8") as f:
            for m in PASSWORD_IN_URL.finditer(f.read()):
                problems.append("%s: a password in the URL %s" % (os.path.basename(path), m.group(0)))
    for o in objects:
        where = "%s %s" % (o["kind"], o.get("metadata", {}).get("name"))
        if o["kind"] == "ConfigMap":
            for k, v in o.get("data", {}).items():
                if re.search(r"PASS", k, re.I) and not k.endswith("_FILE"):
                    problems.append("%s holds %s: a password belongs in a Secret file" % (where, k))
                if LITERAL_REQUIREPASS.search(str(v)):
                    problems.append("%s: %s sets requirepass to a literal password" % (where, k))
        if o["kind"] not in ("Deployment", "StatefulSet"):
            continue
        pod = o["spec"]["template"]["spec"]
        for ct in pod.get("containers", []) + pod.get("initContainers", []):
            for e in ct.get("env", []):
                if re.search(r"PASS|REDISCLI_AUTH", e["name"], re.I) and not e["name"].endswith("_FILE"):
                    problems.append("%s container %s: env %s carries a password; mount it as a Secret file"
                                    % (where, ct["name"], e["name"]))
            argv = [str(a) for a in ct.get("command", []) + ct.get("args", [])]
            for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                argv += [str(a) for a in ct.get(probe, {}).get("exec", {}).get("command", [])]
            for a in argv:
                if (LITERAL_REQUIREPASS.search(a) or re.search(r"(^|\s)--requirepass\b", a)
                        or re.search(r"redis-cli\b[^|;&]*\s-a\s", a)):
                    problems.append("%s container %s: a password on a command line: %s" % (where, ct["name"], a))
    return problems


def run_with_redis(jobgw, jobgw_env, r):
    """Starts the StatefulSet's Redis here, its command and redis.conf as shipped with each
    mount mapped to a directory of a temp dir (the Secret holding the stand-in password), checks
    its readiness probe, AOF and password, then runs jobgw with the pod's environment pointed at
    it and wants jobgw_redis_up 1."""
    problems = []
    procs = dc.Processes()
    tmp = tempfile.mkdtemp(prefix="jobgw-k8s-redis-")
    try:
        port = free_port()
        local = {mp: os.path.join(tmp, vol) for mp, vol in r["mounts"].items()}
        for d in local.values():
            os.makedirs(d, exist_ok=True)

        def localize(text):
            for mp in sorted(local, key=len, reverse=True):
                text = re.sub(re.escape(mp) + r"(?=/|\s|$|[\"'])", local[mp], text)
            return text

        conf_path = re.search(r"redis-server\s+(\S+\.conf)", r["script"]).group(1)
        conf = [ln for ln in localize(r["conf_text"]).splitlines()
                if not re.match(r"\s*(port|bind)\s", ln)]
        with open(localize(conf_path), "w") as f:
            f.write("\n".join(conf + ["port %d" % port, "bind 127.0.0.1"]) + "\n")
        for _, _, path in r["secret_reads"]:
            with open(localize(path), "w") as f:
                f.write(dc.STAND_IN_REDIS_PASSWORD + "\n")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("JOBGW_", "REDISCLI_"))}
        redis = procs.start("redis", ["sh", "-c", localize(r["script"])], env=env, log_dir=tmp)

        probe = r["probe"]
        if not probe:
            return ["%s has no exec readinessProbe to try" % r["name"]]
        probe = [localize(a).replace("redis-cli", "redis-cli -p %d" % port) for a in probe]
        deadline = time.monotonic() + 15
        while True:
            if redis.poll() is not None:
                return ["%s's command exited %d:\n%s" % (r["name"], redis.returncode, procs.tail(redis))]
            if subprocess.run(probe, env=env, capture_output=True, timeout=10).returncode == 0:
                break
            if time.monotonic() > deadline:
                return ["%s's readinessProbe never passed within 15 s:\n%s" % (r["name"], procs.tail(redis))]
            time.sleep(0.1)

        def cli(*args, auth=True):
            e = dict(env, REDISCLI_AUTH=dc.STAND_IN_REDIS_PASSWORD) if auth else env
            out = subprocess.run(["redis-cli", "-p", str(port)] + list(args), env=e,
                                 capture_output=True, text=True, timeout=10)
            return (out.stdout + out.stderr).split()

        if "NOAUTH" not in cli("ping", auth=False):
            problems.append("%s answers without the password" % r["name"])
        for key, want in (("appendonly", "yes"), ("appendfsync", "everysec"), ("maxmemory-policy", "noeviction")):
            got = cli("config", "get", key)
            if got != [key, want]:
                problems.append("%s runs with %s %r, want %s" % (r["name"], key, got[1:], want))

        jobgw_env = dict(jobgw_env, JOBGW_STATE_REDIS_URL=re.sub(
            r"//%s(:[0-9]+)?" % re.escape(r["url_host"]), "//127.0.0.1:%d" % port,
            jobgw_env["JOBGW_STATE_REDIS_URL"], count=1))

        def while_up(ports):
            deadline = time.monotonic() + 15
            text = ""
            while time.monotonic() < deadline:
                try:
                    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % ports["metrics"], timeout=5) as resp:
                        text = resp.read().decode()
                except OSError:
                    text = ""
                if re.search(r"^jobgw_redis_up(\{\})? 1(\.0+)?$", text, re.M):
                    return [] if "jobgw_replica_owned_jobs" in text else ["no jobgw_replica_* series on /metrics"]
                time.sleep(0.2)
            return ["jobgw_redis_up never became 1 with the pod environment (%s)"
                    % ", ".join(ln for ln in text.splitlines() if ln.startswith("jobgw_redis_up"))]

        def after_stop(log):
            out = []
            if not re.search(r"event=replication .*replica=%s\b" % re.escape(POD_NAME), log):
                out.append("jobgw did not log event=replication with replica=%s:\n%s" % (POD_NAME, log))
            if dc.STAND_IN_REDIS_PASSWORD in log:
                out.append("jobgw logged the Redis password")
            return out

        problems += dc.start_and_stop_jobgw(jobgw, jobgw_env, "Kubernetes pod environment with %s" % r["name"],
                                            while_up=while_up, after_stop=after_stop)
        data_dir = localize((redis_conf(r["conf_text"]).get("dir") or ["/data"])[0])
        if not any(".aof" in n for _, _, files in os.walk(data_dir) for n in files):
            problems.append("%s wrote no append-only file into its data volume (%s)" % (r["name"], data_dir))
    finally:
        procs.close()
        shutil.rmtree(tmp, ignore_errors=True)
    return problems


if __name__ == "__main__":
    main()
