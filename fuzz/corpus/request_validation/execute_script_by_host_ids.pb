

biz2/#!/bin/bash
echo "hi from $JOB_HOST_IP"
exit 0
"--verbose 1(0Ø:rootJ
efgRagent checkZadminb$5b1d3c0e-2f7a-4c55-9d0e-8a1b2c3d4e5f