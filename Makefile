# ImageBeam. `make run` and `make test` install what they need (Debian/Ubuntu).
SHELL := /bin/bash
export PATH := $(PATH):/usr/local/go/bin
# Fyne logs "Error parsing user locale C" when the locale is C (LANG unset,
# C or C.UTF-8, as on build machines). LANGUAGE only names the language of
# messages, so setting it changes nothing else.
ifeq ($(filter-out C POSIX C.UTF-8 C.utf8,$(LANG)),)
export LANG := C.UTF-8
export LANGUAGE ?= en
endif

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

.PHONY: run test build lint unit bench fuzz clean check-go

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
	rm -rf imagebeam dist build
