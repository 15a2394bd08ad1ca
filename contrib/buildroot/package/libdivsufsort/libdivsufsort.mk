################################################################################
#
# libdivsufsort (Buildroot has no package of it; tender links it)
#
################################################################################

# Debian's upstream tarball (the 2.0.1 release), checked against libdivsufsort.hash, which holds
# the sha256 of Debian's libdivsufsort_2.0.1-5.dsc (tests/integration/contrib-sync.sh keeps the
# Yocto recipe on the same tarball and sums).
LIBDIVSUFSORT_VERSION = 2.0.1
LIBDIVSUFSORT_SOURCE = libdivsufsort_$(LIBDIVSUFSORT_VERSION).orig.tar.bz2
LIBDIVSUFSORT_SITE = https://deb.debian.org/debian/pool/main/libd/libdivsufsort
LIBDIVSUFSORT_LICENSE = MIT
LIBDIVSUFSORT_LICENSE_FILES = COPYING
LIBDIVSUFSORT_INSTALL_STAGING = YES
# tender uses the 32-bit API (libdivsufsort.pc); Debian builds the 64-bit one as well.
LIBDIVSUFSORT_CONF_OPTS = -DBUILD_DIVSUFSORT64=ON -DBUILD_EXAMPLES=OFF

$(eval $(cmake-package))
