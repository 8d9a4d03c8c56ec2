#!/usr/bin/env python3
"""Runs one command and reports, as one JSON line on stdout, its wall time, CPU time and peak memory.

Node cannot read a child's rusage, so this small wrapper does: the clock starts just before the
child is spawned; ru_maxrss of RUSAGE_CHILDREN is the child's peak resident set size and ru_utime +
ru_stime its CPU seconds (every thread: V8's compiler and GC threads too).
With --until-line TEXT the clock stops at the first stdout line containing TEXT (a long-running
sidecar), the line is kept, and the child gets SIGTERM; otherwise the clock stops when it exits.
"""
import json
import resource
import signal
import subprocess
import sys
import time

args = sys.argv[1:]
until = None
if args[:1] == ["--until-line"]:
    until, args = args[1], args[2:]

start = time.monotonic()
child = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
elapsed = None
matched = None
lines = []
if until is not None:
    for line in child.stdout:
        lines.append(line)
        if until in line:
            elapsed = time.monotonic() - start
            matched = line.strip()
            break
    # Leave the process running a little longer is unnecessary: peak memory is reached by now.
    child.send_signal(signal.SIGTERM)
    child.communicate(timeout=10)
else:
    out, _ = child.communicate(timeout=120)
    elapsed = time.monotonic() - start
    lines = out.splitlines(True)
code = child.wait()
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({
    "elapsedMs": None if elapsed is None else round(elapsed * 1000, 1),
    "maxRssKiB": usage.ru_maxrss,
    "cpuSeconds": round(usage.ru_utime + usage.ru_stime, 4),
    "exitCode": code,
    "matched": matched,
    "lines": [l.strip() for l in lines[:40]],
}))
