#!/usr/bin/env bash
# Consumer tests: builds, in a temporary directory, small projects that take
# tokenguard in each supported way, runs each one's decisions, and checks the
# installed package. Nothing is downloaded: the "fetches" read a local tarball.
#
#   tests/package/run.sh [--keep] [--list] [NAME...]
#
# NAME selects tests by name (see --list); default: all of them. The work
# directory is removed after a clean run and kept (its path printed) after a
# failure or with --keep. Environment: CXX (default c++), JOBS (build
# parallelism, default 1), TOKENGUARD_PACKAGE_WORKDIR (use this directory).
# The last line is "N passed, M failed"; the exit status is 1 when M > 0.
set -uo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
src="$(cd "$here/../.." && pwd)"
jobs="${JOBS:-1}"
cxx="${CXX:-c++}"
keep=0
selected=()
all_tests=(install version-file find-package pkg-config add-subdirectory fetchcontent
           meson-subproject meson-wrap meson-install headers-alone two-tu-gcc two-tu-clang docs)
for arg in "$@"; do
  case "$arg" in
    --keep) keep=1 ;;
    --list) printf '%s\n' "${all_tests[@]}"; exit 0 ;;
    -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "run.sh: unknown option $arg" >&2; exit 2 ;;
    *) selected+=("$arg") ;;
  esac
done
for name in "${selected[@]}"; do
  [[ " ${all_tests[*]} " == *" $name "* ]] || { echo "run.sh: no test '$name' (see --list)" >&2; exit 2; }
done

work="${TOKENGUARD_PACKAGE_WORKDIR:-$(mktemp -d "${TMPDIR:-/tmp}/tokenguard-package.XXXXXX")}"
mkdir -p "$work/logs"
prefix="$work/prefix"
generator=()
command -v ninja >/dev/null 2>&1 && generator=(-G Ninja)
strict_flags="-Wall -Wextra -Wpedantic -Werror"
version="$(sed -n 's/^#define TOKENGUARD_VERSION_STRING "\(.*\)"$/\1/p' "$src/include/tokenguard/version.hpp")"

passed=0
failed=0
skipped=0
failures=()

wanted() {
  [ "${#selected[@]}" -eq 0 ] && return 0
  local s
  for s in "${selected[@]}"; do [ "$s" = "$1" ] && return 0; done
  return 1
}

# run_test NAME FUNCTION: runs FUNCTION under `set -e` in a subshell, output to
# a log; exit status 77 means skipped (a tool is missing).
run_test() {
  local name="$1" fn="$2" log="$work/logs/$1.log" start rc
  wanted "$name" || return 0
  start=$(date +%s)
  (set -e; "$fn") >"$log" 2>&1
  rc=$?
  local took="$(( $(date +%s) - start ))s"
  if [ "$rc" -eq 0 ]; then
    passed=$((passed + 1))
    printf 'PASS  %-18s %5s  %s\n' "$name" "$took" "$(grep '^ok' "$log" | tail -n 1)"
  elif [ "$rc" -eq 77 ]; then
    skipped=$((skipped + 1))
    printf 'SKIP  %-18s %5s  %s\n' "$name" "$took" "$(tail -n 1 "$log")"
  else
    failed=$((failed + 1))
    failures+=("$name")
    printf 'FAIL  %-18s %5s  log: %s\n' "$name" "$took" "$log"
    tail -n 25 "$log" | sed 's/^/      | /'
  fi
}

cmake_build() {  # cmake_build SOURCE BUILD [cmake args...]
  local source="$1" build="$2"
  shift 2
  CXX="$cxx" cmake -S "$source" -B "$build" "${generator[@]}" \
    -DCMAKE_CXX_FLAGS="$strict_flags" "$@"
  cmake --build "$build" -j "$jobs"
}

