#!/bin/sh
# The sphere function f = sum of x_i^2 as a one-shot dmosopt simulation in plain POSIX shell
# (protocol version 1, see docs/protocol.md):
#
#   [evaluator]
#   command = ["examples/simulators/sphere.sh"]
#
# It reads the request line from stdin, takes "id" and the numbers in "params" apart with sed,
# sums the squares with awk and prints the response line. Diagnostics go to stderr.
set -eu
IFS= read -r request
id=$(printf '%s\n' "$request" | sed -n 's/.*"id":\([0-9][0-9]*\).*/\1/p')
params=$(printf '%s\n' "$request" | sed -n 's/.*"params":{\([^}]*\)}.*/\1/p')
echo "sphere: evaluation $id in $(pwd)" >&2
f=$(printf '%s\n' "$params" | tr ',' '\n' | awk -F: '{ s += $2 * $2 } END { printf "%.17g", s }')
printf '{"id":%s,"objectives":{"f":%s}}\n' "$id" "$f"
