SUMMARY = "Over-the-air update agent for containerised apps"
DESCRIPTION = "tenderd polls a hawkBit DDI server, verifies releases against TUF metadata, \
downloads layers and deltas, swaps containers atomically, health-gates and rolls back. \
tenderctl is its command line, tender-runtime the OCI runtime it starts apps with."
LICENSE = "Apache-2.0"
LIC_FILES_CHKSUM = "file://${COMMON_LICENSE_DIR}/Apache-2.0;md5=89aea4e17d99a7cacdbeed46a0096b10"

# The recipe's version (PV, from the file name) is kept equal to project(tender VERSION ...) in
# CMakeLists.txt (tests/integration/contrib-sync.sh). Set TENDER_GIT_URL and SRCREV to your
# repository and the commit of that version (local.conf or a .bbappend).
TENDER_GIT_URL ??= "git.example.com/tender.git"
SRC_URI = "git://${TENDER_GIT_URL};protocol=https;branch=main"
SRCREV ??= "${AUTOREV}"
S = "${WORKDIR}/git"

# The libraries CMakeLists.txt finds (pkg-config modules and mbedTLS), as recipes.
DEPENDS = "curl libarchive systemd cjson libseccomp zstd libdivsufsort libmicrohttpd mosquitto libsodium \
           mbedtls"

inherit cmake pkgconfig systemd features_check
REQUIRED_DISTRO_FEATURES = "systemd"

EXTRA_OECMAKE = "-DBUILD_TESTING=OFF -DTENDER_MAN=OFF \
                 -DTENDER_SYSTEMD_UNIT_DIR=${systemd_system_unitdir}"

PACKAGES =+ "${PN}-tools"
FILES:${PN}-tools = "${bindir}/tender-publish ${bindir}/tender-server-mock ${bindir}/tender-tuf \
                     ${docdir}/tender-tools"
FILES:${PN} += "${systemd_system_unitdir}/tenderd.service \
                ${systemd_system_unitdir}/tender-store-unlock.service \
                ${sysconfdir}/tender ${localstatedir}/lib/tender"

# tender-store-unlock.service is enabled by whoever provisions the store key (docs/store.md).
SYSTEMD_SERVICE:${PN} = "tenderd.service"
SYSTEMD_AUTO_ENABLE:${PN} = "enable"
