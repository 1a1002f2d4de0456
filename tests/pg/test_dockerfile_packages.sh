#!/bin/sh
# test_dockerfile_packages.sh: docker/Dockerfile stays consistent with the install script without running Docker:
#  1. its build stage installs exactly the packages of scripts/packages.txt;
#  2. its runtime stage installs the package of every shared library the built binary links directly
#     (checked when a binary and dpkg are at hand: MERCADO, else build/runtime/mercado).
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
dockerfile=$root/docker/Dockerfile
list=$root/scripts/packages.txt
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Package names of the Nth "apt-get install" command of the Dockerfile (continuation lines joined).
installed_by() {
  sed -e ':a' -e '/\\$/N; s/\\\n/ /; ta' "$dockerfile" |
    awk -v want="$1" '
      { n = split($0, w, /[ \t]+/)
        for (i = 1; i <= n; i++) {
          if (w[i] == "apt-get" && w[i + 1] == "install") {
            if (++seen == want) {
              for (j = i + 2; j <= n && w[j] != "&&" && w[j] != ";"; j++)
                if (w[j] != "" && w[j] !~ /^-/) print w[j]
            }
          }
        }
      }' | sort -u
}

grep -v '^[[:space:]]*#' "$list" | tr -s ' \t' '\n\n' | grep -v '^$' | sort -u >"$tmp/want"
installed_by 1 >"$tmp/build"
if ! cmp -s "$tmp/want" "$tmp/build"; then
  echo "FAIL docker/Dockerfile build stage differs from scripts/packages.txt (< packages.txt, > Dockerfile):" >&2
  diff "$tmp/want" "$tmp/build" >&2 || true
  exit 1
fi
[ -s "$tmp/want" ] || { echo "FAIL scripts/packages.txt lists no package" >&2; exit 1; }
echo "ok dockerfile build stage installs exactly scripts/packages.txt ($(wc -l <"$tmp/want") packages)"

if [ -x "$root/scripts/install-deps" ] && ! grep -q 'packages.txt' "$root/scripts/install-deps"; then
  echo "FAIL scripts/install-deps does not read scripts/packages.txt" >&2
  exit 1
fi

bin=${MERCADO:-$root/build/runtime/mercado}
if [ ! -x "$bin" ] || ! command -v dpkg >/dev/null 2>&1 || ! command -v readelf >/dev/null 2>&1; then
  echo "ok dockerfile runtime stage (skipped: needs a built binary, dpkg and readelf)"
  exit 0
fi
installed_by 2 >"$tmp/runtime"
missing=0
for lib in $(readelf -d "$bin" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
  path=$(ldconfig -p | awk -v l="$lib" '$1 == l { print $NF; exit }')
  [ -n "$path" ] || { echo "FAIL cannot locate $lib" >&2; missing=1; continue; }
  pkg=$(dpkg -S "$(readlink -f "$path")" 2>/dev/null | head -1 | cut -d: -f1)
  [ -n "$pkg" ] || pkg=$(dpkg -S "$path" 2>/dev/null | head -1 | cut -d: -f1)
  case "$pkg" in libc6 | libasan* | libubsan* | liblsan* | libtsan* | "") continue ;; esac  # libc6: in every image; sanitizer builds
  if ! grep -qx "$pkg" "$tmp/runtime"; then
    echo "FAIL runtime stage lacks $pkg (for $lib)" >&2
    missing=1
  fi
done
[ "$missing" = 0 ] || exit 1
echo "ok dockerfile runtime stage covers the binary's libraries ($(tr '\n' ' ' <"$tmp/runtime"))"
