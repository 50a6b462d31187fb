# Installing ctask like any command-line tool and C library (docs/install.md).
#
# Included by the top-level Makefile after mk/c.mk. Targets:
#   install       build the release `ctask` and libctask and install under $(DESTDIR)$(PREFIX):
#                   bin/ctask
#                   lib/libctask.so.$(C_VERSION) (SONAME libctask.so.$(C_MAJOR)), the
#                     libctask.so.$(C_MAJOR) and libctask.so links, lib/libctask.a
#                   include/ctask.h, lib/pkgconfig/ctask.pc
#                   share/man/man1/ctask.1 and ctask-<subcommand>.1 (generated with
#                     clap_mangen by the hidden `ctask __man DIR`)
#                   completions: share/bash-completion/completions/ctask,
#                     share/zsh/site-functions/_ctask, share/fish/vendor_completions.d/ctask.fish
#                 RPATH=no leaves the rpath out of ctask.pc (for a prefix the dynamic loader
#                 searches, after which run ldconfig).
#   install-test  install into a temporary prefix, check every file, link and the SONAME,
#                 and run a real session from a C program built with pkg-config against it
#                 (no LD_LIBRARY_PATH); the prefix stays for go-test

PREFIX ?= /usr/local
RPATH ?= yes
INSTALL_REL = $(C_TARGET_DIR)/release
INSTALL_TEST_PREFIX = $(C_TARGET_DIR)/install-test/prefix

.PHONY: install install-files install-test install-test-prefix

# $(call c_pc_for_prefix,PREFIX,RPATH): ctask.pc of an installed prefix; with RPATH=yes the
# link flags carry -Wl,-rpath so that programs find libctask without LD_LIBRARY_PATH.
c_pc_for_prefix = $(call c_pc_text,$(1),$${prefix}/include,$${prefix}/lib,$(if $(filter yes,$(2)),-Wl$(,)-rpath$(,)$${libdir} ,))

install:
	$(CARGO) build --release -p ctask-cli -p ctask-ffi
	@$(MAKE) --no-print-directory install-files

# Installs what `install` built (no cargo run): the files of the list above.
install-files: export C_PC_PREFIX = $(call c_pc_for_prefix,$(PREFIX),$(RPATH))
install-files:
	@d='$(DESTDIR)$(PREFIX)'; set -e; \
	install -d "$$d/bin" "$$d/lib/pkgconfig" "$$d/include" "$$d/share/man/man1" \
	  "$$d/share/bash-completion/completions" "$$d/share/zsh/site-functions" \
	  "$$d/share/fish/vendor_completions.d"; \
	install -m 755 '$(INSTALL_REL)/ctask' "$$d/bin/ctask"; \
	install -m 755 '$(INSTALL_REL)/libctask.so' "$$d/lib/libctask.so.$(C_VERSION)"; \
	ln -sfn 'libctask.so.$(C_VERSION)' "$$d/lib/libctask.so.$(C_MAJOR)"; \
	ln -sfn 'libctask.so.$(C_MAJOR)' "$$d/lib/libctask.so"; \
	install -m 644 '$(INSTALL_REL)/libctask.a' "$$d/lib/libctask.a"; \
	install -m 644 include/ctask.h "$$d/include/ctask.h"; \
	printf '%s\n' "$$C_PC_PREFIX" >"$$d/lib/pkgconfig/ctask.pc"; \
	chmod 644 "$$d/lib/pkgconfig/ctask.pc"; \
	rm -f "$$d"/share/man/man1/ctask.1 "$$d"/share/man/man1/ctask-*.1; \
	'$(INSTALL_REL)/ctask' __man "$$d/share/man/man1"; \
	'$(INSTALL_REL)/ctask' completion bash --completer ctask >"$$d/share/bash-completion/completions/ctask"; \
	'$(INSTALL_REL)/ctask' completion zsh --completer ctask >"$$d/share/zsh/site-functions/_ctask"; \
	'$(INSTALL_REL)/ctask' completion fish --completer ctask >"$$d/share/fish/vendor_completions.d/ctask.fish"; \
	echo "installed ctask $(C_VERSION) under $$d"

install-test-prefix:
	@rm -rf '$(INSTALL_TEST_PREFIX)' '$(INSTALL_TEST_PREFIX).stage'
	@$(MAKE) --no-print-directory install PREFIX='$(INSTALL_TEST_PREFIX)' >/dev/null
	@$(MAKE) --no-print-directory install-files PREFIX=/opt/ctask \
	  DESTDIR='$(INSTALL_TEST_PREFIX).stage' >/dev/null

install-test: c-tools install-test-prefix
	$(call c_need,readelf,binutils)
	bash scripts/check-install.sh '$(INSTALL_TEST_PREFIX)' '$(C_VERSION)' \
	  '$(INSTALL_TEST_PREFIX).stage' /opt/ctask
