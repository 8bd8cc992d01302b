#!/bin/sh
# Tests of lib/calc.sh; prints one line per test, exits 1 if any failed.
. ./lib/calc.sh
failed=0
check() {
  if [ "$2" = "$3" ]; then echo "ok   $1"; else echo "FAIL $1: got $2, want $3"; failed=1; fi
}
check "add 2 3" "$(add 2 3)" 5
check "add -1 1" "$(add -1 1)" 0
check "mul 6 7" "$(mul 6 7)" 42
exit $failed
