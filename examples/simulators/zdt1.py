#!/usr/bin/env python3
"""ZDT1 as a dmosopt simulation (protocol version 1, see docs/protocol.md).

    one-shot:    command = ["python3", "examples/simulators/zdt1.py"]
    persistent:  command = ["python3", "examples/simulators/zdt1.py", "--persistent"]
                 mode = "persistent"

Parameters x1 ... xn in [0, 1]; objectives f1 and f2; no constraints. The arithmetic follows
dmosopt's builtin zdt1 operation by operation, so a run gives the same points as
`problem.builtin = "zdt1"` with the same seed.

Rules: stdout carries protocol lines only (one JSON response per request, flushed);
anything else -- progress, warnings, tracebacks -- goes to stderr.
"""
import json
import math
import sys


def zdt1(params):
    x = [params["x%d" % (i + 1)] for i in range(len(params))]
    rest = x[1:]
    g = 1.0 + 9.0 * (sum(rest) / len(rest))
    f1 = x[0]
    f2 = g * (1.0 - math.sqrt(f1 / g))
    return {"f1": f1, "f2": f2}, {"g": g}


def respond(request):
    try:
        objectives, features = zdt1(request["params"])
        return {"id": request["id"], "objectives": objectives, "features": features}
    except Exception as error:  # report the failure instead of crashing
        return {"id": request["id"], "error": "%s: %s" % (type(error).__name__, error)}


def send(response):
    sys.stdout.write(json.dumps(response) + "\n")
    sys.stdout.flush()


def main():
    if "--persistent" in sys.argv[1:]:
        # One request per line until the shutdown line (or end of input).
        for line in sys.stdin:
            if not line.strip():
                continue
            request = json.loads(line)
            if request.get("shutdown"):
                break
            send(respond(request))
        print("zdt1: shutting down", file=sys.stderr)
    else:
        send(respond(json.loads(sys.stdin.readline())))


if __name__ == "__main__":
    main()
