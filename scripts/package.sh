#!/usr/bin/env bash
# Builds Tributary's release packages, .deb and .rpm, from a clean tree in one command, and prints
# their paths (one per line, last on stdout). Installs what it needs first (Debian packages, the
# UI's npm packages, which pin the Tauri CLI).
#
# The Tauri bundler builds the UI (beforeBuildCommand) and the app; this script adds what the
# bundler does not make: the `tributary` command line, man pages generated from both binaries'
# argument definitions, a Debian changelog from CHANGELOG.md, the AppStream metadata with the
# release's version and date, the third-party licences, and the shared-library dependencies
# computed by dpkg-shlibdeps. They are written to target/package/ and handed to the bundler as
# a configuration overlay (the static part is in src-tauri/tauri.conf.json).
#
#   scripts/package.sh                  # both packages
#   scripts/package.sh --bundles deb    # only the .deb (the install test)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
gen=$root/target/package

# The bundler's hook, between building the app and bundling it: the app's man page (it needs the
# app's binary), then every page compressed as Debian policy asks.
if [ "${1:-}" = --before-bundle ]; then
  target/release/tributary-desktop --generate-man "$gen/man1" >/dev/null
  gzip -9nf "$gen"/man1/*.1
  exit 0
fi

bundles=deb,rpm
if [ "${1:-}" = --bundles ]; then bundles=$2; fi

scripts/setup-debian.sh package
export PATH="$HOME/.cargo/bin:$PATH"
export CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-2}
start=$(date +%s)

version=$(cargo metadata --no-deps --format-version 1 --locked |
  python3 -c 'import json,sys; print(next(p["version"] for p in json.load(sys.stdin)["packages"] if p["name"] == "tributary-desktop"))')
echo "== Tributary $version: packages $bundles" >&2

rm -rf "$gen"
mkdir -p "$gen/man1" "$gen/doc"

echo "== The command line (release)" >&2
cargo build --release --locked --quiet -p tributary-cli
target/release/tributary generate-man "$gen/man1"

echo "== Generated files" >&2
# The Debian changelog: this version's entries from CHANGELOG.md, in Debian's format (a native
# package: the version has no Debian revision).
python3 - "$version" "$gen/doc/changelog" <<'EOF'
import re, sys, datetime
version, out = sys.argv[1], sys.argv[2]
text = open("CHANGELOG.md", encoding="utf-8").read()
sections = re.split(r"^## ", text, flags=re.M)[1:]
entries = []
for section in sections:
    head, _, body = section.partition("\n")
    m = re.match(r"(\S+)\s+\S+\s+(\d{4}-\d{2}-\d{2})", head)
    if not m:
        sys.exit(f"CHANGELOG.md: cannot read the heading {head!r}")
    items, current = [], None
    for line in body.splitlines():
        if line.startswith("- "):
            current = [line[2:].strip()]
            items.append(current)
        elif line.startswith("  ") and current is not None:
            current.append(line.strip())
        else:
            current = None
    entries.append((m.group(1), m.group(2), [" ".join(i) for i in items]))
if not entries or entries[0][0] != version:
    sys.exit(f"CHANGELOG.md's newest entry is {entries[0][0] if entries else 'missing'}, the workspace is {version}")
with open(out, "w", encoding="utf-8") as f:
    for v, date, items in entries:
        f.write(f"tributary ({v}) unstable; urgency=medium\n\n")
        for item in items:
            words, line = item.split(), "  *"
            for w in words:
                if len(line) + 1 + len(w) > 78:
                    f.write(line + "\n")
                    line = "   "
                line += " " + w
            f.write(line + "\n")
        day = datetime.datetime.strptime(date, "%Y-%m-%d").replace(hour=12, tzinfo=datetime.timezone.utc)
        f.write(f"\n -- The Tributary developers <team@tributary.app>  {day.strftime('%a, %d %b %Y %H:%M:%S %z')}\n\n")
EOF
gzip -9nf "$gen/doc/changelog"
release_date=$(grep -m1 -Eo '^## [^ ]+ — [0-9-]+' CHANGELOG.md | grep -Eo '[0-9]{4}-[0-9]{2}-[0-9]{2}')
sed -e "s/@VERSION@/$version/" -e "s/@DATE@/$release_date/" \
  packaging/linux/app.tributary.Tributary.metainfo.xml >"$gen/app.tributary.Tributary.metainfo.xml"
appstreamcli validate --no-net --explain "$gen/app.tributary.Tributary.metainfo.xml" >&2

# The licences of everything linked into the binaries, from Cargo's metadata (the UI's npm
# packages are listed from its lock file).
cargo metadata --format-version 1 --locked --filter-platform x86_64-unknown-linux-gnu |
  python3 -c '
import json, sys
meta = json.load(sys.stdin)
nodes = {n["id"]: n for n in meta["resolve"]["nodes"]}
pkgs = {p["id"]: p for p in meta["packages"]}
roots = [p["id"] for p in meta["packages"] if p["name"] in ("tributary-desktop", "tributary-cli")]
seen, todo = set(), list(roots)
while todo:
    i = todo.pop()
    if i in seen: continue
    seen.add(i)
    for d in nodes[i]["deps"]:
        if any(k["kind"] in (None, "normal") for k in d["dep_kinds"]): todo.append(d["pkg"])
rows = sorted((pkgs[i]["name"], pkgs[i]["version"], pkgs[i].get("license") or "see the crate") for i in seen if not pkgs[i]["name"].startswith("tributary"))
print("Rust crates linked into tributary and tributary-desktop (name, version, licence):\n")
for r in rows: print("  %s %s: %s" % r)
' >"$gen/doc/third-party-licenses.txt"
python3 - >>"$gen/doc/third-party-licenses.txt" <<'EOF'
import json
lock = json.load(open("ui/package-lock.json"))
print("\nnpm packages bundled into the window's code (name, version, licence):\n")
for path, p in sorted(lock["packages"].items()):
    if path and not p.get("dev") and not p.get("optional"):
        print(f"  {path.split('node_modules/')[-1]} {p.get('version')}: {p.get('license', 'see the package')}")
EOF
gzip -9nf "$gen/doc/third-party-licenses.txt"

# What the binaries link, as Debian names it (the bundler adds WebKitGTK, GTK and the tray's
# library for the app; libc and libgcc come from here).
shlibs=$(mktemp -d)
mkdir -p "$shlibs/debian"
printf 'Source: tributary\n\nPackage: tributary\nArchitecture: any\n' >"$shlibs/debian/control"
depends=$(cd "$shlibs" && dpkg-shlibdeps -O "$root/target/release/tributary" 2>/dev/null |
  sed -n 's/^shlibs:Depends=//p')
rm -rf "$shlibs"
[ -n "$depends" ] || { echo "dpkg-shlibdeps found no dependencies" >&2; exit 1; }

python3 - "$gen" "$depends" <<'EOF'
import json, os, sys
gen, depends = sys.argv[1], sys.argv[2]
man = {f"/usr/share/man/man1/{n}.gz": f"{gen}/man1/{n}.gz" for n in sorted(os.listdir(f"{gen}/man1")) if n.endswith(".1")}
# The app's own page appears in the hook; name it now.
man["/usr/share/man/man1/tributary-desktop.1.gz"] = f"{gen}/man1/tributary-desktop.1.gz"
common = {
    "/usr/bin/tributary": "../target/release/tributary",
    "/usr/share/metainfo/app.tributary.Tributary.metainfo.xml": f"{gen}/app.tributary.Tributary.metainfo.xml",
    "/usr/share/doc/tributary/third-party-licenses.txt.gz": f"{gen}/doc/third-party-licenses.txt.gz",
    **man,
}
overlay = {
    "build": {"beforeBundleCommand": {"script": "bash scripts/package.sh --before-bundle", "cwd": ".."}},
    "bundle": {"linux": {
        "deb": {
            "depends": [d.strip() for d in depends.split(",")] + ["xdg-utils"],
            "files": {**common, "/usr/share/doc/tributary/changelog.gz": f"{gen}/doc/changelog.gz"},
        },
        "rpm": {"files": {**common, "/usr/share/doc/tributary/CHANGELOG.md": "../CHANGELOG.md"}},
    }},
}
json.dump(overlay, open(f"{gen}/tauri.package.json", "w"), indent=2)
EOF

echo "== The app (release) and the bundles" >&2
rm -rf target/release/bundle/deb target/release/bundle/rpm
scripts/build-ui.sh --install-only
# --ci: no prompts, plain output.
ui/node_modules/.bin/tauri build --ci --bundles "$bundles" --config "$gen/tauri.package.json" >&2

echo "== Built in $(($(date +%s) - start)) s:" >&2
ls -1 "$root"/target/release/bundle/deb/*_"$version"_*.deb "$root"/target/release/bundle/rpm/*-"$version"-*.rpm 2>/dev/null
