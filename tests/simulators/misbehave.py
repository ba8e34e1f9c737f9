#!/usr/bin/env python3
"""A simulation that misbehaves on purpose, for tests/subprocess.rs (no numpy).

    misbehave.py MARKER              one-shot mode
    misbehave.py MARKER --persistent persistent mode

MARKER is any unique string; it appears on the command line of this process and of the
grandchild that the "hang" mode starts, so a test can look for leftovers with `pgrep -f`.
The integer parameter `mode` picks the behaviour (objective `f`, constraint `c`):

     0 ok            f = the evaluation id, c = $MISBEHAVE_C (from [evaluator.env])
     1 flaky         fails on the first attempt (exit 4; persistent: error response), then ok
     2 exit3         writes to stderr and exits with code 3
     3 segv          kills itself with SIGSEGV
     4 sigkill       kills itself with SIGKILL
     5 hang          starts a grandchild; both ignore SIGTERM and sleep far past any timeout
     6 garbage       prints a chatty line on stdout before a valid response
     7 nothing       exits 0 without a response
     8 nan           objective NaN (Python's bare NaN token), constraint null
     9 wrong-names   objective `g` instead of `f`
    10 error         an error response
    11 wrong-length  two objective values
    12 non-numeric   objective "abc"
    13 malformed     a truncated JSON line

With $MISBEHAVE_LOG set, the persistent mode appends "start PID" and "shutdown PID" lines.
"""
import json
import os
import signal
import subprocess
import sys
import time

MODES = [
    "ok", "flaky", "exit3", "segv", "sigkill", "hang", "garbage", "nothing", "nan",
    "wrong-names", "error", "wrong-length", "non-numeric", "malformed",
]


def log(text):
    path = os.environ.get("MISBEHAVE_LOG")
    if path:
        with open(path, "a") as f:
            f.write("%s %d\n" % (text, os.getpid()))


def say(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def hang(marker):
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    code = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(120)"
    subprocess.Popen([sys.executable, "-c", code, marker])
    print("misbehave: hanging", file=sys.stderr, flush=True)
    time.sleep(120)


def behave(request, marker, persistent, seen):
    """Act out the request's mode; returns the response line, or None to print nothing."""
    rid = request["id"]
    mode = MODES[int(request["params"]["mode"])]
    ok = {"id": rid, "objectives": {"f": float(rid)},
          "constraints": {"c": float(os.environ.get("MISBEHAVE_C", "1"))}}
    print("misbehave: evaluation %d, mode %s" % (rid, mode), file=sys.stderr, flush=True)
    if mode == "ok":
        if not persistent and os.environ.get("DMOSOPT_EVAL_ID") != str(rid):
            return json.dumps({"id": rid, "error": "DMOSOPT_EVAL_ID does not match"})
        return json.dumps(ok)
    if mode == "flaky":
        if persistent:
            if rid not in seen:
                seen.add(rid)
                return json.dumps({"id": rid, "error": "flaky: first attempt"})
            return json.dumps(ok)
        flag = os.path.join(os.environ["DMOSOPT_WORKDIR"], "attempted")
        if not os.path.exists(flag):
            open(flag, "w").close()
            print("misbehave: flaky, first attempt", file=sys.stderr, flush=True)
            sys.exit(4)
        return json.dumps(ok)
    if mode == "exit3":
        print("misbehave: exit 3", file=sys.stderr, flush=True)
        sys.exit(3)
    if mode == "segv":
        os.kill(os.getpid(), signal.SIGSEGV)
    if mode == "sigkill":
        os.kill(os.getpid(), signal.SIGKILL)
    if mode == "hang":
        hang(marker)
    if mode == "garbage":
        say("computing, please wait...")
        return json.dumps(ok)
    if mode == "nothing":
        sys.exit(0)
    if mode == "nan":
        return json.dumps({"id": rid, "objectives": {"f": float("nan")}, "constraints": {"c": None}})
    if mode == "wrong-names":
        return json.dumps({"id": rid, "objectives": {"g": 1.0}, "constraints": {"c": 1.0}})
    if mode == "error":
        return json.dumps({"id": rid, "error": "solver diverged"})
    if mode == "wrong-length":
        return json.dumps({"id": rid, "objectives": [1.0, 2.0], "constraints": [1.0]})
    if mode == "non-numeric":
        return json.dumps({"id": rid, "objectives": {"f": "abc"}, "constraints": {"c": 1.0}})
    if mode == "malformed":
        return '{"id": %d, "objectives": {"f": 1.0' % rid
    raise SystemExit("unknown mode %r" % mode)


def main():
    marker = sys.argv[1] if len(sys.argv) > 1 else "misbehave"
    persistent = "--persistent" in sys.argv[2:]
    seen = set()
    if not persistent:
        line = behave(json.loads(sys.stdin.readline()), marker, False, seen)
        if line is not None:
            say(line)
        return
    log("start")
    for text in sys.stdin:
        if not text.strip():
            continue
        request = json.loads(text)
        if request.get("shutdown"):
            log("shutdown")
            return
        line = behave(request, marker, True, seen)
        if line is not None:
            say(line)


if __name__ == "__main__":
    main()
