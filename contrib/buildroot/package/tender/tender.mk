################################################################################
#
# tender
#
################################################################################

# Kept equal to project(tender VERSION ...) in CMakeLists.txt (tests/integration/contrib-sync.sh).
TENDER_VERSION = 0.1.0
# By default the source tree this BR2_EXTERNAL is part of (contrib/buildroot of a tender
# checkout), so package and source are always the same version; BR2_PACKAGE_TENDER_SITE names a
# directory of release tarballs instead (checked against tender.hash when one is there).
ifeq ($(call qstrip,$(BR2_PACKAGE_TENDER_SITE)),)
TENDER_SITE = $(realpath $(BR2_EXTERNAL_TENDER_PATH)/../..)
TENDER_SITE_METHOD = local
else
TENDER_SITE = $(call qstrip,$(BR2_PACKAGE_TENDER_SITE))
endif
TENDER_LICENSE = Apache-2.0
# The libraries CMakeLists.txt finds (pkg-config modules and mbedTLS), as Buildroot packages.
TENDER_DEPENDENCIES = host-pkgconf libcurl libarchive systemd cjson libseccomp zstd \
	libdivsufsort libmicrohttpd mosquitto libsodium mbedtls
TENDER_CONF_OPTS = -DBUILD_TESTING=OFF -DTENDER_MAN=OFF \
	-DTENDER_SYSTEMD_UNIT_DIR=/usr/lib/systemd/system

ifeq ($(BR2_PACKAGE_TENDER_TOOLS),)
define TENDER_REMOVE_TOOLS
	rm -f $(addprefix $(TARGET_DIR)/usr/bin/,tender-publish tender-server-mock tender-tuf)
	rm -rf $(TARGET_DIR)/usr/share/doc/tender-tools
endef
TENDER_POST_INSTALL_TARGET_HOOKS += TENDER_REMOVE_TOOLS
endif

# The units are installed by CMake; this enables tenderd (tender-store-unlock.service is
# enabled by whoever provisions the store key, docs/store.md).
define TENDER_INSTALL_INIT_SYSTEMD
	mkdir -p $(TARGET_DIR)/usr/lib/systemd/system/multi-user.target.wants
	ln -sf ../tenderd.service \
		$(TARGET_DIR)/usr/lib/systemd/system/multi-user.target.wants/tenderd.service
endef


$(eval $(cmake-package))
