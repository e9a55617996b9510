"""deploy.alerts: `promtool check rules` accepts deploy/prometheus/jobgw-alerts.yml and
`promtool test rules` passes deploy/prometheus/jobgw-alerts.test.yml, which tests every alert
the rules define (each one is named by at least one alert_rule_test, with an eval_time where it
fires).

promtool comes with Debian's prometheus package (scripts/install-deps.sh). Without it the test
exits 77 (CTest skip), except under CI=true, where a missing promtool is a failure: CI must not
pass without having tested the alerts.

usage: check_alerts.py REPO
"""
import os
import shutil
import subprocess
import sys

import deploy_common as dc

SKIP = 77


def main():
    repo = sys.argv[1]
    pdir = os.path.join(repo, "deploy", "prometheus")
    rules_path = os.path.join(pdir, "jobgw-alerts.yml")
    tests_path = os.path.join(pdir, "jobgw-alerts.test.yml")
    problems = []

    alerts = [r["alert"] for g in dc.load_yaml_file(rules_path)[0].get("groups", [])
              for r in g.get("rules", []) if r.get("alert")]
    tests = dc.load_yaml_file(tests_path)[0]
    if os.path.basename(rules_path) not in tests.get("rule_files", []):
        problems.append("%s does not load %s" % (tests_path, os.path.basename(rules_path)))
    firing = set()
    named = set()
    for t in tests.get("tests", []):
        for case in t.get("alert_rule_test", []):
            named.add(case.get("alertname"))
            if case.get("exp_alerts"):
                firing.add(case.get("alertname"))
    for a in alerts:
        if a not in named:
            problems.append("alert %s has no test in %s" % (a, os.path.basename(tests_path)))
        elif a not in firing:
            problems.append("alert %s is never tested firing" % a)
    for a in sorted(named - set(alerts)):
        problems.append("%s tests %s, which jobgw-alerts.yml does not define" % (os.path.basename(tests_path), a))

    promtool = shutil.which("promtool")
    if not promtool:
        if os.environ.get("CI") == "true":
            problems.append("promtool is not installed (Debian package prometheus, listed in "
                            "scripts/install-deps.sh); CI must test the alert rules")
        if problems:
            dc.report(problems, "")
        print("SKIPPED: promtool not installed (apt-get install prometheus); %d alerts all have "
              "tests" % len(alerts))
        sys.exit(SKIP)
    for argv in ([promtool, "check", "rules", rules_path], [promtool, "test", "rules", tests_path]):
        # promtool resolves the test file's rule_files relative to the current directory.
        r = subprocess.run(argv, capture_output=True, text=True, timeout=120, cwd=pdir)
        if r.returncode != 0:
            problems.append("%s exited %d:\n%s%s" % (" ".join(argv), r.returncode, r.stdout, r.stderr))
    dc.report(problems, "promtool accepts the rules and passes the tests of all %d alerts" % len(alerts))


if __name__ == "__main__":
    main()
