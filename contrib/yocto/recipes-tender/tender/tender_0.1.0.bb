SUMMARY = "Over-the-air update agent for containerised apps"
DESCRIPTION = "tenderd polls a hawkBit DDI server, verifies releases against TUF metadata, \
downloads layers and deltas, swaps containers atomically, health-gates and rolls back. \
tenderctl is its command line, tender-runtime the OCI runtime it starts apps with."
LICENSE = "Apache-2.0"
LIC_FILES_CHKSUM = "file://${COMMON_LICENSE_DIR}/Apache-2.0;md5=89aea4e17d99a7cacdbeed46a0096b10"

# The recipe's version (PV, from the file name) is kept equal to project(tender VERSION ...) in
# CMakeLists.txt (tests/integration/contrib-sync.sh). By default tender is built from the source
# tree this layer is part of (contrib/yocto of a tender checkout: externalsrc), so recipe and
# source are always the same version. To fetch it instead, set TENDER_GIT_URL (host/path of a
# git repository over https) and SRCREV (the commit of version ${PV}) in local.conf or a
# .bbappend; an unpinned SRCREV is refused at parse time rather than building whatever the
# branch holds.
TENDER_SRC_TREE := "${@os.path.normpath(os.path.join(d.getVar('THISDIR'), '../../../..'))}"
TENDER_GIT_URL ??= ""
TENDER_GIT_BRANCH ??= "main"
inherit ${@'' if d.getVar('TENDER_GIT_URL') else 'externalsrc'}
EXTERNALSRC = "${TENDER_SRC_TREE}"
EXTERNALSRC_BUILD = "${WORKDIR}/build"
SRC_URI = "${@'git://%s;protocol=https;branch=%s' % (d.getVar('TENDER_GIT_URL'), d.getVar('TENDER_GIT_BRANCH')) if d.getVar('TENDER_GIT_URL') else ''}"
S = "${@'${WORKDIR}/git' if d.getVar('TENDER_GIT_URL') else '${TENDER_SRC_TREE}'}"

python () {
    if d.getVar('TENDER_GIT_URL'):
        rev = d.getVar('SRCREV') or ''
        if rev in ('', 'INVALID', 'AUTOINC') or len(rev) != 40:
            bb.fatal("tender: TENDER_GIT_URL is set but SRCREV is not a commit id (%s): set "
                     "SRCREV to the 40-hex commit of tender %s" % (rev, d.getVar('PV')))
    elif not os.path.isfile(os.path.join(d.getVar('TENDER_SRC_TREE'), 'CMakeLists.txt')):
        bb.fatal("tender: this layer is not inside a tender source tree (%s has no "
                 "CMakeLists.txt): set TENDER_GIT_URL and SRCREV" % d.getVar('TENDER_SRC_TREE'))
}

# The libraries CMakeLists.txt finds (pkg-config modules and mbedTLS), as recipes.
DEPENDS = "curl libarchive systemd cjson libseccomp zstd libdivsufsort libmicrohttpd mosquitto libsodium \
           mbedtls"

# tenderd loads libmosquitto and libmicrohttpd with dlopen() when MQTT or the monitor is
# configured (agent/dynlib.h): no NEEDED entry for the shared-library dependency scan to see.
RDEPENDS:${PN} += "libmosquitto1 libmicrohttpd"

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