# The consumers' sources, copied so that nothing is written inside the tree;
# each project gets the same gateway.cpp (common/consumer.cpp) and token_filter.hpp.
rm -rf "$work/src"
cp -R "$here" "$work/src"
rm -rf "$work/src/odr/all_headers.hpp"
for d in find_package add_subdirectory fetchcontent meson; do
  cp "$here/common/consumer.cpp" "$work/src/$d/gateway.cpp"
  cp "$here/common/token_filter.hpp" "$work/src/$d/"
done

# A release tarball of the working tree as it is (tracked and untracked files,
# minus what .gitignore ignores), for the FetchContent and Meson wrap fetches.
make_tarball() {
  local list="$work/tarball-files"
  if git -C "$src" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    git -C "$src" ls-files --cached --others --exclude-standard |
      while IFS= read -r f; do [ -f "$src/$f" ] && printf '%s\n' "$f"; done >"$list"
  else
    (cd "$src" && find . -type f ! -path './build*' ! -path './.git/*' | sed 's|^\./||') >"$list"
  fi
  tar -C "$src" -czf "$work/tokenguard-$version.tar.gz" --transform "s|^|tokenguard-$version/|" \
    -T "$list"
  tarball_sha256="$(sha256sum "$work/tokenguard-$version.tar.gz" | cut -d' ' -f1)"
}
tarball_sha256=""
if wanted fetchcontent || wanted meson-wrap; then
  make_tarball >"$work/logs/tarball.log" 2>&1 || echo "could not make the tarball (see $work/logs/tarball.log)"
fi

# install: configure with the tools, build, cmake --install, check the layout.
test_install() {
  cmake_build "$src" "$work/build-install" \
    -DTOKENGUARD_BUILD_TESTS=OFF -DTOKENGUARD_BUILD_TOOLS=ON -DCMAKE_INSTALL_PREFIX="$prefix"
  cmake --install "$work/build-install"
  local f
  for f in include/tokenguard/tokenguard.hpp include/tokenguard/detail/snapshot_cell.hpp \
           share/cmake/tokenguard/tokenguardConfig.cmake \
           share/cmake/tokenguard/tokenguardConfigVersion.cmake \
           share/cmake/tokenguard/tokenguardTargets.cmake share/pkgconfig/tokenguard.pc \
           bin/tokenguard; do
    [ -f "$prefix/$f" ] || { echo "not installed: $f"; exit 1; }
  done
  # Every header of the tree is installed, and nothing else under include/.
  diff <(cd "$src/include" && find . -type f | sort) <(cd "$prefix/include" && find . -type f | sort)
  grep -q 'find_dependency(Boost' "$prefix/share/cmake/tokenguard/tokenguardConfig.cmake"
  grep -q 'find_dependency(simdjson' "$prefix/share/cmake/tokenguard/tokenguardConfig.cmake"
  grep -q 'find_dependency(OpenSSL' "$prefix/share/cmake/tokenguard/tokenguardConfig.cmake"
  grep -q 'INTERFACE_INCLUDE_DIRECTORIES "${_IMPORT_PREFIX}/include"' \
    "$prefix/share/cmake/tokenguard/tokenguardTargets.cmake"
  [ "$("$prefix/bin/tokenguard" --version)" = "tokenguard $version" ]
  local want got
  want=$(grep -c '[^[:space:]]' "$src/examples/requests.jsonl")
  got=$("$prefix/bin/tokenguard" check --store "$src/examples/tokens.json" \
          --requests "$src/examples/requests.jsonl" --now 1625000000000 | wc -l)
  [ "$got" -eq "$want" ] || { echo "check answered $got lines for $want requests"; exit 1; }
  echo "ok: headers, CMake package, pkg-config file and bin/tokenguard $version installed"
}

test_version_file() {
  cmake -DVERSION_FILE="$prefix/share/cmake/tokenguard/tokenguardConfigVersion.cmake" \
    -DVERSION="$version" -P "$work/src/version_check.cmake" 2>&1 | sed 's/^-- /ok: /'
}

