"""deploy.kubernetes: the manifests in deploy/kubernetes parse, hold the required kinds, wire
ports, labels and probes consistently, give jobgw more time to stop than it takes, set only real
JOBGW_ keys, and jobgw accepts the resulting configuration.

usage: check_kubernetes.py REPO JOBGW_BINARY
"""
import glob
import os
import re
import sys

import deploy_common as dc


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
    if spec.get("replicas") != 2:
        problems.append("Deployment replicas is %r, want 2" % spec.get("replicas"))
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
    pod_ip = "10.1.2.3"
    for e in c.get("env", []):
        if "value" in e:
            # The kubelet expands $(VAR) from variables defined before; do the same.
            env[e["name"]] = re.sub(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)",
                                    lambda m: env.get(m.group(1), m.group(0)), str(e["value"]))
        elif e.get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") == "status.podIP":
            env[e["name"]] = pod_ip

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

    # Services select the pods and target declared ports.
    for svc in of_kind("Service"):
        s = svc["spec"]
        if any(pod_labels.get(k) != v for k, v in s.get("selector", {}).items()) or not s.get("selector"):
            problems.append("Service %s selector does not select the jobgw pods" % svc["metadata"]["name"])
        for p in s.get("ports", []):
            t = p.get("targetPort", p.get("port"))
            if (isinstance(t, str) and t not in ports) or (isinstance(t, int) and t not in ports.values()):
                problems.append("Service %s port %s targets %r, not a container port"
                                % (svc["metadata"]["name"], p.get("name"), t))
    pdb = of_kind("PodDisruptionBudget")[0]
    if any(pod_labels.get(k) != v for k, v in pdb["spec"]["selector"]["matchLabels"].items()):
        problems.append("PodDisruptionBudget does not select the jobgw pods")
    if "minAvailable" not in pdb["spec"] and "maxUnavailable" not in pdb["spec"]:
        problems.append("PodDisruptionBudget sets neither minAvailable nor maxUnavailable")

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

    if not problems:
        jobgw_env = {k: v for k, v in env.items() if k.startswith("JOBGW_")}
        problems += dc.start_and_stop_jobgw(jobgw, jobgw_env, "Kubernetes pod environment")
    dc.report(problems, "%d Kubernetes objects consistent; jobgw accepts the pod environment" % len(objects))


if __name__ == "__main__":
    main()
