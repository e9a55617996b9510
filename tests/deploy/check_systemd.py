"""deploy.systemd: deploy/systemd/jobgw.service runs jobgw unprivileged from an environment file
whose JOBGW_ keys are all real, gives it longer to stop than jobgw's grace, and (when
systemd-analyze exists) passes `systemd-analyze verify`; jobgw accepts the example environment.

usage: check_systemd.py REPO JOBGW_BINARY
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

import deploy_common as dc


def main():
    repo, jobgw = sys.argv[1], sys.argv[2]
    sdir = os.path.join(repo, "deploy", "systemd")
    unit_path = os.path.join(sdir, "jobgw.service")
    env_path = os.path.join(sdir, "jobgw.env.example")
    problems = []
    env_keys = dc.jobgw_env_keys(jobgw)

    sections, section = {}, None
    with open(unit_path, encoding="utf-8") as f:
        unit_text = f.read()
    for n, line in enumerate(unit_text.splitlines(), 1):
        s = line.strip()
        if not s or s.startswith(("#", ";")):
            continue
        if s.startswith("[") and s.endswith("]"):
            section = s[1:-1]
            sections.setdefault(section, {})
        elif "=" in s and section:
            k, v = s.split("=", 1)
            sections[section].setdefault(k.strip(), []).append(v.strip())
        else:
            problems.append("jobgw.service:%d: not understood: %s" % (n, s))
    svc = sections.get("Service", {})
    for sec in ("Unit", "Service", "Install"):
        if sec not in sections:
            problems.append("jobgw.service has no [%s] section" % sec)
    exec_start = (svc.get("ExecStart") or [""])[-1]
    if os.path.basename(exec_start.split()[0] if exec_start else "") != "jobgw":
        problems.append("ExecStart %r does not run jobgw" % exec_start)
    if svc.get("DynamicUser", ["no"])[-1] != "yes" and svc.get("User", ["root"])[-1] in ("root", "0"):
        problems.append("the service must not run as root (User= or DynamicUser=yes)")
    env_files = [e.lstrip("-") for e in svc.get("EnvironmentFile", [])]
    if "/etc/jobgw/jobgw.env" not in env_files:
        problems.append("EnvironmentFile=/etc/jobgw/jobgw.env is missing")

    env = {}
    with open(env_path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            s = line.strip()
            if not s or s.startswith("#"):
                continue
            if not re.match(r"^[A-Z_][A-Z0-9_]*=", s):
                problems.append("jobgw.env.example:%d: not NAME=value: %s" % (n, s))
                continue
            k, v = s.split("=", 1)
            env[k] = v
    for text, where in ((unit_text, "jobgw.service"), (open(env_path).read(), "jobgw.env.example")):
        for name in sorted(set(re.findall(r"JOBGW_[A-Z0-9_]+", text))):
            if name not in env_keys:
                problems.append("%s names %s, which is no jobgw config key" % (where, name))

    grace_ms = int(env.get("JOBGW_SHUTDOWN_GRACE_MS", env_keys["JOBGW_SHUTDOWN_GRACE_MS"]))
    stop = (svc.get("TimeoutStopSec") or ["90"])[-1].rstrip("s")
    if not stop.isdigit() or int(stop) * 1000 <= grace_ms + 5000:
        problems.append("TimeoutStopSec=%s does not exceed shutdown_grace_ms %d ms + jobgw's 5 s watchdog"
                        % (stop, grace_ms))
    if svc.get("KillSignal", ["SIGTERM"])[-1] not in ("SIGTERM", "TERM", "15"):
        problems.append("KillSignal must be SIGTERM: jobgw drains on SIGTERM")

    analyze = shutil.which("systemd-analyze")
    note = "systemd-analyze not installed"
    if analyze and exec_start:
        with tempfile.TemporaryDirectory() as tmp:
            unit = os.path.join(tmp, "jobgw.service")
            with open(unit, "w") as f:
                f.write(unit_text.replace(exec_start.split()[0], os.path.abspath(jobgw)))
            r = subprocess.run([analyze, "verify", unit], capture_output=True, text=True, timeout=60)
            mine = [l for l in (r.stdout + r.stderr).splitlines() if "jobgw.service" in l]
            if r.returncode != 0 or mine:
                problems.append("systemd-analyze verify:\n" + r.stdout + r.stderr)
            note = "systemd-analyze verify passes"

    if not problems:
        problems += dc.start_and_stop_jobgw(jobgw, {k: v for k, v in env.items() if k.startswith("JOBGW_")},
                                            "jobgw.env.example")
    dc.report(problems, "jobgw.service consistent; %s; jobgw accepts jobgw.env.example" % note)


if __name__ == "__main__":
    main()
