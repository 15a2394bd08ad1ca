SUMMARY = "Suffix array construction (tender's delta generator)"
HOMEPAGE = "https://github.com/y-256/libdivsufsort"
LICENSE = "MIT"
LIC_FILES_CHKSUM = "file://LICENSE;md5=${LIBDIVSUFSORT_LICENSE_MD5}"
# Not verified here (no network build was possible): pin both when adding the layer.
LIBDIVSUFSORT_LICENSE_MD5 ??= "0"
SRC_URI = "git://github.com/y-256/libdivsufsort.git;protocol=https;branch=master"
SRCREV ??= "${AUTOREV}"
S = "${WORKDIR}/git"

inherit cmake
EXTRA_OECMAKE = "-DBUILD_DIVSUFSORT64=ON -DBUILD_EXAMPLES=OFF"
