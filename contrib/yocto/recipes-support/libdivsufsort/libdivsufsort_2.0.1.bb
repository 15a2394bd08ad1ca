SUMMARY = "Suffix array construction (tender's delta generator)"
HOMEPAGE = "https://github.com/y-256/libdivsufsort"
LICENSE = "MIT"
LIC_FILES_CHKSUM = "file://COPYING;md5=d3d9f98f9cad1ec88f661dafd4ed79d8"

# Debian's upstream tarball of the 2.0.1 release, the same file and sum as contrib/buildroot's
# libdivsufsort.hash (tests/integration/contrib-sync.sh).
SRC_URI = "${DEBIAN_MIRROR}/main/libd/libdivsufsort/libdivsufsort_${PV}.orig.tar.bz2"
SRC_URI[sha256sum] = "55c02c86ea1763f581e0f50440008c554b8da2272129adee4ac84cb1362018bc"
S = "${WORKDIR}/libdivsufsort-${PV}"

inherit cmake
EXTRA_OECMAKE = "-DBUILD_DIVSUFSORT64=ON -DBUILD_EXAMPLES=OFF"
