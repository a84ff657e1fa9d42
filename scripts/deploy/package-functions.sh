#!/usr/bin/env bash
# Packs the functions module, already built by `mvn package`, into the zip that Terraform uploads
# for the Cloud Run functions (2nd gen) Java buildpack.
#
# The buildpack accepts a source with exactly one jar at the top level and uses it as the
# classpath. That jar here holds nothing but a manifest whose Class-Path names the functions jar
# and its runtime dependencies in lib/ (as copied by the functions module's build to target/lib),
# so no shaded jar is needed and the build output stays as Maven made it.
#
# Usage: scripts/deploy/package-functions.sh [output zip]
#        (default: functions/target/deploy/functions.zip, where Terraform looks by default)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
out="${1:-$root/functions/target/deploy/functions.zip}"
case "$out" in /*) ;; *) out="$PWD/$out" ;; esac
target="$root/functions/target"

shopt -s nullglob
jars=()
for j in "$target"/functions-*.jar; do
  case "$j" in *-sources.jar | *-javadoc.jar | *-tests.jar | */original-*) ;; *) jars+=("$j") ;; esac
done
if [ "${#jars[@]}" -ne 1 ]; then
  echo "expected exactly one functions jar in $target, found ${#jars[@]}: run 'mvn -pl functions -am package' first" >&2
  exit 1
fi
if [ ! -d "$target/lib" ]; then
  echo "missing $target/lib (runtime dependencies copied at package time)" >&2
  exit 1
fi

stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/lib"
cp "${jars[0]}" "$stage/lib/"
cp "$target"/lib/*.jar "$stage/lib/"

# Manifest lines are at most 72 bytes: fold the Class-Path and continue with a leading space.
classpath="$(cd "$stage" && ls lib/*.jar | LC_ALL=C sort | tr '\n' ' ' | sed 's/ $//')"
{
  echo "Manifest-Version: 1.0"
  echo "Created-By: push-relay scripts/deploy/package-functions.sh"
  echo "Class-Path: $classpath" | fold -w 70 | sed '2,$s/^/ /'
} > "$stage/MANIFEST.MF"

(cd "$stage" && jar --create --file relay-functions.jar --manifest MANIFEST.MF && rm MANIFEST.MF)

mkdir -p "$(dirname "$out")"
rm -f "$out"
# A jar without a manifest is a plain zip; the jar tool is there wherever Maven runs.
(cd "$stage" && jar --create --no-manifest --file "$out" relay-functions.jar lib)
echo "wrote $out ($(cd "$stage" && ls lib | wc -l | tr -d ' ') jars on the classpath)"
