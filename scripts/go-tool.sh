# Sourced by the setup scripts of Go tools (versitygw, cosign, trivy):
#
#   go_tool NAME MODULE PACKAGE VERSION SUM [go install flags...]
#
# builds MODULE/PACKAGE@VERSION from the Go module proxy (go verifies every module against the
# checksum database), static and with -trimpath, into .tools/bin/NAME, and checks with
# `go version -m` that the binary is built from exactly that module version and checksum SUM.
# When it already is, nothing is built. Run from the repository's root.
go_tool() {
  _name=$1 _module=$2 _package=$3 _version=$4 _sum=$5
  shift 5
  _bin=.tools/bin/$_name
  if ! command -v go >/dev/null; then
    echo "setup-$_name: Go is needed to build $_name $_version (Debian: apt-get install golang-go, or https://go.dev/dl)" >&2
    exit 1
  fi
  if [ -x "$_bin" ] && [ "$(go_tool_built_from "$_bin" "$_module")" = "$_version $_sum" ]; then
    return 0
  fi
  mkdir -p .tools/bin
  GOBIN="$PWD/.tools/bin" CGO_ENABLED=0 go install -trimpath "$@" "$_module/$_package@$_version"
  if [ "$(go_tool_built_from "$_bin" "$_module")" != "$_version $_sum" ]; then
    echo "setup-$_name: $_bin is not built from $_module $_version $_sum (go version -m says: $(go_tool_built_from "$_bin" "$_module"))" >&2
    exit 1
  fi
  echo "$_name ready: $_bin ($_version)"
}

go_tool_built_from() { # BIN MODULE: "version checksum" of MODULE in BIN's build info
  go version -m "$1" 2>/dev/null | awk -v m="$2" '$1 == "mod" && $2 == m { print $3 " " $4 }'
}
