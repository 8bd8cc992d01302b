#!/usr/bin/env bash
# Prints the Debian package mirror this machine's apt already uses, so image
# builds fetch from the same (reachable, perhaps local or proxied) mirror:
#   1. $BERTH_DEBIAN_MIRROR when set;
#   2. the first `deb` URI of the main archive (not -security, not a non-Debian
#      repository) in /etc/apt/sources.list, /etc/apt/sources.list.d/*.list
#      (one-line format) and /etc/apt/sources.list.d/*.sources (deb822);
#   3. http://deb.debian.org/debian.
# APT_ROOT (default /) lets tests point at another tree.
set -euo pipefail

if [ -n "${BERTH_DEBIAN_MIRROR:-}" ]; then
  printf '%s\n' "${BERTH_DEBIAN_MIRROR%/}"
  exit 0
fi
root=${APT_ROOT:-/}
root=${root%/}

# One candidate URI per line, in apt's order: sources.list first, then the directory sorted.
candidates() {
  local f
  for f in "$root/etc/apt/sources.list" "$root"/etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    # deb [arch=amd64 signed-by=...] URI suite components...
    sed -e 's/#.*//' "$f" | awk '$1 == "deb" { i = 2; if ($2 ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ } if (i <= NF) print $i }'
  done
  for f in "$root"/etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    # deb822 stanzas, separated by blank lines; Types must include deb; Enabled: no skips one.
    awk '
      function flush() { if (types ~ /(^|[ \t])deb([ \t]|$)/ && enabled != "no") { n = split(uris, u, /[ \t]+/); for (k = 1; k <= n; k++) if (u[k] != "") print u[k] } types = ""; uris = ""; enabled = "" }
      /^[ \t]*#/ { next }
      /^[ \t]*$/ { flush(); next }
      tolower($1) == "types:" { $1 = ""; types = $0 }
      tolower($1) == "uris:" { $1 = ""; uris = $0 }
      tolower($1) == "enabled:" { enabled = tolower($2) }
      END { flush() }
    ' "$f"
  done
}

mirror=$(candidates | grep -E '^(https?|file)://' | grep -v -E -- '-security/?$|/debian-security|/security\.' | grep -E '/debian/?$' | head -n 1 || true)
printf '%s\n' "${mirror:-http://deb.debian.org/debian}" | sed -e 's#/$##'