test_find_package() {
  cmake_build "$work/src/find_package" "$work/build-find-package" \
    -DCMAKE_PREFIX_PATH="$prefix" -DTOKENGUARD_EXPECTED_VERSION="$version"
  "$work/build-find-package/gateway"
}

test_pkg_config() {
  command -v pkg-config >/dev/null || { echo "pkg-config is not installed"; exit 77; }
  export PKG_CONFIG_PATH="$prefix/share/pkgconfig"
  [ "$(pkg-config --modversion tokenguard)" = "$version" ]
  # shellcheck disable=SC2046 # word splitting of the flags is the point
  "$cxx" $strict_flags $(pkg-config --cflags tokenguard) "$work/src/common/consumer.cpp" \
    -o "$work/pkg-config-consumer" $(pkg-config --libs tokenguard)
  "$work/pkg-config-consumer"
}

test_add_subdirectory() {
  mkdir -p "$work/src/add_subdirectory/third_party"
  ln -sfn "$src" "$work/src/add_subdirectory/third_party/tokenguard"
  cmake_build "$work/src/add_subdirectory" "$work/build-add-subdirectory"
  # Embedded, tokenguard builds none of its own tests or tools.
  if cmake --build "$work/build-add-subdirectory" --target help | grep -E 'tokenguard_(tests|cli)'; then
    echo "an embedded tokenguard defines its own tests or tools"
    exit 1
  fi
  "$work/build-add-subdirectory/gateway"
}

test_fetchcontent() {
  [ -n "$tarball_sha256" ] || { echo "no tarball"; exit 1; }
  cmake_build "$work/src/fetchcontent" "$work/build-fetchcontent" \
    -DTOKENGUARD_TARBALL_URL="file://$work/tokenguard-$version.tar.gz" \
    -DTOKENGUARD_TARBALL_SHA256="$tarball_sha256"
  "$work/build-fetchcontent/gateway"
}

meson_consumer() {  # meson_consumer NAME [meson setup args...]
  local name="$1"
  shift
  CXX="$cxx" meson setup "$work/build-$name" "$work/src/$name" -Dwarning_level=3 -Dwerror=true "$@"
  meson compile -C "$work/build-$name" -j "$jobs"
  "$work/build-$name/gateway"
}

# Meson (d1): the source tree as subprojects/tokenguard (a symlink here; a git
# submodule or a copy is the same to Meson), found with no wrap file at all.
test_meson_subproject() {
  command -v meson >/dev/null || { echo "meson is not installed"; exit 77; }
  cp -R "$work/src/meson" "$work/src/meson-subproject"
  mkdir -p "$work/src/meson-subproject/subprojects"
  ln -s "$src" "$work/src/meson-subproject/subprojects/tokenguard"
  meson_consumer meson-subproject --wrap-mode=nodownload --force-fallback-for=tokenguard
}

# Meson (d2): a wrap-file (Meson has no "path" wrap type) whose source_url is
# the local tarball, with its hash, and a [provide] section.
test_meson_wrap() {
  command -v meson >/dev/null || { echo "meson is not installed"; exit 77; }
  [ -n "$tarball_sha256" ] || { echo "no tarball"; exit 1; }
  cp -R "$work/src/meson" "$work/src/meson-wrap"
  mkdir -p "$work/src/meson-wrap/subprojects"
  cat >"$work/src/meson-wrap/subprojects/tokenguard.wrap" <<EOF
[wrap-file]
directory = tokenguard-$version
source_url = file://$work/tokenguard-$version.tar.gz
source_filename = tokenguard-$version.tar.gz
source_hash = $tarball_sha256

[provide]
tokenguard = tokenguard_dep
EOF
  meson_consumer meson-wrap --force-fallback-for=tokenguard
}

