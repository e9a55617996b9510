#!/usr/bin/env python3
"""Turns the MATRIX| rows the fault matrix test prints into the table of docs/FAULT_MATRIX.md.

ctest --test-dir build -R FaultMatrix -V | python3 tests/integration/fault_matrix_table.py
"""
import re
import sys

COLUMNS = ["ExecuteScript", "TransferFile", "TerminateJob", "GetJobStatus", "GetIpLogs",
           "WatchStatus", "ExecuteJobPlan", "OperateStep", "ListJobPlans", "GetJobPlan",
           "GetJobOutputs"]
ROW = re.compile(r"MATRIX\| (\w+) \| `([^:]+):([^`]+)` \| ([^|]+) \| ([^|]+) \| (\w+) \|")


def main():
    cells, first_seen, apis = {}, {}, {}
    for index, line in enumerate(sys.stdin):
        match = ROW.search(line)
        if not match:
            continue
        rpc, api, fault, _, measured, verdict = (g.strip() for g in match.groups())
        apis[rpc] = api
        kind, _, times = fault.partition("#")
        key = (kind, "once" if times else "every request")
        first_seen.setdefault(kind, index)
        text = measured.replace(" JOB requests", " req").replace(" JOB request", " req")
        if times and times != "1":
            text += f" (#{times})"
        text += " ✓" if verdict == "pass" else " ✗ FAIL"
        cells.setdefault(key, {})[rpc] = text
    if not cells:
        sys.exit("no MATRIX| rows on stdin (run the FaultMatrix tests with ctest -V)")
    order = sorted(cells, key=lambda k: (k[0].startswith("code="), first_seen[k[0]],
                                         k[1] != "once"))
    print("| fault | when | " + " | ".join(COLUMNS) + " |")
    print("|---|---|" + "---|" * len(COLUMNS))
    print("| *JOB API faulted* | | " + " | ".join(f"`{apis.get(c, '')}`" for c in COLUMNS) + " |")
    for kind, when in order:
        row = cells[(kind, when)]
        print(f"| `{kind}` | {when} | " + " | ".join(row.get(c, "—") for c in COLUMNS) + " |")


if __name__ == "__main__":
    main()
