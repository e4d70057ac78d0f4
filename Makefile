# ImageBeam. `make run` and `make test` install what they need (Debian/Ubuntu).
SHELL := /bin/bash
export PATH := $(PATH):/usr/local/go/bin
VERSION := $(shell sed -n 's/^Version *= *"\(.*\)"/\1/p' FyneApp.toml)
COMMIT  := $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
DATE    := $(shell git log -1 --format=%cs 2>/dev/null || date -u +%F)
PKG     := imagebeam/internal/buildinfo
# One set of build flags everywhere (tests, run, packages), so the slow cgo
# compile is shared by all of them.
TAGS    := migrated_fynedo
LDFLAGS := -s -w -X $(PKG).Version=$(VERSION) -X $(PKG).Commit=$(COMMIT) -X $(PKG).Date=$(DATE)
GOBUILD := go build -trimpath -tags $(TAGS) -ldflags '$(LDFLAGS)'
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: run test test-nofonts windows-check build lint unit bench fuzz clean check-go package package-deps package-linux package-windows windows-exes package-check

run: check-go build
	@if [ -n "$$DISPLAY$$WAYLAND_DISPLAY" ]; then ./imagebeam; else \
		echo "No display (DISPLAY is not set): running the headless demo instead of the window."; ./imagebeam demo; fi

build: check-go
	scripts/deps.sh gui
	$(GOBUILD) -o imagebeam .

# The race detector covers every package but the two that link GLFW (main and
# gui/desktop): a race build of GLFW would double CI's cold cgo compile, and
# the window's code is tested in gui/ with Fyne's headless test driver.
RACE_PKGS = $$(go list ./... | grep -v -e '^imagebeam$$' -e '/gui/desktop$$')

test: check-go
	scripts/deps.sh gui test
	$(MAKE) lint
	go test -race -tags $(TAGS) -count=1 $(RACE_PKGS)
	# main's test runs the whole binary (with GLFW) without the race
	# detector; -trimpath shares its compiled packages with make build.
	go test -trimpath -tags $(TAGS) -count=1 .

# The window's markup masters must not depend on the machine's fonts: CI runs
# the window's tests again with every system font folder hidden behind an
# empty tmpfs in a private mount namespace (unshare; -r maps the user to root
# in a user namespace when not root already).
FONT_DIRS = /usr/share/fonts /usr/local/share/fonts /usr/X11R6/lib/X11/fonts $$HOME/.fonts $$HOME/.local/share/fonts
test-nofonts: check-go
	scripts/deps.sh gui
	unshare $$([ "$$(id -u)" -eq 0 ] || echo -r) -m sh -ec 'for d in $(FONT_DIRS); do \
		if [ -d "$$d" ]; then mount -t tmpfs none "$$d"; fi; done; \
		go test -tags $(TAGS) -count=1 ./gui/...'

lint: check-go
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	go vet -tags $(TAGS) ./...
	go run $(STATICCHECK) -tags $(TAGS) ./...

unit: check-go
	go test -tags $(TAGS) -short -count=1 ./...

bench: check-go
	scripts/deps.sh test
	go test -tags $(TAGS) -run '^$$' -bench 'RoundTrip|Transfer|Encode' -benchtime 5x ./transfer/

fuzz: check-go
	go test -run '^$$' -fuzz FuzzDecodeFrame -fuzztime 30s ./transfer/
	go test -run '^$$' -fuzz FuzzDecodeFeedback -fuzztime 30s ./transfer/

check-go:
	@command -v go >/dev/null || { echo "Go 1.26 is required: https://go.dev/doc/install (Debian's golang package is too old)"; exit 1; }
	@go version | grep -Eq 'go1\.(2[6-9]|[3-9][0-9])' || { echo "Go 1.26 or newer is required, found: $$(go version)"; exit 1; }

clean:
	rm -rf imagebeam dist build rsrc_windows_amd64.syso