# Meson's install: the same headers, and a tokenguard.pc that works.
test_meson_install() {
  command -v meson >/dev/null || { echo "meson is not installed"; exit 77; }
  command -v pkg-config >/dev/null || { echo "pkg-config is not installed"; exit 77; }
  CXX="$cxx" meson setup "$work/build-meson-install" "$src" -Dtests=false -Dtools=false \
    --prefix="$work/meson-prefix"
  meson install -C "$work/build-meson-install"
  diff <(cd "$src/include" && find . -type f | sort) \
       <(cd "$work/meson-prefix/include" && find . -type f | sort)
  export PKG_CONFIG_PATH="$work/meson-prefix/share/pkgconfig"
  [ "$(pkg-config --modversion tokenguard)" = "$version" ]
  # shellcheck disable=SC2046 # word splitting of the flags is the point
  "$cxx" $strict_flags $(pkg-config --cflags tokenguard) "$work/src/common/consumer.cpp" \
    -o "$work/meson-install-consumer" $(pkg-config --libs tokenguard)
  "$work/meson-install-consumer"
}

headers() { (cd "$src/include" && find tokenguard -name '*.hpp' | LC_ALL=C sort); }

# Every header compiles on its own, and twice in a row (its guard works).
test_headers_alone() {
  local h n=0 bad=()
  mkdir -p "$work/headers"
  while IFS= read -r h; do
    printf '#include <%s>\n#include <%s>\n' "$h" "$h" >"$work/headers/tu.cpp"
    if "$cxx" -std=c++20 $strict_flags -fsyntax-only -I"$src/include" "$work/headers/tu.cpp"; then
      n=$((n + 1))
    else
      bad+=("$h")
    fi
  done < <(headers)
  [ "${#bad[@]}" -eq 0 ] || { echo "not self-contained: ${bad[*]}"; exit 1; }
  echo "ok: $n headers compile alone"
}

two_tu() {  # two_tu COMPILER
  local compiler="$1" dir="$work/src/odr"
  headers | sed 's|.*|#include <&>|' >"$dir/all_headers.hpp"
  "$compiler" -std=c++20 $strict_flags -I"$src/include" -I"$dir" "$dir/first.cpp" "$dir/second.cpp" \
    -o "$work/two-tu-$(basename "$compiler")" -lsimdjson -lcrypto -pthread
  "$work/two-tu-$(basename "$compiler")"
}
test_two_tu_gcc() { two_tu "$cxx"; }
test_two_tu_clang() {
  command -v clang++ >/dev/null || { echo "clang++ is not installed"; exit 77; }
  two_tu clang++
}

# What the docs show is what the code does: the examples and tables of the
# pages below are run against the installed tool (see check_docs.py).
test_docs() {
  command -v python3 >/dev/null || { echo "python3 is not installed"; exit 77; }
  python3 "$here/check_docs.py" "$prefix/bin/tokenguard" "$src" \
    "$src"/docs/{rules,requests,cli,embedding,architecture}.md
}

echo "tokenguard $version package tests in $work (compiler: $cxx, jobs: $jobs)"
if wanted find-package || wanted pkg-config || wanted version-file || wanted docs; then
  wanted install || selected+=(install)
fi
run_test install test_install
run_test version-file test_version_file
run_test find-package test_find_package
run_test pkg-config test_pkg_config
run_test add-subdirectory test_add_subdirectory
run_test fetchcontent test_fetchcontent
run_test meson-subproject test_meson_subproject
run_test meson-wrap test_meson_wrap
run_test meson-install test_meson_install
run_test headers-alone test_headers_alone
run_test two-tu-gcc test_two_tu_gcc
run_test two-tu-clang test_two_tu_clang
run_test docs test_docs

if [ "$failed" -eq 0 ] && [ "$keep" -eq 0 ] && [ -z "${TOKENGUARD_PACKAGE_WORKDIR:-}" ]; then
  rm -rf "$work"
else
  echo "work directory kept: $work"
fi
[ "$skipped" -eq 0 ] || echo "$skipped skipped (a tool is missing)"
[ "$failed" -eq 0 ] || echo "failed: ${failures[*]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
