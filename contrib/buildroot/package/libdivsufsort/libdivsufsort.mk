################################################################################
#
# libdivsufsort (Buildroot has no package of it; tender links it)
#
################################################################################

LIBDIVSUFSORT_VERSION = 2.0.1
LIBDIVSUFSORT_SITE = $(call github,y-256,libdivsufsort,$(LIBDIVSUFSORT_VERSION))
LIBDIVSUFSORT_LICENSE = MIT
LIBDIVSUFSORT_LICENSE_FILES = LICENSE
LIBDIVSUFSORT_INSTALL_STAGING = YES
# tender uses the 32-bit API (libdivsufsort.pc); Debian builds the 64-bit one as well.
LIBDIVSUFSORT_CONF_OPTS = -DBUILD_DIVSUFSORT64=ON -DBUILD_EXAMPLES=OFF

$(eval $(cmake-package))
