#!/bin/sh
# The code under test: integer arithmetic for a build script.
add() { echo $(($1 + $2)); }
mul() { echo $(($1 * $2)); }
