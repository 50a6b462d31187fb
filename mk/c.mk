# C ABI (libctask, include/ctask.h) and the Go package over cgo.
#
# Included by the top-level Makefile. Targets:
#   c-test      header drift check, version check, libctask build, C test program (with a
#               persistent session supervised by the built ctask) and example under
#               valgrind, CLI interop check, a session from a statically linked program
#   go-test     `go vet` and `go test` of the Go package in go/ against an installed prefix
#   c-header    regenerate include/ctask.h with the pinned cbindgen (commit the result)
#   c-pc        generate the in-tree pkg-config file (<target>/pkgconfig/ctask.pc)
#   c-install   the same as `make install` (mk/install.mk)
# Every target installs the tools it needs (cbindgen into <target>/tools with cargo;
# gcc, valgrind, pkg-config, python3, tmux, golang via apt-get when root). A tool that is still
# missing is an error, never a skip.

CARGO ?= cargo
CBINDGEN_VERSION := 0.29.4

# Cargo's target directory (honours CARGO_TARGET_DIR and .cargo/config).
ifndef C_TARGET_DIR
C_TARGET_DIR := $(or $(shell $(CARGO) metadata --no-deps --format-version 1 2>/dev/null | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p'),$(CURDIR)/target)
endif
C_PROFILE ?= debug
C_CARGO_PROFILE_FLAG = $(if $(filter release,$(C_PROFILE)),--release,)
C_LIB_DIR = $(C_TARGET_DIR)/$(C_PROFILE)
C_OUT = $(C_TARGET_DIR)/c-examples
C_PC_DIR = $(C_TARGET_DIR)/pkgconfig
C_TOOLS = $(C_TARGET_DIR)/tools
CBINDGEN = $(C_TOOLS)/bin/cbindgen
C_VERSION := $(shell sed -n '/^\[workspace\.package\]/,/^\[/s/^version *= *"\([^"]*\)".*/\1/p' $(CURDIR)/Cargo.toml)
C_MAJOR := $(firstword $(subst ., ,$(C_VERSION)))
C_FLAGS = -Wall -Wextra -Werror -std=c11 -g
# What a static libctask.a needs besides libc (rustc --print native-static-libs).
C_STATIC_LIBS = -lgcc_s -lutil -lrt -lpthread -lm -ldl
C_VALGRIND = valgrind --error-exitcode=1 --leak-check=full \
	--suppressions=$(CURDIR)/examples/c/valgrind.supp

.PHONY: c-test go-test c-header c-header-check c-version-check c-lib c-pc c-install \
	c-tools c-cbindgen

# $(call c_need,COMMAND,DEBIAN_PACKAGE): make sure COMMAND exists, installing the package
# with apt-get when running as root; fail otherwise.
define c_need
	@command -v $(1) >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing $(2) with apt-get"; \
	    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(2); } >/dev/null \
	      || { echo "error: apt-get install $(2) failed" >&2; exit 1; }; \
	  fi; \
	  command -v $(1) >/dev/null 2>&1 \
	    || { echo "error: $(1) is required: install the $(2) package" >&2; exit 1; }; \
	}
endef

# $(call c_pc_text,PREFIX,INCLUDEDIR,LIBDIR,EXTRA_LIBS): contents of ctask.pc.
define c_pc_text
prefix=$(1)
includedir=$(2)
libdir=$(3)

Name: ctask
Description: ctask session lifecycle for AI-agent workspaces (C API)
URL: https://example.invalid/ctask
Version: $(C_VERSION)
Cflags: -I$${includedir}
Libs: -L$${libdir} $(4)-lctask
Libs.private: $(C_STATIC_LIBS)
endef
# The uninstalled library directory: links named as the dynamic loader looks for them
# (libctask.so.<major>, the SONAME) to cargo's freshly built libctask.so.
C_PC_LIB_DIR = $(C_PC_DIR)/lib
export C_PC_UNINSTALLED = $(call c_pc_text,$(CURDIR),$${prefix}/include,$(C_PC_LIB_DIR),-Wl$(,)-rpath$(,)$${libdir} )
, := ,

c-tools:
	$(call c_need,cc,gcc)
	$(call c_need,valgrind,valgrind)
	$(call c_need,pkg-config,pkg-config)
	$(call c_need,python3,python3)
	$(call c_need,git,git)
	$(call c_need,tmux,tmux)

c-cbindgen:
	@if [ "$$($(CBINDGEN) --version 2>/dev/null)" != "cbindgen $(CBINDGEN_VERSION)" ]; then \
	  echo "installing cbindgen $(CBINDGEN_VERSION) into $(C_TOOLS)"; \
	  PATH="$(C_TOOLS)/bin:$$PATH" $(CARGO) install --quiet cbindgen --version =$(CBINDGEN_VERSION) \
	    --locked --root $(C_TOOLS) \
	    || { echo "error: cannot install cbindgen $(CBINDGEN_VERSION)" >&2; exit 1; }; \
	fi

c-header: c-cbindgen
	$(CBINDGEN) --quiet --config ctask-ffi/cbindgen.toml --crate ctask-ffi \
	  --output include/ctask.h ctask-ffi

# Drift check: the committed header must be what cbindgen generates from the sources.
c-header-check: c-header
	@git ls-files --error-unmatch include/ctask.h >/dev/null 2>&1 \
	  || { echo "error: include/ctask.h is not committed" >&2; exit 1; }
	@git diff --exit-code -- include/ \
	  || { echo "error: include/ctask.h differs from the sources: run 'make c-header' and commit it" >&2; exit 1; }
	@echo "c-header-check: include/ctask.h is up to date"

c-lib:
	$(CARGO) build -p ctask-ffi $(C_CARGO_PROFILE_FLAG)

c-pc: c-lib
	@mkdir -p $(C_PC_DIR) $(C_PC_LIB_DIR)
	@ln -sfn $(C_LIB_DIR)/libctask.so $(C_PC_LIB_DIR)/libctask.so
	@ln -sfn $(C_LIB_DIR)/libctask.so $(C_PC_LIB_DIR)/libctask.so.$(C_MAJOR)
	@printf '%s\n' "$$C_PC_UNINSTALLED" >$(C_PC_DIR)/ctask.pc
	@echo "c-pc: wrote $(C_PC_DIR)/ctask.pc (PKG_CONFIG_PATH=$(C_PC_DIR))"

# The version macros (and the packed number, computed here from Cargo.toml) against the
# header, and the library's run-time version.
c-version-check: c-tools c-pc
	@mkdir -p $(C_OUT)
	@v="$(C_VERSION)"; maj=$${v%%.*}; rest=$${v#*.}; min=$${rest%%.*}; pat=$${rest#*.}; pat=$${pat%%[-+]*}; \
	num=$$(( (maj << 16) | (min << 8) | pat )); \
	echo "c-version-check: Cargo.toml $$v -> major $$maj minor $$min patch $$pat number $$num"; \
	PKG_CONFIG_PATH=$(C_PC_DIR) && export PKG_CONFIG_PATH && \
	$(CC) $(C_FLAGS) $$(pkg-config --cflags ctask) \
	  -DEXPECT_VERSION="\"$$v\"" -DEXPECT_MAJOR=$$maj -DEXPECT_MINOR=$$min -DEXPECT_PATCH=$$pat \
	  -DEXPECT_NUMBER=$$num examples/c/version_check.c -o $(C_OUT)/version_check \
	  $$(pkg-config --libs ctask) && $(C_OUT)/version_check

c-test: c-tools c-header-check c-version-check c-pc
	@mkdir -p $(C_OUT)
	PKG_CONFIG_PATH=$(C_PC_DIR) && export PKG_CONFIG_PATH && \
	$(CC) $(C_FLAGS) $$(pkg-config --cflags ctask) examples/c/ctask_test.c -o $(C_OUT)/ctask_test \
	  $$(pkg-config --libs ctask) -lpthread && \
	$(CC) $(C_FLAGS) $$(pkg-config --cflags ctask) examples/c/example.c -o $(C_OUT)/example \
	  $$(pkg-config --libs ctask)
	$(CARGO) build -p ctask-cli $(C_CARGO_PROFILE_FLAG)
	CTASK_TEST_SUPERVISOR=$(C_LIB_DIR)/ctask $(C_VALGRIND) $(C_OUT)/ctask_test
	bash examples/c/interop.sh $(C_OUT)/example $(C_LIB_DIR)/ctask $(C_VALGRIND)
	$(CC) $(C_FLAGS) -Iinclude examples/c/example.c -o $(C_OUT)/example-static \
	  $(C_LIB_DIR)/libctask.a $(C_STATIC_LIBS)
	@! readelf -d $(C_OUT)/example-static | grep -q 'libctask' \
	  || { echo "error: example-static needs a shared libctask" >&2; exit 1; }
	env -u LD_LIBRARY_PATH bash examples/c/interop.sh $(C_OUT)/example-static $(C_LIB_DIR)/ctask
	@echo "c-test: the statically linked example ran a session"
	@echo "c-test: all C checks passed"

# The C library's part of `make install` (mk/install.mk installs the whole tool).
c-install: install

# `go test` of the package in go/ against the prefix install-test installs (no
# LD_LIBRARY_PATH: ctask.pc's rpath). CGO_CFLAGS/CGO_LDFLAGS name that prefix, so they are
# part of Go's build key, and -count=1 turns off the test cache: a rebuilt library is
# always the one tested.
go-test: install-test-prefix
	$(call c_need,go,golang-go)
	$(call c_need,pkg-config,pkg-config)
	$(call c_need,gcc,gcc)
	$(call c_need,tmux,tmux)
	cd go && export PKG_CONFIG_PATH='$(INSTALL_TEST_PREFIX)/lib/pkgconfig' CGO_ENABLED=1 \
	  GOFLAGS=-mod=mod GOPROXY=off GOTOOLCHAIN=local \
	  CTASK_TEST_SUPERVISOR='$(INSTALL_TEST_PREFIX)/bin/ctask' && \
	export CGO_CFLAGS="$$(pkg-config --cflags ctask)" CGO_LDFLAGS="$$(pkg-config --libs ctask)" && \
	unset LD_LIBRARY_PATH && go vet ./... && go test -count=1 -v ./...