# --- Packages (make package): everything lands in dist/, see README's "Release".
# Every timestamp in the packages is the last commit's time, so the same
# commit gives the same files, byte for byte.
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || echo 0)
SDE     := SOURCE_DATE_EPOCH=$(SOURCE_DATE_EPOCH)
BUILDNUM    := $(shell sed -n 's/^Build *= *\([0-9]*\).*/\1/p' FyneApp.toml)
# Debian sorts 0.2.0~rc1 before 0.2.0; Windows wants four numbers.
DEB_VERSION := $(subst -,~,$(VERSION))
WIN_VERSION := $(subst ., ,$(firstword $(subst -, ,$(subst +, ,$(VERSION)))))
VERSION4    := $(word 1,$(WIN_VERSION) 0).$(word 2,$(WIN_VERSION) 0).$(word 3,$(WIN_VERSION) 0).$(or $(BUILDNUM),0)
DEB     := dist/imagebeam_$(DEB_VERSION)_amd64.deb
TARXZ   := dist/ImageBeam-$(VERSION).tar.xz
SETUP   := dist/ImageBeam-Setup-$(VERSION).exe
# Windows: cross-compiled with mingw-w64, the same flags as above. Signed only
# when SIGN_PKCS12 names the lab's certificate (packaging/windows/sign.sh). ImageBeam.exe
# is a GUI-subsystem program (no console window); imagebeam-cli.exe is the same
# code as a console program, for the headless commands.
WINGO   := CGO_ENABLED=1 GOOS=windows GOARCH=amd64 CC=x86_64-w64-mingw32-gcc go build -trimpath -tags $(TAGS)
WINRES  := x86_64-w64-mingw32-windres -I packaging/windows -O coff \
	-DVER_MAJOR=$(word 1,$(subst ., ,$(VERSION4))) -DVER_MINOR=$(word 2,$(subst ., ,$(VERSION4))) \
	-DVER_PATCH=$(word 3,$(subst ., ,$(VERSION4))) -DVER_BUILD=$(word 4,$(subst ., ,$(VERSION4))) \
	-DVER_STRING='\"$(VERSION)\"' -DICON_FILE='\"build/windows/ImageBeam.ico\"'

package: check-go package-deps build
	rm -rf dist && mkdir -p dist
	# Two jobs: the Linux packages compress while the Windows build compiles.
	$(MAKE) --no-print-directory -j2 --output-sync=line package-linux package-windows
	cd dist && sha256sum * > SHA256SUMS
	@ls -l dist

package-deps:
	scripts/deps.sh gui package

# The .deb and the tar.xz package the ./imagebeam that `make build` made.
package-linux: build/icon_gen
	mkdir -p dist
	build/icon_gen > build/icon-512.png
	$(SDE) packaging/linux/mktar.sh imagebeam build/icon-512.png $(TARXZ)
	$(SDE) packaging/linux/mkdeb.sh imagebeam build/icon_gen $(DEB_VERSION) $(DEB)

build/icon_gen: assets/icon_gen.go
	mkdir -p build
	go build -o $@ assets/icon_gen.go

# Each executable is compiled once; its icon, version and manifest come from a
# .syso that windres (mingw-w64's binutils) makes from packaging/windows/imagebeam.rc
# and that go build links from the main package's folder (removed afterwards).
windows-exes: build/icon_gen
	mkdir -p build/windows
	build/icon_gen -ico > build/windows/ImageBeam.ico
	@echo "cross-compiling ImageBeam.exe and imagebeam-cli.exe for Windows (the first time: about 7 minutes)"
	$(WINRES) -DFILE_NAME='\"ImageBeam.exe\"' -DFILE_DESC='\"ImageBeam\"' -o rsrc_windows_amd64.syso packaging/windows/imagebeam.rc
	$(WINGO) -ldflags '$(LDFLAGS) -H windowsgui' -o build/windows/ImageBeam.exe . || { rm -f rsrc_windows_amd64.syso; exit 1; }
	$(WINRES) -DFILE_NAME='\"imagebeam-cli.exe\"' -DFILE_DESC='\"ImageBeam command line\"' -o rsrc_windows_amd64.syso packaging/windows/imagebeam.rc
	$(WINGO) -ldflags '$(LDFLAGS)' -o build/windows/imagebeam-cli.exe . || { rm -f rsrc_windows_amd64.syso; exit 1; }
	rm -f rsrc_windows_amd64.syso
	touch -d @$(SOURCE_DATE_EPOCH) build/windows/*.exe
	$(if $(SIGN_PKCS12),packaging/windows/sign.sh build/windows/ImageBeam.exe build/windows/imagebeam-cli.exe)

package-windows: windows-exes
	mkdir -p dist
	makensis -V2 -DVERSION=$(VERSION) -DVERSION4=$(VERSION4) -DBUILD_DIR=$(CURDIR)/build/windows -DOUT=$(CURDIR)/$(SETUP) \
		$(if $(SIGN_PKCS12),-DSIGN=$(CURDIR)/packaging/windows/sign.sh) packaging/windows/imagebeam.nsi

# Runs the Windows installer and both programs under Wine (after make
# package; CI does this on every run): see README's "Release".
windows-check:
	packaging/windows/wine-check.sh

# Inspects what make package made; as root it also installs the .deb, uses it
# and removes it again (CI does this on every run).
package-check:
	scripts/deps.sh package
	packaging/check.sh
